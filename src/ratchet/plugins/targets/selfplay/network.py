"""The player's policy-value network: a small residual MLP over the flattened observation
(``network: {kind: mlp}``, any game), or a convolutional residual tower over the board
(``network: {kind: conv}``, a game whose observation is planes of a board: the shape
AlphaZero, Leela Zero and KataGo use).

Both take the same input, the flattened observation then who is to move; the tower reads
it back as planes, the player to move as two constant planes. Saved as two files: the
weights in safetensors (``NAME.safetensors``) and the architecture in JSON
(``NAME.json``). Loading builds the network from the JSON, checks it
fits the game, and loads the weights strictly (every tensor present, with its shape);
nothing is unpickled, so a weights file can never run code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ratchet.core.errors import RatchetError
from ratchet.plugins.targets.selfplay.game import GameInfo

FORMAT = "ratchet-policy-value-mlp/1"
CONV_FORMAT = "ratchet-policy-value-conv/1"


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

    def check_fits(self, game: GameInfo) -> None:
        if (self.observation_size, self.actions) != (game.observation_size, game.actions):
            raise NetworkError(
                f"the network takes {self.observation_size} inputs and scores "
                f"{self.actions} actions; {game.name} has {game.observation_size} "
                f"observation values and {game.actions} actions")


@dataclass(frozen=True)
class ConvArchitecture:
    """A residual tower over the board's planes: ``planes`` x ``height`` x ``width``."""

    planes: int
    height: int
    width: int
    actions: int
    channels: int = 32
    blocks: int = 3

    @classmethod
    def for_game(cls, game: GameInfo, channels: int = 32, blocks: int = 3) -> ConvArchitecture:
        shape = board_shape(game)
        if shape is None:
            raise NetworkError(f"{game.name}: its observation has shape "
                               f"{list(game.observation_shape)}, not planes of a board "
                               "(planes, height, width); use network kind mlp")
        return cls(*shape, game.actions, channels, blocks)

    @property
    def observation_size(self) -> int:
        return self.planes * self.height * self.width + 2

    def to_json(self) -> str:
        return json.dumps({"format": CONV_FORMAT, **asdict(self)}, indent=2, sort_keys=True)

    def check_fits(self, game: GameInfo) -> None:
        if board_shape(game) != (self.planes, self.height, self.width) \
                or game.actions != self.actions:
            raise NetworkError(
                f"the network reads {self.planes}x{self.height}x{self.width} planes and "
                f"scores {self.actions} actions; {game.name} has observation shape "
                f"{list(game.observation_shape)} and {game.actions} actions")


def board_shape(game: GameInfo) -> tuple[int, int, int] | None:
    """(planes, height, width) where the observation is planes of a board (a 2-D one is
    one plane); None otherwise."""
    shape = game.observation_shape
    if len(shape) == 3 and min(shape) >= 1 and min(shape[1:]) >= 2:
        return shape[0], shape[1], shape[2]
    if len(shape) == 2 and min(shape) >= 2:
        return 1, shape[0], shape[1]
    return None


def architecture_from_json(text: str, source: str) -> Architecture | ConvArchitecture:
    """Either architecture, by its ``format``; every field a whole number, positive but
    ``blocks`` (which may be 0), and no other."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NetworkError(f"{source}: not JSON ({exc.msg}); expected the architecture "
                           "ratchet wrote beside the weights") from None
    kinds = {FORMAT: Architecture, CONV_FORMAT: ConvArchitecture}
    kind = kinds.get(data.get("format")) if isinstance(data, dict) else None
    if kind is None:
        raise NetworkError(f"{source}: not a {FORMAT} or {CONV_FORMAT} architecture")
    names = {f.name for f in fields(kind)}
    if set(data) - {"format"} != names or not all(
            isinstance(data[k], int) and data[k] >= (k != "blocks") for k in names):
        raise NetworkError(f"{source}: expected positive integers {sorted(names)} "
                           "(blocks may be 0)")
    return kind(**{k: data[k] for k in names})


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
    to move). ``build`` makes the kind an architecture names."""

    arch: Architecture | ConvArchitecture

    @torch.no_grad()
    def evaluate(self, observations: np.ndarray, legal: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass for a batch: the priors over legal actions (a softmax over
        them alone; illegal ones get 0) and the values."""
        from ratchet.plugins.targets.selfplay.device import mixed_precision

        device = self.device
        with mixed_precision(str(device)):
            logits, values = self(torch.as_tensor(observations, dtype=torch.float32,
                                                  device=device))
        logits = logits.float().masked_fill(
            ~torch.as_tensor(legal, dtype=torch.bool, device=device), -torch.inf)
        return (torch.softmax(logits, dim=-1).cpu().numpy(),
                values.float().cpu().numpy())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class MlpNet(PolicyValueNet):
    """The residual MLP over the flattened observation."""

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


class ConvBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(x + self.norm2(self.conv2(h)))


class ConvNet(PolicyValueNet):
    """AlphaZero's shape, small: a 3x3 convolution, ``blocks`` residual blocks of two,
    a policy head (1x1 to two planes, then a linear layer over every action) and a value
    head (1x1 to one plane, a hidden layer, tanh)."""

    def __init__(self, arch: ConvArchitecture):
        super().__init__()
        self.arch = arch
        c, area = arch.channels, arch.height * arch.width
        self.stem = nn.Sequential(nn.Conv2d(arch.planes + 2, c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c), nn.ReLU())
        self.blocks = nn.Sequential(*(ConvBlock(c) for _ in range(arch.blocks)))
        self.policy = nn.Sequential(nn.Conv2d(c, 2, 1, bias=False), nn.BatchNorm2d(2),
                                    nn.ReLU(), nn.Flatten(), nn.Linear(2 * area, arch.actions))
        self.value = nn.Sequential(nn.Conv2d(c, 1, 1, bias=False), nn.BatchNorm2d(1),
                                   nn.ReLU(), nn.Flatten(), nn.Linear(area, 64), nn.ReLU(),
                                   nn.Linear(64, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.arch
        board = x[:, :-2].reshape(-1, a.planes, a.height, a.width)
        to_move = x[:, -2:, None, None].expand(-1, 2, a.height, a.width)
        h = self.blocks(self.stem(torch.cat([board, to_move], dim=1)))
        return self.policy(h), self.value(h).squeeze(-1)


def build(arch: Architecture | ConvArchitecture) -> PolicyValueNet:
    return ConvNet(arch) if isinstance(arch, ConvArchitecture) else MlpNet(arch)


def new_network(game: GameInfo, *, kind: str = "mlp", hidden: int = 128, blocks: int = 2,
                channels: int = 32, seed: int = 0) -> PolicyValueNet:
    """A network of random weights for ``game``: ``kind`` mlp (``hidden``, ``blocks``) or
    conv (``channels``, ``blocks``)."""
    torch.manual_seed(seed)
    if kind == "conv":
        return build(ConvArchitecture.for_game(game, channels, blocks))
    return build(Architecture.for_game(game, hidden, blocks))


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
    atomic_write_bytes(weights, save({k: v.detach().cpu().contiguous()
                                      for k, v in net.state_dict().items()}))
    atomic_write_text(arch, net.arch.to_json())
    return sha256_of(weights)


def load_network(stem: str | Path, game: GameInfo | None = None,
                 sha256: str | None = None, device: str = "cpu") -> PolicyValueNet:
    """The network saved at ``stem``, on ``device``; with ``game``, checked to fit it;
    with ``sha256``, refused unless the weights file has that hash."""
    weights, arch_path = paths(stem)
    for path in (weights, arch_path):
        if not path.is_file():
            raise NetworkError(f"{path} is missing; expected {weights.name} and "
                               f"{arch_path.name} as ratchet saves them")
    return network_from_bytes(weights.read_bytes(), arch_path.read_text(), game,
                              sha256=sha256, source=str(weights)).to(device)


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
    arch = architecture_from_json(architecture, source)
    if game is not None:
        arch.check_fits(game)
    net = build(arch)
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
