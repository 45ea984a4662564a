"""Search efficiency under equal evaluation budgets.

Part 1, noisy test functions with a known optimum (bowl, rosenbrock, rastrigin in 4-D, one
noisy sample per evaluation): ratchet's loop with perturb, tpe and random proposals (welch
judge), seed 004's loop (perturb, keep if the mean of 3 samples beats the best so far by
0.1%) and plain Optuna TPE (one sample per trial, answer = best observed trial). Prints
the regret of each method's final answer (fraction of the start's gap to the optimum left,
noise-free), the evaluations it needed to close 90% of the gap, how many of its changes of
answer made the answer truly worse (for a live system: regressions deployed), and how far
the score it reports for its answer overstates the truth.

Part 2 (--bot-games N): a simulated bot whose true Elo is known (bench/_elo_bot.py), N
games per method.

Part 3 (--snake-games N): the same on the snake bot with a budget of N games per method;
every final champion is re-measured against the default weights on fresh seeds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

import numpy as np
import optuna

from bench._baselines import Result, Trace, optuna_loop, seed004_loop
from bench._functions import FunctionTarget, Problem, point, space
from bench._results import add_arguments, recorded
from ratchet.core.space import Space
from ratchet.core.store import Store
from ratchet.core.types import Decision
from ratchet.engine.factory import Components
from ratchet.engine.recipe import Budget, Racing, Schedule
from ratchet.engine.runner import Session
from ratchet.engine.summary import champion_summary
from ratchet.plugins.executors import InlineExecutor
from ratchet.plugins.judges import Judge, WelchJudge
from ratchet.plugins.strategies import OptunaStrategy, PerturbStrategy, Strategy
from ratchet.plugins.strategies.spsa import SPSAStrategy
from ratchet.plugins.targets import Target

TITLE = "Search efficiency under equal evaluation budgets"

optuna.logging.set_verbosity(optuna.logging.WARNING)
JUDGE = {"min_samples": 10}  # --min-samples
BUDGET = [600]  # --budget: spent/budget's denominator
TIME: dict[str, float | None] = {"seconds": None, "delay_s": 0.0}  # --seconds, --delay-ms


CHAMPION_ROLES = ("baseline", "champion", "screen_champion")


def spending(store: Store) -> tuple[int, int, int]:
    """Challengers examined, games or runs measured, and how many of them the champion's."""
    rows = [r for r in store.evaluations() if r.ok]
    examined = {r.candidate_id for r in rows if r.role in ("challenger", "screen")}
    return (len(examined), sum(r.size for r in rows),
            sum(r.size for r in rows if r.role in CHAMPION_ROLES))


def run_loop(target: Target, search_space: Space, strategy: Strategy, judge: Judge,
             budget: int, seed: int, racing: Racing | None = None,
             tally: dict[str, int] | None = None, baseline: int = 3) -> Result:
    """ratchet's loop on ``target`` with a budget of ``budget`` games or runs (the
    recipe's ``schedule.budget``: the run ends itself; a stop at twice the budget is only a
    safety net)."""
    stop = threading.Event()
    trace: Trace = []

    def report(event: str, data: dict) -> None:
        if event == "cycle_end":
            trace.append((target.evaluations, data["result"].champion.candidate.params))
        if target.evaluations >= 2 * budget and not TIME["seconds"]:
            stop.set()

    spend = (Budget(seconds=TIME["seconds"]) if TIME["seconds"] else
             Budget(**{"runs" if target.outcome == "samples" else "games": budget}))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp, create=True)
        components = Components(search_space, target, strategy, judge, [], InlineExecutor())
        session = Session(name="bench", store=store, components=components, seed=seed,
                          stop=stop, reporter=report,
                          schedule=Schedule(baseline=baseline, failure_backoff_s=0,
                                            pause_s=0, stagnation_cycles=None,
                                            budget=spend),
                          racing=racing)
        trace.append((0, target.baseline(search_space)))
        with session:
            session.run()
        store = Store(tmp)
        summary = champion_summary(store)
        score = summary["score"]
        interval = (score["low"], score["high"]) if score.get("low") is not None else None
        if tally is not None:  # decisions by the sequential test (not screening)
            tested = [d for d in store.decisions() if not d.stats.get("screened")
                      and d.decision in (Decision.PROMOTE, Decision.REJECT)]
            tally["tests"] += len(tested)
            tally["promotions"] += sum(d.decision is Decision.PROMOTE for d in tested)
        examined, measured, on_champion = spending(store)
        store.close()
    return Result(trace, score["mean"], interval, examined, on_champion / max(measured, 1),
                  summary["promotions"], measured)


def run_ratchet(problem: Problem, strategy: Strategy, budget: int, seed: int,
                racing: Racing | None = None, tally: dict[str, int] | None = None,
                defaults: bool = False) -> Result:
    """ratchet's loop; ``defaults``: the welch judge's and racing's defaults (what a
    recipe that names only the judge's kind gets)."""
    judge = (WelchJudge() if defaults else
             WelchJudge(min_improvement=0.002, confidence=0.95, batch=3, max_samples=15,
                        **JUDGE))
    racing = Racing() if defaults else racing
    return run_loop(FunctionTarget(problem, seed, TIME["delay_s"] or 0.0), space(), strategy,
                    judge, budget, seed, racing, tally)


def run_seed004(problem: Problem, budget: int, seed: int) -> Result:
    """Seed 004's loop: the mean of 3 samples must beat the best by 0.1%."""
    target = FunctionTarget(problem, seed)
    return seed004_loop(_sampler(target), lambda: target.evaluations, space(),
                        target.baseline(space()), budget, seed, first=5, per_challenger=3,
                        margin=lambda best: 0.001 * abs(best), params_per_step=(1, 3))


def run_optuna(problem: Problem, budget: int, seed: int) -> Result:
    target = FunctionTarget(problem, seed, TIME["delay_s"] or 0.0)
    return optuna_loop(_sampler(target), lambda: target.evaluations, space(),
                       target.baseline(space()), budget, seed, per_trial=1,
                       seconds=TIME["seconds"])


def _sampler(target: FunctionTarget):  # noqa: ANN202 - a bench.baselines Measure
    return lambda params, n, _index: [target.sample(params) for _ in range(n)]


def summarize(problem: Problem, results: list[Result]) -> dict[str, float | str]:
    """Final regret; evaluations to close 90% of the gap; how often the answer got truly
    worse when it changed (a regression made live); reported minus true score."""
    traces = [r.trace for r in results]
    finals = [problem.regret(t[-1][1]) for t in traces]
    changes = regressions = 0
    for t in traces:
        for (_, old), (_, new) in zip(t, t[1:], strict=False):
            if new != old:
                changes += 1
                regressions += problem.regret(new) > problem.regret(old)
    overstated = [r.reported - problem.score(point(r.trace[-1][1])) for r in results]
    with_ci = [r for r in results if r.interval is not None]
    inside = sum(r.interval[0] <= problem.score(point(r.trace[-1][1])) <= r.interval[1]
                 for r in with_ci)  # type: ignore[index]
    reach = []
    for t in traces:
        hit = next((n for n, params in t if problem.regret(params) <= 0.1), None)
        reach.append(hit)
    reached = [r for r in reach if r is not None]
    to_target = (f"{statistics.median(reached):.0f} ({len(reached)}/{len(reach)})"
                 if reached else f"— (0/{len(reach)})")
    spent = (None if TIME["seconds"] else
             max((r.spent / BUDGET[0] for r in results if r.spent), default=None))
    return {"spent": f"{spent:.3f}" if spent is not None else "—",
            "evaluations": statistics.mean(t[-1][0] for t in traces),
            "mean": statistics.mean(finals), "median": statistics.median(finals),
            "reach": to_target, "regressions": f"{regressions}/{changes}",
            "in_ci": f"{inside}/{len(with_ci)}" if with_ci else "—",
            "overstated": statistics.mean(overstated)}


def methods(seed: int, race: Racing | None = None
            ) -> dict[str, Callable[[Problem, int, int], Result]]:
    def ratchet(kind: str, racing: Racing | None = None, defaults: bool = False):
        def go(problem: Problem, budget: int, s: int) -> Result:
            strategy = (PerturbStrategy(space(), seed=s, params_per_step=(1, 3))
                        if kind == "perturb" else
                        SPSAStrategy(space(), seed=s, iterations=max(2, budget // 50))
                        if kind == "spsa" else
                        OptunaStrategy(space(), seed=s, sampler=kind, n_startup_trials=10))
            return run_ratchet(problem, strategy, budget, s, racing, defaults=defaults)
        return go

    race = race or Racing(challengers=4, screen=3)
    return {"ratchet perturb + welch": ratchet("perturb"), "ratchet tpe + welch": ratchet("tpe"),
            "ratchet random + welch": ratchet("random"),
            "ratchet spsa + welch": ratchet("spsa"),
            "ratchet gp + welch": ratchet("gp"),
            "ratchet tpe, defaults": ratchet("tpe", defaults=True),
            "ratchet perturb, defaults": ratchet("perturb", defaults=True),
            f"ratchet perturb, racing {race.challengers}": ratchet("perturb", race),
            f"ratchet tpe, racing {race.challengers}": ratchet("tpe", race),
            "seed 004 loop": run_seed004, "optuna tpe (best trial)": run_optuna}


def part_false_promotions(args: argparse.Namespace, race: Racing) -> None:
    """Racing on a flat function: every configuration is as good, so every promotion is
    false; the judge's error rate should hold per test, whatever screening selected."""
    from ratchet.core.stats import clopper_pearson

    tally = {"tests": 0, "promotions": 0}
    for s in range(args.seeds):
        strategy = OptunaStrategy(space(), seed=args.seed + s, sampler="tpe",
                                  n_startup_trials=10)
        run_ratchet(Problem("flat", args.noise), strategy, args.false_budget,
                    args.seed + s, race, tally)
    low, high = clopper_pearson(tally["promotions"], tally["tests"])
    print(f"\nFalse promotions, tpe racing {race.challengers} on a flat function "
          f"({args.seeds} seeds x {args.false_budget} evaluations): {tally['promotions']} "
          f"of {tally['tests']} tests ({tally['promotions'] / max(tally['tests'], 1):.1%}, "
          f"95% CI {low:.1%}-{high:.1%}); the judge's stated rate is 5%")


OPTUNA = "optuna tpe (best trial)"


def print_paired(name: str, finals: dict[str, list[float]], baseline: str) -> None:
    """Each ratchet method's final regret minus the baseline's, paired by seed: the mean
    difference and its 95% t-interval (negative: ratchet's answer is better)."""
    from scipy import stats

    if baseline not in finals:
        return
    for label, values in finals.items():
        if not label.startswith("ratchet"):
            continue
        diffs = np.subtract(values, finals[baseline])
        half = (stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / np.sqrt(len(diffs))
                if len(diffs) > 1 else float("nan"))
        verdict = ("better" if diffs.mean() + half < 0 else "worse" if diffs.mean() - half > 0
                   else "no clear difference")
        print(f"  {name}: {label} - {baseline}, paired by seed: {diffs.mean():+.4f} "
              f"[{diffs.mean() - half:+.4f}, {diffs.mean() + half:+.4f}] ({verdict})")


def part_functions(args: argparse.Namespace) -> None:
    budget = (f"{args.seconds:g} s of wall time each, {args.delay_ms:g} ms a sample"
              if args.seconds else f"budget {args.budget} evaluations")
    print(f"Part 1: 4-D noisy functions, noise sd {args.noise} (score 50 at start, 100 at "
          f"optimum), {budget}, {args.seeds} seeds\n")
    header = (f"{'function':11s} {'method':26s} {'regret mean':>12s} {'median':>8s} "
              f"{'evals to 90%':>14s} {'worse/changes':>14s} {'overstated':>11s} "
              f"{'truth in CI':>11s} {'spent/budget':>12s} {'evaluations':>11s}")
    print(header)
    print("-" * len(header))
    for name in args.functions.split(","):
        problem = Problem(name, args.noise)
        race = Racing(challengers=args.race_challengers, screen=args.race_screen,
                      keep=args.race_keep)
        chosen = methods(args.seed, race)
        if args.methods:
            chosen = {k: v for k, v in chosen.items() if any(m in k for m in args.methods)}
        finals: dict[str, list[float]] = {}
        for label, run in chosen.items():
            t = time.perf_counter()
            results = [run(problem, args.budget, args.seed + s) for s in range(args.seeds)]
            finals[label] = [problem.regret(r.trace[-1][1]) for r in results]
            r = summarize(problem, results)
            print(f"{name:11s} {label:26s} {r['mean']:12.4f} {r['median']:8.4f} "
                  f"{r['reach']:>14s} {r['regressions']:>14s} {r['overstated']:+11.2f} "
                  f"{r['in_ci']:>11s} {r['spent']:>12s} {r['evaluations']:11.0f}   "
                  f"({time.perf_counter() - t:.0f} s)",
                  flush=True)
        print_paired(name, finals, OPTUNA)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=600)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--noise", type=float, default=2.0)
    ap.add_argument("--functions", default="bowl,rosenbrock,rastrigin")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--race-challengers", type=int, default=32)
    ap.add_argument("--race-screen", type=int, default=1, help="samples a side per round")
    ap.add_argument("--race-keep", type=float, default=0.25, help="share kept per round")
    ap.add_argument("--min-samples", type=int, default=10, help="the welch judge's")
    ap.add_argument("--seconds", type=float, default=None, help="equal wall time instead "
                    "of equal evaluations: every method runs this long (functions part; "
                    "with --delay-ms per sample)")
    ap.add_argument("--delay-ms", type=float, default=10.0, help="with --seconds: what a "
                    "sample costs (sleeping), so that the loops' own time counts as it "
                    "would against a real objective")
    ap.add_argument("--methods", nargs="*", help="only the methods whose label has one of "
                    "these words (e.g. racing optuna)")
    ap.add_argument("--false-budget", type=int, default=0, help="also count false "
                    "promotions with racing on a flat function, this many evaluations a seed")
    ap.add_argument("--snake-games", type=int, default=0,
                    help="also tune the snake bot with this many games per method")
    ap.add_argument("--snake-without-optuna", action="store_true",
                    help="the snake part without its Optuna reference (ratchet's reported "
                    "scores against fresh games only)")
    from bench._bot import add_arguments as add_bot_arguments

    add_bot_arguments(ap)
    add_arguments(ap)
    args = ap.parse_args()
    JUDGE["min_samples"] = args.min_samples
    BUDGET[0] = args.budget
    if args.seconds:
        TIME.update(seconds=args.seconds, delay_s=args.delay_ms / 1000)
    with recorded("search", TITLE, args):
        if args.functions:
            part_functions(args)
        if args.false_budget:
            part_false_promotions(args, Racing(challengers=args.race_challengers,
                                               screen=args.race_screen, keep=args.race_keep))
        if args.bot_games:
            from bench._bot import part_bot

            part_bot(args)
        if args.snake_games:
            from bench._snake import part_snake

            part_snake(args.snake_games, args.seeds, args.seed, only=args.methods,
                       reference=not args.snake_without_optuna)


if __name__ == "__main__":
    main()
