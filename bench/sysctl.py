"""The sysctl autotuner on a workload with a known optimum.

A directory tree of files stands in for /proc/sys; the synthetic workload
(``ratchet.plugins.targets.sysctl.workloads.synthetic``, run as a real process per benchmark run)
is as fast as its four vm.* values allow, with realistic noise (3% log-normal, one run in
thirty at 70%). Each method gets the same number of steps (one step: one proposed
configuration). ratchet's ppo, tpe and perturb measure every step against the champion
until the Welch judge decides (10 to 30 runs a side, interleaved); seed 003's loop (SB3
PPO, one benchmark run per step, best = the highest single reward seen) is measured
beside them.

Printed per method and seed: how close the final answer is to the optimum (its noise-free
speed over the optimum's), the step at which the answer first came within 5% of the
optimum, benchmark runs used, and (for seed 003) the speed it reported for its answer.

    python -m bench.sysctl [--steps 200] [--seeds 3] [--methods ppo tpe perturb seed003]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._results import add_arguments, recorded
from ratchet.apps.sysctl.config import load_os_config, to_recipe
from ratchet.core.store import Store
from ratchet.engine.runner import run_recipe
from ratchet.plugins.targets.sysctl import reward
from ratchet.plugins.targets.sysctl.workloads import synthetic

TITLE = "sysctl autotuner on a synthetic workload with a known optimum"

WORKLOAD = Path(synthetic.__file__)
NEAR = 0.95


def config(steps: int, seed: int) -> dict:
    return {"workload_name": "synthetic", "reward_metric": "operations_per_second",
            "benchmark_command": f"{sys.executable} {WORKLOAD}",
            "action_space": [{"param": name, "min": low, "max": high, "type": "int"}
                             for name, (low, high) in synthetic.RANGES.items()],
            "training_config": {"total_timesteps": steps, "repeats": 3, "seed": seed,
                                "benchmark_timeout": 10}}


def closeness(params: dict) -> float:
    return synthetic.true_performance(params) / synthetic.PEAK


def run_ratchet(method: str, steps: int, seed: int, work: Path) -> dict:
    root = synthetic.make_tree(work / "sys")
    recipe = to_recipe(load_os_config(config(steps, seed)), sysctl_root=str(root),
                       algorithm=method)  # type: ignore[arg-type]
    started = time.monotonic()
    run_recipe(recipe, work / "run", stop=threading.Event())
    seconds = time.monotonic() - started
    with Store(work / "run") as store:
        promotions = store.promotions()
        params = {p["candidate_id"]: store.candidate(p["candidate_id"]).params
                  for p in promotions}
        runs = sum(r.size for r in store.evaluations())
        champion = store.champion().candidate.params
    reached = next((p["cycle"] for p in promotions
                    if closeness(params[p["candidate_id"]]) >= NEAR), None)
    return {"closeness": closeness(champion), "reached": reached, "runs": runs,
            "seconds": seconds, "answer": champion, "reported": None}


def run_seed003(steps: int, seed: int, work: Path) -> dict:
    """Seed 003's loop: PPO, one run per step, the best single reward wins."""
    from stable_baselines3 import PPO

    from ratchet.core.space import Space
    from ratchet.plugins.strategies.ppo_env import OSTuningEnv

    root = synthetic.make_tree(work / "sys")
    space = Space.from_dict({name: {"type": "int", "low": low, "high": high}
                             for name, (low, high) in synthetic.RANGES.items()})

    def measure() -> float | None:
        done = subprocess.run([sys.executable, str(WORKLOAD), "--root", str(root)],
                              capture_output=True, text=True, timeout=10)
        try:
            return float(done.stdout.split(":")[1])
        except (IndexError, ValueError):
            return None

    reference = statistics.fmean(v for v in (measure() for _ in range(3)) if v)
    best: dict = {"reward": -1.0}
    trace: list[tuple[int, dict]] = []  # (step, new best)
    done_steps = [0]
    started = time.monotonic()

    def exchange(values: dict) -> float:
        if done_steps[0] >= steps:  # SB3 finishes its rollout; the budget is spent
            return 0.0
        done_steps[0] += 1
        for name, v in values.items():
            root.joinpath(*name.split(".")).write_text(f"{v}\n")
        speed = measure()
        r = 0.5 * (speed or 0) / reference + 0.5 * reward.load_score()
        if r > best["reward"]:
            best.update(reward=r, params=values, speed=speed)
            trace.append((done_steps[0], values))
        return r

    env = OSTuningEnv(space, (), exchange, synthetic.LINUX_DEFAULTS, max_steps_per_episode=10)
    PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=5, learning_rate=1e-3,
        gamma=0.95, seed=seed, verbose=0, device="cpu").learn(steps)
    reached = next((step for step, p in trace if closeness(p) >= NEAR), None)
    return {"closeness": closeness(best["params"]), "reached": reached, "runs": steps + 3,
            "seconds": time.monotonic() - started, "answer": best["params"],
            "reported": best["speed"] / synthetic.PEAK}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["ppo", "tpe", "perturb", "seed003"])
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    add_arguments(parser)
    args = parser.parse_args()
    with recorded("sysctl", TITLE, args):
        start = synthetic.true_performance(synthetic.LINUX_DEFAULTS) / synthetic.PEAK
        print(f"optimum {synthetic.OPTIMUM}; the Linux defaults run at {start:.3f} of it; "
              f"{args.steps} steps per method, seeds 0..{args.seeds - 1}\n")
        print(f"{'method':<9} {'seed':>4} {'closeness':>9} {'within 5% at step':>17} "
              f"{'runs':>6} {'seconds':>8}  reported")
        results: dict[str, list[dict]] = {}
        for method in args.methods:
            for seed in range(args.seeds):
                with tempfile.TemporaryDirectory(prefix="ratchet-bench-sysctl-") as tmp:
                    r = (run_seed003(args.steps, seed, Path(tmp)) if method == "seed003"
                         else run_ratchet(method, args.steps, seed, Path(tmp)))
                results.setdefault(method, []).append(r)
                reported = "" if r["reported"] is None else f"{r['reported']:.3f}"
                print(f"{method:<9} {seed:>4} {r['closeness']:>9.3f} "
                      f"{str(r['reached'] or '—'):>17} {r['runs']:>6} {r['seconds']:>8.0f}  "
                      f"{reported}", flush=True)
        print(f"\n{'method':<9} {'mean closeness':>14} {'worst':>6} {'seeds within 5%':>15} "
              f"{'median step':>11}")
        for method, rs in results.items():
            steps_needed = [r["reached"] for r in rs if r["reached"]]
            median = statistics.median(steps_needed) if steps_needed else None
            print(f"{method:<9} {statistics.fmean(r['closeness'] for r in rs):>14.3f} "
                  f"{min(r['closeness'] for r in rs):>6.3f} "
                  f"{sum(r['closeness'] >= NEAR for r in rs):>10}/{len(rs):<4} "
                  f"{str(median or '—'):>11}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
