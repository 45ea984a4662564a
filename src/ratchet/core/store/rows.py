"""The rows the store reads and writes, as typed records."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ratchet.core.types import Candidate, Decision


@dataclass(frozen=True)
class EvaluationRow:
    candidate_id: str
    role: str
    cycle: int
    batch: int
    seed: int
    size: int
    ok: bool
    scores: tuple[float, ...]
    ordered: bool
    errors: int
    metrics: dict[str, float]
    duration_s: float
    reason: str | None
    created_at: float
    shard: int = 0


@dataclass(frozen=True)
class DecisionRow:
    cycle: int
    candidate: Candidate
    champion_id: str
    decision: Decision
    reason: str
    stats: dict[str, Any]
    score: float | None
    champion_score: float | None
    games: int
    created_at: float


@dataclass(frozen=True)
class Champion:
    candidate: Candidate
    version: int
    cycle: int
    promoted_at: float


@dataclass(frozen=True)
class CycleOutcome:
    """What a decided cycle commits (``Store.finish_cycle``)."""

    cycle: int
    candidate: Candidate
    champion: Champion       # the champion it was measured against
    decision: Decision
    reason: str
    stats: dict[str, Any]
    score: float | None      # the challenger's mean
    champion_score: float | None
    games: int               # games or samples played, both sides
    strategy_state: dict[str, Any]


def promotion_changes(old: Candidate, new: Candidate) -> dict[str, list[Any]]:
    """Each parameter a promotion changed: [old value, new value]."""
    return {k: [old.params.get(k), v] for k, v in new.params.items()
            if old.params.get(k) != v}


def challenger_n(d: DecisionRow) -> int:
    """The challenger's games or runs in a decided cycle (half of both sides' games, but
    all of them head-to-head, where the champion is not measured apart)."""
    if d.score is None:
        return 0
    return d.games if d.champion_score is None else d.games // 2


def candidate_from_row(row: Sequence[Any]) -> Candidate:
    return Candidate(id=row[0], params=json.loads(row[1]), parent=row[2], origin=row[3],
                     note=row[4], artifact=row[5])


def scores_json(scores: Sequence[float]) -> str:
    """``json.dumps(list(scores))``, quicker for the usual finite floats (a batch split
    over many workers writes a row a shard after every batch)."""
    values = [float(s) for s in scores]
    if all(math.isfinite(v) for v in values):
        return "[" + ", ".join(map(repr, values)) + "]"
    return json.dumps(values)
