"""Sequential one-sided Welch test on scalar samples (benchmark runs, episodes).

H1: the challenger's mean beats the champion's by at least the margin, stated either way:
``min_improvement`` relative to the champion's mean (mean_c > (1 + m) * mean_h when
maximizing, mean_c < (1 - m) * mean_h when minimizing) or ``min_difference`` in the
metric's own units (mean_c > mean_h + d, or mean_c < mean_h - d). By default the margin is
0: any gain the test can prove (a relative margin does not suit every metric: 1% of an
accuracy of 0.986 is most of what is left to gain).

After every batch the judge looks once; to keep the false-promotion rate at
``1 - confidence`` over all looks, each look tests at ``(1 - confidence) / looks``
(Bonferroni over the ``max_samples / batch`` possible looks). It rejects early when the
one-sided ``1 - futility`` upper confidence bound of the improvement falls below the
margin (a challenger truly better by exactly the margin is stopped this way with
probability at most ``futility`` per look), and at ``max_samples``.

When the runs were interleaved (``Evidence.pairs_complete``), the test is a paired t-test
on the differences of neighbouring runs, ``c_i - (1 + m) h_i - d``: drift that both runs of
a pair share cancels, instead of passing for an improvement. Where a batch's scores share
a term (``Evidence.batch_unit``) the pairs are the batches' means: its runs are not
independent, and counting them as such would overstate the evidence.

Evidence in proportion to noise: the champion's samples are shared by every cycle
(``Evidence.shared``). Once ``min_samples`` of them are measured, its noise is known and a
challenger is judged from its first sample: below ``min_samples`` challenger samples the
standard error is the one the champion's measured noise implies (or the challenger's
own, if larger) with the champion's degrees of freedom. On interleaved runs the noise is
that of a pair's difference, pooled over recent cycles (``Evidence.pair_noise``). A
single clearly worse sample is rejected; a promotion needs at least two. Where runs are
independent (not interleaved) the champion is measured again only to keep its side as
large as the challenger's: its shared samples are its side. Until its noise is known (a
new champion, fewer than ``min_samples`` of its samples) no verdict either way before
``min_samples`` a side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ratchet.core.registry import BuildContext
from ratchet.core.stats import against
from ratchet.core.types import Decision, Evidence, Moments, Verdict
from ratchet.plugins.judges._base import Judge

if TYPE_CHECKING:
    from ratchet.core.registry import RecipeView


class WelchJudge(Judge):
    kind: Literal["welch"] = "welch"
    min_improvement: float = Field(0.0, ge=0, description="relative gain to prove: 0.01 is "
                                   "1% of the champion's mean (0: any gain the test can "
                                   "prove)")
    min_difference: float | None = Field(None, ge=0, description="absolute gain to prove, "
                                         "in the metric's units (instead of "
                                         "min_improvement)")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="1 - false promotion rate")
    batch: int = Field(3, ge=1, description="samples a side between looks")
    min_samples: int = Field(10, ge=5, description="the champion's samples that make its "
                             "noise known; from then on a challenger is judged from its "
                             "first sample against that noise (before: this many a side)")
    max_samples: int = Field(30, ge=2, description="inconclusive here means reject")
    futility: float = Field(0.2, gt=0, lt=0.5, description="chance of stopping a "
                            "challenger that is exactly min_improvement better")
    direction: Literal["maximize", "minimize"] = Field(
        "maximize", exclude=True, description="taken from the target, not a recipe key")

    name: ClassVar[str] = "welch"
    outcome: ClassVar[Literal["samples"]] = "samples"

    @model_validator(mode="after")
    def _check_samples(self) -> WelchJudge:
        if self.min_difference is not None and self.min_improvement:
            raise ValueError("give min_improvement (relative) or min_difference (absolute), "
                             "not both")
        if self.max_samples < self.min_samples:
            raise ValueError(f"max_samples ({self.max_samples}) must be at least "
                             f"min_samples ({self.min_samples})")
        return self

    def create(self, context: BuildContext) -> WelchJudge:
        return self.model_copy(update={"direction": context.direction})

    def check_recipe(self, recipe: RecipeView) -> None:
        super().check_recipe(recipe)
        if "direction" in self.model_fields_set:
            raise ValueError("judge.direction is not a recipe key: the target's direction "
                             "says which way is better")

    @property
    def looks(self) -> int:
        """Looks a cycle can take: one per batch up to ``max_samples``, and a first one
        after a single sample where the champion's noise is known."""
        return max(1, math.ceil(self.max_samples / self.batch)) + 1

    def knows_noise(self, evidence: Evidence) -> bool:
        """At least ``min_samples`` of the champion's samples are measured (shared from
        earlier cycles; where runs are independent, this cycle's too): a challenger can
        then be judged from its first samples against that noise."""
        if evidence.batch_unit or evidence.head_to_head:
            return False
        if evidence.paired:
            pairs, shared = evidence.pair_noise, evidence.shared
            return (pairs is not None and pairs.n - 1 >= self.min_samples) \
                or (shared is not None and shared.n >= self.min_samples)
        return evidence.champion_side.n >= self.min_samples

    def batch_sizes(self, evidence: Evidence) -> tuple[int, int]:
        """Where runs are independent the champion is measured only as far as its side
        has fewer samples than ``min_samples`` or than the challenger's after the batch
        (its samples are shared by every cycle, so a long-held champion is rarely measured
        again), and a challenger's first batch is one sample; interleaved runs stay in
        pairs, the first a single pair once the champion's noise is known."""
        if evidence.batch_unit or evidence.head_to_head:
            return self.batch, self.batch
        first = self.batch if evidence.batches else 1
        if evidence.paired:
            return (first, first) if self.knows_noise(evidence) else (self.batch, self.batch)
        wanted = max(self.min_samples, len(evidence.challenger) + first)
        return first, max(0, wanted - evidence.champion_side.n)

    def batch_cost(self, head_to_head: bool) -> int:
        return max(super().batch_cost(head_to_head), 1 + self.min_samples)

    def decide(self, evidence: Evidence) -> Verdict:
        from scipy import stats as st  # lazy: keeps `ratchet status` quick to start

        c, h = Moments.of(evidence.challenger), evidence.champion_side
        known, paired = self.knows_noise(evidence), evidence.pairs_complete
        floor = max(2, self.min_samples)
        n = min(c.n, h.n)
        if not known and n < floor:
            return Verdict(Decision.CONTINUE, f"{n} samples < min {floor}", {"n": n})
        if c.n < 1 or h.n < 1:
            return Verdict(Decision.CONTINUE, "no samples yet", {"n": n})
        if paired and len(evidence.pairs) < 2 and not known:
            return Verdict(Decision.CONTINUE, "one interleaved batch: a second is needed to "
                           "see the spread", {"n": n})
        sign = 1.0 if self.direction == "maximize" else -1.0
        factor = 1.0 + sign * self.min_improvement
        shift = sign * (self.min_difference or 0.0)
        pairs = np.asarray(evidence.pairs, dtype=float)
        test = _paired(pairs, factor) if paired else _welch(c, h, factor)
        # below min_samples the champion's measured noise sets the standard error (never
        # below the challenger's own spread): one clearly worse sample is enough to reject
        early = c.n < floor
        if early:
            test = test.at_least(_known(evidence, h, len(pairs) if paired else c.n, factor,
                                        paired))
        diff = test.diff - shift
        alpha_look = (1.0 - self.confidence) / self.looks
        se, df = test.se, test.df
        t = sign * diff / se if se > 0 else (math.inf if sign * diff > 0 else -math.inf)
        p_value = float(st.t.sf(t, df)) if math.isfinite(t) else (0.0 if t > 0 else 1.0)
        rel = (c.mean - h.mean) / abs(h.mean) if h.mean else math.inf
        q = st.t.ppf(1 - self.futility, df)
        best_case = sign * (c.mean - h.mean) + q * test.se_gain  # upper bound of the gain
        stats = {"n": c.n, "challenger_mean": c.mean, "champion_mean": h.mean,
                 "champion_n": h.n, "improvement": sign * rel, "p_value": p_value,
                 "alpha_per_look": alpha_look, "paired": evidence.pairs_complete,
                 "early": early}
        noise = ((f" against the measured noise of a pair ({df + 1:.0f} pairs)"
                  if test.known == "pairs" else
                  f" against the champion's measured noise ({df + 1:.0f} samples)")
                 if early and test.known else "")
        can_promote = (len(pairs) if paired else c.n) >= 2 and se > 0
        if p_value < alpha_look and can_promote:
            unit = "batches" if evidence.batch_unit else "pairs"
            over = (f" over {len(evidence.pairs)} interleaved {unit}"
                    if evidence.pairs_complete else "")
            shown_p, shown_alpha = against(p_value, alpha_look)
            return Verdict(Decision.PROMOTE, f"p={shown_p} < {shown_alpha}: improvement "
                           f"{self._gain(sign * rel, c, h)} beats {self._margin}{over}{noise}",
                           stats)
        if best_case < self.min_improvement * abs(h.mean) + (self.min_difference or 0.0):
            return Verdict(Decision.REJECT, f"improvement {self._gain(sign * rel, c, h)} "
                           f"cannot reach {self._margin} (futility){noise}", stats)
        if c.n >= self.max_samples:
            shown_p, shown_alpha = against(p_value, alpha_look)
            return Verdict(Decision.REJECT, f"max_samples {self.max_samples} reached, "
                           f"p={shown_p} not below {shown_alpha}",
                           {**stats, "inconclusive": True})
        return Verdict(Decision.CONTINUE, f"p={p_value:.2g}, improvement "
                       f"{self._gain(sign * rel, c, h)}", stats)

    @property
    def _margin(self) -> str:
        if self.min_difference is not None:
            return f"{self.min_difference:+.4g}"
        return f"{self.min_improvement:.2%}" if self.min_improvement else "0 (any gain)"

    def _gain(self, relative: float, c: Moments, h: Moments) -> str:
        """The measured gain in the margin's terms: absolute or relative."""
        if self.min_difference is not None:
            sign = 1.0 if self.direction == "maximize" else -1.0
            return f"{sign * (c.mean - h.mean):+.4g}"
        return f"{relative:+.2%}"


@dataclass(frozen=True)
class _Test:
    """The margin's estimate (> 0 favours H1 when maximizing), its standard error, the
    standard error of the plain gain (challenger minus champion) and the degrees of
    freedom; ``known``: the errors come from noise measured before ("pairs": a pair's
    difference; "samples": the champion's samples)."""
    diff: float
    se: float
    se_gain: float
    df: float
    known: str = ""

    def at_least(self, known: _Test) -> _Test:
        """The larger of two standard errors, with its degrees of freedom: a challenger
        noisier than the champion is not judged by the champion's noise alone."""
        if math.isfinite(self.se) and self.se > known.se:
            return self
        return replace(known, diff=self.diff)


def _welch(c: Moments, h: Moments, factor: float) -> _Test:
    """Two independent samples (an undefined error below two challenger samples)."""
    diff = c.mean - factor * h.mean
    if c.n < 2 or h.n < 2:
        return _Test(diff, math.nan, math.nan, 1.0)
    vc, vh = c.var / c.n, factor**2 * h.var / h.n
    se = math.sqrt(vc + vh)
    df = (vc + vh) ** 2 / ((vc**2 / (c.n - 1)) + (vh**2 / (h.n - 1))) if se else 1e9
    return _Test(diff, se, math.sqrt(c.var / c.n + h.var / h.n), df)


def _paired(pairs: np.ndarray, factor: float) -> _Test:
    """The same from (challenger, champion) pairs of neighbouring runs."""
    n = len(pairs)
    margins = pairs[:, 0] - factor * pairs[:, 1]
    gains = pairs[:, 0] - pairs[:, 1]
    if n < 2:
        return _Test(float(margins.mean()), math.nan, math.nan, 1.0)
    return _Test(float(margins.mean()), float(margins.std(ddof=1)) / math.sqrt(n),
                 float(gains.std(ddof=1)) / math.sqrt(n), float(n - 1))


def _known(evidence: Evidence, h: Moments, n: int, factor: float, paired: bool) -> _Test:
    """Standard errors from the noise measured before this cycle, for ``n`` challenger
    samples or pairs, as if the challenger were as noisy: a pair's difference as recent
    cycles measured it (interleaved runs), else the champion's own samples (``h``: its
    side where runs are independent)."""
    differences = evidence.pair_noise if paired else None
    if differences is not None and differences.n >= 2:
        shared = evidence.shared
        other = shared.var if shared is not None and shared.n >= 2 else differences.var
        se = math.sqrt((differences.var + (factor - 1) ** 2 * other) / n)
        return _Test(0.0, se, math.sqrt(differences.var / n), float(differences.n - 1),
                     known="pairs")
    noise = evidence.shared if paired else h
    if noise is None or noise.n < 2:
        return _Test(0.0, math.nan, math.nan, 1.0)
    if paired:
        se, se_gain = (math.sqrt(noise.var * (1 + factor**2) / n),
                       math.sqrt(noise.var * 2 / n))
    else:
        se = math.sqrt(noise.var * (1 / n + factor**2 / h.n))
        se_gain = math.sqrt(noise.var * (1 / n + 1 / h.n))
    return _Test(0.0, se, se_gain, float(noise.n - 1), known="samples")
