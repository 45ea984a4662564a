"""Calibration: how often does each path promote a challenger that is no better (A/A)?

Every path ratchet decides on is run on a null where the truth is known: the challenger
equal in strength to the champion. Each test is one decision on fresh seeds (the run's
seed ledger), so the tests are independent; the rate of promotions is the path's real
false-promotion rate, printed with its 95% interval (Clopper-Pearson) beside the alpha
the judge states. The bench fails (exit 1) when a path's lower bound is above its alpha.

Its nulls must not be degenerate: a null where every pair of games ends the same way
would promote nothing and prove nothing. Beside each rate it prints what shows the
samples are real: the spread of pair results (games), the spread of the paired
differences (samples), and for self-play the share of distinct games.

Paths:
* ``command-paired``: a command benchmark's games against fixed opponents, challenger and
  champion on the same seeds (pentanomial SPRT); ``bench/_aa_bench.py``, where a shared
  opening decides half the games and each configuration's own play the rest.
* ``command-h2h``: the same benchmark head to head (trinomial SPRT on independent games).
* ``python-games``: the python target's win/draw/loss counts (trinomial after pairing).
* ``welch`` and ``welch-interleaved``: the python target's samples, Welch's test on
  independent runs and the paired test on interleaved runs.
* ``racing-max`` and ``racing-min``: races of four equal challengers screened on shared
  seeds, the survivor tested on fresh seeds, for a target maximized and one minimized.
* ``selfplay-same``: one network against a copy of itself, each playing its first
  plies from its own stream (the self-play promotion test: SPRT on pairs).
* ``selfplay-mcts``: two plain MCTS players (uniform priors) of the same simulations.
* ``probation``: a champion equal to its predecessor; a revert is the false verdict.
* ``racing-survival``: not a rate either: races of four, one challenger truly better;
  how often it reaches the test, maximized and minimized (the mirror of one function).
* ``ratings``: coverage, not a rate: players of three strengths (plain MCTS with 2, 8
  and 32 simulations) each rated as a champion is, from ``rating_pairs`` fresh pairs
  against uniform random and against the MCTS anchor; how often the 95% interval of
  its rating against the anchor holds the truth measured apart (its score against the
  anchor over ``--truth-games`` fresh games).

Power beside it, for the cheap paths (``--power``): the share of tests promoting a
challenger truly better by the judge's stated difference (elo1, or min_improvement).

    python -m bench.calibration [--paths a,b] [--tests 200] [--power 100]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._results import ROOT, add_arguments, recorded
from ratchet.core.stats import clopper_pearson, elo_to_score
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.plugins.strategies._base import Strategy

AA_BENCH = ROOT / "bench" / "_aa_bench.py"
SPRT = {"kind": "sprt", "elo0": 0, "elo1": 40, "alpha": 0.05, "beta": 0.05, "batch": 20,
        "min_games": 40, "max_games": 2000}
WELCH = {"kind": "welch", "confidence": 0.95, "batch": 5, "min_samples": 10,
         "max_samples": 60, "min_improvement": 0.0}
EDGE_FOR_ELO1 = elo_to_score(40) - 0.5  # win probability that is elo1 above 0.5


# -- the benchmark's pieces, importable by the recipes below --------------------------------
class EqualProposer(Strategy):
    """Proposes a new ``salt`` (changes nothing about strength) and an ``edge`` the
    given ``step`` above the champion's: 0 for A/A."""

    name = "equal"

    def __init__(self, space: Any, *, step: float = 0.0, **kwargs: Any):
        super().__init__(space, **kwargs)
        self.step = step
        self.rng = random.Random(self.seed)

    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        params = {"salt": self.rng.randrange(10**9),
                  "edge": float(champion.params.get("edge", 0.0)) + self.step}
        return self._candidate(params, champion, "equal strength" if not self.step
                               else f"better by {self.step:g}")


class OneBetter(Strategy):
    """Proposes races of ``field`` challengers: one of them, at a random place, ``gain``
    better than the champion (noted "better"), the others equal to it."""

    name = "one-better"

    def __init__(self, space: Any, *, field: int = 4, gain: float = 0.5, **kwargs: Any):
        super().__init__(space, **kwargs)
        self.field, self.gain = field, gain
        self.rng = random.Random(self.seed)
        self.proposed = 0
        self.better_at = 0

    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        place = self.proposed % self.field
        if place == 0:
            self.better_at = self.rng.randrange(self.field)
        self.proposed += 1
        better = place == self.better_at
        params = {"salt": self.rng.randrange(10**9),
                  "edge": float(champion.params.get("edge", 0.0)) + (self.gain if better
                                                                     else 0.0)}
        return self._candidate(params, champion, "better" if better else "equal")


def games(params: dict[str, Any], seed: int, size: int) -> dict[str, int]:
    """The python target's games: each independent, won with 0.45 + edge."""
    rng = random.Random(f"{seed}:{params['salt']}")
    p = 0.45 + params["edge"]
    outcomes = [rng.random() for _ in range(size)]
    wins = sum(u < p for u in outcomes)
    draws = sum(p <= u < p + 0.1 for u in outcomes)
    return {"wins": wins, "draws": draws, "losses": size - wins - draws}


def samples(params: dict[str, Any], seed: int, size: int) -> list[float]:
    """The python target's runs: a shared part from the seed (what interleaving pairs
    cancel) plus the configuration's own noise; the mean is 10 + ``edge``."""
    shared = random.Random(f"{seed}")
    own = random.Random(f"{seed}:{params['salt']}")
    return [10.0 + params["edge"] + shared.gauss(0, 1) + own.gauss(0, 1)
            for _ in range(size)]


def lower_is_better(params: dict[str, Any], seed: int, size: int) -> list[float]:
    """A target whose direction is minimize: its mean is 10 - ``edge``."""
    return [20.0 - v for v in samples(params, seed, size)]


# -- paths --------------------------------------------------------------------------------
@dataclass
class PathResult:
    name: str
    alpha: float
    tests: int = 0
    promoted: int = 0
    units: list[int] = field(default_factory=list)   # games or runs per decision
    spread: str = ""                                  # what shows the null is not degenerate
    power: tuple[int, int] | None = None              # (promoted, tests) at the stated edge
    seconds: float = 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return clopper_pearson(self.promoted, self.tests)


def _space(edge_high: float) -> dict[str, Any]:
    return {"salt": {"type": "int", "low": 0, "high": 10**9},
            "edge": {"type": "float", "low": -1.0, "high": edge_high}}


def _recipe(name: str, target: dict[str, Any], judge: dict[str, Any], *, step: float = 0.0,
            racing: dict[str, Any] | None = None, seed: int = 1) -> dict[str, Any]:
    recipe = {"name": name, "seed": seed, "target": target, "space": _space(100.0),
              "strategy": {"kind": "bench.calibration:EqualProposer", "step": step},
              "judge": judge, "schedule": {"baseline": 0, "max_consecutive_failures": 3},
              "executor": {"kind": "inline"},
              "racing": racing or {"challengers": 1}}  # the racing paths race; no other
    return recipe


def _command(work: Path, head_to_head: bool) -> dict[str, Any]:
    config = work / "config.json"
    config.write_text('{"salt": 0, "edge": 0.0}')
    command = [sys.executable, str(AA_BENCH), "--config", "{config}", "--games", "{games}",
               "--seed", "{seed}"]
    if head_to_head:
        command += ["--versus", "{champion_config}"]
    return {"kind": "command", "config_file": str(config), "benchmark": command,
            "timeout_s": 60, "outcome": "games"}


def _python(function: str, **more: Any) -> dict[str, Any]:
    return {"kind": "python", "function": f"bench.calibration:{function}",
            "start": {"salt": 0, "edge": 0.0}, **more}


def _loop_path(name: str, make: Callable[[Path], dict[str, Any]], tests: int, alpha: float,
               power_tests: int, edge: float) -> PathResult:
    """``tests`` A/A decisions in one run (a promoted equal challenger is an equal
    champion); power from single-decision runs of a challenger ``edge`` better."""
    from ratchet.core.store import Store
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    result = PathResult(name, alpha)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        recipe = make(work)
        racing = recipe.get("racing")
        per_test = racing["challengers"] if racing else 1  # {"challengers": 1}: one a test
        run_recipe(parse_recipe(recipe), work / "run", max_cycles=tests * per_test)
        with Store(work / "run") as store:
            tested = [d for d in store.decisions() if not d.stats.get("screened")]
            rows = store.evaluations(roles=("challenger", "champion"))
        result.tests = len(tested)
        result.promoted = sum(d.decision is Decision.PROMOTE for d in tested)
        result.units = [d.games for d in tested]
        result.spread = _spread(rows, recipe)
        if power_tests:
            promoted = 0
            for i in range(power_tests):
                (work / f"p{i}").mkdir()
                recipe = make(work / f"p{i}")
                recipe["seed"] = 1000 + i
                recipe["strategy"] = {**recipe["strategy"], "step": edge}
                run_recipe(parse_recipe(recipe), work / f"p{i}" / "run",
                           max_cycles=per_test)
                with Store(work / f"p{i}" / "run") as store:
                    promoted += any(d.decision is Decision.PROMOTE for d in store.decisions())
            result.power = (promoted, power_tests)
    result.seconds = time.monotonic() - started
    return result


def _spread(rows: list[Any], recipe: dict[str, Any]) -> str:
    """Pair results of games (challenger, champion on one seed, game by game), or the
    spread of paired differences of runs."""
    by_key: dict[tuple[int, int, int], dict[str, Any]] = {}
    for r in rows:
        if r.ok:
            by_key.setdefault((r.cycle, r.batch, r.shard), {})[r.role] = r
    outcome = recipe["target"].get("outcome", "samples")
    if recipe["judge"]["kind"] == "sprt" and outcome == "games":
        # games listed in order are paired game by game; counts only, at random (the
        # judge's pairing): then the spread shown is of the game scores
        counts = [0] * 5
        single = [0] * 3
        for sides in by_key.values():
            c, h = sides.get("challenger"), sides.get("champion")
            if c is None:
                continue
            if h is None or not (c.ordered and h.ordered):  # head to head, or counts
                for s in c.scores:
                    single[round(s * 2)] += 1
                continue
            for a, b in zip(c.scores, h.scores, strict=False):
                counts[round((1 + a - b) * 2)] += 1
        if any(single):
            return "game scores 0/0.5/1: " + "/".join(map(str, single))
        return "pair results 0..1 by 1/4: " + "/".join(map(str, counts))
    diffs = [a - b for sides in by_key.values() if len(sides) == 2
             for a, b in zip(sides["challenger"].scores, sides["champion"].scores,
                             strict=False)]
    if recipe["target"].get("interleave") is False:
        # independent runs: the champion's side is shared, so few runs are paired; the
        # spread shown is of every run of either side
        runs = [s for sides in by_key.values() for r in sides.values() for s in r.scores]
        mean = sum(runs) / len(runs)
        sd = math.sqrt(sum((v - mean) ** 2 for v in runs) / (len(runs) - 1))
        return f"runs: {len(runs)}, sd {sd:.2f}, distinct {len(set(runs))}"
    if len(diffs) < 2:
        return "no paired runs"
    mean = sum(diffs) / len(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    return f"paired differences: {len(diffs)}, sd {sd:.2f}, distinct {len(set(diffs))}"


def loop_paths(tests: int, power: int) -> dict[str, Callable[[], PathResult]]:
    racing = {"challengers": 4, "keep": 0.5, "screen": 5}
    elo_edge = EDGE_FOR_ELO1
    return {
        "command-paired": lambda: _loop_path(
            "command-paired", lambda w: _recipe("aa", _command(w, False), SPRT), tests,
            0.05, power, elo_edge),
        "command-h2h": lambda: _loop_path(
            "command-h2h", lambda w: _recipe("aa", _command(w, True), SPRT), tests, 0.05,
            power, elo_edge),
        "python-games": lambda: _loop_path(
            "python-games", lambda w: _recipe("aa", _python("games", outcome="games"), SPRT),
            tests, 0.05, power, elo_edge),
        "welch": lambda: _loop_path(
            "welch", lambda w: _recipe("aa", _python("samples", interleave=False), WELCH),
            tests, 0.05, power, 1.0),
        "welch-interleaved": lambda: _loop_path(
            "welch-interleaved", lambda w: _recipe("aa", _python("samples"), WELCH), tests,
            0.05, power, 1.0),
        "racing-max": lambda: _loop_path(
            "racing-max", lambda w: _recipe("aa", _python("samples"), WELCH, racing=racing),
            tests, 0.05, power, 1.0),
        "racing-min": lambda: _loop_path(
            "racing-min", lambda w: _recipe(
                "aa", _python("lower_is_better", direction="minimize"), WELCH,
                racing=racing), tests, 0.05, power, 1.0),
    }


def racing_survival(races: int) -> PathResult:
    """How often the one truly better challenger of a race of four survives screening
    (reaches the test), maximized and minimized: the two should match."""
    from ratchet.core.store import Store
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    result = PathResult("racing-survival", 0.0)
    started = time.monotonic()
    found = {}
    for direction, function in (("maximize", "samples"), ("minimize", "lower_is_better")):
        recipe = _recipe("survival", _python(function, direction=direction), WELCH,
                         racing={"challengers": 4, "keep": 0.5, "screen": 5})
        recipe["strategy"] = {"kind": "bench.calibration:OneBetter", "field": 4,
                              "gain": 0.5}
        with tempfile.TemporaryDirectory() as tmp:
            run_recipe(parse_recipe(recipe), Path(tmp) / "run", max_cycles=4 * races)
            with Store(Path(tmp) / "run") as store:
                tested = [d for d in store.decisions() if not d.stats.get("screened")]
        found[direction] = (sum(d.candidate.note == "better" for d in tested), len(tested))
    result.spread = "; ".join(f"{k}: the better one reached the test in {a} of {n} races "
                              f"({a / max(n, 1):.0%})" for k, (a, n) in found.items())
    result.seconds = time.monotonic() - started
    return result


# -- self-play paths (the promotion test and probation, outside a run) ----------------------
def _selfplay_test(kind: str, seed: int, simulations: int) -> tuple[bool, int, int, list[int]]:
    """One promotion test of two equal players: (promoted, games, distinct games, pair
    results over 0, 1/4, ..., 1)."""
    import torch

    from ratchet.core.seeds import derive
    from ratchet.core.types import Evidence, Measurement
    from ratchet.plugins.judges import SPRTJudge
    from ratchet.plugins.targets.selfplay.match import play_pairs, scores_of

    torch.set_num_threads(1)
    game, players = _selfplay_players(kind, seed, simulations)
    judge = SPRTJudge(**{k: v for k, v in SPRT.items() if k != "kind"})
    evidence = Evidence("games", head_to_head=True, games_in_pairs=True)
    seen: set[tuple[int, ...]] = set()
    for batch in range(1000):
        (batch_seed,) = derive(seed, "calibrate", 0, batch)
        results = play_pairs(game, *players, SPRT["batch"] // 2, batch_seed)
        seen.update(r.moves for r in results)
        evidence.add(Measurement("games", tuple(scores_of(results, players[0].name)),
                                 ordered=True), None, random.Random(batch_seed))
        verdict = judge.decide(evidence)
        if verdict.decision.is_final():
            break
    spread = [0] * 5
    for a, b in evidence.pairs:
        spread[round((a + b) * 2)] += 1
    return (verdict.decision is Decision.PROMOTE, evidence.n, len(seen), spread)


def _selfplay_players(kind: str, seed: int, simulations: int) -> tuple[Any, list[Any]]:
    import pyspiel

    from ratchet.core.seeds import derive
    from ratchet.plugins.targets.selfplay.game import game_info
    from ratchet.plugins.targets.selfplay.match import NetworkPlayer
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig, uniform_evaluator
    from ratchet.plugins.targets.selfplay.network import new_network

    game = pyspiel.load_game("connect_four")
    info = game_info("connect_four", game)
    if kind == "same":
        net: Any = new_network(info, hidden=32, blocks=1, seed=0)
        nets = [net, net]
    else:
        from types import SimpleNamespace
        nets = [SimpleNamespace(evaluate=uniform_evaluator)] * 2
    seeds = derive(seed, "calibrate", 1, 0, shards=2)
    players = [NetworkPlayer(name, n, info.actions, SearchConfig(simulations=simulations),
                             seed=s, sampled_plies=8)
               for name, n, s in zip(("challenger", "champion"), nets, seeds, strict=True)]
    return game, players


def _probation_trial(kind: str, seed: int, simulations: int) -> tuple[bool, int, int, list[int]]:
    import pyspiel
    import torch

    from ratchet.core.seeds import derive
    from ratchet.plugins.targets.selfplay.match import NetworkPlayer
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig, uniform_evaluator
    from ratchet.plugins.targets.selfplay.probation import ProbationRule, probation_test

    torch.set_num_threads(1)
    from types import SimpleNamespace
    plain = SimpleNamespace(evaluate=uniform_evaluator)
    game = pyspiel.load_game("connect_four")
    weaker = kind == "weaker"
    seeds = derive(seed, "calibrate", 2, 0, shards=2)
    champion = NetworkPlayer("new", plain, 7, SearchConfig(
        simulations=max(1, simulations // 8) if weaker else simulations), seed=seeds[0],
        sampled_plies=8)
    predecessor = NetworkPlayer("old", plain, 7, SearchConfig(simulations=simulations),
                                seed=seeds[1], sampled_plies=8)
    result = probation_test(game, champion, predecessor, ProbationRule(),
                            lambda b: derive(seed, "probation", 0, b)[0])
    spread = [0] * 5
    for i in range(0, len(result.games) - 1, 2):
        a, b = result.games[i], result.games[i + 1]
        spread[round((a.score + 1 - b.score) * 2)] += 1
    return (result.revert, len(result.games), len({g.moves for g in result.games}), spread)


def _parallel(fn: Callable[..., tuple[bool, int, int, list[int]]], name: str, kind: str,
              tests: int, simulations: int, alpha: float) -> PathResult:
    result = PathResult(name, alpha)
    started = time.monotonic()
    outcomes = []
    with ProcessPoolExecutor(2) as pool:
        for outcome in pool.map(fn, [kind] * tests, range(1, tests + 1),
                                [simulations] * tests):
            outcomes.append(outcome)
            if len(outcomes) % 25 == 0:
                print(f"  {name}: {len(outcomes)} of {tests} in "
                      f"{(time.monotonic() - started) / 60:.1f} min", file=sys.stderr,
                      flush=True)
    result.tests = len(outcomes)
    result.promoted = sum(o[0] for o in outcomes)
    result.units = [o[1] for o in outcomes]
    distinct = sum(o[2] for o in outcomes) / max(1, sum(o[1] for o in outcomes))
    spread = [sum(o[3][k] for o in outcomes) for k in range(5)]
    result.spread = (f"pair results 0..1 by 1/4: {'/'.join(map(str, spread))}; distinct "
                     f"games {distinct:.1%}")
    result.seconds = time.monotonic() - started
    return result


def selfplay_paths(tests: int, power: int, simulations: int
                   ) -> dict[str, Callable[[], PathResult]]:
    def probation() -> PathResult:
        found = _parallel(_probation_trial, "probation", "equal", tests, simulations, 0.05)
        if power:
            weaker = _parallel(_probation_trial, "probation", "weaker", power, simulations,
                               0.05)
            found.power = (weaker.promoted, weaker.tests)
        return found

    return {
        "selfplay-same": lambda: _parallel(_selfplay_test, "selfplay-same", "same", tests,
                                           simulations, 0.05),
        "selfplay-mcts": lambda: _parallel(_selfplay_test, "selfplay-mcts", "mcts", tests,
                                           simulations, 0.05),
        "probation": probation,
    }


# -- ratings: interval coverage -----------------------------------------------------------
ANCHOR_SIMULATIONS = 25
RATED = (2, 8, 32)  # the players' simulations


def _rating_player(simulations: int, seed: int) -> Any:
    from types import SimpleNamespace

    from ratchet.plugins.targets.selfplay.match import NetworkPlayer
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig, uniform_evaluator

    return NetworkPlayer(f"plain-{simulations}", SimpleNamespace(evaluate=uniform_evaluator),
                         7, SearchConfig(simulations=simulations), seed=seed,
                         sampled_plies=8)


def _truth(simulations: int, games: int) -> float:
    """The player's score against the anchor over ``games`` fresh games."""
    import pyspiel
    import torch

    from ratchet.core.seeds import derive
    from ratchet.plugins.targets.selfplay.match import MCTSAnchor, play_pairs, scores_of

    torch.set_num_threads(1)
    game = pyspiel.load_game("connect_four")
    seeds = derive(simulations, "rating", 10**6, 0, shards=3)
    player = _rating_player(simulations, seeds[0])
    anchor = MCTSAnchor(game, ANCHOR_SIMULATIONS, seeds[1])
    played = play_pairs(game, player, anchor, games // 2, seeds[2])
    return sum(scores_of(played, player.name)) / len(played)


def _rating_trial(trial: int, pairs: int) -> list[tuple[str, str, float]]:
    """Each player's fresh rating games of one trial, as the target plays them."""
    import pyspiel
    import torch

    from ratchet.core.seeds import derive
    from ratchet.plugins.targets.selfplay.match import MCTSAnchor, RandomPlayer, play_pairs

    torch.set_num_threads(1)
    game = pyspiel.load_game("connect_four")
    games: list[tuple[str, str, float]] = []
    for k, simulations in enumerate(RATED):
        seeds = derive(trial, "rating", k, 0, shards=5)
        player = _rating_player(simulations, seeds[0])
        for anchor, seed in ((RandomPlayer(seeds[1]), seeds[3]),
                             (MCTSAnchor(game, ANCHOR_SIMULATIONS, seeds[2]), seeds[4])):
            games += [(r.first, r.second, r.score)
                      for r in play_pairs(game, player, anchor, pairs, seed)]
    return games


def ratings_path(trials: int, pairs: int, truth_games: int) -> PathResult:
    from ratchet.core.stats import score_to_elo
    from ratchet.plugins.targets.selfplay.ratings import fit

    result = PathResult("ratings", 0.10)
    started = time.monotonic()
    anchor = f"mcts-{ANCHOR_SIMULATIONS}"
    with ProcessPoolExecutor(2) as pool:
        truths = dict(zip(RATED, pool.map(_truth, RATED, [truth_games] * len(RATED)),
                          strict=True))
        print(f"  ratings: truths {truths} in {(time.monotonic() - started) / 60:.1f} min",
              file=sys.stderr, flush=True)
        missed, cases, widths = 0, 0, []
        for games in pool.map(_rating_trial, range(1, trials + 1), [pairs] * trials):
            ratings = fit(games, anchor="random")
            relative = fit(games, anchor=anchor)  # the same fit, read against the anchor
            for simulations in RATED:
                name = f"plain-{simulations}"
                truth = score_to_elo(min(max(truths[simulations], 1e-3), 1 - 1e-3))
                r = relative[name]
                cases += 1
                missed += not r.low <= truth <= r.high
                widths.append(r.high - r.low)
            del ratings
    result.tests, result.promoted = cases, missed
    result.units = [4 * pairs] * cases
    result.spread = (f"truth against {anchor} (Elo, {truth_games} games each): "
                     + ", ".join(f"{s} sims {score_to_elo(min(max(t, 1e-3), 1 - 1e-3)):+.0f}"
                                 for s, t in truths.items())
                     + f"; mean interval width {sum(widths) / len(widths):.0f} Elo")
    result.seconds = time.monotonic() - started
    return result


# -- the report ---------------------------------------------------------------------------
def report(results: list[PathResult]) -> bool:
    """Prints the tables; True when every path's lower bound is within its alpha, and
    the ratings' intervals miss their truth at most 10% of the time (lower bound)."""
    ok = True
    rates = [r for r in results if r.name not in ("ratings", "racing-survival")]
    if rates:
        print("| path | tests | false promotions | rate [95% interval] | stated alpha | "
              "mean games or runs a decision | power at the stated difference | "
              "the null's spread | minutes |")
        print("|---|---|---|---|---|---|---|---|---|")
    for r in rates:
        low, high = r.interval
        ok &= low <= r.alpha
        power = (f"{r.power[0]}/{r.power[1]} = {r.power[0] / r.power[1]:.0%}" if r.power
                 else "-")
        mean = sum(r.units) / len(r.units) if r.units else 0
        print(f"| {r.name} | {r.tests} | {r.promoted} | {r.promoted / max(r.tests, 1):.1%} "
              f"[{low:.1%}, {high:.1%}] | {r.alpha:g} | {mean:.0f} | {power} | {r.spread} | "
              f"{r.seconds / 60:.1f} |")
    for r in results:
        if r.name == "racing-survival":
            print(f"\nRacing, a challenger better by half a run's sd among three equal ones: "
                  f"{r.spread}; {r.seconds / 60:.1f} min")
        if r.name == "ratings":
            low, high = r.interval
            ok &= low <= r.alpha
            print(f"\nRatings: {r.tests - r.promoted} of {r.tests} 95% intervals hold the "
                  f"truth = {1 - r.promoted / max(r.tests, 1):.1%} coverage (misses "
                  f"{r.promoted / max(r.tests, 1):.1%} [{low:.1%}, {high:.1%}], at most 10% "
                  f"asked); {r.spread}; {r.seconds / 60:.1f} min")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tests", type=int, default=200, help="A/A tests a path (default 200)")
    ap.add_argument("--power", type=int, default=100,
                    help="tests of a truly better challenger a path (default 100; 0: none)")
    ap.add_argument("--paths", default=None, help="comma-separated (default: every path)")
    ap.add_argument("--simulations", type=int, default=16,
                    help="self-play paths: search simulations a move (default 16)")
    ap.add_argument("--rating-trials", type=int, default=40,
                    help="ratings: trials, each rating every player afresh (default 40)")
    ap.add_argument("--rating-pairs", type=int, default=10,
                    help="ratings: pairs against each anchor, as rating_pairs (default 10)")
    ap.add_argument("--truth-games", type=int, default=1000,
                    help="ratings: games measuring each player's true score (default 1000)")
    add_arguments(ap)
    args = ap.parse_args(argv)
    paths = {**loop_paths(args.tests, args.power),
             **selfplay_paths(args.tests, args.power, args.simulations),
             "ratings": lambda: ratings_path(args.rating_trials, args.rating_pairs,
                                             args.truth_games),
             "racing-survival": lambda: racing_survival(args.tests)}
    chosen = args.paths.split(",") if args.paths else list(paths)
    unknown = [p for p in chosen if p not in paths]
    if unknown:
        ap.error(f"unknown path {', '.join(unknown)}: expected {', '.join(paths)}")
    with recorded("calibration", "Calibration: false promotions on A/A tests, every path",
                  args):
        print(f"{args.tests} A/A tests a path (challenger equal to the champion), each on "
              f"fresh seeds; power: {args.power} tests a path of a challenger better by "
              "the judge's stated difference (sprt: elo1 = 40 Elo; welch, at "
              "min_improvement 0: a true gain of 10%; probation: a champion with 1/8 of "
              "its predecessor's simulations).\n")
        results = []
        for name in chosen:
            print(f"running {name}", file=sys.stderr, flush=True)
            results.append(paths[name]())
        ok = report(results)
        print("\nverdict: " + ("every path within its stated alpha" if ok else
                               "a path's false-promotion rate is above its stated alpha"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
