"""Self-play figures (issue 29), measured in one run on this machine.

1. ``learn``: ``ratchet run recipes/selfplay-connect4.yaml`` from random weights (a real
   run of the CLI, its own run directory) until both skill bars of the regression gate
   are cleared or ``--minutes`` pass. Printed: the wall time until a champion passed the
   gate against uniform random (lower 95% bound >= 0.90) and against OpenSpiel's MCTS
   with random rollouts at 100 simulations (score > 0.55 by the gate's SPRT); every
   champion's Bradley-Terry rating against the anchors (its pool: promotion tests and
   probation games) by the time it was promoted; and, after the run, the last champion
   measured afresh against the ladder (``ladder``, below).
   ``ladder``: the last champion (of the learning run, or of ``--run-dir``) against
   uniform random and each MCTS rung of the recipe's ladder, ``--fresh-pairs`` pairs a
   rung on games the run never played, each network move of the first ``sampled_plies``
   plies drawn from its own stream: the distinct games are counted beside the scores.
2. ``throughput``: self-play games per second with 1 and 2 worker processes (started as
   the executor starts a target's workers, games counted as received), and the share of
   the workers' playing time spent waiting for the network's forward passes.
3. ``false``: the promotion test on two copies of one network (the learned champion when
   part 1 ran, else random weights), each playing its first ``sampled_plies`` plies in
   proportion to its visits from its own stream: the recipe's SPRT on pairs (sides
   swapped from one opening, pentanomial); every promotion is false. Printed beside the
   rate: the distinct games per test and the spread of pair results, which show that
   the null is not a handful of replayed games.

    python -m bench.selfplay [--parts learn,ladder,throughput,false] [--minutes 60]
                             [--tests 60] [--run-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench._results import ROOT, add_arguments, add_parts, chosen_parts, recorded
from ratchet.core.stats import clopper_pearson, wilson_interval

RECIPE = ROOT / "recipes" / "selfplay-connect4.yaml"
PARTS = ["learn", "ladder", "throughput", "false"]
BARS = ("vs_random", "vs_anchor")


# -- 1. learning from random weights ---------------------------------------------------
def learn(recipe: dict[str, Any], run_dir: Path, minutes: float,
          whole: bool = False) -> dict[str, Any]:
    from ratchet.core.store import Store
    from ratchet.plugins.targets.selfplay.gamestore import GATE, RATING_PURPOSES, GameStore
    from ratchet.plugins.targets.selfplay.gating import bars_cleared

    recipe_file = run_dir.parent / f"{run_dir.name}.yaml"
    recipe_file.write_text(json.dumps(recipe))
    log = (run_dir.parent / f"{run_dir.name}.log").open("w")
    print(f"learn: ratchet run {recipe.get('name', 'the recipe')} in {run_dir} "
          f"(at most {minutes:g} min; log {log.name})", flush=True)
    started = time.time()
    process = subprocess.Popen([sys.executable, "-m", "ratchet", "run", str(recipe_file),
                                "--run-dir", str(run_dir)], stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = started + 60 * minutes
    cleared: list[str] = []
    last_print = started
    while time.time() < deadline and process.poll() is None:
        time.sleep(10)
        try:
            with GameStore(run_dir / "ratchet.db") as games:
                cleared = sorted(bars_cleared(games))
                played = games.count(recipe["target"]["game"])
        except Exception:  # noqa: BLE001 - the run is still creating its store
            continue
        if time.time() - last_print > 300:
            last_print = time.time()
            print(f"  {(time.time() - started) / 60:5.1f} min: {played} self-play games, "
                  f"bars cleared: {', '.join(cleared) or 'none'}", flush=True)
        if set(BARS) <= set(cleared) and not whole:
            break
    ran_s = time.time() - started
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()

    with Store(run_dir) as store:
        created = store.run_info()["created_at"]
        promotions = store.promotions()
        decisions = store.decisions()
    game = recipe["target"]["game"]
    with GameStore(run_dir / "ratchet.db") as games:
        gates = {p["candidate_id"]: json.loads(games.meta(f"{GATE}{p['candidate_id']}", "[]")
                                               or "[]") for p in promotions}
        played = games.count(game)
        rated = games.rated(game, RATING_PURPOSES)
        champion = promotions[-1]["candidate_id"]
        sha = games.network(champion)[0]
    return {"created": created, "promotions": promotions, "gates": gates, "ran_s": ran_s,
            "played": played, "rated": rated, "decisions": len(decisions),
            "champion": champion, "sha256": sha, "stem": run_dir / "work" / "nets" / champion,
            "run_dir": run_dir}


def report_learning(found: dict[str, Any], recipe: dict[str, Any], fresh_pairs: int
                    ) -> dict[str, Any]:
    from ratchet.plugins.targets.selfplay.ratings import fit

    created = found["created"]
    ratings = fit(found["rated"], anchor="random") if found["rated"] else {}
    first: dict[str, float] = {}
    print(f"\n{found['decisions']} challengers decided, {len(found['promotions']) - 1} "
          f"promotions, {found['played']} self-play games in {found['ran_s'] / 60:.1f} min "
          f"({found['played'] / found['ran_s']:.1f} games/s)\n")
    print("| champion | promoted at (min) | rating vs random [95%] | gate vs random "
          "(lower bound) | gate vs MCTS-100 (score) |")
    print("|---|---|---|---|---|")
    for p in found["promotions"]:
        minutes = (p["created_at"] - created) / 60
        checks = {r["check"]: r for r in found["gates"][p["candidate_id"]]}
        for bar in BARS:
            if checks.get(bar, {}).get("passed") and bar not in first:
                first[bar] = minutes

        r = ratings.get(p["candidate_id"])
        rating = f"{r.elo:+.0f} [{r.low:+.0f}, {r.high:+.0f}]" if r else "not rated"
        print(f"| v{p['version']} | {minutes:.1f} | {rating} | {_shown(checks, 'vs_random')} | "
              f"{_shown(checks, 'vs_anchor')} |")
    print()
    for bar, label in (("vs_random", "the gate against uniform random (lower bound >= 0.90)"),
                       ("vs_anchor", "the gate against MCTS-100 (score > 0.55)")):
        when = f"{first[bar]:.1f} min" if bar in first else \
            f"not within {found['ran_s'] / 60:.0f} min"
        print(f"- a champion passed {label}: {when}")
    mcts = next((name for name in ratings if name.startswith("mcts-")), None)
    if mcts:
        r = ratings[mcts]
        print(f"- {mcts} rated {r.elo:+.0f} [{r.low:+.0f}, {r.high:+.0f}] in the same pool")
    ladder_report(found["run_dir"], created, recipe["target"]["game"])
    fresh = fresh_check(found, recipe, fresh_pairs)
    return {"first": first, "fresh": fresh}


def ladder_report(run_dir: Path, created: float, game: str) -> None:
    """Each shadow tournament (the recipe's tournament_interval_s): the champion's score
    against every rung, on fresh games; and when it first reached 0.55 against each MCTS
    rung (its point estimate, and its Wilson lower bound)."""
    from ratchet.plugins.targets.selfplay.gamestore import GameStore
    from ratchet.plugins.targets.selfplay.tournament import PURPOSE

    with GameStore(run_dir / "ratchet.db") as games:
        rows = games.conn.execute(
            "SELECT first, second, score, created_at FROM selfplay_rated WHERE config = ? "
            "AND purpose = ? ORDER BY id", (game, PURPOSE)).fetchall()
        versions = {c: v for c, v in games.conn.execute(
            "SELECT candidate_id, version FROM selfplay_networks WHERE version IS NOT NULL")}
    tournaments: dict[float, list[tuple[str, str, float]]] = {}
    for first, second, score, at in rows:  # one tournament: one transaction, one time
        tournaments.setdefault(at, []).append((first, second, score))
    if not tournaments:
        print("- shadow tournaments: none (the recipe's tournament_interval_s is 0, or the "
              "run ended first)")
        return
    print("\n| tournament at (min) | champion | random | mcts-100 | mcts-1000 |")
    print("|---|---|---|---|---|")
    reached: dict[str, float] = {}
    for at, games_ in tournaments.items():
        names = [n for a, b, _ in games_ for n in (a, b)]
        champion = max(set(names), key=names.count)
        cells = []
        for rung in ("random", "mcts-100", "mcts-1000"):
            scores = [s if a == champion else 1 - s for a, b, s in games_ if rung in (a, b)]
            if not scores:
                cells.append("-")
                continue
            mean = sum(scores) / len(scores)
            low, high = (max(b, 0.0) + 0.0 for b in wilson_interval(mean, len(scores)))
            cells.append(f"{mean:.2f} [{low:.2f}, {high:.2f}] n={len(scores)}")
            if mean >= 0.55 and rung not in reached:
                reached[rung] = (at - created) / 60
        print(f"| {(at - created) / 60:.1f} | v{versions.get(champion, '?')} | "
              + " | ".join(cells) + " |")
    for rung in ("mcts-100", "mcts-1000"):
        when = f"{reached[rung]:.1f} min" if rung in reached else "not within the run"
        print(f"- a champion scored at least 0.55 against {rung} in a shadow tournament: "
              f"{when}")


def _shown(checks: dict[str, Any], bar: str) -> str:
    r = checks.get(bar)
    if r is None:
        return "-"
    verdict = "passed" if r["passed"] else "not yet"
    return f"{verdict} ({r['value']:.2f})" if r.get("value") is not None else verdict


def fresh_check(found: dict[str, Any], recipe: dict[str, Any], pairs: int
                ) -> dict[str, tuple[float, int]]:
    """The last champion against uniform random and the recipe's MCTS rungs, on games the
    run never played."""
    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.match import (
        MCTSAnchor,
        NetworkPlayer,
        RandomPlayer,
        play_pairs,
        scores_of,
    )
    from ratchet.plugins.targets.selfplay.network import load_network
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec

    target = recipe["target"]
    spec = SelfPlaySpec(**target)
    game = load_game(spec.game)
    info = game_info(spec.game, game)
    net = load_network(found["stem"], info, sha256=found["sha256"])
    search = spec.ladder_search()  # as the run's shadow tournaments search
    print(f"- the champion searches {search.simulations} simulations a move in these games")
    player = NetworkPlayer("champion", net, info.actions, search, seed=777,
                           sampled_plies=spec.sampled_plies)
    rungs = spec.ladder if "ladder" in target else [spec.gate_anchor_simulations]
    out = {}
    for anchor in (RandomPlayer(778), *(MCTSAnchor(game, n, 779 + n) for n in rungs)):
        results = play_pairs(game, player, anchor, pairs, 424242)
        scores = scores_of(results, "champion")
        score = sum(scores) / len(scores)
        low, high = wilson_interval(score, len(scores))
        out[anchor.name] = (score, len(scores))
        distinct = len({r.moves for r in results})
        print(f"- the last champion afresh against {anchor.name}: {score:.3f} over "
              f"{len(scores)} games [{low:.3f}, {high:.3f}] ({distinct} distinct games; "
              f"wins {sum(s == 1 for s in scores)}, draws {sum(s == 0.5 for s in scores)}, "
              f"losses {sum(s == 0 for s in scores)})", flush=True)
    return out


# -- 2. self-play throughput -----------------------------------------------------------
def throughput(stem: Path, sha256: str, recipe: dict[str, Any], seconds: float) -> None:
    from ratchet.plugins.executors import InlineExecutor
    from ratchet.plugins.scaleout.workers import WorkerPlan
    from ratchet.plugins.targets.selfplay.network import paths
    from ratchet.plugins.targets.selfplay.worker import ChampionMessage, selfplay_worker

    target = recipe["target"]
    weights, architecture = paths(stem)
    champion = ChampionMessage(0, sha256, weights.read_bytes(), architecture.read_text())
    print(f"\nSelf-play with the champion: {target['game']}, {target['simulations']} "
          f"simulations a move, {target['games_per_batch']} games side by side, "
          f"{seconds:g} s a measurement after the first batch\n")
    print("| workers | games/s | speed-up | waiting for the network |")
    print("|---|---|---|---|")
    base = None
    for workers in (1, 2):
        group = InlineExecutor().start_workers(WorkerPlan(
            workers, selfplay_worker, (target["game"], target["games_per_batch"],
                                       target["simulations"], 1)))
        group.publish(champion)
        first = 0
        while first < workers:  # every worker has handed over its first batch
            first += sum("games" in batch for batch in group.receive(1.0))
        games, playing, network = 0, 0.0, 0.0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            for batch in group.receive(0.5):
                if "games" not in batch:  # a batch announced
                    continue
                games += len(batch["games"])
                playing += batch["playing_s"]
                network += batch["network_s"]
        wall = time.monotonic() - started
        group.stop()
        rate = games / wall
        base = base or rate
        share = network / max(playing, 1e-9)
        print(f"| {workers} | {rate:.1f} | {rate / base:.2f} | {share:.0%} |")


# -- 3. false promotions: two copies of one network --------------------------------------
def one_test(stem: str, sha256: str, recipe: dict[str, Any], seed: int
             ) -> tuple[str, int, int, list[int]]:
    """One promotion test: (decision, games, distinct games, pair results' histogram
    over 0, 1/4, ..., 1)."""
    import random

    import torch

    from ratchet.core.types import Evidence, Measurement
    from ratchet.plugins.judges import SPRTJudge
    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.match import NetworkPlayer, play_pairs, scores_of
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig
    from ratchet.plugins.targets.selfplay.network import load_network

    torch.set_num_threads(1)
    target, spec = recipe["target"], dict(recipe["judge"])
    game = load_game(target["game"])
    info = game_info(target["game"], game)
    search = SearchConfig(simulations=target.get("match_simulations", 32))
    copies = [NetworkPlayer(name, load_network(stem, info, sha256=sha256), info.actions,
                            search, seed=seed * 2 + i,
                            sampled_plies=target.get("sampled_plies", 8))
              for i, name in enumerate(("challenger", "champion"))]
    spec.pop("kind")
    judge = SPRTJudge(**spec)
    evidence = Evidence("games", head_to_head=True, games_in_pairs=True)
    rng = random.Random(seed)
    batch = spec.get("batch", 20)
    games: set[tuple[int, ...]] = set()
    decision = "undecided"
    for chunk in range(10_000):
        results = play_pairs(game, *copies, math.ceil(batch / 2), seed * 100_000 + chunk,
                             opening_moves=target.get("opening_moves", 2))
        games.update(r.moves for r in results)
        evidence.add(Measurement("games", tuple(scores_of(results, "challenger")),
                                 ordered=True), None, rng)
        verdict = judge.decide(evidence)
        if verdict.decision.is_final():
            decision = verdict.decision.value
            break
    spread = [0] * 5
    for a, b in evidence.pairs:
        spread[round((a + b) * 2)] += 1
    return decision, evidence.n, len(games), spread


def false_promotions(stem: Path, sha256: str, recipe: dict[str, Any], tests: int) -> None:
    judge = recipe["judge"]
    print(f"\nThe promotion test on two copies of one network: {tests} tests, SPRT "
          f"elo0 {judge['elo0']} elo1 {judge['elo1']} alpha {judge.get('alpha', 0.05)} "
          f"beta {judge.get('beta', 0.05)}, {judge.get('min_games')}-"
          f"{judge.get('max_games')} games\n")
    started = time.monotonic()
    outcomes = []
    with ProcessPoolExecutor(2) as pool:
        for outcome in pool.map(one_test, [str(stem)] * tests, [sha256] * tests,
                                [recipe] * tests, range(1, tests + 1)):
            outcomes.append(outcome)
            if len(outcomes) % 10 == 0:
                print(f"  {len(outcomes)} tests in {(time.monotonic() - started) / 60:.1f} min",
                      file=sys.stderr, flush=True)
    promoted = sum(o[0] == "promote" for o in outcomes)
    games = [o[1] for o in outcomes]
    distinct = sum(o[2] == o[1] for o in outcomes)
    spread = [sum(o[3][k] for o in outcomes) for k in range(5)]
    kinds = {d: sum(o[0] == d for o in outcomes) for d in sorted({o[0] for o in outcomes})}
    print(f"- decisions: {', '.join(f'{k} {v}' for k, v in kinds.items())}")
    print(f"- false promotions: {promoted}/{tests} = {promoted / tests:.1%} (95% interval "
          f"{clopper_pearson(promoted, tests)[0]:.1%}-{clopper_pearson(promoted, tests)[1]:.1%})")
    print(f"- games a test: mean {sum(games) / len(games):.0f}, max {max(games)}; tests whose "
          f"games were all distinct: {distinct}/{tests}")
    print(f"- pair results (the challenger's mean over a pair: 0, 1/4, 1/2, 3/4, 1): "
          f"{', '.join(map(str, spread))}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_parts(ap, PARTS)
    ap.add_argument("--minutes", type=float, default=60.0,
                    help="the learning run's limit (default 60)")
    ap.add_argument("--run-dir", type=Path, default=None,
                    help="the learning run's directory (default: a new temporary one); "
                    "without the learn part, the other parts use its last champion")
    ap.add_argument("--fresh-pairs", type=int, default=50,
                    help="pairs of fresh games per anchor for the last champion")
    ap.add_argument("--seconds", type=float, default=45.0,
                    help="throughput: seconds a measurement")
    ap.add_argument("--tests", type=int, default=60, help="false promotions: tests")
    ap.add_argument("--whole", action="store_true", help="learn: run all --minutes (do not "
                    "stop once both gate bars are cleared), for the shadow tournaments")
    ap.add_argument("--recipe", type=Path, default=RECIPE, help="a self-play recipe "
                    "(default: recipes/selfplay-connect4.yaml)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=YAML",
                    help="change one of the recipe's values, by its dotted path: "
                    "--set 'target.network={kind: conv, channels: 32, blocks: 2}'")
    add_arguments(ap)
    args = ap.parse_args(argv)
    parts = chosen_parts(ap, args, PARTS)
    if parts == {"ladder"} and args.run_dir is None:
        ap.error("--parts ladder measures a run's last champion: name it with --run-dir "
                 "(or add the learn part)")
    import yaml

    recipe = yaml.safe_load(args.recipe.read_text())
    for change in args.set:
        key, sep, value = change.partition("=")
        if not sep:
            ap.error(f"--set {change!r}: expected KEY=YAML, e.g. target.hidden=64")
        *parents, last = key.split(".")
        section = recipe
        for name in parents:
            section = section.setdefault(name, {})
        section[last] = yaml.safe_load(value)
    title = f"Self-play: {recipe['target']['game']} from random weights"
    with recorded("selfplay", title, args):
        stem, sha = None, None
        if "learn" in parts:
            run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="ratchet-selfplay-")) / "run"
            found = learn(recipe, run_dir, args.minutes, whole=args.whole)
            report_learning(found, recipe, args.fresh_pairs)
            stem, sha = found["stem"], found["sha256"]
        if stem is None and args.run_dir is not None:
            stem, sha = last_champion(args.run_dir)
            print(f"\n(the last champion of {args.run_dir}: {stem.name})")
            if "ladder" in parts:
                fresh_check({"stem": stem, "sha256": sha}, recipe, args.fresh_pairs)
        if stem is None:
            stem, sha = random_network(recipe)
            print(f"\n(no learning run: a network with random weights, {stem})")
        if "throughput" in parts:
            throughput(stem, sha, recipe, args.seconds)
        if "false" in parts:
            false_promotions(stem, sha, recipe, args.tests)


def last_champion(run_dir: Path) -> tuple[Path, str]:
    from ratchet.core.store import Store
    from ratchet.plugins.targets.selfplay.gamestore import GameStore

    with Store(run_dir) as store:
        champion = store.champion().candidate.id
    with GameStore(run_dir / "ratchet.db") as games:
        return run_dir / "work" / "nets" / champion, games.network(champion)[0]


def random_network(recipe: dict[str, Any]) -> tuple[Path, str]:
    from ratchet.plugins.targets.selfplay.game import game_info
    from ratchet.plugins.targets.selfplay.network import new_network, save_network

    target = recipe["target"]
    stem = Path(tempfile.mkdtemp(prefix="ratchet-selfplay-net-")) / "random"
    network = target.get("network", {})
    net = new_network(game_info(target["game"]), kind=network.get("kind", "mlp"),
                      hidden=target.get("hidden", 128), channels=network.get("channels", 32),
                      blocks=network.get("blocks") or target.get("blocks", 2), seed=0)
    return stem, save_network(net, stem)


if __name__ == "__main__":
    main()
