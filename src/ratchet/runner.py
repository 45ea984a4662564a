"""Library entry points behind the CLI: open a run for a recipe and run its loop."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ratchet.errors import RatchetError, RecipeError
from ratchet.factory import build_components
from ratchet.loop import Loop, LoopSummary, Reporter, Schedule
from ratchet.recipe import Recipe
from ratchet.recovery import check_history
from ratchet.store import Store
from ratchet.types import Candidate

log = logging.getLogger("ratchet")

# Keys whose change makes an existing run's history meaningless for the new recipe.
_IDENTITY_KEYS = ("space", "target")

HandEdit = Literal["refuse", "adopt", "restore"]


class LiveEditError(RatchetError):
    """The live system was changed by hand since ratchet last applied its champion."""


@dataclass(frozen=True)
class RunOptions:
    """What a start does about a live file edited by hand: refuse (the default), adopt it
    as a challenger, or write the champion back over it. ``finish`` runs once the loop has
    ended on its own (not when stopped), before the target is closed: e.g. a last
    re-measurement of the champion."""

    hand_edit: HandEdit = "refuse"
    finish: Callable[[Loop], None] | None = None


def open_loop(recipe: Recipe, run_dir: Path, *, reporter: Reporter | None = None,
              stop: threading.Event | None = None) -> Loop:
    check_history(run_dir)
    store = Store(run_dir, create=True)
    try:
        store.check_integrity()
        dumped = recipe.model_dump(mode="json")
        info = store.run_info()
        if info is not None:
            changed = [k for k in _IDENTITY_KEYS if info["recipe"].get(k) != dumped.get(k)]
            if changed:
                raise RecipeError(f"{run_dir} holds a run made from a different recipe "
                                  f"({', '.join(changed)} changed); use another --run-dir")
        components = build_components(recipe, run_dir)
    except BaseException:
        store.close()
        raise
    schedule = Schedule(**recipe.schedule.model_dump())
    return Loop(name=recipe.name, store=store, components=components, schedule=schedule,
                seed=recipe.seed, recipe=dumped, reporter=reporter, stop=stop)


@contextmanager
def log_file(run_dir: Path) -> Iterator[Path]:
    """One log file per start, under the run's logs/ directory (owner-only)."""
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / time.strftime(f"ratchet-%Y%m%d-%H%M%S-{os.getpid()}.log")
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
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


@contextmanager
def warnings_to_stderr(enabled: bool = True) -> Iterator[None]:
    """Warnings and errors on stderr too (for -q, the daemon's output and the journal),
    where no live display shows them."""
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.addFilter(lambda record: not getattr(record, "printed_by_cli", False))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ratchet")
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _handle_hand_edit(loop: Loop, options: RunOptions) -> None:
    """Before the champion is applied: a live file changed by hand is refused, adopted as a
    challenger, or overwritten, as the user chose."""
    edit = loop.c.target.hand_edit()
    if edit is None or loop.store.run_info() is None:
        return
    if options.hand_edit == "refuse":
        raise LiveEditError(f"{edit}. Nothing was changed. Start again with --adopt (the "
                            "file as it is becomes a challenger, measured against the "
                            "champion, promoted only on evidence) or --restore-champion "
                            "(write the champion back over it)")
    if options.hand_edit == "restore":
        log.warning("%s: writing the champion back (--restore-champion)", edit)
        loop.store.event("hand_edit_overwritten", f"{edit}; the champion was written back",
                         level="warning")
        return
    params = loop.c.target.live_params(loop.c.space)
    champion = loop.store.champion()
    adopted = Candidate(params=params, parent=champion.candidate.id, origin="adopted",
                        note="the live file as edited by hand")
    cycle = loop.adopt(adopted)
    log.warning("%s: adopted as challenger %s (cycle %d)", edit, adopted.id, cycle)


def run_recipe(recipe: Recipe, run_dir: Path, *, max_cycles: int | None = None,
               reporter: Reporter | None = None, stop: threading.Event | None = None,
               beside: Callable[[], AbstractContextManager[Any]] | None = None,
               on_ready: Callable[[Any], None] | None = None,
               options: RunOptions | None = None) -> LoopSummary:
    """Run the recipe's loop. ``beside`` (e.g. the dashboard) runs once the run exists;
    ``on_ready`` is called with what ``beside`` yields once the run is open, the champion
    applied and ``beside`` started."""
    stop = stop or threading.Event()
    options = options or RunOptions()
    loop = open_loop(recipe, run_dir, reporter=reporter, stop=stop)
    try:
        loop.c.target.open(loop.store)
        try:
            _handle_hand_edit(loop, options)
            with loop.c.executor:
                loop.prepare()
                with beside() if beside else nullcontext() as extra:
                    if on_ready is not None:
                        on_ready(extra)
                    summary = loop.run(max_cycles)
                    if options.finish is not None and not summary.stopped:
                        options.finish(loop)
                    return summary
        finally:
            loop.c.strategy.close()
            loop.c.target.close()
    finally:
        loop.store.close()
