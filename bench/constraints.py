"""How often a constraint lets through a challenger that breaks it (issue 43).

A challenger clearly better on its score (+20%, sd 10%) whose other metric's true mean
sits at a given distance from the constraint's bound, in units of that metric's spread
(sd of one run): at the bound (the null case: it should pass at most 1 - confidence of
the time), past it (it breaks the bound), or inside it (it should pass). Each test is a
sequential one, as the loop runs it: the welch judge (its defaults) and the recipe's
constraints look after every batch, until a verdict. Both directions of the score, and
both kinds of bound (min and max).

    python -m bench.constraints [--tests 400] [--no-save]

Each test draws from its own seed; the spread of the tests' first metric values is
printed, to show they are independent.
"""

from __future__ import annotations

import argparse
import random
import statistics

from bench._results import add_arguments, recorded
from ratchet.core.stats import clopper_pearson
from ratchet.core.types import Decision, Evidence, Measurement
from ratchet.engine.constraints import Bound, Constraints, judge_maximum
from ratchet.plugins.judges.welch import WelchJudge

OFFSETS = (-1.0, 0.0, 1.0, 3.0)  # the metric's true mean, in sds inside the bound


def one_test(seed: int, judge: WelchJudge, rules: Constraints, bound: Bound,
             offset: float) -> tuple[Decision, int, float]:
    rng = random.Random(seed)
    sign = 1.0 if judge.direction == "maximize" else -1.0
    champion, challenger = 1.0, 1.0 + sign * 0.2
    limit = bound.min if bound.min is not None else bound.max
    assert limit is not None
    inside = 1.0 if bound.min is not None else -1.0
    metric_mean = limit + inside * offset  # sd of one run: 1
    evidence, first = Evidence("samples"), None
    while True:
        size = judge.batch
        ours = [rng.gauss(challenger, 0.1) for _ in range(size)]
        theirs = [rng.gauss(champion, 0.1) for _ in range(size)]
        metric = statistics.fmean(rng.gauss(metric_mean, 1.0) for _ in range(size))
        first = metric if first is None else first
        evidence.add(Measurement("samples", tuple(ours), metrics={"m": metric}),
                     Measurement("samples", tuple(theirs)), rng)
        verdict = rules.review(judge.decide(evidence), evidence)
        if verdict.decision is not Decision.CONTINUE:
            return verdict.decision, evidence.n, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=400)
    add_arguments(parser)
    args = parser.parse_args()
    with recorded("constraints", "Constraints: promotions of a challenger by the distance "
                  "of its metric to the bound", args):
        print(f"{args.tests} sequential tests a row, each from its own seed; welch defaults; "
              "confidence 0.95 (the null row should be at most 5%)")
        print(f"{'direction':>9} {'bound':>6} {'offset (sd)':>11} {'promoted':>9} "
              f"{'95% interval':>16} {'mean n':>7} {'first values: sd':>17}")
        for direction in ("maximize", "minimize"):
            judge = WelchJudge(kind="welch", direction=direction, min_samples=5)
            for bound in (Bound(min=5.0), Bound(max=5.0)):
                rules = Constraints({"m": bound}, judge.confidence, judge_maximum(judge))
                for offset in OFFSETS:
                    results = [one_test(1000 * i + 7, judge, rules, bound, offset)
                               for i in range(args.tests)]
                    promoted = sum(d is Decision.PROMOTE for d, _, _ in results)
                    low, high = clopper_pearson(promoted, len(results))
                    kind = "min" if bound.min is not None else "max"
                    spread = statistics.stdev(f for _, _, f in results)
                    print(f"{direction:>9} {kind:>6} {offset:>+11.1f} "
                          f"{promoted / len(results):>9.1%} [{low:>6.1%}, {high:>6.1%}] "
                          f"{statistics.fmean(n for _, n, _ in results):>7.1f} "
                          f"{spread:>17.3f}")


if __name__ == "__main__":
    main()
