"""The cycle: propose -> evaluate (in batches) -> judge -> gates -> promote -> record.

Every step is committed to the store before the next starts, so the loop can be killed at
any instant and resumed: a proposed-but-undecided candidate is picked up again with the
evidence already gathered, a promotion is committed together with its decision, and the
live configuration is re-applied from the store on every start.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ratchet.atomic import atomic_write_json
from ratchet.checkpoint import write_checkpoint
from ratchet.controls import Controls
from ratchet.errors import StoreError
from ratchet.executors import EvalResult
from ratchet.factory import Components
from ratchet.gates import GateResult, run_gates
from ratchet.store import Champion, CycleOutcome, EvaluationRow, Store
from ratchet.summary import write_champion_file
from ratchet.types import Candidate, Decision, EvalTask, Evidence, Measurement, Trial, Verdict

log = logging.getLogger("ratchet.loop")

Reporter = Callable[[str, dict[str, Any]], None]


@dataclass
class Schedule:
    max_cycles: int | None = None
    interval_s: float = 0.0
    stagnation_cycles: int | None = 100
    baseline: int = 50
    failure_backoff_s: float = 30.0
    max_consecutive_failures: int = 3
    pause_s: float = 60.0
    checkpoint_every: int = 10
    checkpoint_keep: int = 5
    early_stop_cycles: int | None = None


@dataclass
class CycleResult:
    cycle: int
    candidate: Candidate
    decision: Decision
    reason: str
    evidence: Evidence
    stats: dict[str, Any]
    gates: list[GateResult] = field(default_factory=list)
    champion: Champion | None = None
    seconds: float = 0.0             # wall time of the cycle in this process
    evaluation_seconds: float = 0.0  # of which waiting for evaluations


@dataclass
class LoopSummary:
    cycles: int = 0
    promotions: int = 0
    failures: int = 0
    stopped: bool = False


def batch_seed(run_seed: int, cycle: int, batch: int) -> int:
    """A fresh seed per (cycle, batch), shared by challenger and champion."""
    return int(np.random.SeedSequence([run_seed, cycle, batch]).generate_state(1)[0] >> 1)


class Loop:
    def __init__(self, *, name: str, store: Store, components: Components,
                 schedule: Schedule, seed: int = 0, recipe: dict[str, Any] | None = None,
                 reporter: Reporter | None = None, stop: threading.Event | None = None,
                 controls: Controls | None = None):
        self.name = name
        self.store = store
        self.c = components
        self.schedule = schedule
        self.seed = seed
        self.recipe = recipe or {}
        self.reporter = reporter or (lambda event, data: None)
        self.stop = stop or threading.Event()
        self.controls = controls or Controls(Path(store.run_dir))
        self.consecutive_failures = 0
        self._evaluation_s = 0.0
        self.state: dict[str, Any] = {"phase": "starting", "paused": False,
                                      "consecutive_failures": 0}

    def _set_state(self, **changes: Any) -> None:
        """Live state for `ratchet status` (state.json, written atomically)."""
        self.state.update(changes, updated_at=time.time())
        atomic_write_json(Path(self.store.run_dir) / "state.json", self.state)

    def _wait(self, seconds: float, phase: str, reason: str = "") -> bool:
        """Sleep without blocking a stop; the state says why. False when stopping."""
        if seconds <= 0:
            return not self.stop.is_set()
        self._set_state(phase=phase, paused=phase != "waiting", pause_reason=reason,
                        resume_at=time.time() + seconds)
        stopped = self.stop.wait(seconds)
        self._set_state(phase="running", paused=False, pause_reason="", resume_at=None)
        return not stopped

    def honour_controls(self) -> bool:
        """Obey the stop, pause and promote files. False when the loop must stop."""
        wanted = self.controls.take_promotion()
        if wanted is not None:
            self._manual_promotion(wanted)
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

    # -- lifecycle ------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the run or resume it, and make the champion live (idempotent)."""
        if getattr(self, "_prepared", False):
            return
        info = self.store.run_info()
        if info is None:
            params = self.c.target.baseline(self.c.space)
            baseline = Candidate(params=params, origin="baseline", note="starting champion")
            self.store.init_run(self.name, self.recipe, baseline)
            self.store.event("run_created", f"run {self.name} created", params=params)
        else:
            self.c.strategy.load_state_dict(info["strategy_state"])
            self.c.strategy.restore(self.store.trials())
            self.store.event("run_resumed", f"run {self.name} resumed at cycle "
                             f"{self.store.last_cycle()}")
        self.c.target.apply(self.store.champion().candidate)
        write_champion_file(self.store)
        self._prepared = True

    def adopt(self, candidate: Candidate) -> int:
        """Queue ``candidate`` (e.g. a live file edited by hand) as the next challenger: it
        is committed as a pending cycle, so it is measured like any other and is never
        promoted without evidence. Returns its cycle."""
        info = self.store.run_info()
        cycle = self.store.last_cycle() + 1
        self.store.start_cycle(cycle, candidate, (info or {}).get("strategy_state", {}))
        self.store.event("adopted", f"cycle {cycle}: the live file as edited by hand is "
                         f"challenger {candidate.id}", level="warning", cycle=cycle,
                         candidate=candidate.id, params=candidate.params)
        return cycle

    def start(self) -> None:
        """prepare(), then measure the baseline once."""
        self.prepare()
        self._measure_baseline(self.store.champion())
        write_champion_file(self.store)

    def run(self, max_cycles: int | None = None) -> LoopSummary:
        max_cycles = max_cycles if max_cycles is not None else self.schedule.max_cycles
        summary = LoopSummary()
        self.start()
        self._set_state(phase="running")
        while self.honour_controls() and (max_cycles is None or summary.cycles < max_cycles):
            result = self.run_cycle()
            if result is None:
                break
            summary.cycles += 1
            summary.promotions += result.decision is Decision.PROMOTE
            summary.failures += result.decision is Decision.FAILED
            if self._converged(result):
                break
            if self._after_cycle(result) and not (max_cycles and summary.cycles >= max_cycles):
                self._wait(self.schedule.interval_s, "waiting")
        summary.stopped = self.stop.is_set()
        self._checkpoint("shutdown")
        self._set_state(phase="stopped")
        self.store.event("loop_stopped", f"loop stopped after {summary.cycles} cycles",
                         **summary.__dict__)
        return summary

    def _manual_promotion(self, candidate_id: str) -> None:
        champion = self.store.champion()
        pending = self.store.pending_cycle()
        try:
            if candidate_id == champion.candidate.id:
                raise ValueError("it is already the champion")
            if pending is not None and pending[1].id == candidate_id:
                raise ValueError("it is still being measured")
            new = self.store.manual_promotion(candidate_id, champion, self.store.last_cycle())
        except (ValueError, StoreError) as exc:
            log.warning("manual promotion of %s refused: %s", candidate_id, exc)
            self.store.event("promotion_refused", f"manual promotion of {candidate_id} "
                             f"refused: {exc}", level="warning")
            return
        self.c.target.apply(new.candidate)
        write_champion_file(self.store)
        log.warning("manual promotion: %s is champion v%d", candidate_id, new.version)
        self._checkpoint("manual promotion")

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

    def _after_cycle(self, result: CycleResult) -> bool:
        """Failure back-off, emergency pause and stagnation report. False when stopping."""
        if result.decision is not Decision.FAILED:
            self.consecutive_failures = 0
            self._set_state(consecutive_failures=0, cycle=result.cycle)
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
                return self._wait(self.schedule.pause_s, "safety_pause", msg)
            return self._wait(self.schedule.failure_backoff_s, "backoff",
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

    # -- one cycle ------------------------------------------------------------------
    def run_cycle(self) -> CycleResult | None:
        """Take one challenger to a decision. None when stopped before the decision (the
        cycle stays pending and resumes on the next start)."""
        started = time.perf_counter()
        self._evaluation_s = 0.0
        champion = self.store.champion()
        cycle, candidate, evidence, next_batch = self._open_cycle(champion)
        self.reporter("cycle_start", {"cycle": cycle, "candidate": candidate,
                                      "champion": champion, "evidence": evidence})
        verdict = self._gather(cycle, candidate, champion, evidence, next_batch)
        if verdict is None:
            return None
        result = self._close_cycle(cycle, candidate, champion, evidence, verdict)
        result.seconds = time.perf_counter() - started
        result.evaluation_seconds = self._evaluation_s
        self.reporter("cycle_end", {"result": result})
        return result

    def _open_cycle(self, champion: Champion) -> tuple[int, Candidate, Evidence, int]:
        pending = self.store.pending_cycle()
        if pending is not None:
            cycle, candidate = pending
            evidence, next_batch = self._rebuild_evidence(cycle, candidate)
            log.info("cycle %d: resuming candidate %s after %d batches", cycle, candidate.id,
                     evidence.batches)
            return cycle, candidate, evidence, next_batch
        cycle = self.store.last_cycle() + 1
        candidate = self.c.strategy.propose(champion.candidate, self.store.trials())
        self.store.start_cycle(cycle, candidate, self.c.strategy.state_dict())
        log.info("cycle %d: candidate %s (%s) %s", cycle, candidate.id, candidate.origin,
                 candidate.note)
        return cycle, candidate, self._new_evidence(), 0

    def _gather(self, cycle: int, candidate: Candidate, champion: Champion,
                evidence: Evidence, next_batch: int) -> Verdict | None:
        verdict = self.c.judge.decide(evidence) if evidence.batches else None
        while verdict is None or verdict.decision is Decision.CONTINUE:
            if not self.honour_controls():
                return None
            results = self._measure(cycle, next_batch, candidate, champion)
            if results is None:  # stopped mid-batch: the batch is discarded
                return None
            next_batch += 1
            failed = [r for r in results if not r.ok]
            if failed:
                reason = f"{failed[0].task.role} evaluation failed: {failed[0].error}"
                log.error("cycle %d: %s", cycle, reason)
                self.store.event("evaluation_failed", reason, level="error", cycle=cycle,
                                 candidate=candidate.id)
                return Verdict(Decision.FAILED, reason.strip().splitlines()[-1][:500])
            measurements = [r.measurement for r in results]
            evidence.add(measurements[0], measurements[1] if len(measurements) > 1 else None,
                         random.Random(batch_seed(self.seed, cycle, next_batch - 1)))
            verdict = self.c.judge.decide(evidence)
            self.reporter("batch", {"cycle": cycle, "evidence": evidence, "verdict": verdict})
            self._set_state(cycle=cycle, candidate=candidate.id, batches=evidence.batches,
                            evidence={k: v for k, v in verdict.stats.items()
                                      if isinstance(v, int | float)})
        return verdict

    def _close_cycle(self, cycle: int, candidate: Candidate, champion: Champion,
                     evidence: Evidence, verdict: Verdict) -> CycleResult:
        decision, reason, stats = verdict.decision, verdict.reason, dict(verdict.stats)
        gate_results: list[GateResult] = []
        if decision is Decision.PROMOTE:
            gate_results = run_gates(self.c.gates, candidate, evidence)
            stats["gates"] = [g.__dict__ for g in gate_results]
            for g in gate_results:
                log.info("cycle %d: gate %s %s: %s", cycle, g.gate,
                         "passed" if g.passed else "REFUSED", g.reason)
            refused = [g for g in gate_results if not g.passed]
            if refused:
                decision = Decision.GATED
                reason = "; ".join(f"gate {g.gate}: {g.reason}" for g in refused)
        score = _mean(evidence.challenger) if decision is not Decision.FAILED else None
        trial = Trial(candidate, cycle, decision, score, _mean(evidence.champion))
        self.c.strategy.observe(trial)
        new_champion = self.store.finish_cycle(CycleOutcome(
            cycle, candidate, champion, decision, reason, stats, score, trial.champion_score,
            evidence.games_played, self.c.strategy.state_dict()))
        if new_champion is not None:
            self.c.target.apply(new_champion.candidate)
            self._log_promotion(cycle, champion, new_champion, stats)
        else:
            self.c.target.discard(candidate)
        write_champion_file(self.store)
        every = self.schedule.checkpoint_every
        if new_champion is not None or (every and cycle % every == 0):
            self._checkpoint("promotion" if new_champion else f"every {every} cycles")
        log.info("cycle %d: %s — %s (n=%d, %.1f s of evaluation)", cycle, decision.value,
                 reason, evidence.n, evidence.cost_s)
        return CycleResult(cycle, candidate, decision, reason, evidence, stats, gate_results,
                           new_champion or champion)

    def _log_promotion(self, cycle: int, old: Champion, new: Champion,
                       stats: dict[str, Any]) -> None:
        changes = {k: [old.candidate.params.get(k), v] for k, v in new.candidate.params.items()
                   if old.candidate.params.get(k) != v}
        msg = (f"cycle {cycle}: promoted {new.candidate.id} as champion v{new.version}; "
               f"changes {changes}")
        log.info(msg)
        self.store.event("promotion", msg, cycle=cycle, version=new.version,
                         candidate=new.candidate.id, changes=changes,
                         elo=stats.get("elo"), improvement=stats.get("improvement"))

    def _checkpoint(self, reason: str) -> None:
        write_checkpoint(self.store, self.store.last_cycle(), reason,
                         keep=self.schedule.checkpoint_keep)

    # -- measuring ------------------------------------------------------------------
    def _new_evidence(self) -> Evidence:
        target = self.c.target
        return Evidence(self.c.judge.outcome, head_to_head=target.head_to_head,
                        paired=target.interleaved and not target.head_to_head,
                        batch_unit=target.batch_is_unit)

    def _measure(self, cycle: int, batch: int, candidate: Candidate,
                 champion: Champion) -> list[EvalResult] | None:
        seed = batch_seed(self.seed, cycle, batch)
        size = self.c.judge.batch
        if self.c.target.head_to_head:
            tasks = [EvalTask(candidate, "challenger", seed, size, cycle, batch,
                              opponent=champion.candidate)]
        else:
            tasks = [EvalTask(candidate, "challenger", seed, size, cycle, batch),
                     EvalTask(champion.candidate, "champion", seed, size, cycle, batch)]
        t = time.perf_counter()
        if len(tasks) == 2 and self.c.target.interleaved:
            results = self.c.executor.run_interleaved(self.c.target, *tasks)
        else:
            results = self.c.executor.run(self.c.target, tasks)
        self._evaluation_s += time.perf_counter() - t
        if self.stop.is_set():
            log.info("cycle %d: batch %d discarded (stopping)", cycle, batch)
            return None
        self.store.record_evaluations([_row(r) for r in results])
        return results

    def _measure_baseline(self, champion: Champion) -> None:
        if self.c.target.head_to_head or self.schedule.baseline <= 0 or champion.version:
            return
        earlier = self.store.evaluations(candidate_id=champion.candidate.id,
                                         roles=("baseline",))
        if any(r.ok for r in earlier):
            return
        size = self.c.judge.batch
        batches = max(1, -(-self.schedule.baseline // size))
        first = max(r.batch for r in earlier) + 1 if earlier else 0  # after failed tries
        self.reporter("baseline_start", {"size": batches * size})
        tasks = [EvalTask(champion.candidate, "baseline", batch_seed(self.seed, 0, b), size, 0,
                          b) for b in range(first, first + batches)]
        results = self.c.executor.run(self.c.target, tasks)
        if self.stop.is_set():
            return
        self.store.record_evaluations([_row(r) for r in results])
        failed = [r for r in results if not r.ok]
        if failed:
            msg = f"baseline measurement failed: {failed[0].error}"
            log.error(msg)
            self.store.event("evaluation_failed", msg, level="error", cycle=0)
        scores = [s for r in results if r.ok for s in r.measurement.scores]  # type: ignore[union-attr]
        self.reporter("baseline_end", {"scores": scores, "failed": len(failed)})
        log.info("baseline: %d measurements, mean %.4g", len(scores), _mean(scores) or 0.0)

    def _rebuild_evidence(self, cycle: int, candidate: Candidate) -> tuple[Evidence, int]:
        evidence = self._new_evidence()
        rows = self.store.evaluations(cycle=cycle, roles=("challenger", "champion"))
        by_batch: dict[int, dict[str, EvaluationRow]] = {}
        for row in rows:
            by_batch.setdefault(row.batch, {})[row.role] = row
        for b in sorted(by_batch):
            ch, champ = by_batch[b].get("challenger"), by_batch[b].get("champion")
            if ch is None or not ch.ok or (not evidence.head_to_head
                                           and (champ is None or not champ.ok)):
                continue
            evidence.add(_measurement(ch, evidence), _measurement(champ, evidence)
                         if champ else None, random.Random(batch_seed(self.seed, cycle, b)))
        return evidence, (max(by_batch) + 1 if by_batch else 0)


def _row(r: EvalResult) -> EvaluationRow:
    m = r.measurement
    return EvaluationRow(
        candidate_id=r.task.candidate.id, role=r.task.role, cycle=r.task.cycle,
        batch=r.task.batch, seed=r.task.seed, size=r.task.size, ok=m is not None,
        scores=m.scores if m else (), ordered=m.ordered if m else False,
        errors=m.errors if m else 0, metrics=m.metrics if m else {},
        duration_s=r.duration_s, reason=r.error, created_at=time.time())


def _measurement(row: EvaluationRow, evidence: Evidence) -> Measurement:
    return Measurement(evidence.kind, row.scores, ordered=row.ordered, errors=row.errors,
                       cost_s=row.duration_s, metrics=row.metrics)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
