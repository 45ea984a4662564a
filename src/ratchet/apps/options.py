"""What the commands share: their consoles, the common options, and the run a recipe or
an option names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ratchet.core import terminal
from ratchet.core.rundir import resolve_run_dir

out = terminal.console()
err = terminal.console(stderr=True)

RunDirOpt = Annotated[Path | None, typer.Option("--run-dir", help="run directory "
                                                "(default: runs/<recipe name>)")]
RecipeArg = Annotated[Path | None, typer.Argument(help="recipe YAML (names the default "
                                                  "run directory)", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def fail(message: str) -> None:
    err.print(terminal.error(message))
    raise typer.Exit(2)


def resolve_recipe_run_dir(recipe: Path | None, run_dir: Path | None,
                           name: str | None = None) -> Path:
    from ratchet.engine.recipe import load_recipe

    return resolve_run_dir(run_dir, name or (load_recipe(recipe).name if recipe else None),
                           must_exist=True)


AdoptOpt = Annotated[bool, typer.Option(
    "--adopt", help="the live file was edited by hand: measure it as a challenger against "
                    "the champion (promoted only on evidence)")]
RestoreChampionOpt = Annotated[bool, typer.Option(
    "--restore-champion", help="the live file was edited by hand: write the champion back "
                               "over it")]
NameOpt = Annotated[str | None, typer.Option("--name", help="run name (default: the "
                                             "recipe's); names the run directory runs/NAME")]
