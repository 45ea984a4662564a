"""The arguments every run command takes the same way: RECIPE (whose name names the run
directory), --run-dir and --name, and how they name one run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ratchet.core.rundir import check_name, resolve_run_dir

RecipeArg = Annotated[Path | None, typer.Argument(help="recipe YAML (names the default "
                                                  "run directory)", show_default=False)]
RunDirOpt = Annotated[Path | None, typer.Option("--run-dir", help="run directory "
                                                "(default: runs/<recipe name>)")]
NameOpt = Annotated[str | None, typer.Option("--name", help="run name (default: the "
                                             "recipe's); names the run directory runs/NAME")]


def resolve_recipe_run_dir(recipe: Path | None, run_dir: Path | None,
                           name: str | None = None, *, must_exist: bool = True) -> Path:
    """The run directory that --run-dir, --name or the recipe's name names, in that order
    (the only run under runs/ when none is given)."""
    if name:
        name = check_name(name)
    elif recipe is not None:
        from ratchet.engine.recipe import load_recipe

        name = load_recipe(recipe).name
    return resolve_run_dir(run_dir, name, must_exist)
