"""Play N seeded 4-snake games and print wins/draws/losses for the bot in --config.

Tournament mode: each game seats our snake with three opponents drawn from several fixed
styles. With --versus, seat 1 is the bot in that config instead, and the outcome is
ours-versus-it (who outlived whom): a head-to-head benchmark.

Prints ``wins: N``, ``draws: N``, ``losses: N`` and ``outcomes: WDL...`` (in game order,
so two configs measured with the same --seed can be compared game by game).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `examples.snake` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml

from examples.snake.bot import OPPONENTS, Style
from examples.snake.game import MAX_TURNS, play

LETTER = {1.0: "W", 0.5: "D", 0.0: "L"}


def game_seed(seed: int, index: int) -> int:
    return (seed * 1_000_003 + index * 7_919) % (2**31 - 1)


def seat(ours: Style, versus: Style | None, seed: int, pool: list[str]) -> list[Style]:
    rng = random.Random(seed ^ 0x5EED)
    names = rng.sample(pool, 3) if len(pool) >= 3 else [rng.choice(pool) for _ in range(3)]
    styles = [ours] + [OPPONENTS[n] for n in names]
    if versus is not None:
        styles[1] = versus
    return styles


def run_game(args: tuple[Style, Style | None, int, list[str], int]) -> float:
    ours, versus, seed, pool, max_turns = args
    result = play(seat(ours, versus, seed, pool), seed, max_turns)
    return result.versus if versus is not None else result.score  # type: ignore[return-value]


def load_style(path: str) -> Style:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        sys.exit(f"bench.py: cannot read config {path}: {exc}")
    if not isinstance(data, dict):
        sys.exit(f"bench.py: config {path} must be a mapping with a 'weights' key")
    return Style.from_config(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="the bot's config.yaml")
    ap.add_argument("--games", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="processes to play games in")
    ap.add_argument("--versus", help="config of a rival bot for head-to-head games")
    ap.add_argument("--opponents", default=",".join(OPPONENTS),
                    help=f"comma-separated pool of fixed opponents ({', '.join(OPPONENTS)})")
    ap.add_argument("--max-turns", type=int, default=MAX_TURNS)
    args = ap.parse_args(argv)
    pool = [p.strip() for p in args.opponents.split(",") if p.strip()]
    unknown = [p for p in pool if p not in OPPONENTS]
    if unknown or not pool:
        ap.error(f"unknown opponents {unknown}; choose from {list(OPPONENTS)}")
    if args.games < 1:
        ap.error("--games must be at least 1")
    ours = load_style(args.config)
    versus = load_style(args.versus) if args.versus else None
    jobs = [(ours, versus, game_seed(args.seed, i), pool, args.max_turns)
            for i in range(args.games)]
    start = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool_exec:
            scores = list(pool_exec.map(run_game, jobs, chunksize=4))
    else:
        scores = [run_game(j) for j in jobs]
    elapsed = time.perf_counter() - start
    print(f"wins: {scores.count(1.0)}")
    print(f"draws: {scores.count(0.5)}")
    print(f"losses: {scores.count(0.0)}")
    print("outcomes: " + "".join(LETTER[s] for s in scores))
    print(f"games_per_second: {len(scores) / elapsed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
