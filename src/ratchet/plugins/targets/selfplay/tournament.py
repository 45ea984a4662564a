"""Shadow tournaments (the seed's Elo feedback): every ``tournament_interval_s`` the
champion plays fresh games, never used to select anything, against a fixed ladder:
uniform random, OpenSpiel's MCTS at each of ``ladder`` simulation counts, and the last
``ladder_champions`` earlier champions. The games are stored with purpose ``ladder``;
``report`` fits Bradley-Terry ratings on them alone (random = 0), so the strength of
each champion version against the same ladder is a curve over time.

A tournament runs in a process of its own (registered: a stop ends it) started by a
thread of the loop's process, which waits ``tournament_interval_s`` after each one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PURPOSE = "ladder"
LAST = "ladder:last"  # selfplay_meta: the latest tournament's summary (JSON)


@dataclass(frozen=True)
class LadderConfig:
    pairs: int = 10                     # pairs of games against each rung
    mcts: tuple[int, ...] = (100, 1000)  # the MCTS rungs' simulations
    simulations: int = 32               # the networks' search
    c_puct: float = 1.5
    sampled_plies: int = 8
    opening_moves: int = 2
    device: str = "cpu"
    timeout_s: float = 3600.0
    earlier: dict[str, str] = field(default_factory=dict)  # earlier champion id -> sha256


def play_ladder(stem: str, sha256: str, champion: str, game_spec: str, config: LadderConfig,
                seed: int) -> list[dict[str, Any]]:
    """The champion's pairs against every rung; each game as a dict (GameResult)."""
    from ratchet.plugins.targets.selfplay.device import resolve_device
    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.match import (
        MCTSAnchor,
        NetworkPlayer,
        RandomPlayer,
        play_pairs,
    )
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig
    from ratchet.plugins.targets.selfplay.network import load_network

    game, info = load_game(game_spec), game_info(game_spec)
    device = resolve_device(config.device)
    search = SearchConfig(simulations=config.simulations, c_puct=config.c_puct)

    def network(name: str, path: str, digest: str, offset: int) -> NetworkPlayer:
        net = load_network(path, info, sha256=digest, device=device)
        return NetworkPlayer(name, net, info.actions, search, seed + offset,
                             sampled_plies=config.sampled_plies)

    me = network(champion, stem, sha256, 0)
    rungs: list[Any] = [RandomPlayer(seed + 1)]
    rungs += [MCTSAnchor(game, n, seed + 2 + i) for i, n in enumerate(config.mcts)]
    folder = Path(stem).parent
    rungs += [network(other, str(folder / other), digest, 100 + i)
              for i, (other, digest) in enumerate(config.earlier.items())]
    results = []
    for i, rung in enumerate(rungs):
        results += play_pairs(game, me, rung, config.pairs, seed * 1000 + i,
                              opening_moves=config.opening_moves)
    return [asdict(r) for r in results]


def run_tournament(stem: Path, sha256: str, champion: str, game_spec: str,
                   config: LadderConfig, seed: int, registry: Path | None) -> list[Any]:
    """One tournament in a child process; its games (match.GameResult)."""
    from ratchet.plugins.targets import _process
    from ratchet.plugins.targets.selfplay.match import GameResult

    command = [sys.executable, "-m", "ratchet.plugins.targets.selfplay.tournament",
               "--stem", str(stem), "--sha256", sha256, "--champion", champion,
               "--game", game_spec, "--config", json.dumps(asdict(config)),
               "--seed", str(seed), "--parent", str(os.getpid())]
    done = _process.run(command, env=dict(os.environ), cwd=None, timeout_s=config.timeout_s,
                        what="the shadow tournament", registry=registry)
    return [GameResult(**{**g, "moves": tuple(g["moves"])}) for g in json.loads(done.stdout)]


def summary(results: list[Any], champion: str, version: int | None,
            names: dict[str, str] | None = None) -> dict[str, Any]:
    """Each rung's score for the champion, with its Wilson 95% interval; an earlier
    champion's rung by its version (``names``: candidate id -> "vN")."""
    names = names or {}
    from ratchet.core.stats import wilson_interval

    scores: dict[str, list[float]] = {}
    for r in results:
        mine = r.first == champion
        rung = r.second if mine else r.first
        scores.setdefault(names.get(rung, rung), []).append(
            r.score if mine else 1 - r.score)

    def scored(values: list[float]) -> dict[str, float]:
        mean = sum(values) / len(values)
        low, high = wilson_interval(mean, len(values))
        return {"score": mean, "low": low, "high": high, "games": len(values)}

    return {"at": time.time(), "champion": champion, "version": version,
            "rungs": {rung: scored(values) for rung, values in scores.items()}}


class Tournaments:
    """The thread that runs a tournament, waits ``interval_s``, and so on until closed."""

    def __init__(self, target: Any, interval_s: float, config: LadderConfig,
                 ladder_champions: int):
        self.target = target
        self.interval_s = interval_s
        self.config = config
        self.ladder_champions = ladder_champions
        self.done = 0
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="selfplay-tournaments",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()

    def _loop(self) -> None:
        while not self._closed.wait(self.interval_s):
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - one tournament lost, not the loop
                if not self._closed.is_set():
                    log.warning("shadow tournament failed: %s", exc)

    def run_once(self) -> dict[str, Any] | None:
        """One tournament of the current champion; its summary (None: no champion yet)."""
        from ratchet.plugins.targets.selfplay.gamestore import GameStore

        target = self.target
        with GameStore(target.db) as games:
            champions = games.champions()
            if not champions:
                return None
            champion = champions[-1]
            recorded = games.network(champion)
            recorded_earlier = {c: games.network(c) for c in
                                champions[-1 - self.ladder_champions:-1]}
        earlier = {c: r[0] for c, r in recorded_earlier.items()
                   if r is not None and (target.nets / f"{c}.safetensors").exists()}
        names = {c: f"v{r[1]}" for c, r in recorded_earlier.items() if r is not None}
        if recorded is None:
            return None
        config = LadderConfig(**{**asdict(self.config), "earlier": earlier})
        seed = int(time.time() * 1000) % 2**31  # fresh games every time
        results = run_tournament(target.nets / champion, recorded[0], champion,
                                 target.spec.game, config, seed, target.registry)
        result = summary(results, champion, recorded[1], names)
        with GameStore(target.db) as games:
            games.add_rated(target.spec.game, PURPOSE, results)
            games.set_meta(LAST, json.dumps(result))
        self.done += 1
        log.info("shadow tournament of champion v%s: %s", recorded[1], ", ".join(
            f"{k} {v['score']:.2f}" for k, v in result["rungs"].items()))
        return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="one shadow tournament (one process)")
    for name in ("--stem", "--sha256", "--champion", "--game", "--config"):
        ap.add_argument(name, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--parent", type=int, default=None)
    args = ap.parse_args(argv)
    if args.parent is not None:
        from ratchet.core.children import die_with_parent

        die_with_parent(args.parent)
    import torch

    torch.set_num_threads(1)
    raw = json.loads(args.config)
    config = LadderConfig(**{**raw, "mcts": tuple(raw["mcts"])})
    print(json.dumps(play_ladder(args.stem, args.sha256, args.champion, args.game, config,
                                 args.seed)))


if __name__ == "__main__":
    main()
