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
import optuna
import yaml

from examples.snake.bench import game_seed, run_game
from examples.snake.bot import OPPONENTS, Style
from ratchet.recipe import load_recipe, parse_recipe
from ratchet.runner import run_recipe
from ratchet.strategies import PerturbStrategy
from ratchet.types import Candidate

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
    space = load_recipe(RECIPE).parsed_space()
    proposer = PerturbStrategy(space, seed=seed)
    champion = Candidate(start, "baseline")
    best = float(games.scores(start, 50, seed).mean())
    i = 0
    while games.played < budget:
        i += 1
        challenger = proposer.propose(champion, [])
        rate = float(games.scores(challenger.params, 30, seed * 7 + i).mean())
        if rate > best + 0.001:
            champion, best = challenger, rate
    return {"params": champion.params, "reported": best}


def run_optuna(games: Games, budget: int, seed: int, start: dict[str, Any]) -> dict:
    space = load_recipe(RECIPE).parsed_space()
    dists = {p.name: (optuna.distributions.IntDistribution(int(p.low), int(p.high))
                      if p.type == "int" else
                      optuna.distributions.FloatDistribution(p.low, p.high)) for p in space}
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(start)
    i = 0
    while games.played < budget:
        i += 1
        trial = study.ask(dists)
        study.tell(trial, float(games.scores(trial.params, 30, seed * 7 + i).mean()))
    return {"params": study.best_params, "reported": study.best_value}


def run_ratchet(strategy: str, budget: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        live = Path(tmp) / "config.yaml"
        shutil.copy(CONFIG, live)
        raw = copy.deepcopy(load_recipe(RECIPE).model_dump(mode="json"))
        raw["target"]["config_file"] = str(live)
        raw["target"]["cwd"] = str(ROOT)
        raw["strategy"] = {"kind": strategy} if strategy != "perturb" else raw["strategy"]
        raw["seed"] = seed
        recipe = parse_recipe(raw)
        stop = threading.Event()
        played = {"games": recipe.schedule.baseline}

        def report(event: str, data: dict) -> None:
            if event == "cycle_end":
                played["games"] += data["result"].evidence.games_played
            elif event == "batch":
                ev = data["evidence"]
                if played["games"] + ev.games_played >= budget:
                    stop.set()

        run_recipe(recipe, Path(tmp) / "run", reporter=report, stop=stop)
        from ratchet.store import Store
        from ratchet.summary import champion_summary

        with Store(Path(tmp) / "run") as store:
            summary = champion_summary(store)
        return {"params": summary["params"], "reported": summary["score"]["mean"],
                "promotions": summary["promotions"]}


def part_snake(budget: int, seed: int, fresh_games: int = 1000) -> None:
    print(f"\nPart 2: snake bot, {budget} games per method (4-snake games vs the fixed pool), "
          f"then {fresh_games} fresh paired games per answer\n")
    names = load_recipe(RECIPE).parsed_space().names
    start = _defaults(names)
    answers: dict[str, dict] = {}
    with ProcessPoolExecutor(2) as pool:
        for label, go in (
            ("ratchet perturb + sprt", lambda: run_ratchet("perturb", budget, seed)),
            ("ratchet tpe + sprt", lambda: run_ratchet("tpe", budget, seed)),
            ("seed 004 loop", lambda: run_seed004(Games(pool), budget, seed, start)),
            ("optuna tpe (best trial)", lambda: run_optuna(Games(pool), budget, seed, start)),
        ):
            t = time.perf_counter()
            answers[label] = go()
            print(f"  searched: {label} ({time.perf_counter() - t:.0f} s)", flush=True)
        fresh = Games(pool)
        default = fresh.scores(start, fresh_games, FRESH_SEED)
        print(f"\n{'answer':26s} {'reported':>9s} {'fresh win rate':>15s} "
              f"{'vs default (95% CI)':>24s}")
        print(f"{'default weights':26s} {'':>9s} {default.mean():15.3f}")
        for label, answer in answers.items():
            tuned = fresh.scores(answer["params"], fresh_games, FRESH_SEED)
            diff = tuned - default
            half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff))
            print(f"{label:26s} {answer['reported']:9.3f} {tuned.mean():15.3f} "
                  f"{diff.mean():+10.3f} [{diff.mean() - half:+.3f}, {diff.mean() + half:+.3f}]",
                  flush=True)
