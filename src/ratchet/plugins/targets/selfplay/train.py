"""Training the policy-value network on self-play games (AlphaZero's loss):

    loss = cross-entropy(search distribution, policy) + (result - value)^2

over positions rebuilt by replaying each stored game's moves, the value target being the
game's result for the player to move in that position, or with ``q_weight`` w the mix
(1 - w) * result + w * q, q the search's own value of the position (the root's mean
value, stored with each move): a target with less noise in a game whose result hangs on
one late mistake. A move searched fast (playout-cap randomization) is no training
target. With a half-life, minibatches favour the newest games: a position ``a`` games
older than the newest is drawn with weight 0.5^(a/half-life).
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
    half_life_games: float | None = None  # recency weighting of the window (None: uniform)


@dataclass
class Samples:
    observations: np.ndarray  # [N, obs]
    policies: np.ndarray      # [N, actions]
    values: np.ndarray        # [N]
    ages: np.ndarray          # [N] games between the position's game and the newest

    def __len__(self) -> int:
        return len(self.values)


def samples_from(game: Any, records: Sequence[GameRecord], q_weight: float = 0.0
                 ) -> Samples:
    """Every position of every game that is a training target, replayed through the
    engine (``records`` oldest first); a game stored without root values trains on its
    result alone."""
    actions = game.num_distinct_actions()
    observations, policies, values, ages = [], [], [], []
    for age, record in zip(range(len(records) - 1, -1, -1), records, strict=True):
        state = game.new_initial_state()
        root_values = record.root_values or [None] * len(record.moves)
        for move, policy, q in zip(record.moves, record.policies, root_values, strict=True):
            if not policy:  # searched fast: played, not learned from
                state.apply_action(move)
                continue
            obs, _ = observation(state, actions)
            target = np.zeros(actions, dtype=np.float32)
            for action, share in policy.items():
                target[action] = share
            observations.append(obs)
            policies.append(target)
            result = record.returns[state.current_player()]
            values.append(result if q is None else (1 - q_weight) * result + q_weight * q)
            ages.append(age)
            state.apply_action(move)
    if not observations:
        raise ValueError("no training targets in the window (every move searched fast)")
    return Samples(np.stack(observations), np.stack(policies),
                   np.asarray(values, dtype=np.float32), np.asarray(ages, dtype=np.float64))


def draw_weights(ages: np.ndarray, half_life_games: float | None) -> np.ndarray | None:
    """Each position's chance to be drawn into a minibatch (None: all alike)."""
    if not half_life_games:
        return None
    weights = 0.5 ** (ages / half_life_games)
    return weights / weights.sum()


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
    weights = draw_weights(samples.ages, config.half_life_games)
    size = min(config.batch, len(samples))
    losses = []
    net.train()
    for _ in range(config.steps):
        drawn = (rng.integers(0, len(samples), size=size) if weights is None
                 else rng.choice(len(samples), size=size, p=weights))
        idx = torch.as_tensor(drawn, device=device)
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
                  seed: int, device: str = "cpu", half_life_games: float | None = None,
                  q_weight: float = 0.0) -> str:
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
    train(net, samples_from(game, window, q_weight),
          TrainConfig(steps=steps, lr=lr, half_life_games=half_life_games), seed=seed)
    return save_network(net, out_stem)
