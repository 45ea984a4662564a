"""Self-play throughput by device (issue 44): games a second (batched PUCT search, one
forward pass for every game's leaf) and training steps a second, for the MLP and the conv
network, on the CPU and, where torch sees one, on the GPU, in one run.

    python -m bench.selfplay_device [--game connect_four] [--games 64] [--seconds 20]

On a GPU machine it finishes in a few minutes. Each row times a fixed amount of work
after one warm-up round; the CPU rows use one thread, as a self-play worker does.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bench._results import add_arguments, recorded
from ratchet.plugins.targets.selfplay.game import game_info, load_game
from ratchet.plugins.targets.selfplay.mcts import SearchConfig
from ratchet.plugins.targets.selfplay.network import count_parameters, new_network
from ratchet.plugins.targets.selfplay.play import SelfPlayConfig, play_games
from ratchet.plugins.targets.selfplay.train import TrainConfig, samples_from, train

SHAPES = {"mlp": {"kind": "mlp", "hidden": 128, "blocks": 2},        # the recipes' default
          "conv32x2": {"kind": "conv", "channels": 32, "blocks": 2},  # CPU-sized
          "conv64x6": {"kind": "conv", "channels": 64, "blocks": 6}}  # GPU-sized


def devices() -> list[str]:
    return ["cpu"] + ([f"cuda:{i}" for i in range(torch.cuda.device_count())][:1]
                      if torch.cuda.is_available() else [])


def games_per_second(game, name, net, games: int, simulations: int, seconds: float
                     ) -> tuple[float, list]:
    config = SelfPlayConfig(SearchConfig(simulations=simulations, noise=True))
    rng = np.random.default_rng(0)
    played = play_games(game, name, net.evaluate, games, config, rng)  # warm-up
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        played += play_games(game, name, net.evaluate, games, config, rng)
        count += games
    return count / (time.perf_counter() - started), played


def steps_per_second(net, samples, steps: int) -> float:
    train(net, samples, TrainConfig(steps=2, batch=256))  # warm-up
    if str(net.device).startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    train(net, samples, TrainConfig(steps=steps, batch=256))
    if str(net.device).startswith("cuda"):
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="connect_four")
    parser.add_argument("--games", type=int, default=64, help="games played side by side")
    parser.add_argument("--simulations", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="of self-play a row")
    parser.add_argument("--steps", type=int, default=100, help="training steps a row")
    add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    game, info = load_game(args.game), game_info(args.game)
    with recorded("selfplay-device", "Self-play throughput by device", args):
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none answers"
        print(f"{args.game}: {args.games} games side by side, {args.simulations} simulations "
              f"a move; training batches of 256; CPU threads 1; GPU: {gpu}")
        print(f"{'network':>8} {'params':>8} {'device':>7} {'games/s':>9} {'train steps/s':>14}")
        for label, shape in SHAPES.items():
            for device in devices():
                net = new_network(info, **shape).to(device).eval()
                rate, played = games_per_second(game, args.game, net, args.games,
                                                args.simulations, args.seconds)
                steps = steps_per_second(net, samples_from(game, played), args.steps)
                print(f"{label:>8} {count_parameters(net):>8,} {device:>7} {rate:>9.2f} "
                      f"{steps:>14.1f}")


if __name__ == "__main__":
    main()
