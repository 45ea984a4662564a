"""Racing: several challengers in flight, the clearly worse dropped early, the best one
tested against the champion.

A race proposes ``challengers`` candidates at once, each its own pending cycle. Screening
rounds follow: every survivor and the champion play the round's seed once each (K
challengers cost K + 1 evaluations per seed, not 2K), and the worse part of the field is
rejected (successive halving on the paired estimate: the challenger's mean minus the
champion's on the same seeds, over the rounds so far). The last survivor is left pending:
the ordinary cycle then tests it against the champion sequentially, on fresh seeds, so
the selection made while screening never enters the test that promotes, and the judge's
error rate holds per promotion.

Everything is committed as it happens: the entrants and the race's record together, each
round's measurements together, each round's rejections together with the record's next
round. A race killed at any instant resumes where it was.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import (
    Any,
    NotRequired,  # pydantic reads it before Python 3.12
)

from typing_extensions import TypedDict

from ratchet.core.errors import RecipeError
from ratchet.core.seeds import SeedLedger
from ratchet.core.store import StateKey, Store
from ratchet.core.types import Candidate, Decision, EvalTask, Evidence
from ratchet.engine.closing import (
    better_sign,
    evaluation_row,
    mean_or_none,
    measurement_of,
    observed,
    split,
)
from ratchet.engine.cycle import CycleResult, Reporter
from ratchet.engine.factory import Components
from ratchet.engine.recipe import DEFAULT_CHALLENGERS, Racing
from ratchet.plugins.executors import EvalResult

log = logging.getLogger("ratchet.loop")



class RaceRecord(TypedDict):
    cycles: list[int]  # the race's cycles, pending until screened out or kept
    round: int         # the rounds decided so far
    champion_failures: NotRequired[int]  # rounds in a row without the champion's measurement


RACE_KEY = StateKey("loop.race", RaceRecord)  # the race in progress
SCREEN_BATCH = 1_000_000  # screening rounds' batch numbers: apart from any cycle's batches
MAX_CHAMPION_FAILURES = 3  # rounds without the champion's measurement before a race ends


@dataclass(frozen=True)
class _Entry:
    """A challenger in a screening round: its evidence and its gap to the champion in the
    target's own units (None: it has no measurement to rank)."""
    cycle: int
    candidate: Candidate
    evidence: Evidence
    gap: float | None
    better: float  # +1: larger is better; -1: smaller is better
    feasible: bool = True  # its metrics within the recipe's constraints, as measured

    @property
    def rank_key(self) -> tuple[int, float, int]:
        """Best first whatever the direction, those that break a constraint after those
        that do not; failed challengers last; ties by cycle."""
        if self.gap is None:
            return (2, math.inf, self.cycle)
        return (0 if self.feasible else 1, -self.better * self.gap, self.cycle)


def racing_for(racing: Racing | None, components: Components) -> Racing | None:
    """The racing a run uses: ``challengers`` as set (1: none); absent, the default where
    racing applies (a strategy that proposes several at once; a target measured against
    fixed opponents or by a benchmark, whose batches are not one unit), else none."""
    if racing is None:
        return None
    if racing.challengers is None:
        target = components.target
        applies = (not target.head_to_head and not target.batch_is_unit
                   and getattr(components.strategy, "proposes_several", True))
        return racing.model_copy(update={"challengers": DEFAULT_CHALLENGERS}) \
            if applies else None
    return racing if racing.challengers > 1 else None


class Race:
    """Runs races on an opened run (see the module's docstring)."""

    def __init__(self, store: Store, components: Components, racing: Racing, *, seed: int,
                 stop: threading.Event, reporter: Reporter,
                 between_rounds: Callable[[int], bool] = lambda cost: True,
                 ledger: SeedLedger | None = None):
        if components.target.head_to_head:
            raise RecipeError("racing needs a target measured against fixed opponents or "
                              "by a benchmark; a head-to-head target plays the champion "
                              "itself (set racing.challengers: 1)")
        if not getattr(components.strategy, "proposes_several", True):
            raise RecipeError(f"strategy {components.strategy.name} proposes one challenger "
                              "at a time; set racing.challengers: 1")
        self.store = store
        self.c = components
        self.racing = racing
        self.seed = seed
        self.stop = stop
        self.reporter = reporter
        self.between_rounds = between_rounds
        self.ledger = ledger or SeedLedger(seed, store.seeds_used)

    @property
    def screen_size(self) -> int:
        """Games or runs a side per screening round: as set; by default one run of a
        samples benchmark (its noise is what the shared champion measures), a judge's
        batch of games (one game ranks nothing)."""
        if self.racing.screen is not None:
            return self.racing.screen
        return 1 if self.c.judge.outcome == "samples" else self.c.judge.batch

    def open(self) -> bool:
        """A race is in progress (opened before a stop or crash: it is finished first)."""
        return self.store.get(RACE_KEY) is not None

    def screen(self, at_most: int | None = None) -> list[CycleResult] | None:
        """Open a race of at most ``at_most`` challengers (unless a cycle is already
        pending) and screen it down to one pending challenger. Returns the rejected
        challengers' results; None when stopped (the race resumes on the next start)."""
        race = self.store.get(RACE_KEY)
        if race is None:
            if self.store.pending_cycle() is not None:
                return []  # an ordinary cycle (or a race's last survivor) is pending
            most = self.racing.challengers or DEFAULT_CHALLENGERS
            race = self._open(most if at_most is None else max(1, min(most, at_most)))
        results: list[CycleResult] = []
        while True:
            pending = {c: cand for c, cand in self.store.pending_cycles()
                       if c in race["cycles"]}
            if len(pending) <= 1:
                self.store.put(RACE_KEY, None)
                return results
            measured = self._round_measured(race)  # by a start before a crash
            cost = 0 if measured else \
                (len(pending) + 1) * self.screen_size
            if not self.between_rounds(cost):  # the field and the champion, screen each
                return None
            if not measured and not self._measure_round(race):
                return None
            results += self._decide_round(race, pending)
            race = self.store.get(RACE_KEY) or race

    # -- steps ----------------------------------------------------------------------
    def _open(self, challengers: int) -> RaceRecord:
        champion = self.store.champion()
        trials = self.store.lazy_trials()
        first = self.store.last_cycle() + 1
        entrants = []
        for i in range(challengers):
            candidate = self.c.strategy.propose(champion.candidate, trials)
            entrants.append((first + i, candidate))
        race: RaceRecord = {"cycles": [c for c, _ in entrants], "round": 0}
        self.store.start_race(entrants, self.c.strategy.state_dict(), (RACE_KEY, race))
        log.info("race of cycles %d-%d: %s", first, first + len(entrants) - 1,
                 ", ".join(c.id for _, c in entrants))
        self.reporter("race_start", {"cycles": race["cycles"],
                                     "candidates": [c for _, c in entrants]})
        return race

    def _round_measured(self, race: RaceRecord) -> bool:
        batch = SCREEN_BATCH + race["round"]
        return any(r.batch == batch for r in self.store.evaluations(
            cycle=race["cycles"][0], roles=("screen_champion",)))

    def _measure_round(self, race: dict[str, Any]) -> bool:
        """Measure the current round (not yet committed); False when stopped meanwhile."""
        first, rnd = race["cycles"][0], race["round"]
        batch = SCREEN_BATCH + rnd
        champion = self.store.champion()
        pending = [(c, cand) for c, cand in self.store.pending_cycles()
                   if c in race["cycles"]]
        size = self.screen_size
        halves = 2 if self.c.target.interleaved and size >= 2 else 1
        seeds = self.ledger.fresh("screen", first, batch, halves)
        tasks = []
        for shard, (seed, part) in enumerate(zip(seeds, split(size, halves), strict=True)):
            half = [EvalTask(champion.candidate, "screen_champion", seed, part, first,
                             batch, shard=shard)]
            half += [EvalTask(cand, "screen", seed, part, c, batch, shard=shard)
                     for c, cand in pending]
            tasks += half if shard == 0 else half[::-1]
        results = self._run(tasks)
        if self.stop.is_set():
            return False
        self.store.record_evaluations([evaluation_row(r) for r in results])
        return True

    def _run(self, tasks: list[EvalTask]) -> list[EvalResult]:
        """Interleaved targets are measured one run at a time (timing runs disturb each
        other), in the order given: the champion, the field, then (second half) the field
        reversed and the champion, so that a linear drift over the round falls equally on
        every challenger and the champion (ABBA)."""
        if self.c.target.interleaved:
            return [r for task in tasks for r in self.c.executor.run(self.c.target, [task])]
        return self.c.executor.run(self.c.target, tasks)

    def _decide_round(self, race: dict[str, Any],
                      pending: dict[int, Candidate]) -> list[CycleResult]:
        first, rnd = race["cycles"][0], race["round"]
        rounds = range(SCREEN_BATCH, SCREEN_BATCH + rnd + 1)
        # this race's rows only: a long run holds many races
        champion_rows = {(r.batch, r.shard): r for r in self.store.evaluations(
            cycle=first, roles=("screen_champion",)) if r.ok}
        champion = self.store.champion()
        if not any(batch == SCREEN_BATCH + rnd for batch, _ in champion_rows):
            return self._champion_failed(race, pending, champion)
        field = sorted((self._entry(cycle, candidate, rounds, champion_rows)
                        for cycle, candidate in pending.items()), key=lambda e: e.rank_key)
        # at least one out per round, so that every race ends
        kept = max(1, min(math.ceil(len(field) * self.racing.keep), len(field) - 1))
        results, outcomes = [], []
        for rank, entry in enumerate(field[kept:], start=kept + 1):
            how = ("failed" if entry.gap is None
                   else f"{entry.gap:+.4g} against the champion" + (
                       "" if entry.feasible else ", breaking a constraint"))
            reason = (f"screened out in round {rnd + 1}: {how} on the same seeds (rank "
                      f"{rank} of {len(field)})")
            evidence = entry.evidence
            stats = {"screened": True, "round": rnd + 1, "n": len(evidence.challenger),
                     "screen_gap": entry.gap, "screen_failed": entry.gap is None}
            outcomes.append(observed(self.c.strategy, entry.cycle, entry.candidate, champion,
                                     Decision.REJECT, reason, stats, evidence,
                                     feasible=entry.feasible, better=entry.better))
            results.append(CycleResult(entry.cycle, entry.candidate, Decision.REJECT, reason,
                                       evidence, stats, champion=champion))
            self.c.target.discard(entry.candidate)
            log.info("cycle %d: reject — %s", entry.cycle, reason)
        self.store.finish_cycles(outcomes, (RACE_KEY, {**race, "round": rnd + 1}))
        for result in results:
            self.reporter("cycle_end", {"result": result})
        measured = [e.gap for e in field if e.gap is not None]  # best first
        self.reporter("race_round", {"cycles": race["cycles"], "round": rnd + 1,
                                     "field": len(field), "kept": kept,
                                     "games": len(field[0].evidence.challenger),
                                     "unit": ("runs" if self.c.judge.outcome == "samples"
                                              else "games"),
                                     "leader": field[0].candidate.id,
                                     "best_gap": measured[0] if measured else None,
                                     "worst_gap": measured[-1] if measured else None})
        return results

    def _entry(self, cycle: int, candidate: Candidate, rounds: range,
               champion_rows: dict[tuple[int, int], Any]) -> _Entry:
        """A challenger's screening evidence over the race's rounds, each of its rows
        paired with the champion's on the same seed."""
        evidence = Evidence(self.c.judge.outcome)
        for r in self.store.evaluations(cycle=cycle, roles=("screen",)):
            paired = champion_rows.get((r.batch, r.shard))
            if r.batch in rounds and r.ok and paired is not None:
                evidence.add(measurement_of(r, evidence), measurement_of(paired, evidence),
                             random.Random(r.seed))
        gap = (mean_or_none(evidence.challenger) - mean_or_none(evidence.champion)
               if evidence.challenger and evidence.champion else None)
        return _Entry(cycle, candidate, evidence, gap, better_sign(self.c.judge),
                      self.c.constraints.observed_feasible(evidence))

    def _champion_failed(self, race: dict[str, Any], pending: dict[int, Candidate],
                         champion: Any) -> list[CycleResult]:
        """Without the champion's measurement a round ranks nothing: the next round gets
        a fresh seed; after ``MAX_CHAMPION_FAILURES`` such rounds the race ends, its
        challengers failed (the ordinary back-off then applies to the cycles after)."""
        failures = race.get("champion_failures", 0) + 1
        errors = [r.reason for r in self.store.evaluations(
            cycle=race["cycles"][0], roles=("screen_champion",))
            if not r.ok and r.batch == SCREEN_BATCH + race["round"] and r.reason]
        why = f": {errors[-1].strip().splitlines()[-1][:500]}" if errors else ""
        reason = (f"the champion's screening evaluation failed (round {race['round'] + 1}, "
                  f"{failures} of {MAX_CHAMPION_FAILURES}){why}")
        log.error("race of cycle %d: %s", race["cycles"][0], reason)
        self.store.event("evaluation_failed", reason, level="error", cycle=race["cycles"][0])
        if failures < MAX_CHAMPION_FAILURES:
            self.store.finish_cycles([], (RACE_KEY, {**race, "round": race["round"] + 1,
                                                      "champion_failures": failures}))
            return []
        outcomes, results = [], []
        for cycle, candidate in pending.items():
            nothing = Evidence(self.c.judge.outcome)
            outcomes.append(observed(self.c.strategy, cycle, candidate, champion,
                                     Decision.FAILED, reason, {"screened": True}, nothing))
            results.append(CycleResult(cycle, candidate, Decision.FAILED, reason, nothing,
                                       {"screened": True}, champion=champion))
        self.store.finish_cycles(outcomes, (RACE_KEY, None))
        for result in results:
            self.reporter("cycle_end", {"result": result})
        return results
