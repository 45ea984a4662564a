"""The values that travel through the cycle: candidates, measurements, evidence, verdicts."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

OutcomeKind = Literal["games", "samples"]
# screen / screen_champion: a race's screening round (the champion measured once per seed)
Role = Literal["baseline", "challenger", "champion", "screen", "screen_champion"]


class Decision(StrEnum):
    PROMOTE = "promote"
    REJECT = "reject"
    CONTINUE = "continue"
    FAILED = "failed"     # the challenger could not be measured
    GATED = "gated"       # the judge said promote, a gate said no

    def is_final(self) -> bool:
        return self is not Decision.CONTINUE


@dataclass(frozen=True)
class Candidate:
    """A set of parameter values, where it came from, and an optional artifact file."""

    params: dict[str, Any]
    origin: str
    parent: str | None = None
    note: str = ""
    artifact: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class EvalTask:
    """Measure ``candidate`` on ``size`` games or runs from ``seed``. ``opponent`` is set
    when the target pits the challenger against the champion directly. ``shard``: the
    part of a batch split across workers (each part its own seed)."""

    candidate: Candidate
    role: Role
    seed: int
    size: int
    cycle: int
    batch: int
    opponent: Candidate | None = None
    shard: int = 0


@dataclass(frozen=True)
class Measurement:
    """What one evaluation of one candidate produced.

    ``scores`` holds one entry per game (1 win, 0.5 draw, 0 loss) or per sample (the metric).
    ``ordered`` says the scores are in game order, so two measurements taken with the same
    seed can be paired game by game.
    """

    kind: OutcomeKind
    scores: tuple[float, ...]
    ordered: bool = False
    errors: int = 0
    cost_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def wins(self) -> int:
        return sum(1 for s in self.scores if s == 1.0)

    @property
    def draws(self) -> int:
        return sum(1 for s in self.scores if s == 0.5)

    @property
    def losses(self) -> int:
        return sum(1 for s in self.scores if s == 0.0)

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else float("nan")

    @classmethod
    def concat(cls, parts: Sequence[Measurement]) -> Measurement:
        """The shards of one batch as one measurement, in shard order (metrics: the mean
        over shards, weighted by their sizes)."""
        if len(parts) == 1:
            return parts[0]
        total = sum(p.n for p in parts) or 1
        metrics = {name: sum(p.metrics[name] * p.n for p in parts if name in p.metrics)
                   / (sum(p.n for p in parts if name in p.metrics) or total)
                   for name in {k for p in parts for k in p.metrics}}
        return cls(parts[0].kind, tuple(s for p in parts for s in p.scores),
                   ordered=all(p.ordered for p in parts), errors=sum(p.errors for p in parts),
                   cost_s=sum(p.cost_s for p in parts), metrics=metrics)


@dataclass(frozen=True)
class Moments:
    """A sample summed up: its size, mean and variance (ddof 1; 0 below two values)."""

    n: int
    mean: float
    var: float

    @classmethod
    def of_sums(cls, n: int, total: float, squares: float) -> Moments:
        mean = total / n if n else 0.0
        var = max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0
        return cls(n, mean, var)

    @classmethod
    def of(cls, values: Sequence[float]) -> Moments:
        return cls.of_sums(len(values), float(sum(values)),
                           float(sum(v * v for v in values)))

    def __add__(self, other: Moments) -> Moments:
        return Moments.of_sums(self.n + other.n, self.mean * self.n + other.mean * other.n,
                               _squares(self) + _squares(other))


def _squares(m: Moments) -> float:
    return (m.n - 1) * m.var + m.n * m.mean * m.mean if m.n > 1 else m.n * m.mean * m.mean


@dataclass
class Evidence:
    """Challenger-versus-champion evidence gathered so far in one cycle.

    For games measured against fixed opponents, ``pairs`` holds (challenger, champion) scores
    from the same seed and game. For head-to-head games, ``challenger`` holds the challenger's
    score in each game against the champion. For samples, both lists hold metric values;
    when ``paired`` (runs interleaved in time), ``pairs`` also holds each challenger run
    next to the champion run beside it, so that a judge can cancel slow drift. With
    ``batch_unit`` the scores of one side in one batch share a term computed over the
    batch (sysctl's stability), so they are not independent: ``pairs`` then holds one
    (challenger mean, champion mean) pair per batch. With ``games_in_pairs`` (head to
    head, the games of a measurement in pairs from one opening with the sides swapped),
    ``pairs`` holds the challenger's two scores of each pair: the two games are
    dependent, the pairs are not.
    """

    kind: OutcomeKind
    head_to_head: bool = False
    paired: bool = False
    batch_unit: bool = False
    games_in_pairs: bool = False
    challenger: list[float] = field(default_factory=list)
    champion: list[float] = field(default_factory=list)
    pairs: list[tuple[float, float]] = field(default_factory=list)
    batches: int = 0
    cost_s: float = 0.0
    challenger_metrics: list[dict[str, float]] = field(default_factory=list)
    champion_metrics: list[dict[str, float]] = field(default_factory=list)
    """Each batch's named metrics (Measurement.metrics), for judges that weigh them."""
    shared: Moments | None = None
    """The champion's samples from before this cycle, measured while it was champion (never
    the evidence that promoted it, biased upward by selection): its measured noise, and
    where runs are not interleaved, more of its mean."""
    pair_noise: Moments | None = None
    """Interleaved runs: the spread of a pair's difference (challenger minus champion)
    about its cycle's mean, pooled over recent cycles (``n - 1`` its degrees of freedom):
    the noise a paired test sees, measured before this cycle."""

    @property
    def n(self) -> int:
        """Decision-relevant sample size: game pairs, head-to-head games, or challenger samples."""
        if self.kind == "games":
            return len(self.challenger) if self.head_to_head else len(self.pairs)
        return len(self.challenger)

    @property
    def games_played(self) -> int:
        return len(self.challenger) + len(self.champion)

    def add(self, challenger: Measurement, champion: Measurement | None,
            rng: random.Random) -> None:
        """Add one batch: the challenger's measurement and the champion's on the same seed."""
        self.batches += 1
        self.cost_s += challenger.cost_s + (champion.cost_s if champion else 0.0)
        self.challenger.extend(challenger.scores)
        self.challenger_metrics.append(dict(challenger.metrics))
        if self.head_to_head and self.games_in_pairs and challenger.ordered:
            games = challenger.scores
            self.pairs.extend(zip(games[0::2], games[1::2], strict=False))
        if champion is None:
            return
        self.champion.extend(champion.scores)
        self.champion_metrics.append(dict(champion.metrics))
        if self.kind == "games" and not self.head_to_head:
            self.pairs.extend(pair_games(challenger, champion, rng))
        elif self.paired and challenger.ordered and champion.ordered \
                and challenger.n == champion.n:
            if self.batch_unit:
                self.pairs.append((challenger.mean, champion.mean))
            else:
                self.pairs.extend(zip(challenger.scores, champion.scores, strict=True))

    @property
    def champion_side(self) -> Moments:
        """The champion's samples a judge compares with: this cycle's, and where runs are
        independent (not interleaved, no shared batch term) the shared ones too."""
        own = Moments.of(self.champion)
        if self.shared is None or self.paired or self.batch_unit or self.head_to_head:
            return own
        return self.shared + own

    @property
    def champion_mean(self) -> float | None:
        """The champion's score next to the challenger's (its shared mean when this
        cycle did not measure it)."""
        side = self.champion_side
        if side.n:
            return side.mean
        return self.shared.mean if self.shared is not None and self.shared.n else None

    @property
    def pairs_complete(self) -> bool:
        """Samples interleaved run by run, every run (or batch) with its neighbour."""
        if not (self.paired and self.kind == "samples" and self.pairs):
            return False
        if self.batch_unit:
            return len(self.pairs) == self.batches
        return len(self.pairs) == len(self.challenger) == len(self.champion)


def pair_games(a: Measurement, b: Measurement, rng: random.Random) -> list[tuple[float, float]]:
    """Pair two measurements game by game when both list games in the same order; otherwise
    pair them at random, which is a valid (if less powerful) independent pairing."""
    if a.ordered and b.ordered and a.n == b.n:
        return list(zip(a.scores, b.scores, strict=True))
    xs, ys = list(a.scores), list(b.scores)
    rng.shuffle(xs)
    rng.shuffle(ys)
    return list(zip(xs, ys, strict=False))


@dataclass(frozen=True)
class Trial:
    """A finished cycle as strategies see it: the candidate, the decision and its measured
    score (challenger mean; also when rejected or inconclusive) next to the champion's
    score on the same seeds, and the challenger's sample size (games or runs)."""

    candidate: Candidate
    cycle: int
    decision: Decision
    score: float | None
    champion_score: float | None = None
    n: int = 0


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateResult:
    """One check before a promotion: passed or not, and why."""

    gate: str
    passed: bool
    reason: str
    advisory: bool = False  # measured and reported, but not binding (yet)


# -- long-running workers beside the loop (``Target.workers``) -------------------------
