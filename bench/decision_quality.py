"""How often does each promotion rule promote the wrong thing, and what does it cost?

Simulated games of known strength against a fixed opponent pool: the champion wins with
probability --p-champion (seed 004's bot: 47%), a challenger ``elo`` points stronger wins
with the logistic-Elo probability. Challenger and champion play the same seeds: with
probability --correlation a game's outcome draws on the same random number for both
(common random numbers), otherwise on independent ones.

Rules compared on the same simulated games:
* seed 004: baseline 50 games, then 30 challenger games; keep if win rate > best + 0.1%;
* sprt: ratchet's paired GSPRT with the given Elo bounds and error rates;
* fixed-N: a one-sided z-test on the same paired scores with the same alpha/beta at
  elo0/elo1, N computed from the pair-score variance (the sample size SPRT competes with).

Prints false-promotion rate (challenger equal), detection rate at +20 and +50 Elo, and
mean games per decision (challenger + champion games). Also seed 004's recorded "best win
rate" after 100 iterations of equal-strength candidates for a bot that truly wins 47%.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats as st

from bench._results import add_arguments, recorded
from ratchet.core.stats import elo_to_score, score_to_elo
from ratchet.core.types import Decision, Evidence
from ratchet.plugins.judges.sprt import SPRTJudge

TITLE = "Decision quality: false promotions, detection and games per decision"


def pair_games(rng: np.random.Generator, n: int, p_c: float, p_h: float, rho: float):
    u = rng.random(n)
    shared = rng.random(n) < rho
    v = np.where(shared, u, rng.random(n))
    return (u < p_c).astype(float), (v < p_h).astype(float)


def seed004_rule(rng, p_c, p_h, rho, baseline=50, games=30, min_improvement=0.001):
    best = float(np.mean(rng.random(baseline) < p_h))
    c, _ = pair_games(rng, games, p_c, p_h, rho)
    return float(c.mean()) > best + min_improvement, games


def sprt_rule(rng, judge: SPRTJudge, p_c, p_h, rho):
    ev = Evidence("games")
    while True:
        c, h = pair_games(rng, judge.batch, p_c, p_h, rho)
        ev.pairs.extend(zip(c.tolist(), h.tolist(), strict=True))
        ev.challenger.extend(c.tolist())
        ev.champion.extend(h.tolist())
        verdict = judge.decide(ev)
        if verdict.decision.is_final():
            return verdict.decision is Decision.PROMOTE, ev.games_played


def fixed_n(judge: SPRTJudge, p_h: float, rho: float, rng) -> int:
    """Pairs a one-sided z-test needs for the same alpha at elo0 and beta at elo1."""
    base = score_to_elo(p_h)
    s = [0.5 + (elo_to_score(base + e) - p_h) / 2 for e in (judge.elo0, judge.elo1)]
    c, h = pair_games(rng, 200_000, elo_to_score(base + judge.elo1), p_h, rho)
    sd = float(np.std((1 + c - h) / 2))
    z = st.norm.ppf(1 - judge.alpha) + st.norm.ppf(1 - judge.beta)
    return math.ceil((z * sd / (s[1] - s[0])) ** 2)


def fixed_rule(rng, n, judge, p_c, p_h, rho):
    base = score_to_elo(p_h)
    s0 = 0.5 + (elo_to_score(base + judge.elo0) - p_h) / 2
    c, h = pair_games(rng, n, p_c, p_h, rho)
    x = (1 + c - h) / 2
    z = (x.mean() - s0) / (x.std(ddof=1) / math.sqrt(n))
    return z > st.norm.ppf(1 - judge.alpha), 2 * n


def recorded_best_after(rng, p_h, iterations=100, runs=200) -> tuple[float, float]:
    finals, kept = [], []
    for _ in range(runs):
        best = float(np.mean(rng.random(50) < p_h))
        k = 0
        for _ in range(iterations):
            wr = float(np.mean(rng.random(30) < p_h))
            if wr > best + 0.001:
                best, k = wr, k + 1
        finals.append(best)
        kept.append(k)
    return float(np.mean(finals)), float(np.mean(kept))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="simulated decisions per cell")
    ap.add_argument("--p-champion", type=float, default=0.47)
    ap.add_argument("--correlation", type=float, default=0.5)
    ap.add_argument("--elo1", type=float, default=25.0, help="SPRT H1 bound (recipe default)")
    ap.add_argument("--max-games", type=int, default=2000, help="SPRT cap, in game pairs")
    ap.add_argument("--seed", type=int, default=0)
    add_arguments(ap)
    args = ap.parse_args()
    with recorded("decision_quality", TITLE, args):
        rng = np.random.default_rng(args.seed)
        p_h, rho = args.p_champion, args.correlation
        strengths = (0.0, 20.0, 50.0)
        judge = SPRTJudge(elo0=0, elo1=args.elo1, alpha=0.05, beta=0.05, batch=20, min_games=40,
                          max_games=args.max_games)
        n_fixed = fixed_n(judge, p_h, rho, rng)
        rules = {
            "seed 004 (30 games, > best + 0.1%)": lambda pc: seed004_rule(rng, pc, p_h, rho),
            f"sprt [0, {args.elo1:g}] a=b=0.05": lambda pc: sprt_rule(rng, judge, pc, p_h, rho),
            f"fixed-N z-test ({n_fixed} pairs)": lambda pc: fixed_rule(rng, n_fixed, judge, pc,
                                                                       p_h, rho),
        }
        print(f"champion wins {p_h:.0%} vs the pool; pairing correlation {rho}; "
              f"{args.runs} decisions per cell\n")
        header = (f"{'rule':40s} {'false@0':>8s} {'det@+20':>8s} {'det@+50':>8s} "
                  f"{'games@0':>8s} {'games@+20':>9s} {'games@+50':>9s}")
        print(header)
        print("-" * len(header))
        for name, rule in rules.items():
            t = time.perf_counter()
            rates, games = [], []
            for elo in strengths:
                p_c = elo_to_score(score_to_elo(p_h) + elo)
                outcomes = [rule(p_c) for _ in range(args.runs)]
                rates.append(np.mean([o[0] for o in outcomes]))
                games.append(np.mean([o[1] for o in outcomes]))
            print(f"{name:40s} {rates[0]:8.1%} {rates[1]:8.1%} {rates[2]:8.1%} "
                  f"{games[0]:8.0f} {games[1]:9.0f} {games[2]:9.0f}"
                  f"   ({time.perf_counter() - t:.0f} s)")
        best, kept = recorded_best_after(rng, p_h)
        print(f"\nseed 004 after 100 iterations of equal-strength candidates (true win rate "
              f"{p_h:.0%}): recorded best win rate {best:.1%}, {kept:.1f} 'improvements' kept")


if __name__ == "__main__":
    main()
