"""python -m bench.cartpole: the sections chosen on the command line, in order."""

from __future__ import annotations

import argparse
import time

import torch

import bench.cartpole
from bench._results import add_arguments, recorded
from bench.cartpole import cycle, hard, memory, network, nominal, physics, rsi, selection
from bench.cartpole.sb3 import sb3_train
from ratchet.plugins.targets.cartpole.pretrain import (
    PRETRAIN_STEPS,
    SHIPPED_SEED,
    load_shipped,
    pretrain,
    training_tasks,
)

SECTIONS = ("nominal", "physics", "hard", "rsi", "cycle", "selection", "memory", "network")
DEFAULT_SECTIONS = "nominal,physics,hard,rsi,cycle"



def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, e.g. 3,4; got {text!r}")
    return seeds


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number; got {text!r}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cartpole", description=bench.cartpole.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default=DEFAULT_SECTIONS,
                        help=f"comma-separated, of {', '.join(SECTIONS)} (default "
                        f"{DEFAULT_SECTIONS})")
    parser.add_argument("--steps", type=_positive, default=300_000, help="training steps of "
                        "each method in the physics, hard and selection sections")
    parser.add_argument("--retrain", action="store_true", help="pretrain ratchet's model "
                        "here instead of loading the shipped one (same seeded call)")
    parser.add_argument("--budget-episodes", type=_positive, default=10)
    parser.add_argument("--seeds", type=_positive, default=10, help="RSI section: seeds per "
                        "strategy (a run's result varies by ~100 from seed to seed; ~50 min "
                        "for 10)")
    parser.add_argument("--physics-seeds", type=_seed_list, default="0,1,2",
                        help="physics section: training seeds of both sides (each draws "
                        f"its own training tasks; ours from seed {SHIPPED_SEED} is the "
                        "shipped model)")
    parser.add_argument("--physics-task-seeds", type=_seed_list, default="0,3",
                        help="physics section: task seeds of the sets of 30 held-out tasks "
                        "(set 0 was looked at while choosing the SSM's decay cap; 3 is "
                        "fresh)")
    parser.add_argument("--wide-task-seeds", type=_seed_list, default="0,1",
                        help="physics, memory and network sections: task seeds of the sets "
                        "of 30 tasks from the wide ranges (extrapolation)")
    parser.add_argument("--workers", type=_positive, default=1, help="physics section: "
                        "training seeds measured side by side in this many processes (one "
                        "thread each; the same figures as 1)")
    parser.add_argument("--long-limit", type=_positive, default=2000, help="physics and "
                        "RSI sections: the same models again on held-out physics episodes "
                        "cut at this many steps")
    parser.add_argument("--fresh-task-seeds", type=_seed_list, default="3,4", help="hard section: "
                        "task seeds of fresh sets of 30 held-out hard tasks for identify "
                        "(comma-separated; sets 0-2 were looked at while designing it)")
    parser.add_argument("--fresh-repeats", type=_positive, default=2, help="hard section: "
                        "adaptation seeds per task of the fresh sets")
    parser.add_argument("--selection-seeds", type=_seed_list,
                        default=",".join(map(str, range(14))), help="selection section: "
                        "pretraining seeds, also the memory section's training seeds "
                        "(default 0-13)")
    parser.add_argument("--rsi-steps", type=_positive, default=600_000)
    parser.add_argument("--rsi-start-steps", type=int, default=30_000, help="pretrain the "
                        "RSI starting model for this many steps (0: the shipped model)")
    parser.add_argument("--rsi-time-limit", type=_positive, default=None, help="RSI "
                        "section: validation episodes cut at this many steps (default: the "
                        "recipe's target.time_limit)")
    parser.add_argument("--no-lstm", action="store_true", help="skip RecurrentPPO")
    parser.add_argument("--lstm-steps", type=_positive, default=None, help="RecurrentPPO's "
                        "training steps (default: --steps; it trains at a few hundred "
                        "steps/s on CPU)")
    add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown or not sections:
        parser.error(f"--sections: unknown {', '.join(sorted(unknown)) or '(none given)'}; "
                     f"expected a comma-separated list of {', '.join(SECTIONS)}")
    with recorded("cartpole", f"CartPole against SB3: {', '.join(sorted(sections))}",
                  args, markdown=True):
        if args.retrain:
            policy, meta = pretrain(steps=args.steps)
        else:
            policy, meta = load_shipped()
        print(f"ratchet model: {meta.get('steps')} training steps, {meta.get('train_seconds')} s")
        if "nominal" in sections:
            nominal.run(policy)
        sb3_ppo = sb3_lstm = None
        # SB3's tuned PPO from seed 0: the hard section's baseline, and physics' for seed 0
        if "hard" in sections or ("physics" in sections and 0 in args.physics_seeds
                                  and args.workers == 1):
            started = time.perf_counter()
            sb3_ppo = sb3_train("ppo", training_tasks(0), args.steps, seed=0)
            print(f"SB3 PPO trained for {args.steps} steps in "
                  f"{time.perf_counter() - started:.0f} s")
        if "physics" in sections:
            # the shipped model is pretraining seed 0 at PRETRAIN_STEPS (--retrain: made again)
            policy_seed = (SHIPPED_SEED if args.steps == PRETRAIN_STEPS and not args.retrain
                           else None)
            physics.run(policy_seed, sb3_ppo, args.steps, args.physics_seeds,
                            args.long_limit, args.physics_task_seeds, args.wide_task_seeds,
                            args.workers)
        if "hard" in sections:
            if not args.no_lstm:
                started = time.perf_counter()
                lstm_steps = args.lstm_steps or args.steps
                sb3_lstm = sb3_train("lstm", training_tasks(0), lstm_steps, seed=0)
                print(f"RecurrentPPO trained for {lstm_steps} steps in "
                      f"{time.perf_counter() - started:.0f} s")
            hard.run(policy, sb3_ppo, sb3_lstm, args.budget_episodes,
                         args.fresh_task_seeds,
                         args.fresh_repeats)
        if "rsi" in sections:
            rsi.run(args.seeds, args.rsi_steps, args.rsi_start_steps, args.rsi_time_limit,
                        args.long_limit)
        if "cycle" in sections:
            cycle.run()
        if "selection" in sections:
            selection.run(args.selection_seeds, args.physics_task_seeds, args.long_limit,
                              args.steps)
        if "memory" in sections:
            memory.run(args.selection_seeds, args.physics_task_seeds, args.wide_task_seeds,
                           args.long_limit, args.steps)
        if "network" in sections:
            network.run(args.selection_seeds, args.physics_task_seeds, args.wide_task_seeds,
                            args.long_limit, args.steps)


if __name__ == "__main__":
    main()
