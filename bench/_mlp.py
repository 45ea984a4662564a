"""An SB3-like MLP that our PPO trainer can train in place of the SSM (bench.cartpole's
network section): SB3 PPO's default ``MlpPolicy`` for discrete actions, written out. Actor
and critic are separate 64x64 tanh networks over the observation alone, orthogonally
initialised (gain sqrt 2, policy head 0.01, value head 1). It has the SSM policy's
interface (``arch``, ``initial_state``, sequence ``forward`` and ``step``) with a one-wide
dummy state, so rollouts, PPO, checkpoint selection and evaluation run unchanged."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ratchet.plugins.targets.cartpole.ssm import Arch


class MLPPolicy(nn.Module):
    def __init__(self, arch: Arch = Arch(), width: int = 64):
        super().__init__()
        self.arch = arch

        def body() -> nn.Sequential:
            return nn.Sequential(nn.Linear(arch.obs_dim, width), nn.Tanh(),
                                 nn.Linear(width, width), nn.Tanh())

        self.pi_body, self.v_body = body(), body()
        self.pi = nn.Linear(width, arch.n_actions)
        self.v = nn.Linear(width, 1)
        for m in [*self.pi_body, *self.v_body]:
            if isinstance(m, nn.Linear):
                nn.init.orthogonal_(m.weight, math.sqrt(2))
                nn.init.zeros_(m.bias)
        for head, gain in ((self.pi, 0.01), (self.v, 1.0)):
            nn.init.orthogonal_(head.weight, gain)
            nn.init.zeros_(head.bias)

    def initial_state(self, batch: int = 1) -> list[Tensor]:
        return [torch.zeros(batch, 1)]

    def forward(self, inputs: Tensor, state: list[Tensor] | None = None,
                resets: Tensor | None = None) -> tuple[Tensor, Tensor, list[Tensor]]:
        obs = inputs[..., :self.arch.obs_dim]
        state = state if state is not None else self.initial_state(inputs.shape[0])
        return self.pi(self.pi_body(obs)), self.v(self.v_body(obs)).squeeze(-1), state

    def step(self, inputs: Tensor, state: list[Tensor]) -> tuple[Tensor, Tensor, list[Tensor]]:
        return self.forward(inputs, state)
