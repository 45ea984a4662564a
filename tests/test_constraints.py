"""Constraints on other metrics (``constraints: {ratio: {min: 5.5}}``): a challenger that
breaks one is never promoted, one near its bound is tested rather than read from a run,
and the strategy and the race learn that the region is infeasible. Both directions."""

from __future__ import annotations

import random

import pytest

import ratchet
from ratchet.apps.api import as_recipe
from ratchet.core.errors import RecipeError
from ratchet.core.types import Decision, Evidence, Measurement, Verdict
from ratchet.engine.constraints import Bound, Constraints


def evidence_with(ratios: list[float]) -> Evidence:
    evidence = Evidence("samples")
    for r in ratios:
        evidence.add(Measurement("samples", (1.0,), metrics={"ratio": r}),
                     Measurement("samples", (0.5,)), random.Random(0))
    return evidence


PROMOTE = Verdict(Decision.PROMOTE, "p=0.001 < 0.005: improvement +10%")
RULES = Constraints({"ratio": Bound(min=5.5)}, confidence=0.95, max_n=6)


def test_a_clear_break_rejects_a_clear_pass_promotes():
    broken = RULES.review(PROMOTE, evidence_with([4.0, 4.1, 3.9]))
    assert broken.decision is Decision.REJECT and "ratio >= 5.5" in broken.reason
    held = RULES.review(PROMOTE, evidence_with([6.0, 6.1, 5.9]))
    assert held.decision is Decision.PROMOTE and "constraints hold" in held.reason
    assert held.stats["constraints"]["ratio"]["standing"] == "holds"


def test_a_constraint_near_its_bound_is_measured_further_not_read_from_one_run():
    assert RULES.review(PROMOTE, evidence_with([6.0])).decision is Decision.CONTINUE
    near = RULES.review(PROMOTE, evidence_with([5.4, 5.7, 5.6]))
    assert near.decision is Decision.CONTINUE and "not yet shown" in near.reason
    at_max = RULES.review(PROMOTE, evidence_with([5.4, 5.7, 5.6, 5.5, 5.6, 5.5]))
    assert at_max.decision is Decision.REJECT and at_max.stats["inconclusive"]


def test_a_metric_never_printed_rejects_and_a_max_bound_works_the_other_way():
    missing = Evidence("samples")
    missing.add(Measurement("samples", (1.0,)), Measurement("samples", (0.5,)),
                random.Random(0))
    assert RULES.review(PROMOTE, missing).decision is Decision.REJECT
    at_most = Constraints({"ratio": Bound(max=2.0)}, max_n=6)
    assert at_most.review(PROMOTE, evidence_with([3.0, 3.1])).decision is Decision.REJECT
    assert at_most.review(PROMOTE, evidence_with([1.0, 1.1])).decision is Decision.PROMOTE
    assert not at_most.observed_feasible(evidence_with([2.5]))


def test_recipe_mistakes_are_named():
    base = {"name": "c", "target": {"kind": "python", "function": "json:dumps"},
            "space": {"x": {"type": "float", "low": 0, "high": 1}}, "judge": {"kind": "welch"}}
    for constraints, message in (({"ratio": {}}, "needs min, max or both"),
                                 ({"score": {"min": 1}}, "is the score itself"),
                                 ({"ratio": {"min": 2, "max": 1}}, "above max")):
        with pytest.raises(RecipeError, match=message):
            as_recipe({**base, "constraints": constraints})


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_the_champion_never_breaks_a_constraint(tmp_path, direction, noise):
    """The score grows with x (falls, minimizing); the cost grows with x and must stay
    below 0.6: the best feasible x is near 0.6, and nothing past it is ever promoted."""
    sign = 1.0 if direction == "maximize" else -1.0

    def objective(params, seed):
        rng = random.Random(seed)
        x = params["x"]
        return {"score": sign * x + rng.gauss(0, noise), "cost": x + rng.gauss(0, noise)}

    result = ratchet.run(objective=objective, space={"x": (0.0, 1.0)}, direction=direction,
                         recipe={"constraints": {"cost": {"max": 0.6}}, "seed": 2,
                                 "target": {"start": {"x": 0.1}}},
                         max_cycles=40, run_dir=tmp_path / "run", quiet=True)
    promoted = [d for d in result.history if d.decision is Decision.PROMOTE]
    assert promoted and all(d.candidate.params["x"] < 0.6 + 3 * noise for d in promoted)
    assert result.params["x"] > 0.3
    broken = [d for d in result.history if "constraint" in d.reason]
    assert broken, [d.reason for d in result.history]
    told = ratchet.open_run(tmp_path / "run").trials()
    infeasible = [t for t, d in zip(told, result.history, strict=True) if d.stats.get("infeasible")]
    assert infeasible and all(sign * t.score < sign * t.champion_score for t in infeasible)


def test_every_printed_metric_is_exported(tmp_path):
    from ratchet.apps.export import export_csv, export_lines

    def objective(params):
        return {"score": params["x"], "ratio": 2 * params["x"], "label": "text"}

    ratchet.run(objective=objective, space={"x": (0.0, 1.0)}, max_cycles=2,
                run_dir=tmp_path / "run", quiet=True)
    with ratchet.Store(tmp_path / "run") as store:
        lines = [line for line in export_lines(store) if line["ok"]]
    assert lines and all(set(line["metrics"]) == {"ratio"} for line in lines)
    assert all(line["metrics"]["ratio"] == pytest.approx(2 * line["mean"]) for line in lines)
    assert "metrics" in export_csv(lines).splitlines()[0]
