"""Small statistics helpers shared by judges, the loop and the CLI."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def elo_to_score(elo: float) -> float:
    """Expected score of a player ``elo`` points stronger (logistic Elo)."""
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


def score_to_elo(score: float) -> float:
    score = min(max(score, 1e-6), 1 - 1e-6)
    return -400.0 * math.log10(1.0 / score - 1.0)


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) 95% interval of a rate of ``k`` in ``n``."""
    from scipy.stats import beta  # lazy: scipy takes ~0.5 s to import

    low = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return low, high


def wilson_interval(score: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95% interval of a mean score in [0, 1] over ``n`` games."""
    if n == 0:
        return 0.0, 1.0
    centre = score + z * z / (2 * n)
    spread = z * math.sqrt(score * (1 - score) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


@dataclass(frozen=True)
class Estimate:
    """A mean with a two-sided confidence interval."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n,
                "confidence": self.confidence}


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Student-t interval for the mean; degenerate for n < 2."""
    return estimate_from_moments(len(values), sum(values), sum(v * v for v in values),
                                 confidence)


def estimate_from_moments(n: int, total: float, total_sq: float,
                          confidence: float = 0.95) -> Estimate:
    """The same interval from the count, sum and sum of squares (which SQL can add up)."""
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, confidence)
    mean = total / n
    if n < 2:
        return Estimate(mean, float("-inf"), float("inf"), n, confidence)
    from scipy import stats as _st  # lazy: scipy takes ~0.5 s to import

    var = max(total_sq - n * mean * mean, 0.0) / (n - 1)
    q = float(_st.t.ppf(0.5 + confidence / 2, n - 1))
    half = q * math.sqrt(var / n)
    return Estimate(mean, mean - half, mean + half, n, confidence)


def against(value: float, bound: float, digits: int = 2) -> tuple[str, str]:
    """``value`` and ``bound`` as short numbers that never contradict their order: more
    significant digits until two different numbers print differently (0.0049 < 0.005,
    not 0.005 < 0.005)."""
    for d in range(digits, 8):
        shown = f"{value:.{d}g}", f"{bound:.{d}g}"
        if value == bound or shown[0] != shown[1]:
            return shown
    return f"{value:.8g}", f"{bound:.8g}"
