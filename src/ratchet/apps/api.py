"""ratchet from Python, the way an Optuna user would expect it::

    import ratchet

    summary = ratchet.run({"name": "quad",
                           "target": {"kind": "python", "function": "bench:objective"},
                           "space": {"x": {"type": "float", "low": -2, "high": 2}},
                           "judge": {"kind": "welch"}},
                          run_dir="runs/quad", max_cycles=20)
    run = ratchet.open_run("runs/quad")
    run.champion().candidate.params, run.history()[-1].decision

``run`` takes the run's lock (a second process on the same run is refused), resumes a run
that exists, and ends after ``max_cycles`` cycles or when stopped (Ctrl+C, SIGTERM). It
raises only ``ratchet.RatchetError`` (a bad recipe, a run it cannot use); a benchmark that
fails is a failed cycle, and ``summary.all_failed`` says when every cycle failed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratchet.core.store import Champion, DecisionRow, Store
from ratchet.core.types import Trial
from ratchet.engine.loop import LoopSummary
from ratchet.engine.recipe import Recipe, load_recipe, parse_recipe

RecipeLike = Recipe | dict[str, Any] | str | os.PathLike[str]


def as_recipe(recipe: RecipeLike) -> Recipe:
    """A ``Recipe`` from a recipe, a dict (as the YAML would hold) or a YAML file's path."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return parse_recipe(recipe, source="recipe dict")
    return load_recipe(recipe)


def run(recipe: RecipeLike, run_dir: str | os.PathLike[str] | None = None, *,
        max_cycles: int | None = None) -> LoopSummary:
    """Run (or resume) the recipe's loop in ``run_dir`` (default ``runs/<name>``)."""
    from ratchet.core.errors import RatchetError
    from ratchet.service.daemon import serve

    if max_cycles is not None and (isinstance(max_cycles, bool) or not isinstance(
            max_cycles, int) or max_cycles < 1):
        raise RatchetError(f"max_cycles={max_cycles!r}: expected a whole number of cycles, "
                           "at least 1 (or None: until stopped)")
    parsed = as_recipe(recipe)
    directory = Path(run_dir) if run_dir is not None else Path("runs") / parsed.name
    from ratchet.apps.dashboard import serve_run

    return serve(parsed, directory, max_cycles=max_cycles, web_process=serve_run)


@dataclass(frozen=True)
class RunView:
    """A read-only view of a run directory; each call reads the store afresh, so it may
    be used while the run goes on in another process."""

    run_dir: Path

    def _store(self) -> Store:
        return Store(self.run_dir)

    def champion(self) -> Champion:
        with self._store() as store:
            return store.champion()

    def history(self) -> list[DecisionRow]:
        """Every decided cycle, oldest first."""
        with self._store() as store:
            return store.decisions()

    def trials(self) -> list[Trial]:
        with self._store() as store:
            return store.trials()

    def promotions(self) -> list[dict[str, Any]]:
        with self._store() as store:
            return store.promotions()


def open_run(run_dir: str | os.PathLike[str]) -> RunView:
    """A read-only view of an existing run (``StoreError`` when there is none)."""
    view = RunView(Path(run_dir))
    view._store().close()  # fails now, with the store's message, if there is no run
    return view
