"""The regression gate, failing closed: checks a challenger network must pass before it
may be promoted, run in a process of its own with a time limit.

Checks, each recorded with its reason: the weights load (the recorded hash, strictly)
and are within the size bound; inference latency per move under the limit (the median of
a few moves after a warm-up one, in the process's CPU time on a CPU, so that a machine busy
with the workers does not fail it; wall time on a GPU);
no illegal move attempted over the games played; every game ends within the move limit;
against uniform random a score whose lower 95% bound is at least ``random_lower``;
against the MCTS anchor a sequential test (SPRT, stated error rates) that its score is
above ``anchor_score``. A crash, a timeout or a missing result is a failure with its
reason, for every check it left undone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CHECKS = ("loads", "size", "latency", "legal_moves", "game_length", "vs_random", "vs_anchor")
SKILL_CHECKS = ("vs_random", "vs_anchor")  # bars of strength; the others are soundness


@dataclass(frozen=True)
class GateConfig:
    max_bytes: int = 50_000_000
    max_ms_per_move: float = 200.0
    simulations: int = 32           # the network's search while gated
    c_puct: float = 1.5
    random_pairs: int = 20          # pairs of games against uniform random
    random_lower: float = 0.90      # the lower 95% bound its score must reach
    anchor_simulations: int = 100   # the MCTS anchor's
    anchor_score: float = 0.55      # the score the sequential test must show it beats
    anchor_max_pairs: int = 100
    sampled_plies: int = 8          # plies played in proportion to visits (match.py)
    max_moves: int | None = None    # a game longer is unfinished (default: the game's own)
    device: str = "cpu"             # where the gated network runs (device.resolve_device)
    alpha: float = 0.05
    beta: float = 0.05
    timeout_s: float = 600.0


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    reason: str
    value: float | None = None
    below: bool = False  # a skill bar: the evidence shows the score is under it


def run_checks(stem: str, game_spec: str, sha256: str | None, config: GateConfig,
               seed: int = 0) -> list[CheckResult]:
    """Every check in this process (the gate process calls this)."""
    import numpy as np

    from ratchet.core.errors import RatchetError
    from ratchet.core.stats import wilson_interval
    from ratchet.core.types import Evidence, Measurement
    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.match import (
        MCTSAnchor,
        NetworkPlayer,
        RandomPlayer,
        play_pairs,
        scores_of,
    )
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig
    from ratchet.plugins.targets.selfplay.network import load_network, paths

    results: list[CheckResult] = []
    game = load_game(game_spec)
    info = game_info(game_spec, game)
    try:
        from ratchet.plugins.targets.selfplay.device import resolve_device

        net = load_network(stem, info, sha256=sha256, device=resolve_device(config.device))
    except RatchetError as exc:
        return [CheckResult("loads", False, str(exc))]
    results.append(CheckResult("loads", True, "weights load strictly, hash as recorded"))
    size = paths(stem)[0].stat().st_size
    results.append(CheckResult("size", size <= config.max_bytes,
                               f"{size:,} bytes (limit {config.max_bytes:,})", size))

    search = SearchConfig(simulations=config.simulations, c_puct=config.c_puct)
    player = _Checked(NetworkPlayer("challenger", net, info.actions, search, seed,
                                    sampled_plies=config.sampled_plies))
    clock = time.perf_counter if str(net.device).startswith("cuda") else time.process_time
    ms = latency_ms(player, game.new_initial_state(), clock)
    results.append(CheckResult("latency", ms <= config.max_ms_per_move,
                               f"{ms:.1f} ms a move with {config.simulations} simulations, "
                               f"median (limit {config.max_ms_per_move:g})", ms))

    limit = min(config.max_moves or info.max_length, info.max_length)
    games = play_pairs(game, player, RandomPlayer(seed), config.random_pairs, seed,
                       max_moves=limit)
    score = float(np.mean(scores_of(games, "challenger")))
    lower, upper = wilson_interval(score, len(games))
    results.append(CheckResult("vs_random", lower >= config.random_lower,
                               f"score {score:.3f} over {len(games)} games, 95% bounds "
                               f"[{lower:.3f}, {upper:.3f}] (the lower must reach "
                               f"{config.random_lower:g})", lower,
                               below=upper < config.random_lower))

    anchor = MCTSAnchor(game, config.anchor_simulations, seed)
    judge = anchor_judge(config)
    evidence = Evidence("games", head_to_head=True, games_in_pairs=True)
    verdict, played = None, []
    rng = random.Random(seed)
    for chunk in range(config.anchor_max_pairs // 5):
        part = play_pairs(game, player, anchor, 5, seed + 1000 + chunk, max_moves=limit)
        played += part
        evidence.add(Measurement("games", tuple(scores_of(part, "challenger")),
                                 ordered=True), None, rng)
        verdict = judge.decide(evidence)
        if verdict.decision.is_final():
            break
    anchor_score = float(np.mean(scores_of(played, "challenger")))
    passed = verdict is not None and verdict.decision.value == "promote"
    results.append(CheckResult(
        "vs_anchor", passed, f"score {anchor_score:.3f} over {len(played)} games against "
        f"{anchor.name}: {verdict.reason if verdict else 'no games'}", anchor_score,
        below=verdict is not None and shown_under(verdict)))

    every = games + played
    longest = max(r.length for r in every)
    unfinished = sum(not r.finished for r in every)
    results.append(CheckResult("game_length", unfinished == 0,
                               f"{unfinished} of {len(every)} games reached the move limit "
                               f"({limit}) unfinished; longest {longest} moves", longest))
    results.append(CheckResult("legal_moves", player.illegal == 0,
                               f"{player.illegal} illegal moves attempted over "
                               f"{player.moves_made} moves", player.illegal))
    return results


def anchor_judge(config: GateConfig) -> Any:
    """The sequential test against the anchor: H0 a score of ``anchor_score - 0.05``,
    H1 ``anchor_score + 0.05``, at the config's error rates."""
    from ratchet.core.stats import score_to_elo
    from ratchet.plugins.judges import SPRTJudge

    return SPRTJudge(elo0=score_to_elo(config.anchor_score - 0.05),
                     elo1=score_to_elo(config.anchor_score + 0.05),
                     alpha=config.alpha, beta=config.beta, batch=10, min_games=20,
                     max_games=2 * config.anchor_max_pairs)


def shown_under(verdict: Any) -> bool:
    """The anchor's test accepted H0; running out of games undecided shows nothing."""
    return verdict.decision.value == "reject" and not verdict.stats.get("inconclusive")


def latency_ms(player: Any, state: Any, clock: Any = time.process_time,
               moves: int = 8) -> float:
    """The median milliseconds of ``clock`` a move over up to ``moves`` moves from
    ``state``, after one move not counted (the first pays for lazy set-up)."""
    import statistics

    times = []
    for ply in range(moves + 1):
        if state.is_terminal():
            break
        started = clock()
        state.apply_action(player.moves([state])[0])
        if ply:
            times.append(1000 * (clock() - started))
    return statistics.median(times) if times else 0.0


class _Checked:
    """A player whose every move is checked against the engine's legal moves; an illegal
    one is counted and replaced by the first legal move (the engine is the referee)."""

    def __init__(self, player: Any):
        self.player = player
        self.name = player.name
        self.illegal = 0
        self.moves_made = 0

    def moves(self, states: Any) -> list[int]:
        chosen = self.player.moves(states)
        out = []
        for state, move in zip(states, chosen, strict=True):
            self.moves_made += 1
            legal = state.legal_actions()
            if move not in legal:
                self.illegal += 1
                move = legal[0]
            out.append(move)
        return out


def run_gate(stem: str | Path, game_spec: str, sha256: str | None, config: GateConfig,
             seed: int = 0, registry: Path | None = None) -> list[CheckResult]:
    """The checks in a child process with ``config.timeout_s``. A crash, a timeout or
    output that is not the checks' results fails every check not reported. The child is
    kept in ``registry`` (``ratchet.core.children``), so a stop ends it and the next start
    kills one a ``kill -9`` left; it also exits by itself once its parent is gone."""
    from ratchet.core.errors import EvaluationError
    from ratchet.plugins.targets import _process

    command = [sys.executable, "-m", "ratchet.plugins.targets.selfplay.gate", "--stem", str(stem),
               "--game", game_spec, "--config", json.dumps(asdict(config)),
               "--seed", str(seed), "--parent", str(os.getpid())]
    if sha256:
        command += ["--sha256", sha256]
    try:
        done = _process.run(command, env=dict(os.environ), cwd=None,
                            timeout_s=config.timeout_s, what="the gate process",
                            registry=registry)
    except EvaluationError as exc:
        reason = str(exc)
        if "timed out" in reason:
            reason = f"the gate process did not finish within {config.timeout_s:g} s"
        return _failed(reason)
    try:
        reported = [CheckResult(**r) for r in json.loads(done.stdout)]
    except (json.JSONDecodeError, TypeError) as exc:
        return _failed(f"the gate process printed no results ({exc})")
    seen = {r.check for r in reported}
    loaded = any(r.check == "loads" and r.passed for r in reported)
    why = "no result from the gate process" if loaded else "not run: the network did not load"
    return reported + [CheckResult(c, False, why) for c in CHECKS if c not in seen]


def _failed(reason: str) -> list[CheckResult]:
    return [CheckResult(c, False, reason) for c in CHECKS]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="the self-play regression gate (one process)")
    ap.add_argument("--stem", required=True)
    ap.add_argument("--game", required=True)
    ap.add_argument("--config", required=True, help="GateConfig as JSON")
    ap.add_argument("--sha256")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--parent", type=int, default=None)
    args = ap.parse_args(argv)
    if args.parent is not None:  # the loop waits for this process in the thread that made it
        from ratchet.core.children import die_with_parent

        die_with_parent(args.parent)
    import torch

    torch.set_num_threads(1)  # it shares the cores with the workers: more threads only spin
    config = GateConfig(**json.loads(args.config))
    results = run_checks(args.stem, args.game, args.sha256, config, args.seed)
    print(json.dumps([asdict(r) for r in results]))


if __name__ == "__main__":
    main()
