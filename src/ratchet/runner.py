"""Library entry points behind the CLI: open a run for a recipe and run its loop."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from ratchet.errors import RecipeError
from ratchet.factory import build_components
from ratchet.loop import Loop, LoopSummary, Reporter, Schedule
from ratchet.recipe import Recipe
from ratchet.store import Store

log = logging.getLogger("ratchet")

# Keys whose change makes an existing run's history meaningless for the new recipe.
_IDENTITY_KEYS = ("space", "target")


def open_loop(recipe: Recipe, run_dir: Path, *, reporter: Reporter | None = None,
              stop: threading.Event | None = None) -> Loop:
    store = Store(run_dir, create=True)
    dumped = recipe.model_dump(mode="json")
    info = store.run_info()
    if info is not None:
        changed = [k for k in _IDENTITY_KEYS if info["recipe"].get(k) != dumped.get(k)]
        if changed:
            store.close()
            raise RecipeError(f"{run_dir} holds a run made from a different recipe "
                              f"({', '.join(changed)} changed); use another --run-dir")
    components = build_components(recipe, run_dir)
    schedule = Schedule(**recipe.schedule.model_dump())
    return Loop(name=recipe.name, store=store, components=components, schedule=schedule,
                seed=recipe.seed, recipe=dumped, reporter=reporter, stop=stop)


@contextmanager
def log_file(run_dir: Path) -> Iterator[Path]:
    """One log file per start, under the run's logs/ directory."""
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / time.strftime(f"ratchet-%Y%m%d-%H%M%S-{os.getpid()}.log")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ratchet")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()


def run_recipe(recipe: Recipe, run_dir: Path, *, max_cycles: int | None = None,
               reporter: Reporter | None = None, stop: threading.Event | None = None,
               beside: Callable[[], AbstractContextManager[object]] | None = None
               ) -> LoopSummary:
    """Run the recipe's loop; ``beside`` (e.g. the dashboard) runs once the run exists."""
    stop = stop or threading.Event()
    loop = open_loop(recipe, run_dir, reporter=reporter, stop=stop)
    try:
        loop.c.target.open(loop.store)
        try:
            with loop.c.executor:
                loop.prepare()
                with beside() if beside else nullcontext():
                    return loop.run(max_cycles)
        finally:
            loop.c.strategy.close()
            loop.c.target.close()
    finally:
        loop.store.close()
