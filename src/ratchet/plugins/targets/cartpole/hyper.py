"""The parameters a cartpole candidate is made of, and how they become a model and its
training: architecture (``state_dim``, ``hidden_dim``, ``layers``), PPO training
(``learning_rate``, ``ent_coef``, ...) and test-time adaptation (``adapt_steps``,
``adapt_lr``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, fields, replace
from typing import Any

import torch

from ratchet.plugins.targets.cartpole.adapt import AdaptConfig
from ratchet.plugins.targets.cartpole.ppo import PPOConfig
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy
from ratchet.plugins.targets.cartpole.train import TrainConfig

ARCH_KEYS = ("state_dim", "hidden_dim", "layers")
PPO_KEYS = ("learning_rate", "ent_coef", "clip", "epochs", "minibatches", "gamma",
            "gae_lambda", "vf_coef")
STREAM_KEYS = ("episodes_per_task", "segment_steps", "slots")
ADAPT_KEYS = {"adapt_steps": "steps", "adapt_lr": "learning_rate"}


def readable_keys(gradient_adaptation: bool) -> set[str]:
    """What a candidate may set; the adaptation keys only when adaptation uses them."""
    keys = {*ARCH_KEYS, *PPO_KEYS, *STREAM_KEYS}
    return keys | set(ADAPT_KEYS) if gradient_adaptation else keys


def defaults() -> dict[str, Any]:
    """Every readable parameter at its default."""
    out: dict[str, Any] = {k: getattr(Arch(), k) for k in ARCH_KEYS}
    out.update({k: getattr(PPOConfig(), k) for k in PPO_KEYS})
    out.update({k: getattr(TrainConfig(), k) for k in STREAM_KEYS})
    out.update({key: getattr(AdaptConfig(), name) for key, name in ADAPT_KEYS.items()})
    return out


def arch_of(params: dict[str, Any], base: Arch) -> Arch:
    return replace(base, **{k: int(params[k]) for k in ARCH_KEYS if k in params})


def train_config(params: dict[str, Any], total_steps: int, seed: int) -> TrainConfig:
    ppo = replace(PPOConfig(), **{k: _typed(PPOConfig, k, params[k]) for k in PPO_KEYS
                                  if k in params})
    stream = {k: int(params[k]) for k in STREAM_KEYS if k in params}
    return TrainConfig(total_steps=total_steps, seed=seed, ppo=ppo, **stream)


def adapt_config(params: dict[str, Any], base: AdaptConfig) -> AdaptConfig:
    return replace(base, **{name: _typed(AdaptConfig, name, params[key])
                            for key, name in ADAPT_KEYS.items() if key in params})


def training_meta(cfg: TrainConfig) -> dict[str, Any]:
    """The training settings in a model's metadata, under the candidate's names (and how
    time-limit cuts were treated, which no candidate changes)."""
    ppo = asdict(cfg.ppo)
    return {**{k: ppo[k] for k in PPO_KEYS}, **{k: getattr(cfg, k) for k in STREAM_KEYS},
            "bootstrap_time_limit": cfg.ppo.bootstrap_time_limit,
            "pushes": asdict(cfg.pushes) if cfg.pushes else None}


def _typed(cls: type, name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(cls)}[name]
    return int(value) if kind in ("int", int) else float(value)


def warm_start(child: SSMPolicy, parent: SSMPolicy) -> int:
    """Copy the parent's weights into the child wherever shapes allow: whole tensors when
    they match, the overlapping block when a dimension grew or shrank; layers the parent
    lacks keep their fresh initialisation. Returns how many tensors were copied."""
    theirs = parent.state_dict()
    copied = 0
    with torch.no_grad():
        for name, mine in child.state_dict().items():
            if name not in theirs:
                continue
            src = theirs[name]
            if src.dim() != mine.dim():
                continue
            block = tuple(slice(0, min(a, b)) for a, b in zip(mine.shape, src.shape,
                                                               strict=True))
            mine[block] = src[block]
            copied += 1
    return copied


def unknown(names: Iterable[str], gradient_adaptation: bool) -> list[str]:
    keys = readable_keys(gradient_adaptation)
    return sorted(n for n in names if n not in keys)
