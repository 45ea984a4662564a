"""The player's policy-value network: a small residual MLP sized for a CPU.

Saved as two files: the weights in safetensors (``NAME.safetensors``) and the
architecture in JSON (``NAME.json``). Loading builds the network from the JSON, checks it
fits the game, and loads the weights strictly (every tensor present, with its shape);
nothing is unpickled, so a weights file can never run code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ratchet.core.errors import RatchetError
from ratchet.plugins.targets.selfplay.game import GameInfo

FORMAT = "ratchet-policy-value-mlp/1"


class NetworkError(RatchetError):
    """A network file is missing, malformed, or does not fit the game."""


@dataclass(frozen=True)
class Architecture:
    observation_size: int
    actions: int
    hidden: int = 128
    blocks: int = 2

    @classmethod
    def for_game(cls, game: GameInfo, hidden: int = 128, blocks: int = 2) -> Architecture:
        return cls(game.observation_size, game.actions, hidden, blocks)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str) -> Architecture:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NetworkError(f"{source}: not JSON ({exc.msg}); expected the architecture "
                               "ratchet wrote beside the weights") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise NetworkError(f"{source}: not a {FORMAT} architecture")
        fields = {"observation_size", "actions", "hidden", "blocks"}
        if set(data) - {"format"} != fields or not all(
                isinstance(data[k], int) and data[k] >= (k != "blocks") for k in fields):
            raise NetworkError(f"{source}: expected positive integers {sorted(fields)} "
                               "(blocks may be 0)")
        return cls(**{k: data[k] for k in fields})

    def check_fits(self, game: GameInfo) -> None:
        if (self.observation_size, self.actions) != (game.observation_size, game.actions):
            raise NetworkError(
                f"the network takes {self.observation_size} inputs and scores "
                f"{self.actions} actions; {game.name} has {game.observation_size} "
                f"observation values and {game.actions} actions")


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(x + self.fc2(torch.relu(self.fc1(x)))))


class PolicyValueNet(nn.Module):
    """observation -> (policy logits over every action, value in [-1, 1] for the player
    to move)."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        self.stem = nn.Linear(arch.observation_size, arch.hidden)
        self.blocks = nn.Sequential(*(ResidualBlock(arch.hidden) for _ in range(arch.blocks)))
        self.policy = nn.Linear(arch.hidden, arch.actions)
        self.value = nn.Sequential(nn.Linear(arch.hidden, arch.hidden // 2 or 1), nn.ReLU(),
                                   nn.Linear(arch.hidden // 2 or 1, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.blocks(torch.relu(self.stem(x)))
        return self.policy(h), self.value(h).squeeze(-1)

    @torch.no_grad()
    def evaluate(self, observations: np.ndarray, legal: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass for a batch: the priors over legal actions (a softmax over
        them alone; illegal ones get 0) and the values."""
        logits, values = self(torch.as_tensor(observations, dtype=torch.float32))
        logits = logits.masked_fill(~torch.as_tensor(legal, dtype=torch.bool), -torch.inf)
        return torch.softmax(logits, dim=-1).numpy(), values.numpy()


def new_network(game: GameInfo, *, hidden: int = 128, blocks: int = 2,
                seed: int = 0) -> PolicyValueNet:
    torch.manual_seed(seed)
    return PolicyValueNet(Architecture.for_game(game, hidden, blocks))


def paths(stem: str | Path) -> tuple[Path, Path]:
    stem = Path(stem)
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def save_network(net: PolicyValueNet, stem: str | Path) -> str:
    """Write the weights and the architecture; returns the weights' sha256."""
    from safetensors.torch import save

    from ratchet.core.atomic import atomic_write_bytes, atomic_write_text

    weights, arch = paths(stem)
    weights.parent.mkdir(parents=True, exist_ok=True)
    # serialized in memory: a full disk is an OSError of ours, not the library's own error
    atomic_write_bytes(weights, save({k: v.contiguous() for k, v in net.state_dict().items()}))
    atomic_write_text(arch, net.arch.to_json())
    return sha256_of(weights)


def load_network(stem: str | Path, game: GameInfo | None = None,
                 sha256: str | None = None) -> PolicyValueNet:
    """The network saved at ``stem``; with ``game``, checked to fit it; with ``sha256``,
    refused unless the weights file has that hash."""
    weights, arch_path = paths(stem)
    for path in (weights, arch_path):
        if not path.is_file():
            raise NetworkError(f"{path} is missing; expected {weights.name} and "
                               f"{arch_path.name} as ratchet saves them")
    return network_from_bytes(weights.read_bytes(), arch_path.read_text(), game,
                              sha256=sha256, source=str(weights))


def network_from_bytes(weights: bytes, architecture: str, game: GameInfo | None = None,
                       *, sha256: str | None = None, source: str = "the network"
                       ) -> PolicyValueNet:
    """A network from its safetensors bytes and architecture JSON, loaded strictly; with
    ``sha256``, refused unless the weights have that hash."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    if sha256 is not None and (found := hashlib.sha256(weights).hexdigest()) != sha256:
        raise NetworkError(f"{source}: sha256 {found[:12]}... is not the recorded "
                           f"{sha256[:12]}...; refusing to load it")
    arch = Architecture.from_json(architecture, source)
    if game is not None:
        arch.check_fits(game)
    net = PolicyValueNet(arch)
    try:
        tensors = load(weights)
    except (SafetensorError, OSError) as exc:
        raise NetworkError(f"{source}: not a safetensors file ({exc})") from None
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise NetworkError(f"{source}: the weights do not match the architecture "
                           f"({detail})") from None
    net.eval()
    return net


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
