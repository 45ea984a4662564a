"""Decisions per hour as workers are added: does a cycle keep every worker busy?

The benchmark's cost is waiting (each game sleeps ``--game-ms``), so the figures measure
how ratchet spreads a batch over workers, apart from this machine's cores: each side's
batch is split into one shard per pair of workers, each shard its own seed, challenger
and champion paired shard by shard. Every cycle is one batch of ``--games`` game pairs
(the judge's ``min_games`` = ``max_games``), so every configuration does the same work.

The steady state is measured: each setting's first ``--warmup`` cycles, while the workers
start, are not counted. Printed per executor and worker count: cycles, wall time,
decisions per hour, speed-up over one worker and its share of linear (speed-up /
workers), and the loop's own time per cycle as a share of the cycle: the time from one
cycle's end to the next's (the work between cycles included) minus the cycle's wait for
evaluations.
Ray runs a local instance declaring ``--ray-cpus`` CPUs; it runs challenger and
champion side by side whatever the worker count, so its rows start at 2 workers and its
speed-up is over that first row (per worker).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench._results import add_arguments, recorded
from ratchet.core.space import Space
from ratchet.core.store import Store
from ratchet.core.types import EvalTask, Measurement
from ratchet.engine.factory import Components
from ratchet.engine.recipe import Schedule
from ratchet.engine.runner import Session
from ratchet.plugins.executors import Executor, ProcessesExecutor
from ratchet.plugins.judges import SPRTJudge
from ratchet.plugins.strategies import PerturbStrategy
from ratchet.plugins.targets import Target

TITLE = "Scaling: decisions per hour with 1 to 16 workers, a waiting benchmark"


class WaitingGames(Target):
    """Games that cost ``game_s`` seconds of waiting each and are won half the time."""

    name = "waiting"
    outcome = "games"

    def __init__(self, game_s: float):
        self.game_s = game_s

    def baseline(self, space: Space) -> dict[str, Any]:
        return {"x": 0.5}

    def evaluate(self, task: EvalTask) -> Measurement:
        time.sleep(self.game_s * task.size)
        rng = random.Random(task.seed)
        return Measurement("games", tuple(rng.choice((0.0, 0.5, 1.0))
                                          for _ in range(task.size)), ordered=True)


def space() -> Space:
    return Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})


def measure(executor: Executor, games: int, game_s: float, cycles: int,
            warmup: int = 3, batch: int | None = None) -> dict[str, float]:
    """One cycle a batch of ``games`` pairs; with ``batch``, the sprt judge's defaults and
    that batch (cycles of several batches, the judge deciding between them)."""
    judge = (SPRTJudge(batch=games, min_games=games, max_games=games) if batch is None
             else SPRTJudge(batch=batch))
    seconds: list[float] = []  # from one cycle's end to the next: everything the loop does
    overhead: list[float] = []
    played: list[int] = []
    last = [0.0]

    def report(event: str, data: dict) -> None:
        if event == "cycle_end":
            result, now = data["result"], time.perf_counter()
            cycle_s = now - last[0] if last[0] else result.seconds
            last[0] = now
            seconds.append(cycle_s)
            overhead.append(cycle_s - result.evaluation_seconds)
            played.append(result.evidence.games_played)

    with tempfile.TemporaryDirectory(prefix="ratchet-scaling-") as tmp:
        components = Components(space(), WaitingGames(game_s),
                                PerturbStrategy(space(), seed=0), judge, [], executor)
        session = Session(name="scaling", store=Store(tmp, create=True),
                          components=components, reporter=report, stop=threading.Event(),
                          schedule=Schedule(baseline=0, stagnation_cycles=None,
                                            checkpoint_every=0))
        started = time.perf_counter()
        with session:
            session.run(cycles + warmup)  # the first cycles start the workers: not counted
        wall = time.perf_counter() - started
    counted = seconds[warmup:]
    return {"cycles": len(counted), "wall_s": wall, "per_hour": 3600 * len(counted)
            / sum(counted), "games_per_s": sum(played[warmup:]) / sum(counted),
            "overhead": statistics.fmean(o / s for o, s in
                                                          zip(overhead[warmup:], counted,
                                                              strict=True))}


WAITING_SCRIPT = """import random, sys, time
games, seed, ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
time.sleep(games * ms / 1000)
rng = random.Random(seed)
games = "".join(rng.choice("WDL") for _ in range(games))
for name, mark in (("wins", "W"), ("draws", "D"), ("losses", "L")):
    print(f"{name}: {games.count(mark)}")
print("outcomes:", games)
"""


def measure_command(workers: int, game_s: float, cycles: int, warmup: int,
                    batch: int) -> dict[str, float]:
    """The same waiting games from a command target (one process per task, as a user's
    benchmark runs) on the processes executor, the sprt judge's defaults and ``batch``."""
    import sys

    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    seconds: list[float] = []
    played: list[int] = []
    last = [0.0]

    def report(event: str, data: dict) -> None:
        if event == "cycle_end":
            now = time.perf_counter()
            seconds.append(now - last[0] if last[0] else data["result"].seconds)
            last[0] = now
            played.append(data["result"].evidence.games_played)

    with tempfile.TemporaryDirectory(prefix="ratchet-scaling-") as tmp:
        script = f"{tmp}/waiting.py"
        with open(script, "w") as fh:
            fh.write(WAITING_SCRIPT)
        with open(f"{tmp}/live.json", "w") as fh:
            fh.write('{"x": 0.5}')
        recipe = parse_recipe({
            "name": "scaling", "space": {"x": {"type": "float", "low": 0, "high": 1}},
            "target": {"kind": "command", "config_file": f"{tmp}/live.json",
                       "benchmark": [sys.executable, script, "{games}", "{seed}",
                                     str(game_s * 1000)], "outcome": "games"},
            "judge": {"kind": "sprt", "batch": batch},
            "executor": {"kind": "processes", "workers": workers},
            "schedule": {"baseline": 0, "checkpoint_every": 0, "pause_s": 0},
            "racing": {"challengers": 1}})  # without racing: the batches alone
        run_recipe(recipe, Path(tmp) / "run", max_cycles=cycles + warmup, reporter=report)
    counted = seconds[warmup:]
    return {"games_per_s": sum(played[warmup:]) / sum(counted), "overhead": 0.0,
            "per_hour": 3600 * len(counted) / sum(counted)}


def make(kind: str, workers: int, ray_cpus: int) -> Executor:
    if kind == "processes":
        return ProcessesExecutor(workers)
    from ratchet.plugins.executors.ray import RayExecutor

    class Limited(RayExecutor):
        """Ray with ``ray_cpus`` declared, ``workers`` of them used by a batch."""

        @property
        def parallelism(self) -> int:
            return workers

    return Limited(num_cpus=ray_cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--executors", nargs="+", default=["processes", "ray"],
                        choices=["processes", "ray", "command"],
                        help="command: a command target (a process per task) on the "
                        "processes executor; needs --batch")
    parser.add_argument("--games", type=int, default=64, help="game pairs per cycle")
    parser.add_argument("--game-ms", type=float, default=20.0, help="waiting per game")
    parser.add_argument("--cycles", type=int, default=8, help="cycles measured per setting")
    parser.add_argument("--warmup", type=int, default=3, help="cycles run first, not "
                        "counted: the workers start (Ray starts its worker processes two at "
                        "a time on a 2-core machine, about a second each)")
    parser.add_argument("--ray-cpus", type=int, default=16)
    parser.add_argument("--batch", type=int, default=None, help="the sprt judge with its "
                        "defaults and this batch (20: its default) instead of one batch of "
                        "--games a cycle: speed is then games per second")
    add_arguments(parser)
    args = parser.parse_args()
    with recorded("scaling", TITLE, args):
        work = (f"{args.games} game pairs per cycle" if args.batch is None else
                f"the sprt judge's defaults, batch {args.batch}")
        print(f"{work}, {args.game_ms:g} ms of waiting per game, "
              f"{args.cycles} cycles per setting after {args.warmup} not counted\n")
        speed = "decisions/h" if args.batch is None else "games/s"
        print(f"{'executor':<10} {'workers':>7} {speed:>12} {'speed-up':>9} "
              f"{'of linear':>9} {'loop overhead':>14}")
        for kind in args.executors:
            one = None  # decisions per hour per worker at the first setting
            for workers in args.workers:
                if kind == "ray" and workers < 2:
                    continue
                if kind == "command":
                    r = measure_command(workers, args.game_ms / 1000, args.cycles,
                                        args.warmup, args.batch or 20)
                    rate = r["games_per_s"]
                    one = one or rate / workers
                    print(f"{kind:<10} {workers:>7} {rate:>12.1f} {rate / one:>9.2f} "
                          f"{rate / one / workers:>9.2f} {'—':>14}", flush=True)
                    continue
                executor = make(kind, workers, args.ray_cpus)
                try:
                    r = measure(executor, args.games, args.game_ms / 1000, args.cycles,
                                args.warmup, args.batch)
                finally:
                    executor.close()
                rate = r["per_hour"] if args.batch is None else r["games_per_s"]
                if one is None:
                    one = rate / workers
                speedup = rate / one
                print(f"{kind:<10} {workers:>7} {rate:>12.1f} {speedup:>9.2f} "
                      f"{speedup / workers:>9.2f} {r['overhead']:>13.2%}", flush=True)


if __name__ == "__main__":
    main()
