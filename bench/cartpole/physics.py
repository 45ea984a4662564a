"""Section physics: held-out physics tasks, zero-shot, ours against SB3 PPO per training seed."""

from __future__ import annotations

import time

import numpy as np
import torch

from bench.cartpole.common import fresh_returns, paired_summary
from bench.cartpole.sb3 import sb3_fresh_returns, sb3_train
from ratchet.plugins.targets.cartpole.pretrain import load_shipped, pretrain, training_tasks
from ratchet.plugins.targets.cartpole.tasks import Task, task_set
from ratchet.plugins.targets.cartpole.train import evaluate

PHYSICS_METHODS = ("ratchet SSM + PPO, each episode from a fresh state",
                   "ratchet SSM + PPO, state carried over the 3 episodes",
                   "SB3 PPO (MLP), defaults", "SB3 PPO (MLP), tuned: 8 envs, lr 1e-3")


def _physics_tables(task_seeds: list[int], wide_seeds: list[int], long_limit: int
                    ) -> dict[tuple[str, int], list[Task]]:
    """(set name, episode limit) -> the set's 30 tasks, in the order they are printed."""
    held = {f"task seed {ts}": task_set("physics", "heldout", 30, ts) for ts in task_seeds}
    limits = sorted({500, long_limit})
    tables = {(name, limit): tasks for name, tasks in held.items() for limit in limits}
    tables.update({(f"wide ranges, task seed {ts}", 500): task_set("physics", "wide", 30, ts)
                   for ts in wide_seeds})
    return tables


def _physics_seed(seed: int, use_shipped: bool, steps: int, task_seeds: list[int],
                  wide_seeds: list[int], long_limit: int, tuned=None
                  ) -> tuple[dict[tuple[str, int], dict[str, list[float]]], float]:
    """One training seed, both sides: per table and method, the 30 per-task returns.
    A worker process calls it with ``tuned`` None (SB3's tuned PPO is trained here)."""
    torch.set_num_threads(1)
    started = time.perf_counter()
    mine = load_shipped()[0] if use_shipped else pretrain(seed=seed, steps=steps)[0]
    default = sb3_train("ppo-default", training_tasks(seed), steps, seed=seed)
    tuned = tuned or sb3_train("ppo", training_tasks(seed), steps, seed)
    scores = {}
    for table, tasks in _physics_tables(task_seeds, wide_seeds, long_limit).items():
        limit = table[1]
        scores[table] = dict(zip(PHYSICS_METHODS, (
            fresh_returns(mine, tasks, limit),
            [float(np.mean(r)) for r in evaluate(mine, tasks, 3, time_limit=limit)],
            sb3_fresh_returns(default, tasks, limit),
            sb3_fresh_returns(tuned, tasks, limit)), strict=True))
    return scores, time.perf_counter() - started


def run(policy_seed: int | None, sb3_ppo, steps: int, seeds: list[int],
                    long_limit: int, task_seeds: list[int], wide_seeds: list[int],
                    workers: int = 1) -> None:
    """Each training seed draws its own 20 training tasks and initialisation, for both
    sides; ours from ``policy_seed`` is the shipped model (None: it was trained on another
    budget) and SB3's tuned PPO from seed 0 is ``sb3_ppo`` when the seeds run in this
    process (the model the hard section uses). Every model plays each set of 30 held-out
    tasks (``task_seeds``: set 0 is the one choices were made on, later sets are fresh),
    then the same tasks with episodes of up to ``long_limit`` steps: CartPole-v1 cuts at
    500, where every method may already be perfect. Then sets of 30 tasks from the wider
    ranges (``wide_seeds``; the ``wide`` split: extrapolation) at 500 steps. ``workers``
    processes train and measure seeds side by side (each on one thread; the figures are
    the same as in one process). Each table ends with ours (fresh state) against each SB3
    setting, paired by training seed."""
    common = (steps, task_seeds, wide_seeds, long_limit)
    per_seed: dict[int, dict] = {}

    def done(seed: int, result: tuple[dict, float]) -> None:
        per_seed[seed] = result[0]
        print(f"physics, training seed {seed}: models trained and measured in "
              f"{result[1]:.0f} s", flush=True)

    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")
                                 ) as pool:
            futures = {pool.submit(_physics_seed, s, s == policy_seed, *common): s
                       for s in seeds}
            for future in as_completed(futures):
                done(futures[future], future.result())
    else:
        for s in seeds:
            done(s, _physics_seed(s, s == policy_seed, *common,
                                  tuned=sb3_ppo if s == 0 else None))
    for (name, limit) in _physics_tables(task_seeds, wide_seeds, long_limit):
        runs = {m: [per_seed[s][name, limit][m] for s in seeds] for m in PHYSICS_METHODS}
        cut = f", episodes cut at {limit} steps instead of 500" if limit != 500 else ""
        print(f"\n## 30 held-out physics tasks ({name}), zero-shot, 3 greedy episodes "
              f"each{cut} ({steps} training steps each, domain randomization over "
              f"the same training tasks; training seeds {', '.join(map(str, seeds))})\n"
              "| method | mean per seed | worst task per seed | mean | mean worst | "
              f"tasks under {limit} |\n|---|---|---|---|---|---|")
        for method, values in runs.items():
            means = [float(np.mean(v)) for v in values]
            worsts = [min(v) for v in values]
            under = sum(x < limit for v in values for x in v)
            print(f"| {method} | {', '.join(f'{m:.1f}' for m in means)} | "
                  f"{', '.join(f'{w:.1f}' for w in worsts)} | {np.mean(means):.1f} | "
                  f"{np.mean(worsts):.1f} | {under} of {30 * len(values)} |")
        ours = [float(np.mean(v)) for v in runs[PHYSICS_METHODS[0]]]
        for method, short in zip(PHYSICS_METHODS[2:], ("SB3 defaults", "SB3 tuned"),
                                 strict=True):
            theirs = [float(np.mean(v)) for v in runs[method]]
            print(paired_summary(ours, theirs, "mean return", ("ours", short)))
