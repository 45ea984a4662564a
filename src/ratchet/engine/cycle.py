"""One cycle: propose -> evaluate (in batches) -> judge -> gates -> promote -> record.

Every step is committed to the store before the next starts, so a cycle can be killed at
any instant and resumed: a proposed-but-undecided candidate is picked up again with the
evidence already gathered, and a promotion is committed together with its decision.
What happens between cycles (controls, pacing, back-off, checkpoints) is ``ratchet.engine.loop``.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ratchet.core.filewriter import LiveFiles
from ratchet.core.seeds import SeedLedger
from ratchet.core.store import Champion, EvaluationRow, Store, promotion_changes
from ratchet.core.types import (
    Candidate,
    Decision,
    EvalTask,
    Evidence,
    Measurement,
    Moments,
    Verdict,
)
from ratchet.engine.closing import (
    batch_seed,
    better_sign,
    by_role,
    evaluation_row,
    mean_or_none,
    measurement_of,
    observed,
    split,
)
from ratchet.engine.factory import Components
from ratchet.engine.summary import write_champion_file
from ratchet.plugins.executors import EvalResult
from ratchet.plugins.gates import GateResult, run_gates

log = logging.getLogger("ratchet.loop")

Reporter = Callable[[str, dict[str, Any]], None]
CHAMPION_FILE_EVERY_S = 5.0  # champion.json, when only the champion's score changed
REMEASURE_BATCH = 1_000_000  # a re-measured champion's batches: apart from its cycle's


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

    @property
    def promoted(self) -> bool:
        return self.decision is Decision.PROMOTE


def _always(**_: Any) -> None:
    return None


class CycleRunner:
    """Takes one challenger at a time to a decision. ``between_batches`` is asked before
    each batch whether to go on (the supervisor's controls); ``progress`` hears the
    evidence after each batch (the supervisor's live state)."""

    def __init__(self, store: Store, components: Components, *, seed: int,
                 stop: threading.Event, reporter: Reporter,
                 between_batches: Callable[[], bool] = lambda: True,
                 progress: Callable[..., None] = _always, files: LiveFiles | None = None,
                 ledger: SeedLedger | None = None):
        self.store = store
        self.ledger = ledger or SeedLedger(seed, store.seeds_used)
        self.files = files or LiveFiles()
        self.c = components
        self.seed = seed
        self.stop = stop
        self.reporter = reporter
        self.between_batches = between_batches
        self.progress = progress
        self._evaluation_s = 0.0
        self._champion_file_at = -math.inf
        self._deciding: list[EvaluationRow] = []  # the last batch's rows, until the decision

    def run(self) -> CycleResult | None:
        """One cycle. None when stopped before the decision (the cycle stays pending and
        resumes on the next start)."""
        started = time.perf_counter()
        self._evaluation_s = 0.0
        champion = self.store.champion()
        cycle, candidate, evidence, next_batch = self._open(champion)
        self.reporter("cycle_start", {"cycle": cycle, "candidate": candidate,
                                      "champion": champion, "evidence": evidence})
        verdict = self._gather(cycle, candidate, champion, evidence, next_batch)
        if verdict is None:
            return None
        result = self._close(cycle, candidate, champion, evidence, verdict)
        if result is None:
            return None
        result.seconds = time.perf_counter() - started
        result.evaluation_seconds = self._evaluation_s
        self.reporter("cycle_end", {"result": result})
        return result

    def _open(self, champion: Champion) -> tuple[int, Candidate, Evidence, int]:
        pending = self.store.pending_cycle()
        if pending is not None:
            cycle, candidate = pending
            evidence, next_batch = self._rebuild_evidence(cycle, champion)
            log.info("cycle %d: resuming candidate %s after %d batches", cycle, candidate.id,
                     evidence.batches)
            return cycle, candidate, evidence, next_batch
        cycle = self.store.last_cycle() + 1
        candidate = self.c.strategy.propose(champion.candidate,
                                            self.store.lazy_trials())
        self.store.start_cycle(cycle, candidate, self.c.strategy.state_dict())
        log.info("cycle %d: candidate %s (%s) %s", cycle, candidate.id, candidate.origin,
                 candidate.note)
        return cycle, candidate, self._new_evidence(cycle, champion), 0

    def _gather(self, cycle: int, candidate: Candidate, champion: Champion,
                evidence: Evidence, next_batch: int) -> Verdict | None:
        verdict = self._decide(evidence) if evidence.batches else None
        while verdict is None or verdict.decision is Decision.CONTINUE:
            if not self.between_batches():
                return None
            results = self._measure(cycle, next_batch, candidate, champion, evidence)
            if results is None:  # stopped mid-batch: the batch is discarded
                return None
            next_batch += 1
            rows = [evaluation_row(r) for r in results]
            failed = [r for r in results if not r.ok]
            if failed:
                self.store.record_evaluations(rows)
                reason = f"{failed[0].task.role} evaluation failed: {failed[0].error}"
                log.error("cycle %d: %s", cycle, reason)
                self.store.event("evaluation_failed", reason, level="error", cycle=cycle,
                                 candidate=candidate.id)
                return Verdict(Decision.FAILED, reason.strip().splitlines()[-1][:500])
            sides = by_role(results)
            evidence.add(sides["challenger"], sides.get("champion"),
                         random.Random(batch_seed(self.seed, cycle, next_batch - 1)))
            verdict = self._decide(evidence)
            self.reporter("batch", {"cycle": cycle, "evidence": evidence, "verdict": verdict})
            if verdict.decision is Decision.REJECT:
                self._deciding = rows  # committed with the decision, in one transaction
                break
            self.store.record_evaluations(rows)  # before a promotion's gates, which may be long
            if verdict.decision is not Decision.CONTINUE:
                break  # decided: the supervisor records the cycle's end in its state
            self.progress(cycle=cycle, candidate=candidate.id, batches=evidence.batches,
                          evidence={k: v for k, v in verdict.stats.items()
                                    if isinstance(v, int | float)})
        return verdict

    def _decide(self, evidence: Evidence) -> Verdict:
        """The judge's verdict, with the recipe's constraints applied."""
        return self.c.constraints.review(self.c.judge.decide(evidence), evidence)

    def _close(self, cycle: int, candidate: Candidate, champion: Champion,
               evidence: Evidence, verdict: Verdict) -> CycleResult | None:
        """The decision recorded; None when a stop cut the gates short (a refusal then
        may be the stop's doing: the cycle stays pending and its gates run again)."""
        decision, reason, stats = verdict.decision, verdict.reason, dict(verdict.stats)
        gate_results: list[GateResult] = []
        if decision is Decision.PROMOTE:
            gate_results = run_gates(self.c.gates, candidate, evidence)
            stats["gates"] = [g.__dict__ for g in gate_results]
            for g in gate_results:
                log.info("cycle %d: gate %s %s: %s", cycle, g.gate,
                         "passed" if g.passed else "REFUSED", g.reason)
            refused = [g for g in gate_results if not g.passed]
            if refused and self.stop.is_set():
                log.info("cycle %d: gates abandoned (stopping); they run again at the next "
                         "start", cycle)
                return None
            if refused:
                decision = Decision.GATED
                reason = "; ".join(f"gate {g.gate}: {g.reason}" for g in refused)
        outcome = observed(self.c.strategy, cycle, candidate, champion, decision, reason,
                           stats, evidence,
                           feasible=self.c.constraints.observed_feasible(evidence),
                           better=better_sign(self.c.judge))
        new_champion = self.store.finish_cycle(outcome, self._deciding)
        self._deciding = []
        if new_champion is not None:
            self.c.target.apply(new_champion.candidate)
            self._log_promotion(cycle, champion, new_champion)
        elif decision is not Decision.GATED:  # a held challenger may be promoted by hand
            self.c.target.discard(candidate)
        self._write_champion_file(changed=new_champion is not None)
        log.info("cycle %d: %s — %s (n=%d, %.1f s of evaluation)", cycle, decision.value,
                 reason, evidence.n, evidence.cost_s)
        return CycleResult(cycle, candidate, decision, reason, evidence, stats, gate_results,
                           new_champion or champion)

    def _write_champion_file(self, *, changed: bool) -> None:
        """champion.json after a cycle: synced to disk when the champion changed; when
        only its score moved, at most every ``CHAMPION_FILE_EVERY_S`` (its summary reads
        the store, a good part of a short cycle; the loop writes it again when it ends)."""
        now = time.monotonic()
        if changed or now - self._champion_file_at >= CHAMPION_FILE_EVERY_S:
            write_champion_file(self.store, durable=changed, files=self.files)
            self._champion_file_at = now

    def _log_promotion(self, cycle: int, old: Champion, new: Champion) -> None:
        """The log's line; the store's ``promotion`` event was committed with it."""
        log.info("cycle %d: promoted %s as champion v%d; changes %s", cycle,
                 new.candidate.id, new.version, promotion_changes(old.candidate,
                                                                  new.candidate))

    # -- measuring ------------------------------------------------------------------
    def _new_evidence(self, cycle: int, champion: Champion) -> Evidence:
        target = self.c.target
        evidence = Evidence(self.c.judge.outcome, head_to_head=target.head_to_head,
                            paired=target.interleaved and not target.head_to_head,
                            batch_unit=target.batch_is_unit,
                            games_in_pairs=target.head_to_head and target.games_in_pairs)
        if evidence.kind == "samples" and not target.head_to_head:
            # the samples every cycle shares: measured while champion, not this test's
            n, total, squares = self.store.score_moments(
                champion.candidate.id, ("baseline", "champion", "screen_champion"),
                outside_test_of=cycle)
            evidence.shared = Moments.of_sums(n, total, squares) if n else None
            if evidence.paired and not evidence.batch_unit:
                df, pair_squares = self.store.pair_noise(cycle)
                evidence.pair_noise = Moments(df + 1, 0.0, pair_squares / df) if df else None
        return evidence

    def shards(self, sides: int = 2) -> int:
        """How many parts a batch is split into so that every worker has one: the
        executor's parallelism, shared by the sides measured (head-to-head: one task
        each). Interleaved targets are measured one run at a time, so never split."""
        target = self.c.target
        if target.interleaved and not target.head_to_head:
            return 1
        workers = self.c.executor.parallelism
        return max(1, workers if target.head_to_head else workers // max(1, sides))

    def batch_scale(self, sides: int = 2) -> int:
        """Games batches are sized to the workers: each worker plays a judge's batch, so
        that a task's start-up and the judge's look between batches are spread over as
        many games with 8 workers as with 1 (samples batches keep the judge's size: its
        looks are counted in them)."""
        if self.c.judge.outcome != "games":
            return 1
        return self.shards(sides)

    def _measure(self, cycle: int, batch: int, candidate: Candidate, champion: Champion,
                 evidence: Evidence) -> list[EvalResult] | None:
        sizes = self.c.judge.batch_sizes(evidence)
        sides = [(role, who, size) for role, who, size in
                 (("challenger", candidate, sizes[0]), ("champion", champion.candidate,
                                                        sizes[1]))
                 if size and not (role == "champion" and self.c.target.head_to_head)]
        shards = self.shards(len(sides))
        scale = self.batch_scale(len(sides))
        parts = {role: split(size * scale, min(size * scale, shards))
                 for role, _, size in sides}
        seeds = self.ledger.fresh("test", cycle, batch, max(map(len, parts.values())))
        tasks: list[EvalTask] = []
        for shard, seed in enumerate(seeds):
            for role, who, _ in sides:
                if shard >= len(parts[role]):
                    continue
                opponent = champion.candidate if self.c.target.head_to_head else None
                tasks.append(EvalTask(who, role, seed, parts[role][shard], cycle, batch,
                                      opponent=opponent, shard=shard))
        t = time.perf_counter()
        if len(tasks) == 2 and self.c.target.interleaved:
            results = self.c.executor.run_interleaved(self.c.target, *tasks)
        else:
            results = self.c.executor.run(self.c.target, tasks)
        self._evaluation_s += time.perf_counter() - t
        if self.stop.is_set():
            log.info("cycle %d: batch %d discarded (stopping)", cycle, batch)
            return None
        return results

    def measure_baseline(self, runs: int) -> None:
        """Measure the starting champion ``runs`` times, once per run (a resumed run, or
        one whose earlier start measured it, is not measured again)."""
        champion = self.store.champion()
        if self.c.target.head_to_head or runs <= 0 or champion.version:
            return
        earlier = self.store.evaluations(candidate_id=champion.candidate.id,
                                         roles=("baseline",))
        if any(r.ok for r in earlier):
            return
        first = max(r.batch for r in earlier) + 1 if earlier else 0  # after failed tries
        self._measure_champion(champion, runs, cycle=0, first_batch=first, role="baseline")

    def remeasure_provisional(self, runs: int) -> int:
        """A champion whose only score is its promoting evidence (provisional: biased
        upward, it won a selection) measured ``runs`` times on fresh seeds, so that a run's
        final report is not that evidence. Returns the measurements made."""
        champion = self.store.champion()
        if self.c.target.head_to_head or runs <= 0 or not champion.version \
                or self.store.score_moments(champion.candidate.id, ("baseline", "champion"))[0]:
            return 0
        return self._measure_champion(champion, runs, cycle=champion.cycle,
                                      first_batch=REMEASURE_BATCH, role="remeasure")

    def _measure_champion(self, champion: Champion, runs: int, *, cycle: int,
                          first_batch: int, role: str) -> int:
        """``runs`` measurements of the champion alone, as "baseline" rows (its score while
        champion), on seeds the run has never used. Returns those made."""
        what = "baseline" if role == "baseline" else "re-measurement"
        size = self.c.judge.batch
        sizes = [size] * (runs // size) + ([runs % size] if runs % size else [])
        self.reporter("baseline_start", {"size": runs, "what": what})
        tasks = []
        for b, n in enumerate(sizes, start=first_batch):
            if self.c.target.interleaved:  # one run a task, as an interleaved test runs it
                seeds = self.ledger.fresh(role, cycle, b, shards=n)
                tasks += [EvalTask(champion.candidate, "baseline", seed, 1, cycle, b,
                                   shard=i) for i, seed in enumerate(seeds)]
            else:
                seed = self.ledger.fresh(role, cycle, b)[0]
                tasks.append(EvalTask(champion.candidate, "baseline", seed, n, cycle, b))
        results = self.c.executor.run(self.c.target, tasks)
        if self.stop.is_set():
            return 0
        self.store.record_evaluations([evaluation_row(r) for r in results])
        failed = [r for r in results if not r.ok]
        if failed:
            msg = f"{what} of the champion failed: {failed[0].error}"
            log.error(msg)
            self.store.event("evaluation_failed", msg, level="error", cycle=cycle)
        scores = [s for r in results if r.ok for s in r.measurement.scores]  # type: ignore[union-attr]
        self.reporter("baseline_end", {"scores": scores, "failed": len(failed), "what": what})
        log.info("%s: %d measurements, mean %.4g", what, len(scores),
                 mean_or_none(scores) or 0.0)
        write_champion_file(self.store, files=self.files)
        return len(scores)

    def _rebuild_evidence(self, cycle: int, champion: Champion | None = None
                          ) -> tuple[Evidence, int]:
        evidence = self._new_evidence(cycle, champion or self.store.champion())
        rows = self.store.evaluations(cycle=cycle, roles=("challenger", "champion"))
        by_batch: dict[int, dict[str, list[EvaluationRow]]] = {}
        for row in rows:
            by_batch.setdefault(row.batch, {}).setdefault(row.role, []).append(row)
        for b in sorted(by_batch):
            roles = by_batch[b]
            # a batch's shards are recorded together: a batch is complete or absent
            # (independent runs: a batch may measure the challenger alone, the
            # champion's side being its shared samples)
            if any(not r.ok for side in roles.values() for r in side) \
                    or "challenger" not in roles \
                    or ("champion" not in roles
                        and (evidence.paired or evidence.kind == "games")):
                continue
            sides = {role: Measurement.concat([measurement_of(r, evidence) for r in
                                               sorted(side, key=lambda r: r.shard)])
                     for role, side in roles.items()}
            evidence.add(sides["challenger"], sides.get("champion"),
                         random.Random(batch_seed(self.seed, cycle, b)))
        return evidence, (max(by_batch) + 1 if by_batch else 0)
