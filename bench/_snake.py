"""Part 2 of bench/search.py: tune the snake bot under an equal budget of games, then
re-measure every method's final weights against the defaults on fresh, paired seeds."""

from __future__ import annotations

import copy
import math
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench._baselines import Result, optuna_loop, seed004_loop
from examples.snake.bench import game_seed, run_game
from examples.snake.bot import OPPONENTS, Style
from ratchet.engine.recipe import load_recipe, parse_recipe
from ratchet.engine.runner import run_recipe

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "snake.yaml"
CONFIG = ROOT / "examples" / "snake" / "config.yaml"
POOL = list(OPPONENTS)
FRESH_SEED = 987_654  # never used by any search below


def _style(params: dict[str, Any]) -> Style:
    config: dict[str, Any] = {"weights": {}}
    for key, value in params.items():
        if key.startswith("weights."):
            config["weights"][key.split(".", 1)[1]] = value
        else:
            config[key] = value
    return Style.from_config(config)


class Games:
    """Plays games in a process pool; counts them against the budget."""

    def __init__(self, pool: ProcessPoolExecutor):
        self.pool = pool
        self.played = 0
        self.batch = 0

    def scores(self, params: dict[str, Any], n: int, seed: int) -> np.ndarray:
        self.played += n
        jobs = [(_style(params), None, game_seed(seed, i), POOL, 500) for i in range(n)]
        return np.array(list(self.pool.map(run_game, jobs, chunksize=5)))


def _defaults(space_names: list[str]) -> dict[str, Any]:
    data = yaml.safe_load(CONFIG.read_text())
    out = {}
    for name in space_names:
        node = data
        for part in name.split("."):
            node = node[part]
        out[name] = node
    return out


def run_seed004(games: Games, budget: int, seed: int, start: dict[str, Any]) -> dict:
    found = seed004_loop(_measure(games, seed), lambda: games.played, _space(), start,
                         budget, seed, first=50, per_challenger=30, margin=lambda _: 0.001)
    return _answer(found, games)


def run_optuna(games: Games, budget: int, seed: int, start: dict[str, Any]) -> dict:
    return _answer(optuna_loop(_measure(games, seed), lambda: games.played, _space(), start,
                               budget, seed, per_trial=30), games)


def _space():  # noqa: ANN202
    return load_recipe(RECIPE).parsed_space()


def _measure(games: Games, seed: int):  # noqa: ANN202 - a bench.baselines Measure
    return lambda params, n, index: games.scores(params, n, seed * 7 + index if index
                                                 else seed)


def _answer(found: Result, games: Games) -> dict:
    return {"params": found.trace[-1][1], "reported": found.reported,
            "examined": found.examined, "games": games.played,
            "on_champion": round(found.champion_share * games.played)}


def run_ratchet(budget: int, seed: int, strategy: dict | None = None,
                racing: dict | None = None) -> dict:
    """The snake recipe (or it with another strategy and racing) on a budget of games."""
    with tempfile.TemporaryDirectory() as tmp:
        live = Path(tmp) / "config.yaml"
        shutil.copy(CONFIG, live)
        raw = copy.deepcopy(load_recipe(RECIPE).model_dump(mode="json"))
        raw["target"]["config_file"] = str(live)
        raw["target"]["cwd"] = str(ROOT)
        if strategy is not None:
            raw["strategy"] = strategy
        if racing is not None:
            raw["racing"] = racing
        raw["seed"] = seed
        raw["schedule"]["budget"] = {"games": budget}
        raw["schedule"]["stagnation_cycles"] = None
        run_recipe(parse_recipe(raw), Path(tmp) / "run", reporter=lambda *_: None,
                   stop=threading.Event())
        from bench.search import spending
        from ratchet.core.store import Store
        from ratchet.engine.summary import champion_summary

        with Store(Path(tmp) / "run") as store:
            summary = champion_summary(store)
            examined, measured, on_champion = spending(store)
        score = summary["score"]
        return {"params": summary["params"], "reported": score["mean"],
                "interval": (score["low"], score["high"]), "promotions": summary["promotions"],
                "provisional": summary["provisional"],
                "examined": examined, "games": measured, "on_champion": on_champion}


def methods(budget: int, seed: int, pool: ProcessPoolExecutor, start: dict[str, Any]
            ) -> dict[str, Any]:
    return {
        "ratchet recipe (tpe, racing 32)": lambda: run_ratchet(budget, seed),
        "ratchet perturb + sprt (before)": lambda: run_ratchet(
            budget, seed, {"kind": "perturb", "params_per_step": [3, 5], "scale": 0.15},
            {"challengers": 1}),
        # fishtest's proposer: pairs either side of a moving point, the schedule planned
        # for the pairs the budget affords at about 100 games a test
        "ratchet spsa + sprt": lambda: run_ratchet(
            budget, seed, {"kind": "spsa", "iterations": max(2, budget // 200)},
            {"challengers": 1}),
        "seed 004 loop": lambda: run_seed004(Games(pool), budget, seed, start),
        OPTUNA: lambda: run_optuna(Games(pool), budget, seed, start),
    }


OPTUNA = "optuna tpe (best trial)"


def consistent(answer: dict, fresh_games: int) -> bool:
    """The reported score and the fresh re-measurement agree within their combined 95%
    interval: both are measured on a finite number of games, so "fresh in the reported
    interval" alone misses more than 5% of the time even when nothing is wrong."""
    low, high = answer["interval"]
    reported_se = (high - low) / (2 * 1.96)
    fresh_se = answer["fresh"].std(ddof=1) / math.sqrt(fresh_games)
    gap = abs(answer["reported"] - answer["fresh"].mean())
    return bool(gap <= 1.96 * math.sqrt(reported_se ** 2 + fresh_se ** 2))


def part_snake(budget: int, seeds: int, first_seed: int, fresh_games: int = 1000,
               only: list[str] | None = None, reference: bool = True) -> None:
    from bench.search import print_paired

    print(f"\nPart 3: snake bot, {budget} games per method (4-snake games vs the fixed pool), "
          f"{seeds} seeds, then {fresh_games} fresh games per answer, paired with the "
          "default weights' on the same seeds. 'fresh in CI': the fresh mean inside "
          "ratchet's reported 95% interval; 'consistent': the two agree within their "
          "combined 95% interval (the fresh mean has its own noise)\n")
    names = load_recipe(RECIPE).parsed_space().names
    start = _defaults(names)
    rows: dict[str, list[dict]] = {}
    with ProcessPoolExecutor(2) as pool:
        fresh = Games(pool)
        default = fresh.scores(start, fresh_games, FRESH_SEED)
        for s in range(seeds):
            seed = first_seed + s
            for label, go in methods(budget, seed, pool, start).items():
                if not (reference if label == OPTUNA else
                        not only or any(m in label for m in only)):
                    continue
                t = time.perf_counter()
                answer = go()
                answer["fresh"] = fresh.scores(answer["params"], fresh_games, FRESH_SEED)
                rows.setdefault(label, []).append(answer)
                fresh_se = answer["fresh"].std(ddof=1) / math.sqrt(fresh_games)
                ci = answer.get("interval")
                said = (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and ci[0] is not None else "") + (
                    " (provisional)" if answer.get("provisional") else "")
                print(f"  seed {seed}: {label}: reported {answer['reported']:.3f}{said}, "
                      f"fresh {answer['fresh'].mean():.3f} ± {1.96 * fresh_se:.3f} "
                      f"({time.perf_counter() - t:.0f} s)", flush=True)
    print(f"\n{'answer':32s} {'reported':>9s} {'fresh':>7s} {'vs default (95% CI)':>24s} "
          f"{'fresh in CI':>11s} {'consistent':>10s} {'cand./1000 games':>17s} "
          f"{'on champion':>12s} {'promotions':>11s}")
    print(f"{'default weights':32s} {'':>9s} {default.mean():7.3f}")
    short: dict[str, list[float]] = {}
    for label, answers in rows.items():
        diff = np.concatenate([a["fresh"] - default for a in answers])
        half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff))
        with_ci = [a for a in answers if a.get("interval") and a["interval"][0] is not None]
        inside = sum(a["interval"][0] <= a["fresh"].mean() <= a["interval"][1]
                     for a in with_ci)
        agree = sum(consistent(a, fresh_games) for a in with_ci)
        games = sum(a.get("games", budget) for a in answers)
        examined = sum(a.get("examined", 0) for a in answers)
        on_champion = sum(a.get("on_champion", 0) for a in answers)
        print(f"{label:32s} {np.mean([a['reported'] for a in answers]):9.3f} "
              f"{np.mean([a['fresh'].mean() for a in answers]):7.3f} "
              f"{diff.mean():+10.3f} [{diff.mean() - half:+.3f}, {diff.mean() + half:+.3f}] "
              f"{f'{inside}/{len(with_ci)}' if with_ci else '—':>11s} "
              f"{f'{agree}/{len(with_ci)}' if with_ci else '—':>10s} "
              f"{1000 * examined / games if examined else float('nan'):17.1f} "
              f"{on_champion / games:12.0%} "
              f"{sum(a.get('promotions', 0) for a in answers):11d}")
        short[label] = [-a["fresh"].mean() for a in answers]  # lower is better
    if reference:
        print("\nFresh win rate, ratchet minus Optuna, paired by seed (negative: ratchet's "
              "answer is stronger):")
        print_paired("snake", short, OPTUNA)
