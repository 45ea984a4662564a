"""The last step of a tuning run: the best configuration re-measured against the original.

The evidence that promoted a challenger is selection-biased (the lucky ones are the ones
promoted), and a machine drifts over a long run. So before anyone is told to apply the
best configuration, it is measured once more against the original: fresh seeds, runs
interleaved (ABBA), at least the judge's ``min_samples`` runs a side, compared batch by
batch (a batch's rewards share its stability term). ``tune-os`` prints
``sysctl -w`` lines only when this re-measurement puts the best above the original.
"""

from __future__ import annotations

import logging
import math
import statistics
from typing import TYPE_CHECKING, Any

from ratchet.core.seeds import SeedLedger
from ratchet.core.store import StateKey
from ratchet.core.types import EvalTask

if TYPE_CHECKING:
    from ratchet.engine.runner import Session

log = logging.getLogger("ratchet.sysctl")

CONFIRMATION = StateKey("sysctl.confirmation", dict[str, Any])


def confirm_best(session: Session) -> None:
    """Re-measure the champion against the original configuration (``RunOptions.finish``);
    the figures go to the store (``CONFIRMATION``), nothing when stopped meanwhile."""
    store = session.store
    champion = store.champion()
    original = store.candidate(store.promotions()[0]["candidate_id"])
    if champion.candidate.id == original.id:
        store.put(CONFIRMATION, {"same": True})
        return
    judge: Any = session.components.judge
    size, wanted = judge.batch, max(judge.min_samples, judge.batch)
    cycle = store.last_cycle() + 1
    ledger = SeedLedger(session.seed, store.seeds_used)
    batch_means: tuple[list[float], list[float]] = ([], [])
    performance: tuple[list[float], list[float]] = ([], [])
    log.info("re-measuring the best configuration against the original (%d pairs)", wanted)
    batch = 0
    while batch * size < wanted:
        if session.stop.is_set():
            return
        (seed,) = ledger.fresh("confirm", cycle, batch)
        parts = session.components
        results = parts.executor.run_interleaved(
            parts.target, EvalTask(champion.candidate, "champion", seed, size, cycle, batch),
            EvalTask(original, "baseline", seed, size, cycle, batch))
        failed = [r for r in results if not r.ok]
        if failed:
            store.put(CONFIRMATION, {"failed": failed[0].error})
            return
        a, b = (r.measurement for r in results)
        assert a is not None and b is not None
        for side, m in enumerate((a, b)):
            batch_means[side].append(m.mean)
            if "performance" in m.metrics:
                performance[side].append(m.metrics["performance"])
        batch += 1
    figures = paired_figures(*batch_means)
    runs = batch * size
    figures.update(runs=runs, best_performance=_mean(performance[0]),
                   original_performance=_mean(performance[1]),
                   candidate=champion.candidate.id, original=original.id)
    store.put(CONFIRMATION, figures)
    store.event("sysctl_confirmation", f"re-measured against the original over {runs} "
                f"interleaved runs a side: {figures['improvement']:+.2f}% "
                f"(p={figures['p_value']:.2g})", **figures)


def paired_figures(best: list[float], original: list[float]) -> dict[str, Any]:
    """From paired values (batch means): means, improvement (%) and the one-sided paired
    t-test's p-value (best > original); ``pairs`` counts the pairs."""
    from scipy import stats as st

    gains = [x - y for x, y in zip(best, original, strict=True)]
    if len(gains) > 1 and statistics.stdev(gains) > 0:
        p_value = float(st.ttest_rel(best, original, alternative="greater").pvalue)
    else:  # no spread to test against: the sign decides
        p_value = 0.0 if statistics.fmean(gains) > 0 else 1.0
    best_mean, original_mean = statistics.fmean(best), statistics.fmean(original)
    return {"pairs": len(gains), "best_reward": best_mean, "original_reward": original_mean,
            "improvement": 100.0 * (best_mean - original_mean) / abs(original_mean)
            if original_mean else math.inf, "p_value": p_value}


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None
