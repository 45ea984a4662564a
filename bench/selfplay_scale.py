"""Self-play at scale (issue 30): throughput figures, measured in one run on this machine.

1. ``workers``: self-play games per second against the number of workers, through the
   same worker groups and the same store path the loop uses. Real Connect Four workers
   with 1 and 2 processes (this machine has 2 cores); then workers whose cost is waiting
   (each game is a sleep of ``--game-ms``, its record a real Connect Four game), so that
   scaling is measured apart from the 2 cores: on processes, and on a local Ray with
   16 logical CPUs declared. Printed against linear scaling from one worker of the
   same kind, measured in the same run.
2. ``ingest``: the coordinator's ingestion rate, games stored per second, as the loop's
   receive thread stores what the workers sent (one transaction per batch): the store
   alone, and end to end with 8 worker processes that send as fast as they can.
3. ``memory``: the game store's size on disk per million moves, and the coordinator's
   resident memory before and after storing them (it keeps no game in memory).

    python -m bench.selfplay_scale [--parts workers,ingest,memory] [--seconds 20]
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._results import add_arguments, add_parts, chosen_parts, recorded

GAME = "connect_four"
PARTS = ["workers", "ingest", "memory"]


def sample_games(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Real Connect Four self-play records (a random network, 16 simulations a move)."""
    import numpy as np

    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig
    from ratchet.plugins.targets.selfplay.network import new_network
    from ratchet.plugins.targets.selfplay.play import SelfPlayConfig, play_games

    game = load_game(GAME)
    net = new_network(game_info(GAME, game), hidden=32, blocks=1, seed=seed)
    records = play_games(game, GAME, net.evaluate, n,
                         SelfPlayConfig(SearchConfig(simulations=16, noise=True)),
                         np.random.default_rng(seed))
    return [r.to_dict() for r in records]


def waiting_worker(link: Any, index: int, game_s: float, per_batch: int,
                   template: list[dict[str, Any]]) -> None:
    """A worker whose games cost ``game_s`` seconds of waiting each; it sends real
    records, announced like the self-play worker's."""
    worker = f"w{index}-{os.getpid()}"
    while not link.stopped() and not link.retiring():
        link.send({"playing": per_batch, "worker": worker, "index": index})
        if game_s:
            time.sleep(game_s * per_batch)
        games = [template[(index + i) % len(template)] for i in range(per_batch)]
        link.send({"games": games, "worker": worker, "index": index})


def drain(group: Any, store: Any, seconds: float, warm_batches: int) -> float:
    """Receive and store for ``seconds`` after ``warm_batches`` batches arrived; returns
    games stored per second."""
    seen = 0
    deadline = time.monotonic() + 300
    while seen < warm_batches and time.monotonic() < deadline:
        for batch in group.receive(0.5):
            if "games" in batch:
                store.append_sent(batch)
                seen += 1
    games, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        for batch in group.receive(0.2):
            if "games" in batch:
                games += store.append_sent(batch)
    return games / (time.monotonic() - started)


def scaling(seconds: float, game_ms: float, template: list[dict[str, Any]]) -> None:
    from ratchet.plugins.executors import InlineExecutor
    from ratchet.plugins.executors.ray import RayExecutor
    from ratchet.plugins.scaleout.workers import WorkerPlan
    from ratchet.plugins.targets.selfplay.gamestore import GameStore

    print(f"\n## Workers whose cost is waiting ({game_ms:g} ms a game, batches of 8; "
          "ideal: linear in workers)\n")
    print("| executor | workers | games/s | of linear |")
    print("|---|---|---|---|")
    per_batch = 8
    for name, counts in (("processes", (1, 4, 16)), ("ray (16 CPUs declared)", (1, 4, 16))):
        executor = RayExecutor(num_cpus=16) if name.startswith("ray") else InlineExecutor()
        base = None
        try:
            for n in counts:
                with tempfile.TemporaryDirectory() as tmp, \
                        GameStore(Path(tmp) / "g.db") as store:
                    group = executor.start_workers(WorkerPlan(
                        n, waiting_worker, (game_ms / 1000, per_batch, template),
                        name="waiting-worker"))
                    try:
                        rate = drain(group, store, seconds, warm_batches=n)
                    finally:
                        group.stop()
                base = base or rate
                print(f"| {name} | {n} | {rate:.1f} | {rate / (base * n):.2f} |", flush=True)
        finally:
            executor.close()


def ingest(seconds: float, template: list[dict[str, Any]]) -> None:
    from ratchet.plugins.executors import InlineExecutor
    from ratchet.plugins.scaleout.workers import WorkerPlan
    from ratchet.plugins.targets.selfplay.gamestore import GameStore

    moves = sum(len(g["moves"]) for g in template) / len(template)
    print(f"\n## The coordinator's ingestion (Connect Four games, {moves:.0f} moves each on "
          "average, one transaction per batch)\n")
    print("| path | batch | games/s |")
    print("|---|---|---|")
    for per_batch in (8, 32):
        with tempfile.TemporaryDirectory() as tmp, GameStore(Path(tmp) / "g.db") as store:
            batches = [{"games": [template[(b + i) % len(template)] for i in range(per_batch)]}
                       for b in range(64)]
            games, started = 0, time.monotonic()
            while time.monotonic() - started < seconds:
                for batch in batches:
                    games += store.append_sent(copy.copy(batch))
            rate = games / (time.monotonic() - started)
        print(f"| the store alone (decode + one transaction) | {per_batch} | {rate:,.0f} |",
              flush=True)
    with tempfile.TemporaryDirectory() as tmp, GameStore(Path(tmp) / "g.db") as store:
        group = InlineExecutor().start_workers(WorkerPlan(
            8, waiting_worker, (0.0, 32, template), name="flooding-worker"))
        try:
            rate = drain(group, store, seconds, warm_batches=8)
        finally:
            group.stop()
    print(f"| end to end: 8 processes sending as fast as they can | 32 | {rate:,.0f} |")


def memory(template: list[dict[str, Any]]) -> None:
    import psutil

    from ratchet.plugins.targets.selfplay.gamestore import GameStore

    games = 20_000
    me = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.db"
        before = me.memory_info().rss
        moves = 0
        with GameStore(path) as store:
            for b in range(games // 32):
                batch = {"games": [template[(b + i) % len(template)] for i in range(32)]}
                moves += sum(len(g["moves"]) for g in batch["games"])
                store.append_sent(batch)
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        after = me.memory_info().rss
    print(f"\n## The game store's size\n\n{games:,} games, {moves:,} moves (with each "
          f"move's search distribution): {size / 2**20:.1f} MiB on disk, "
          f"**{size / moves * 1e6 / 2**20:.0f} MiB per million moves**; the "
          f"coordinator's resident memory {before / 2**20:.0f} -> {after / 2**20:.0f} MiB "
          "while storing them.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_parts(ap, PARTS)
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds a measurement")
    ap.add_argument("--game-ms", type=float, default=100.0,
                    help="the waiting workers' cost of one game (default 100)")
    add_arguments(ap)
    args = ap.parse_args(argv)
    parts = chosen_parts(ap, args, PARTS)
    with recorded("selfplay-scale", "Self-play at scale: throughput", args):
        template = sample_games(32)
        if "workers" in parts:
            import yaml

            from bench.selfplay import RECIPE, random_network, throughput

            recipe = yaml.safe_load(RECIPE.read_text())
            stem, sha = random_network(recipe)
            print("\n## Real Connect Four self-play workers (recipes/selfplay-connect4.yaml, "
                  "random weights)\n")
            throughput(stem, sha, recipe, args.seconds)
            scaling(args.seconds, args.game_ms, template)
        if "ingest" in parts:
            ingest(args.seconds, template)
        if "memory" in parts:
            memory(template)


if __name__ == "__main__":
    main()
