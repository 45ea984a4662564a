"""Section hard: held-out hard tasks after <= 10 episodes of adaptation."""

from __future__ import annotations

import numpy as np

from bench.cartpole.sb3 import sb3_finetune, sb3_returns
from ratchet.plugins.targets.cartpole.adapt import AdaptConfig, adapt_policy, replay_buffer
from ratchet.plugins.targets.cartpole.pretrain import training_tasks
from ratchet.plugins.targets.cartpole.tasks import Task, task_set
from ratchet.plugins.targets.cartpole.train import evaluate


def _adapted_return(policy, task: Task, mode: str, budget: int, index: int, replay=None,
                    repeat: int = 0) -> float:
    """Mean of 5 greedy episodes after adapting on ``budget`` episodes; the ``index``-th
    task of a set adapts with seed 30_000 + index and is measured from 40_000 + index
    (plus 1000 per ``repeat``)."""
    offset = index + 1000 * repeat
    adapted = adapt_policy(policy, task, AdaptConfig(mode=mode, episodes=budget),
                           seed=30_000 + offset, replay=replay)
    return float(np.mean(evaluate(adapted.policy, [task] * 5, 1, seed=40_000 + offset,
                                  sensor=adapted.sensor)))


def _cell(value: float) -> str:
    """A return in a table; a baseline that was not trained (--no-lstm) shows as "-"."""
    return "-" if np.isnan(value) else f"{value:.0f}"


def run(policy, sb3_ppo, sb3_lstm, budget: int, fresh_task_seeds: list[int],
                 repeats: int) -> None:
    tasks = task_set("hard", "heldout", 10)
    replay = replay_buffer(policy, training_tasks(0), 8, seed=5)
    print(f"\n## held-out hard tasks: return after <= {budget} episodes of adaptation "
          f"(greedy, 5 episodes after adapting; in context: episodes 8-10)\n"
          "| task | zero-shot | in context | standard | hybrid | identify | SB3 PPO ft | "
          "RecurrentPPO ft |\n|---|---|---|---|---|---|---|---|")
    rows = []
    for i, task in enumerate(tasks):
        in_context = evaluate(policy, [task], budget, seed=20_000 + i)[0]
        row = [in_context[0], float(np.mean(in_context[-3:]))]
        for mode in ("standard", "hybrid", "identify"):
            row.append(_adapted_return(policy, task, mode, budget, i, replay))
        for model in (sb3_ppo, sb3_lstm):
            if model is None:
                row.append(float("nan"))
                continue
            tuned = sb3_finetune(model, task, budget, seed=30_000 + i)
            row.append(float(np.mean(sb3_returns(tuned, task, 5, 40_000 + i))))
        rows.append(row)
        print(f"| {task.name} | " + " | ".join(map(_cell, row)) + " |", flush=True)
    means = [float(np.mean(column)) for column in zip(*rows, strict=True)]
    print("| **mean** | " + " | ".join(map(_cell, means)) + " |  (issue: >= 400 on each)")
    for task_seed in fresh_task_seeds:  # task sets no design choice was made on
        fresh = task_set("hard", "heldout", 30, seed=task_seed)
        found = [_adapted_return(policy, task, "identify", budget, i, repeat=r)
                 for i, task in enumerate(fresh) for r in range(repeats)]
        missed = [f"{fresh[k // repeats].name} ({found[k]:.0f})"
                  for k in range(len(found)) if found[k] < 400]
        print(f"identify on 30 held-out hard tasks generated with task seed {task_seed}, "
              f"{repeats} adaptation seed(s) each: mean {np.mean(found):.1f}, worst "
              f"{min(found):.0f}, {len(found) - len(missed)}/{len(found)} at >= 400"
              + (f"; below: {', '.join(missed)}" if missed else ""), flush=True)
