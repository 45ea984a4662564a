"""The loop's overhead on a cheap objective (issue 42): evaluations per second of ratchet
(the python target, as a user calls ``ratchet.run``) against plain Optuna's trials per
second (``study.optimize``, one call a trial) on the same 10 ms objective, measured in
the same run. Goal: ratchet at least half of Optuna's rate.

    python -m bench.overhead [--evaluations 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._results import add_arguments, recorded

TITLE = "Loop overhead on a 10 ms objective: ratchet against plain Optuna"


def ratchet_rate(evaluations: int, seed: int) -> tuple[float, int]:
    import ratchet
    from ratchet.core.store import Store

    recipe = {"name": "overhead", "seed": seed,
              "target": {"kind": "python", "function": "bench._overhead_objective:objective",
                         "outcome": "samples"},
              "space": {"x": {"type": "float", "low": 0, "high": 1},
                        "y": {"type": "float", "low": 0, "high": 1}},
              "strategy": {"kind": "tpe"},
              "judge": {"kind": "welch", "batch": 5, "min_samples": 5, "max_samples": 20},
              "schedule": {"baseline": 10, "budget": {"runs": evaluations}}}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        ratchet.run(recipe, run_dir=Path(tmp) / "run")
        seconds = time.perf_counter() - started
        with Store(Path(tmp) / "run") as store:
            measured = store.measured()
    return measured / seconds, measured


def optuna_rate(trials: int, seed: int) -> float:
    import optuna

    from bench._overhead_objective import objective

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    started = time.perf_counter()
    study.optimize(lambda t: objective({"x": t.suggest_float("x", 0, 1),
                                        "y": t.suggest_float("y", 0, 1)}, t.number, 1)[0],
                   n_trials=trials)
    return trials / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evaluations", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=3)
    add_arguments(ap)
    args = ap.parse_args()
    with recorded("overhead", TITLE, args):
        print(f"{args.evaluations} evaluations of a 10 ms objective, {args.seeds} seeds\n")
        print(f"{'seed':>4s} {'optuna trials/s':>16s} {'ratchet evals/s':>16s} {'ratio':>6s}")
        ratios = []
        for seed in range(args.seeds):
            theirs = optuna_rate(args.evaluations, seed)
            ours, measured = ratchet_rate(args.evaluations, seed)
            ratios.append(ours / theirs)
            print(f"{seed:4d} {theirs:16.1f} {ours:16.1f} {ours / theirs:6.2f}"
                  f"   ({measured} measured)", flush=True)
        print(f"\nratchet's rate over Optuna's: min {min(ratios):.2f}, "
              f"mean {sum(ratios) / len(ratios):.2f} (goal: at least 0.5)")


if __name__ == "__main__":
    main()
