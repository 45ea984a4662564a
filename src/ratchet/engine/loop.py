"""Supervision: cycle after cycle until told to stop, and everything between them.

The cycle itself is ``ratchet.engine.cycle``. Here: the stop, pause and promote files, the
interval between cycles, back-off after a failure and the emergency pause after several,
the stagnation report and early stop, checkpoints, and the live state for
``ratchet status`` (state.json). Opening and closing a run is ``ratchet.engine.runner``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratchet.core.atomic import json_bytes
from ratchet.core.controls import Controls
from ratchet.core.errors import StoreError
from ratchet.core.filewriter import LiveFiles
from ratchet.core.rundir import RunDir
from ratchet.core.store import Store
from ratchet.core.types import Decision
from ratchet.engine.checkpoint import write_checkpoint
from ratchet.engine.closing import batch_seed
from ratchet.engine.cycle import CycleResult, CycleRunner, Reporter
from ratchet.engine.factory import Components
from ratchet.engine.race import Race, racing_for
from ratchet.engine.recipe import Racing, Schedule
from ratchet.engine.spending import Spending
from ratchet.engine.summary import write_champion_file

__all__ = ["CycleResult", "Loop", "LoopSummary", "Reporter", "Schedule", "batch_seed"]

log = logging.getLogger("ratchet.loop")

STATE_EVERY_S = 0.5  # state.json after a successful cycle: at most this often
CONTROL_POLL_S = 5.0  # a long wait looks at the stop and pause files this often
DAY_S = 86_400.0


@dataclass
class LoopSummary:
    cycles: int = 0
    promotions: int = 0
    failures: int = 0
    stopped: bool = False
    budget_spent: str | None = None  # why the run ended on its budget

    @property
    def all_failed(self) -> bool:
        """Every cycle of this start failed (a benchmark that cannot run, say)."""
        return self.cycles > 0 and self.failures == self.cycles


class Loop:
    """Runs cycles on an opened run (``ratchet.engine.runner.Session`` opens it: the champion
    is live before ``run`` is called)."""

    def __init__(self, *, store: Store, components: Components, schedule: Schedule,
                 seed: int = 0, reporter: Reporter | None = None,
                 stop: threading.Event | None = None, controls: Controls | None = None,
                 racing: Racing | None = None):
        self.store = store
        self.c = components
        self.schedule = schedule
        self.stop = stop or threading.Event()
        self.reporter = reporter or (lambda event, data: None)
        self.controls = controls or Controls(Path(store.run_dir))
        self.files = LiveFiles()
        self.cycles = CycleRunner(store, components, seed=seed, stop=self.stop,
                                  reporter=self.reporter, between_batches=self._may_measure,
                                  progress=self._set_state, files=self.files)
        racing = racing_for(racing, components)
        self.race = (Race(store, components, racing, seed=seed, stop=self.stop,
                          reporter=self.reporter, between_rounds=self._may_measure,
                          ledger=self.cycles.ledger)
                     if racing is not None else None)
        self.spending = Spending(store, schedule.budget,
                                 components.judge.batch_cost(components.target.head_to_head)
                                 * self.cycles.batch_scale(
                                     1 if components.target.head_to_head else 2))
        self.consecutive_failures = 0
        self._state_written_at = -math.inf
        self.state: dict[str, Any] = {"phase": "starting", "paused": False,
                                      "consecutive_failures": 0}

    def run(self, max_cycles: int | None = None) -> LoopSummary:
        """Measure the baseline (once per run), then cycle until ``max_cycles``, a stop,
        or early stopping."""
        try:
            summary = self._run(max_cycles)
        except BaseException:
            with contextlib.suppress(Exception):  # the live files as far as they got
                self.files.flush()
            raise
        self.files.flush()
        return summary

    def _run(self, max_cycles: int | None) -> LoopSummary:
        max_cycles = max_cycles if max_cycles is not None else self.schedule.max_cycles
        summary = LoopSummary()
        self.spending.start()
        self._set_state(phase="starting")  # from here on, an end without "stopped" is a crash
        if self.spending.allows():
            self.cycles.measure_baseline(self.schedule.baseline)
        self._set_state(phase="running")
        while self._may_measure() and (max_cycles is None or summary.cycles < max_cycles):
            if not self._pace_promotions():
                break
            left = None if max_cycles is None else max_cycles - summary.cycles
            if self.race is not None and (left is None or left > 1 or self.race.open()):
                # a new race has at most the cycles left (--max-cycles counts candidates)
                screened = self.race.screen(at_most=left)  # leaves its best one pending
                if screened is None:
                    break
                summary.cycles += len(screened)
                summary.failures += sum(r.decision is Decision.FAILED for r in screened)
                more = max_cycles is None or summary.cycles < max_cycles
                if screened and screened[-1].decision is Decision.FAILED \
                        and not self._after_cycle(screened[-1], wait=more):  # back-off
                    break
                if self.store.pending_cycle() is None:
                    continue  # the race ended without a survivor: the next one
            result = self.cycles.run()
            self.spending.record_seconds()
            if result is None:
                break
            summary.cycles += 1
            if summary.cycles == 1:
                _freeze_startup_objects()
            summary.promotions += result.promoted
            summary.failures += result.decision is Decision.FAILED
            self._checkpoint_after(result)
            if self._converged(result):
                break
            more = not (max_cycles and summary.cycles >= max_cycles)
            if self._after_cycle(result, wait=more) and more:
                self._wait(self.schedule.interval_s, "waiting")
        summary.stopped = self.stop.is_set()
        summary.budget_spent = self.spending.spent
        remeasure = self.schedule.budget.remeasure if self.schedule.budget else 0
        if self.spending.spent and not summary.stopped and remeasure:
            remeasured = self.cycles.remeasure_provisional(remeasure)
            if remeasured:
                unit = self.schedule.budget.unit if self.schedule.budget else "measurements"
                summary.budget_spent = (f"{self.spending.spent}; the champion, promoted by "
                                        f"the last test, re-measured on {remeasured} fresh "
                                        f"{unit} (outside the budget)")
                self.store.event("champion_remeasured", summary.budget_spent)
        self.spending.record_seconds()
        self._checkpoint("shutdown")
        write_champion_file(self.store, files=self.files)
        self._set_state(phase="stopped")
        self.store.event("loop_stopped", f"loop stopped after {summary.cycles} cycles",
                         **summary.__dict__)
        return summary

    # -- controls and pacing --------------------------------------------------------
    def honour_controls(self) -> bool:
        """Obey the stop, pause and promote files and a target's revert. False when the
        loop must stop."""
        wanted = self.controls.take_promotion() or self.c.target.take_revert()
        if wanted is not None:
            self._manual_promotion(*wanted)
        if self.controls.stop_requested:
            log.info("stop file found: stopping at this safe point")
            self.stop.set()
        if self.controls.paused and not self.stop.is_set():
            log.info("paused by request (pause file)")
            self.store.event("paused", "paused by request")
            self.reporter("pause", {"seconds": None, "reason": "paused by request"})
            self._set_state(phase="paused", paused=True, pause_reason="paused by request")
            while self.controls.paused and not self.stop.wait(0.25):
                if self.controls.stop_requested:
                    self.stop.set()
            if not self.stop.is_set():
                log.info("resumed")
                self.store.event("resumed", "resumed by request")
                self._set_state(phase="running", paused=False, pause_reason="")
        return not self.stop.is_set()

    def _may_measure(self, cost: int = 0) -> bool:
        """Before each batch: the controls obeyed, and budget left."""
        return self.honour_controls() and self.spending.allows(cost)

    def _set_state(self, *, lazy: bool = False, **changes: Any) -> None:
        """Live state for `ratchet status` (state.json, written atomically). ``lazy``: the
        counters after a successful cycle, written only if the last write is
        ``STATE_EVERY_S`` old (quick cycles would spend a good part of their time renaming
        the file); any later write carries them."""
        self.state.update(changes, updated_at=time.time())
        now = time.monotonic()
        if lazy and now - self._state_written_at < STATE_EVERY_S:
            return
        self.files.write(RunDir(self.store.run_dir).state, json_bytes(self.state))
        self._state_written_at = now

    def _pace_promotions(self) -> bool:
        """Before a new test: the cooldown after the last promotion and the daily limit,
        waited out while the controls are obeyed. False when stopping."""
        if not self.schedule.cooldown_s and self.schedule.max_promotions_per_day is None:
            return True
        while self.store.pending_cycle() is None:  # a test in progress goes on
            seconds, reason = self._promotion_wait()
            if seconds <= 0:
                return True
            if not self._wait(min(seconds, CONTROL_POLL_S), "cooldown", reason) \
                    or not self.honour_controls():
                return False
        return True

    def _promotion_wait(self) -> tuple[float, str]:
        s = self.schedule
        now = time.time()
        times = [p["created_at"] for p in self.store.promotions()[1:]]
        waits = [(0.0, "")]
        if times and s.cooldown_s:
            waits.append((times[-1] + s.cooldown_s - now,
                          f"cooldown: {s.cooldown_s:g} s after the last promotion"))
        recent = [t for t in times if t > now - DAY_S]
        if s.max_promotions_per_day is not None and len(recent) >= s.max_promotions_per_day:
            waits.append((recent[-s.max_promotions_per_day] + DAY_S - now,
                          f"{len(recent)} promotions in the last 24 hours (at most "
                          f"{s.max_promotions_per_day})"))
        return max(waits)

    def _wait(self, seconds: float, phase: str, reason: str = "") -> bool:
        """Sleep without blocking a stop; the state says why. False when stopping."""
        if seconds <= 0:
            return not self.stop.is_set()
        self._set_state(phase=phase, paused=phase not in ("waiting", "cooldown"),
                        pause_reason=reason,
                        resume_at=time.time() + seconds)
        stopped = self.stop.wait(seconds)
        self._set_state(phase="running", paused=False, pause_reason="", resume_at=None)
        return not stopped

    def _manual_promotion(self, candidate_id: str, revert: str = "") -> None:
        """A person's promotion, or with ``revert`` the target's putting back a former
        champion (recorded as a revert, with its reason)."""
        champion = self.store.champion()
        try:
            if candidate_id == champion.candidate.id:
                raise ValueError("it is already the champion")
            if any(c.id == candidate_id for _, c in self.store.pending_cycles()):
                raise ValueError("it is still being measured")
            new = self.store.manual_promotion(candidate_id, champion, self.store.last_cycle(),
                                              revert=revert)
        except (ValueError, StoreError) as exc:
            log.warning("manual promotion of %s refused: %s", candidate_id, exc)
            self.store.event("promotion_refused", f"manual promotion of {candidate_id} "
                             f"refused: {exc}", level="warning")
            return
        self.c.target.apply(new.candidate)
        write_champion_file(self.store, files=self.files)
        how = "revert" if revert else "manual promotion"
        log.warning("%s: %s is champion v%d", how, candidate_id, new.version)
        self._checkpoint(how)

    # -- after a cycle --------------------------------------------------------------
    def _converged(self, result: CycleResult) -> bool:
        """Early stopping: ``early_stop_cycles`` cycles in a row without a promotion."""
        limit = self.schedule.early_stop_cycles
        if not limit:
            return False
        idle = result.cycle - self.store.champion().cycle
        if idle < limit:
            return False
        msg = f"early stop: {idle} cycles without a promotion"
        log.info(msg)
        self.store.event("early_stop", msg, cycles=idle)
        return True

    def _after_cycle(self, result: CycleResult, *, wait: bool = True) -> bool:
        """Failure back-off, emergency pause and stagnation report. False when stopping.
        ``wait=False`` after the last cycle of a start: no back-off before ending."""
        if result.decision is not Decision.FAILED:
            self.consecutive_failures = 0
            self._set_state(consecutive_failures=0, cycle=result.cycle, lazy=True)
        else:
            self.consecutive_failures += 1
            self._set_state(consecutive_failures=self.consecutive_failures, cycle=result.cycle)
            if self.consecutive_failures >= self.schedule.max_consecutive_failures:
                msg = (f"{self.consecutive_failures} consecutive failed evaluations: pausing "
                       f"{self.schedule.pause_s:g} s")
                log.warning(msg)
                self.store.event("safety_pause", msg, level="warning")
                self.reporter("pause", {"seconds": self.schedule.pause_s, "reason": msg})
                self.consecutive_failures = 0
                return not wait or self._wait(self.schedule.pause_s, "safety_pause", msg)
            return not wait or self._wait(self.schedule.failure_backoff_s, "backoff",
                              f"evaluation failed: backing off "
                              f"{self.schedule.failure_backoff_s:g} s")
        champion = self.store.champion()
        idle = result.cycle - champion.cycle
        every = self.schedule.stagnation_cycles
        if every and idle and idle % every == 0:
            msg = f"stagnation: {idle} cycles without a promotion"
            log.warning(msg)
            self.store.event("stagnation", msg, level="warning", cycles=idle)
            self.reporter("stagnation", {"cycles": idle})
        return True

    def _checkpoint_after(self, result: CycleResult) -> None:
        every = self.schedule.checkpoint_every
        if result.promoted:
            self._checkpoint("promotion")
        elif every and result.cycle % every == 0:
            self._checkpoint(f"every {every} cycles")

    def _checkpoint(self, reason: str) -> None:
        write_checkpoint(self.store, self.store.last_cycle(), reason,
                         keep=self.schedule.checkpoint_keep)


def _freeze_startup_objects() -> None:
    """After the first cycle (every module it needs imported, its workers started): the
    objects alive now live as long as the run, so the collector stops walking them. A full
    collection walked several hundred thousand of them (numpy, pydantic, a target's
    libraries), milliseconds each time, a good part of a short cycle's own time."""
    gc.collect()
    gc.freeze()
