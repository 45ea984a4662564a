"""Opening and closing a run (``Session``), and running a recipe's loop in it."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ratchet.core.errors import RatchetError, RecipeError
from ratchet.core.rundir import RunDir
from ratchet.core.store import Store
from ratchet.core.types import Candidate
from ratchet.engine.factory import Components, build_components
from ratchet.engine.loop import Loop, LoopSummary, Reporter
from ratchet.engine.recipe import Racing, Recipe, Schedule
from ratchet.engine.recovery import check_history
from ratchet.engine.summary import write_champion_file
from ratchet.plugins.scaleout.workers import WorkerGroup

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
    finish: Callable[[Session], None] | None = None


@contextmanager
def log_file(run_dir: Path) -> Iterator[Path]:
    """One log file per start, under the run's logs/ directory (owner-only)."""
    run = RunDir(run_dir)
    run.logs.mkdir(parents=True, exist_ok=True)
    path = run.log_file(time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}"))
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
    handler.setFormatter(OneLine("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ratchet")
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


class OneLine(logging.Formatter):
    """A record without its traceback, which goes to the log file only: a terminal or a
    journal gets the exception's one line."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        line = self.formatMessage(record)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line += f" ({type(exc).__name__}: {exc}; the traceback is in the log file)"
        return line


class Session:
    """One start of a run, from open to close, and the only owner of that life cycle.

    Entering opens the target, settles a live file edited by hand, starts the executor,
    creates the run or resumes it and makes its champion live; leaving closes the
    executor, the strategy, the target and the store, in that order, whatever happened.
    ``run`` hands the opened run to the loop."""

    def __init__(self, *, name: str, store: Store, components: Components,
                 schedule: Schedule, seed: int = 0, recipe: dict[str, Any] | None = None,
                 reporter: Reporter | None = None, stop: threading.Event | None = None,
                 hand_edit: HandEdit = "refuse", racing: Racing | None = None):
        self.name = name
        self.store = store
        self.components = components
        self.seed = seed
        self.recipe = recipe or {}
        self.stop = stop or threading.Event()
        self.hand_edit = hand_edit
        self.loop = Loop(store=store, components=components, schedule=schedule, seed=seed,
                         reporter=reporter, stop=self.stop, racing=racing)
        components.executor.watch(self.stop)
        self._open: ExitStack | None = None
        self.workers: WorkerGroup | None = None  # the target's workers, once started

    @classmethod
    def for_recipe(cls, recipe: Recipe, run_dir: Path, *, reporter: Reporter | None = None,
                   stop: threading.Event | None = None, hand_edit: HandEdit = "refuse",
                   components: Components | None = None) -> Session:
        """The run in ``run_dir`` for ``recipe`` (refused if the run there was made from
        a different recipe); ``components`` replace the recipe's (benchmarks swap parts)."""
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
            components = components or build_components(recipe, run_dir)
            return cls(name=recipe.name, store=store, components=components,
                       schedule=recipe.schedule, seed=recipe.seed,
                       recipe=dumped, reporter=reporter, stop=stop, hand_edit=hand_edit,
                       racing=recipe.racing)
        except BaseException:
            store.close()
            raise

    def __enter__(self) -> Session:
        opened = ExitStack()
        opened.callback(self.store.close)
        try:
            self.components.target.open(self.store)
            opened.callback(self.components.target.close)
            opened.callback(self.components.strategy.close)
            self._settle_hand_edit()
            opened.enter_context(self.components.executor)
            plan = self.components.target.workers()
            if plan is not None and plan.count > 0:
                group = self.components.executor.start_workers(plan)
                opened.callback(group.stop)  # before the target stops receiving
                self.workers = group
                self.components.target.attach_workers(group)
            self._prepare()
        except BaseException:
            opened.close()
            raise
        self._open = opened
        return self

    def __exit__(self, *exc: Any) -> None:
        opened, self._open = self._open, None
        if opened is not None:
            opened.__exit__(*exc)

    def run(self, max_cycles: int | None = None) -> LoopSummary:
        if self._open is None:
            raise RuntimeError("Session.run outside its `with` block")
        return self.loop.run(max_cycles)

    def _prepare(self) -> None:
        """Create the run or resume it, and make the champion live."""
        info = self.store.run_info()
        if info is None:
            params = self.components.target.baseline(self.components.space)
            baseline = Candidate(params=params, origin="baseline", note="starting champion")
            self.store.init_run(self.name, self.recipe, baseline)
            self.store.event("run_created", f"run {self.name} created", params=params)
        else:
            self.components.strategy.load_state_dict(info["strategy_state"])
            self.components.strategy.restore(self.store.trials())
            self.store.event("run_resumed", f"run {self.name} resumed at cycle "
                             f"{self.store.last_cycle()}")
        self.components.target.apply(self.store.champion().candidate)
        write_champion_file(self.store)

    def _settle_hand_edit(self) -> None:
        """Before the champion is applied: a live file changed by hand is refused, adopted
        as a challenger, or overwritten, as the user chose."""
        edit = self.components.target.hand_edit()
        if edit is None or self.store.run_info() is None:
            return
        if self.hand_edit == "refuse":
            raise LiveEditError(f"{edit}. Nothing was changed. Start again with --adopt (the "
                                "file as it is becomes a challenger, measured against the "
                                "champion, promoted only on evidence) or --restore-champion "
                                "(write the champion back over it)")
        if self.hand_edit == "restore":
            log.warning("%s: writing the champion back (--restore-champion)", edit)
            self.store.event("hand_edit_overwritten", f"{edit}; the champion was written "
                             "back", level="warning")
            return
        params = self.components.target.live_params(self.components.space)
        champion = self.store.champion()
        adopted = Candidate(params=params, parent=champion.candidate.id, origin="adopted",
                            note="the live file as edited by hand")
        cycle = self._queue(adopted)
        log.warning("%s: adopted as challenger %s (cycle %d)", edit, adopted.id, cycle)

    def _queue(self, candidate: Candidate) -> int:
        """Commit ``candidate`` as the next, pending cycle: it is measured like any other
        challenger and never promoted without evidence. Returns its cycle."""
        info = self.store.run_info()
        cycle = self.store.last_cycle() + 1
        self.store.start_cycle(cycle, candidate, (info or {}).get("strategy_state", {}))
        self.store.event("adopted", f"cycle {cycle}: the live file as edited by hand is "
                         f"challenger {candidate.id}", level="warning", cycle=cycle,
                         candidate=candidate.id, params=candidate.params)
        return cycle


def run_recipe(recipe: Recipe, run_dir: Path, *, max_cycles: int | None = None,
               reporter: Reporter | None = None, stop: threading.Event | None = None,
               beside: Callable[[], AbstractContextManager[Any]] | None = None,
               on_ready: Callable[[Any], None] | None = None,
               options: RunOptions | None = None) -> LoopSummary:
    """Run the recipe's loop. ``beside`` (e.g. the dashboard) runs once the run exists;
    ``on_ready`` is called with what ``beside`` yields once the run is open, the champion
    applied and ``beside`` started."""
    options = options or RunOptions()
    session = Session.for_recipe(recipe, run_dir, reporter=reporter, stop=stop,
                                 hand_edit=options.hand_edit)
    with session, beside() if beside else nullcontext() as extra:
        if on_ready is not None:
            on_ready(extra)
        summary = session.run(max_cycles)
        if options.finish is not None and not summary.stopped:
            options.finish(session)
        return summary
