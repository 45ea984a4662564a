"""Training the policy-value network on self-play games (AlphaZero's loss):

    loss = cross-entropy(search distribution, policy) + (result - value)^2

over positions rebuilt by replaying each stored game's moves, the value target being the
game's result for the player to move in that position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ratchet.plugins.targets.selfplay.device import mixed_precision, resolve_device
from ratchet.plugins.targets.selfplay.mcts import observation
from ratchet.plugins.targets.selfplay.network import PolicyValueNet
from ratchet.plugins.targets.selfplay.play import GameRecord


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200
    batch: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4


@dataclass
class Samples:
    observations: np.ndarray  # [N, obs]
    policies: np.ndarray      # [N, actions]
    values: np.ndarray        # [N]

    def __len__(self) -> int:
        return len(self.values)


def samples_from(game: Any, records: Sequence[GameRecord]) -> Samples:
    """Every position of every game, replayed through the engine."""
    actions = game.num_distinct_actions()
    observations, policies, values = [], [], []
    for record in records:
        state = game.new_initial_state()
        for move, policy in zip(record.moves, record.policies, strict=True):
            obs, _ = observation(state, actions)
            target = np.zeros(actions, dtype=np.float32)
            for action, share in policy.items():
                target[action] = share
            observations.append(obs)
            policies.append(target)
            values.append(record.returns[state.current_player()])
            state.apply_action(move)
    return Samples(np.stack(observations), np.stack(policies),
                   np.asarray(values, dtype=np.float32))


def train(net: PolicyValueNet, samples: Samples, config: TrainConfig,
          seed: int = 0) -> list[float]:
    """``config.steps`` minibatch steps on ``samples`` (in place); returns the losses."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    device = net.device
    obs = torch.as_tensor(samples.observations, device=device)
    policy_targets = torch.as_tensor(samples.policies, device=device)
    value_targets = torch.as_tensor(samples.values, device=device)
    losses = []
    net.train()
    for _ in range(config.steps):
        idx = torch.as_tensor(rng.integers(0, len(samples), size=min(config.batch,
                                                                     len(samples))),
                              device=device)
        with mixed_precision(str(device)):
            logits, values = net(obs[idx])
        logits, values = logits.float(), values.float()
        policy_loss = -(policy_targets[idx] * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
        value_loss = torch.mean((value_targets[idx] - values) ** 2)
        loss = policy_loss + value_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    net.eval()
    return losses


def train_network(*, game_spec: str, parent_stem: str, parent_sha256: str, out_stem: str,
                  db_path: str, window_games: int, up_to_game: int, steps: int, lr: float,
                  seed: int, device: str = "cpu") -> str:
    """One training run, as its own process runs it: the parent's network (hash
    checked) trained on the replay window (the last ``window_games`` games up to
    ``up_to_game``) and saved at ``out_stem``; returns the new weights' sha256."""
    from ratchet.plugins.targets.selfplay.game import game_info, load_game
    from ratchet.plugins.targets.selfplay.gamestore import GameStore
    from ratchet.plugins.targets.selfplay.network import load_network, save_network

    torch.set_num_threads(1)
    game = load_game(game_spec)
    net = load_network(parent_stem, game_info(game_spec, game), sha256=parent_sha256,
                       device=resolve_device(device))
    with GameStore(db_path) as store:
        window = store.window(game_spec, last_games=window_games, up_to=up_to_game)
    if not window:
        raise ValueError("no self-play games to train on")
    train(net, samples_from(game, window), TrainConfig(steps=steps, lr=lr), seed=seed)
    return save_network(net, out_stem)
