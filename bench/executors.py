"""Executors and loop overhead on this machine.

1. Games per second of the snake benchmark (the `command` target, one process per batch of
   --games games) through the inline, processes and Ray executors, on the same tasks.
2. The loop's own cost per cycle: a few cycles of the snake recipe, wall time of each cycle
   against the time spent waiting for evaluations (the rest is proposing, judging, SQLite
   commits, champion files, checkpoints).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

from bench._results import add_arguments, recorded
from ratchet.core.types import Candidate, EvalTask
from ratchet.engine.factory import build_target
from ratchet.engine.recipe import load_recipe, parse_recipe
from ratchet.engine.runner import run_recipe
from ratchet.plugins.executors import InlineExecutor, ProcessesExecutor
from ratchet.plugins.executors.ray import RayExecutor

ROOT = Path(__file__).resolve().parents[1]
TITLE = "Executors: games per second and the loop's overhead"

RECIPE = ROOT / "recipes" / "snake.yaml"


def recipe_in(tmp: Path, **changes):
    live = tmp / "config.yaml"
    shutil.copy(ROOT / "examples" / "snake" / "config.yaml", live)
    raw = copy.deepcopy(load_recipe(RECIPE).model_dump(mode="json"))
    raw["target"].update(config_file=str(live), cwd=str(ROOT))
    for key, value in changes.items():
        raw[key] = {**raw.get(key, {}), **value}
    return parse_recipe(raw)


def games_per_second(tasks_n: int, games: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        recipe = recipe_in(Path(tmp))
        target = build_target(recipe, Path(tmp) / "run")
        champion = Candidate(target.baseline(recipe.parsed_space()), "baseline")
        tasks = [EvalTask(champion, "champion", seed, games, 1, seed)
                 for seed in range(tasks_n)]
        executors = {"inline": InlineExecutor(), f"processes ({workers})":
                     ProcessesExecutor(workers), f"ray (local, {workers} CPUs)":
                     RayExecutor(num_cpus=workers)}
        print(f"{tasks_n} batches x {games} games of the snake benchmark\n")
        rates = {}
        for name, executor in executors.items():
            executor.run(target, tasks[:workers])  # warm up: pools, Ray start-up
            t = time.perf_counter()
            results = executor.run(target, tasks)
            elapsed = time.perf_counter() - t
            executor.close()
            played = sum(r.measurement.n for r in results if r.ok)
            rates[name] = played / elapsed
            print(f"  {name:24s} {rates[name]:7.1f} games/s  ({elapsed:.1f} s)")
        inline = rates["inline"]
        names = list(rates)
        print(f"\n  speed-up over inline: processes x{rates[names[1]] / inline:.2f}, "
              f"ray x{rates[names[2]] / inline:.2f} on {workers} workers; "
              f"ray / processes = {rates[names[2]] / rates[names[1]]:.2f}")


def loop_overhead(cycles: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        recipe = recipe_in(Path(tmp), schedule={"baseline": 40})
        rows = []

        def report(event: str, data: dict) -> None:
            if event == "cycle_end":
                r = data["result"]
                rows.append((r.seconds, r.evaluation_seconds))

        run_recipe(recipe, Path(tmp) / "run", max_cycles=cycles, reporter=report)
    total = sum(s for s, _ in rows)
    evaluation = sum(e for _, e in rows)
    print(f"\nloop overhead over {cycles} cycles of recipes/snake.yaml (processes executor): "
          f"{total - evaluation:.2f} s of {total:.1f} s = {(total - evaluation) / total:.2%} "
          f"of cycle time ({(total - evaluation) / len(rows) * 1000:.0f} ms per cycle)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--games", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cycles", type=int, default=5)
    add_arguments(ap)
    args = ap.parse_args()
    with recorded("executors", TITLE, args):
        games_per_second(args.tasks, args.games, args.workers)
        loop_overhead(args.cycles)


if __name__ == "__main__":
    main()
