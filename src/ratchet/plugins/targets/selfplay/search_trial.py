"""A trained network's search against itself with other settings: the benchmark of
``recipes/selfplay-search.yaml``, where ratchet tunes the search (``c_puct``,
``simulations``) of a network a self-play run trained.

Both sides are the same network; they differ only in their search settings, read from
two config files (YAML or JSON: ``c_puct``, and optionally ``simulations``). Games are
played in pairs from a shared random opening with the sides swapped, each side playing
its first ``--sampled-plies`` plies in proportion to its visits from its own stream, and
printed as the command target reads games (``wins``, ``draws``, ``losses`` and
``outcomes`` in game order, which pairs them)::

    python -m ratchet.plugins.targets.selfplay.search_trial --run-dir runs/selfplay-connect4 \\
        --config ours.yaml --versus theirs.yaml --games 20 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

SETTINGS = {"c_puct": float, "simulations": int}


def settings(path: str) -> dict[str, Any]:
    """A config file's search settings; anything else in it is a mistake."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        _fail(f"{path}: cannot be read ({exc})")
    unknown = set(data) - set(SETTINGS) if isinstance(data, dict) else {"(not a mapping)"}
    if unknown:
        _fail(f"{path}: {', '.join(sorted(unknown))}: expected only {', '.join(SETTINGS)}")
    try:
        return {k: SETTINGS[k](v) for k, v in data.items()}
    except (TypeError, ValueError) as exc:
        _fail(f"{path}: {exc}")


def champion_of(run_dir: Path) -> tuple[Path, str, str]:
    """The run's champion network: (its stem, its sha256, the game)."""
    from ratchet.core.store import Store
    from ratchet.plugins.targets.selfplay.gamestore import GameStore

    if not (run_dir / "ratchet.db").is_file():
        _fail(f"{run_dir}: no ratchet run here; expected the run directory of a self-play "
              "run (runs/<recipe name>)")
    with Store(run_dir) as store:
        info = store.run_info() or {}
        game = info.get("recipe", {}).get("target", {}).get("game")
        champion = store.champion().candidate.id
    with GameStore(run_dir / "ratchet.db") as games:
        recorded = games.network(champion)
    if game is None or recorded is None:
        _fail(f"{run_dir}: not a self-play run with a champion network")
    return run_dir / "work" / "nets" / champion, recorded[0], game


def play(stem: Path, sha256: str | None, game_spec: str, ours: dict[str, Any],
         theirs: dict[str, Any], games: int, seed: int, simulations: int,
         sampled_plies: int) -> list[float]:
    """Our side's score in each game, in game order (a pair: two games in a row)."""
    import numpy as np
    import torch

    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.match import NetworkPlayer, play_pairs, scores_of
    from ratchet.plugins.targets.selfplay.mcts import SearchConfig
    from ratchet.plugins.targets.selfplay.network import load_network

    torch.set_num_threads(1)
    game, info = load_game(game_spec), game_info(game_spec)
    net = load_network(stem, info, sha256=sha256)
    seeds = [int(s) for s in np.random.SeedSequence([seed, 0x5EA]).generate_state(3)]

    def player(name: str, config: dict[str, Any], offset: int) -> NetworkPlayer:
        search = SearchConfig(simulations=config.get("simulations", simulations),
                              c_puct=config.get("c_puct", SearchConfig.c_puct))
        return NetworkPlayer(name, net, info.actions, search, seed=seeds[offset],
                             sampled_plies=sampled_plies)

    results = play_pairs(game, player("ours", ours, 0), player("theirs", theirs, 1),
                         (games + 1) // 2, seeds[2])
    return scores_of(results, "ours")[:games]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ratchet.plugins.targets.selfplay.search_trial",
        description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="our search settings (YAML or JSON)")
    ap.add_argument("--versus", required=True, help="the other side's search settings")
    ap.add_argument("--run-dir", type=Path, help="a self-play run: its champion network "
                    "and game")
    ap.add_argument("--network", type=Path, help="or a network's stem (NAME for "
                    "NAME.safetensors and NAME.json), with --game")
    ap.add_argument("--game", help="the game, with --network (e.g. connect_four)")
    ap.add_argument("--games", type=int, default=20, help="games (in pairs; default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--simulations", type=int, default=32, help="search simulations a move "
                    "where a config does not say (default 32, as match_simulations)")
    ap.add_argument("--sampled-plies", type=int, default=8)
    args = ap.parse_args(argv)
    if (args.run_dir is None) == (args.network is None):
        ap.error("name the network: --run-dir RUN, or --network STEM --game GAME")
    if args.network is not None and not args.game:
        ap.error("--network needs --game")
    if args.games < 1 or args.simulations < 1:
        ap.error("--games and --simulations must be at least 1")
    ours, theirs = settings(args.config), settings(args.versus)
    if args.run_dir is not None:
        stem, sha256, game = champion_of(args.run_dir)
    else:
        stem, sha256, game = args.network, None, args.game
    from ratchet.core.errors import RatchetError

    try:
        scores = play(stem, sha256, game, ours, theirs, args.games, args.seed,
                      args.simulations, args.sampled_plies)
    except RatchetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    letters = {1.0: "W", 0.5: "D", 0.0: "L"}
    print(json.dumps({"wins": scores.count(1.0), "draws": scores.count(0.5),
                      "losses": scores.count(0.0),
                      "outcomes": "".join(letters[s] for s in scores)}))
    return 0


def _fail(message: str) -> NoReturn:
    """A user's mistake: one line, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":
    sys.exit(main())
