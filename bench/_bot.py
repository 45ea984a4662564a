"""Part of bench/search.py: tune the simulated bot of known Elo (bench/_elo_bot.py) under
an equal budget of games. The truth needs no re-measurement: every answer's Elo is known."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from bench._baselines import Result, optuna_loop, seed004_loop
from bench._elo_bot import BEST_ELO, SHARED, START_ELO, EloBot, space, true_elo, true_score
from bench.search import print_paired, run_loop
from ratchet.core.stats import score_to_elo
from ratchet.engine.recipe import Racing
from ratchet.plugins.judges import SPRTJudge
from ratchet.plugins.strategies import OptunaStrategy, PerturbStrategy
from ratchet.plugins.strategies.portfolio import PortfolioStrategy
from ratchet.plugins.strategies.spsa import SPSAStrategy

Method = Callable[[int, int], Result]  # (budget in games, seed) -> result
PORTFOLIO = [{"kind": "tpe"}, {"kind": "gp"}, {"kind": "cmaes"}]  # model-based, a bandit picks


def judge(args: argparse.Namespace) -> SPRTJudge:
    return SPRTJudge(elo0=0, elo1=args.bot_elo1, batch=args.bot_batch,
                     min_games=args.bot_min_games, max_games=args.bot_max_games,
                     normalized=args.bot_normalized)


def ratchet_method(args: argparse.Namespace, sampler: str, racing: Racing | None) -> Method:
    def go(budget: int, seed: int) -> Result:
        strategy = (PerturbStrategy(space(), seed=seed) if sampler == "perturb" else
                    SPSAStrategy(space(), seed=seed, iterations=max(2, budget // 400))
                    if sampler == "spsa" else
                    PortfolioStrategy(space(), seed=seed, members=PORTFOLIO)
                    if sampler == "portfolio" else
                    OptunaStrategy(space(), seed=seed, sampler=sampler, n_startup_trials=10))
        return run_loop(EloBot(seed, args.bot_shared), space(), strategy, judge(args),
                        budget, seed, racing, baseline=args.bot_batch)
    return go


def seed004(budget: int, seed: int) -> Result:
    """Seed 004's loop: 30 games a challenger, kept if its win rate beats the best seen."""
    bot = EloBot(seed)
    return seed004_loop(_games(bot, seed), lambda: bot.evaluations, space(),
                        bot.baseline(space()), budget, seed, first=50, per_challenger=30)


def optuna_tpe(budget: int, seed: int) -> Result:
    """Plain Optuna TPE: 40 games a trial on a fresh seed, the best trial as the answer."""
    bot = EloBot(seed)
    return optuna_loop(_games(bot, seed), lambda: bot.evaluations, space(),
                       bot.baseline(space()), budget, seed, per_trial=40)


def _games(bot: EloBot, seed: int):  # noqa: ANN202 - a bench.baselines Measure
    return lambda params, n, index: bot.games(params, n, seed * 7919 + index if index
                                              else seed)


OPTUNA = "optuna tpe, 40 games a trial"


def methods(args: argparse.Namespace) -> dict[str, Method]:
    race = Racing(challengers=args.race_challengers, screen=args.bot_screen,
                  keep=args.race_keep)
    return {"ratchet perturb + sprt": ratchet_method(args, "perturb", None),
            "ratchet tpe + sprt": ratchet_method(args, "tpe", None),
            f"ratchet perturb, racing {race.challengers}": ratchet_method(args, "perturb", race),
            f"ratchet tpe, racing {race.challengers}": ratchet_method(args, "tpe", race),
            "ratchet spsa + sprt": ratchet_method(args, "spsa", None),
            # (not with racing 32: Optuna's GP fits its model at every ask, 32 a race, and
            # a seed took over ten minutes)
            "ratchet portfolio tpe/gp/cmaes + sprt": ratchet_method(args, "portfolio", None),
            "seed 004 loop": seed004, OPTUNA: optuna_tpe}


def part_bot(args: argparse.Namespace) -> None:
    budget = args.bot_games
    print(f"\nSimulated bot of known Elo (start {START_ELO:g}, optimum {BEST_ELO:g}), "
          f"{budget} games per method, {args.seeds} seeds; ratchet's judge: {judge(args)!r}; "
          f"racing screens {args.bot_screen} games a side per round; {args.bot_shared:.0%} of "
          "games paired by seed\n")
    header = (f"{'method':30s} {'true Elo':>9s} {'min':>6s} {'reported':>9s} {'truth in CI':>11s} "
              f"{'cand./1000 games':>17s} {'on champion':>12s} {'promotions':>11s} "
              f"{'spent/budget':>12s}")
    print(header)
    print("-" * len(header))
    chosen = methods(args)
    if args.methods:
        chosen = {k: v for k, v in chosen.items()
                  if k == OPTUNA or any(m in k for m in args.methods)}
    short: dict[str, list[float]] = {}  # Elo short of the optimum, per seed (lower: better)
    for label, go in chosen.items():
        t = time.perf_counter()
        results = [go(budget, args.seed + s) for s in range(args.seeds)]
        elos = [true_elo(r.trace[-1][1]) for r in results]
        short[label] = [BEST_ELO - e for e in elos]
        with_ci = [r for r in results if r.interval is not None]
        inside = sum(r.interval[0] <= true_score(r.trace[-1][1]) <= r.interval[1]  # type: ignore[index]
                     for r in with_ci)
        reported = statistics.mean(score_to_elo(r.reported) for r in results)
        games = budget * len(results)
        print(f"{label:30s} {statistics.mean(elos):9.1f} {min(elos):6.1f} {reported:9.1f} "
              f"{f'{inside}/{len(with_ci)}' if with_ci else '—':>11s} "
              f"{1000 * sum(r.examined for r in results) / games:17.1f} "
              f"{np.mean([r.champion_share for r in results]):12.0%} "
              f"{sum(r.promotions for r in results):11d} "
              f"{max(r.spent for r in results) / budget if results[0].spent else 0:12.3f}   "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
    print("\nElo short of the optimum, ratchet minus Optuna, paired by seed (negative: "
          "ratchet's answer is stronger):")
    print_paired("bot", short, OPTUNA)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--bot-games", type=int, default=0,
                    help="also tune the simulated bot of known Elo, this many games a method")
    ap.add_argument("--bot-screen", type=int, default=20, help="racing: games a side a round")
    ap.add_argument("--bot-batch", type=int, default=40, help="the sprt judge's batch")
    ap.add_argument("--bot-elo1", type=float, default=50.0)
    ap.add_argument("--bot-min-games", type=int, default=80)
    ap.add_argument("--bot-max-games", type=int, default=600)
    ap.add_argument("--bot-shared", type=float, default=SHARED,
                    help="share of games whose luck the seed decides for every candidate")
    ap.add_argument("--bot-normalized", action="store_true", help="normalized Elo bounds")
