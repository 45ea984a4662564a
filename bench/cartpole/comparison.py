"""Per training seed, several ways to train a policy on the same held-out sets (sections
memory and network)."""

from __future__ import annotations

import time
from typing import Any

from bench.cartpole.common import fresh_returns, pooled
from bench.cartpole.sb3 import sb3_fresh_returns, sb3_train
from ratchet.plugins.targets.cartpole.pretrain import pretrain, training_tasks
from ratchet.plugins.targets.cartpole.tasks import task_set

SB3_DEFAULTS = ("SB3 defaults",
                lambda seed, steps: sb3_train("ppo-default", training_tasks(seed), steps, seed),
                sb3_fresh_returns)


AS_SHIPPED = ("as shipped", lambda seed, steps: pretrain(seed=seed, steps=steps)[0],
              fresh_returns)


def seed_comparison(label: str, methods: dict[str, tuple[str, Any, Any]], seeds: list[int],
                     task_seeds: list[int], wide_seeds: list[int], long_limit: int,
                     steps: int) -> None:
    """Per training seed, each method (name: (short name, how to train it at a seed and
    step budget, how it plays)) on the held-out physics sets at 500 and ``long_limit``
    steps and on the wide sets at 500."""
    task_sets = [task_set("physics", "heldout", 30, ts) for ts in task_seeds]
    wide_sets = [task_set("physics", "wide", 30, ts) for ts in wide_seeds]
    rows: dict[str, list[tuple[int, int, float, int]]] = {m: [] for m in methods}
    for seed in seeds:
        started = time.perf_counter()
        for method, (_, train, returns) in methods.items():
            model = train(seed, steps)
            short = pooled(returns, model, task_sets, 500)
            long = pooled(returns, model, task_sets, long_limit)
            wide = pooled(returns, model, wide_sets, 500)
            rows[method].append((sum(r < 500 for r in short), sum(r < long_limit for r in long),
                                 min(short), sum(r < 500 for r in wide)))
        print(f"{label}, training seed {seed} ({time.perf_counter() - started:.0f} s): "
              "tasks under 500 / falling before the long limit / wide tasks under 500: " +
              "; ".join(f"{methods[m][0]} {r[-1][0]} / {r[-1][1]} / {r[-1][3]}"
                        for m, r in rows.items()), flush=True)
    runs, wide_runs = 30 * len(task_seeds) * len(seeds), 30 * len(wide_seeds) * len(seeds)
    print(f"\n## {label}: held-out physics (task sets {', '.join(map(str, task_seeds))}; "
          f"wide sets {', '.join(map(str, wide_seeds))}; 30 tasks each, 3 fresh-state "
          f"episodes per task), {steps} training steps, per training seed "
          f"{', '.join(map(str, seeds))}\n"
          f"| method | tasks under 500 | worst at 500 | tasks falling before {long_limit} | "
          "wide tasks under 500 | total under 500 | total falling | total wide under 500 |"
          "\n|---|---|---|---|---|---|---|---|")
    for method, found in rows.items():
        print(f"| {method} | {', '.join(str(r[0]) for r in found)} | "
              f"{min(r[2] for r in found):.1f} | {', '.join(str(r[1]) for r in found)} | "
              f"{', '.join(str(r[3]) for r in found)} | "
              f"{sum(r[0] for r in found)} of {runs} | {sum(r[1] for r in found)} of {runs} | "
              f"{sum(r[3] for r in found)} of {wide_runs} |")
