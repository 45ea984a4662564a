"""What the commands share: their consoles, the common options, and the run a recipe or
an option names."""

from __future__ import annotations

from typing import Annotated

import typer

from ratchet.core import terminal
from ratchet.service.cli_args import NameOpt, RecipeArg, RunDirOpt, resolve_recipe_run_dir

__all__ = ["AdoptOpt", "JsonOpt", "NameOpt", "RecipeArg", "RestoreChampionOpt", "RunDirOpt",
           "err", "fail", "out", "resolve_recipe_run_dir"]

out = terminal.console()
err = terminal.console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def fail(message: str) -> None:
    err.print(terminal.error(message))
    raise typer.Exit(2)


AdoptOpt = Annotated[bool, typer.Option(
    "--adopt", help="the live file was edited by hand: measure it as a challenger against "
                    "the champion (promoted only on evidence)")]
RestoreChampionOpt = Annotated[bool, typer.Option(
    "--restore-champion", help="the live file was edited by hand: write the champion back "
                               "over it")]
