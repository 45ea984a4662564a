"""A State Space Model policy: diagonal linear recurrences (S4D/LRU-like), policy and value
heads.

Each layer is  h_t = a * h_{t-1} + B x_t,  y_t = C h_t + D * x_t  with a learned diagonal
decay a = cap * exp(-exp(nu)) in (0, cap) (stable by construction), then a GELU and a
residual. The cap (``Arch.max_decay``, 0.95: a memory of ~20 steps at most) keeps the
policy from leaning on a near-constant channel that drifts over long episodes: uncapped,
33 of 90 held-out physics runs fell within 2000 steps (the cart drifted off the track);
capped at 0.95, 2 of 90 (held-out task set 0; `python -m bench.cartpole --sections physics`).
Training runs a whole sequence at once in *convolution mode* (h = causal conv of B x with
the kernel a^k, by FFT); acting runs ``step()`` with the hidden state carried along. Both
compute the same function (tested).

The input at step t is the observation, the previous action (one-hot) and the previous
reward, so the recurrent state can identify the task from experience
(``Arch.previous_step``; off, the policy reads the observation alone). ``MEMORYLESS``
(decays capped at 1e-4, the previous step not read) is the same network as a feedforward
policy: over training seeds 0-13 it fell on 12 of 840 held-out physics runs of 2000 steps
(checkpoints scored every 20 updates) where the SSM fell on 20 and SB3 PPO's MLP on 1
(`python -m bench.cartpole --sections memory`), so memory alone does not explain SB3's edge
there. The hidden state is reset at the start of each *task*, not each episode: it
carries across episodes of the same task (in-context adaptation), and ``initial_state``
starts it fresh.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass(frozen=True)
class Arch:
    obs_dim: int = 4
    n_actions: int = 2
    state_dim: int = 32
    hidden_dim: int = 64
    layers: int = 1
    max_decay: float = 0.95
    previous_step: bool = True
    """Read the previous action and reward besides the observation (files saved before
    this field existed did)."""

    @property
    def input_dim(self) -> int:
        """The width of what callers pass in (``policy_input``), whatever the policy reads."""
        return self.obs_dim + self.n_actions + 1

    @property
    def read_dim(self) -> int:
        return self.input_dim if self.previous_step else self.obs_dim

    def to_dict(self) -> dict[str, int | float | bool]:
        return asdict(self)


MEMORYLESS = Arch(max_decay=1e-4, previous_step=False)
"""The same network with no memory to speak of: a feedforward policy (an ablation)."""


class DiagonalSSM(nn.Module):
    def __init__(self, width: int, state_dim: int, max_decay: float):
        super().__init__()
        self.max_decay = max_decay
        # decays spread over max_decay * [0.5, 0.999]: short and long memories from the start
        a0 = torch.linspace(0.5, 0.999, state_dim)
        self.nu = nn.Parameter(torch.log(-torch.log(a0)))
        self.B = nn.Linear(width, state_dim, bias=False)
        self.C = nn.Linear(state_dim, width, bias=False)
        self.D = nn.Parameter(torch.ones(width))
        nn.init.normal_(self.B.weight, std=1.0 / math.sqrt(width))
        nn.init.normal_(self.C.weight, std=1.0 / math.sqrt(state_dim))

    def decay(self) -> Tensor:
        return self.max_decay * torch.exp(-torch.exp(self.nu))

    def forward(self, x: Tensor, h0: Tensor, resets: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        """x: (batch, time, width), h0: (batch, state) -> y (batch, time, width), h_T.
        ``resets`` (batch, time) is 1 where the state is zeroed before that step's input."""
        a = self.decay()
        u = self.B(x)                                        # (batch, time, state)
        steps = x.shape[1]
        powers = torch.arange(steps, device=x.device, dtype=x.dtype)
        kernel = a.unsqueeze(0) ** powers.unsqueeze(1)        # (time, state): a^k
        n = 2 * steps
        conv = torch.fft.irfft(torch.fft.rfft(u, n=n, dim=1) *
                               torch.fft.rfft(kernel, n=n, dim=0).unsqueeze(0), n=n, dim=1)
        h = conv[:, :steps] + (a * kernel).unsqueeze(0) * h0.unsqueeze(1)  # + a^(t+1) h0
        if resets is not None and bool(resets.any()):
            h = _apply_resets(h, h0, a, resets)
        return self.C(h) + self.D * x, h[:, -1]

    def step(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """x: (batch, width), h: (batch, state) (zeroed by the caller at a reset)."""
        h = self.decay() * h + self.B(x)
        return self.C(h) + self.D * x, h


def _apply_resets(h: Tensor, h0: Tensor, a: Tensor, resets: Tensor) -> Tensor:
    """Turn the no-reset states c_t into states that restart at each reset.

    With r the last reset at or before t, the true state sums the inputs from r on only:
    h_t = c_t - a^(t-r+1) c_(r-1), where c_(-1) = h0. Exact for a linear recurrence, so
    the sequence is still one convolution however many episodes or tasks it spans.
    """
    steps = h.shape[1]
    t = torch.arange(steps, device=h.device)
    last = torch.where(resets > 0, t, torch.full_like(t, -1)).cummax(dim=1).values  # (b, T)
    before = torch.cat([h0.unsqueeze(1), h], dim=1)          # before[:, r] = c_(r-1)
    prior = before.gather(1, last.clamp(min=0).unsqueeze(-1).expand(-1, -1, h.shape[2]))
    gap = (t - last + 1).clamp(min=0).to(h.dtype).unsqueeze(-1)      # t - r + 1
    correction = torch.exp(gap * torch.log(a)) * prior
    return h - torch.where((last >= 0).unsqueeze(-1), correction, torch.zeros_like(h))


class SSMPolicy(nn.Module):
    def __init__(self, arch: Arch = Arch()):
        super().__init__()
        self.arch = arch
        self.encoder = nn.Linear(arch.read_dim, arch.hidden_dim)
        self.ssms = nn.ModuleList(DiagonalSSM(arch.hidden_dim, arch.state_dim,
                                              arch.max_decay) for _ in range(arch.layers))
        self.norms = nn.ModuleList(nn.LayerNorm(arch.hidden_dim) for _ in range(arch.layers))
        self.pi = nn.Linear(arch.hidden_dim, arch.n_actions)
        self.v = nn.Linear(arch.hidden_dim, 1)

    def _encode(self, inputs: Tensor) -> Tensor:
        return F.gelu(self.encoder(inputs[..., :self.arch.read_dim]))

    def initial_state(self, batch: int = 1) -> list[Tensor]:
        return [torch.zeros(batch, self.arch.state_dim) for _ in range(self.arch.layers)]

    def forward(self, inputs: Tensor, state: list[Tensor] | None = None,
                resets: Tensor | None = None) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Sequence mode. inputs: (batch, time, input_dim) -> logits (batch, time,
        n_actions), values (batch, time), final state. ``resets`` (batch, time) marks the
        steps where every layer's state starts afresh (a new task)."""
        state = state if state is not None else self.initial_state(inputs.shape[0])
        z = self._encode(inputs)
        final = []
        for ssm, norm, h0 in zip(self.ssms, self.norms, state, strict=True):
            y, h = ssm(norm(z), h0, resets)
            z = z + F.gelu(y)
            final.append(h)
        return self.pi(z), self.v(z).squeeze(-1), final

    def step(self, inputs: Tensor, state: list[Tensor]
             ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Acting mode. inputs: (batch, input_dim) -> logits, values (batch,), new state."""
        z = self._encode(inputs)
        new_state = []
        for ssm, norm, h in zip(self.ssms, self.norms, state, strict=True):
            y, h = ssm.step(norm(z), h)
            z = z + F.gelu(y)
            new_state.append(h)
        return self.pi(z), self.v(z).squeeze(-1), new_state


def policy_input(obs: Tensor, prev_action: Tensor, prev_reward: Tensor, n_actions: int
                 ) -> Tensor:
    """Observation, previous action (one-hot; zeros at the start) and previous reward."""
    onehot = F.one_hot(prev_action.clamp(min=0), n_actions).to(obs.dtype)
    onehot = onehot * (prev_action >= 0).unsqueeze(-1).to(obs.dtype)
    return torch.cat([obs, onehot, prev_reward.unsqueeze(-1).to(obs.dtype)], dim=-1)
