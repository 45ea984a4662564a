"""Sharing self-play effort among game configurations by their own measured progress.

Each configuration is rated in its own pool; ratings of different pools are never
compared. What is compared is each configuration's *rate* of progress within its pool:
the rating its champions gained per 1,000 self-play games over a recent window, with a
95% interval, and the same rate over its history before that window (its trend).

A configuration gets a larger weight (at most ``max_multiplier`` times the base) when
the evidence says one of two things:

* it is learning: its recent gain's interval is above zero; the fastest of those gets the
  full multiplier, the others in proportion to their gain;
* it is lagging behind its own trend: its recent gain's interval is below its trend's
  interval (the seed's "boost for underperforming configs"), in proportion to the
  shortfall.

Anything not shown by an interval leaves the weight at 1. Shares are the weights
normalized, none below ``min_share``; worker slots are shared out by largest remainder.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One configuration's progress in its own pool, in Elo per 1,000 self-play games."""

    gain: float
    low: float
    high: float
    trend: float | None  # before the window (None: too little history)
    games: int           # self-play games in the window
    trend_low: float | None = None  # the lower end of the trend's 95% interval

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Weight:
    weight: float
    share: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def weigh(progress: dict[str, Progress | None], *, min_share: float,
          max_multiplier: float) -> dict[str, Weight]:
    """Each configuration's weight, share and the reason, from its progress."""
    if not progress:
        return {}
    if not 0 <= min_share * len(progress) <= 1:
        raise ValueError(f"min_share {min_share} is more than 1/{len(progress)} "
                         "configurations can each have")
    boost = max_multiplier - 1.0
    learning = {n: p.gain for n, p in progress.items() if p is not None and p.low > 0}
    fastest = max(learning.values(), default=0.0)
    weights: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for name, p in progress.items():
        if p is None:
            weights[name], reasons[name] = 1.0, "not measured yet: base weight"
            continue
        measured = (f"gains {p.gain:+.0f} [{p.low:+.0f}, {p.high:+.0f}] Elo per 1000 "
                    f"games over its last {p.games}")
        signals = [(0.0, f"{measured}: no clear progress or lag, base weight")]
        if name in learning and fastest > 0:
            signals.append((p.gain / fastest, f"{measured}: learning" +
                            (" fastest" if p.gain == fastest else "")))
        floor = p.trend if p.trend_low is None else p.trend_low
        if p.trend is not None and p.trend > 0 and floor is not None and p.high < floor:
            shortfall = min(1.0, (p.trend - p.gain) / p.trend)
            signals.append((shortfall, f"{measured}: behind its own trend of "
                            f"{p.trend:+.0f}"))
        signal, reasons[name] = max(signals, key=lambda s: s[0])
        weights[name] = 1.0 + boost * signal
    shares = _floored({n: w / sum(weights.values()) for n, w in weights.items()},
                      min_share)
    return {n: Weight(round(weights[n], 4), round(shares[n], 4), reasons[n])
            for n in progress}


def _floored(shares: dict[str, float], floor: float) -> dict[str, float]:
    """Shares summing to 1 with none below ``floor`` (the rest scaled down to pay)."""
    fixed: set[str] = set()
    while True:
        free = {n: s for n, s in shares.items() if n not in fixed}
        left = 1.0 - floor * len(fixed)
        total = sum(free.values())
        scaled = {n: (s / total * left if total > 0 else left / len(free))
                  for n, s in free.items()}
        low = {n for n, s in scaled.items() if s < floor}
        if not low or len(low) == len(free):
            return {**{n: floor for n in fixed}, **scaled}
        fixed |= low


def allocate(slots: int, shares: dict[str, float],
             first: list[str] | None = None) -> dict[str, int]:
    """``slots`` workers shared by ``shares`` (largest remainder); every configuration
    keeps at least one while there are as many slots as configurations. Equal remainders
    go in the order of ``first`` (e.g. the configurations with the fewest workers now),
    else by name."""
    order = {n: i for i, n in enumerate(first or [])}
    names = sorted(shares, key=lambda n: (order.get(n, len(order)), n))
    if not names:
        return {}
    base = 1 if slots >= len(names) else 0
    rest = slots - base * len(names)
    exact = {n: shares[n] * rest for n in names}
    counts = {n: base + int(exact[n]) for n in names}
    left = slots - sum(counts.values())
    for n in sorted(names, key=lambda n: -round(exact[n] - int(exact[n]), 9))[:left]:
        counts[n] += 1
    return counts
