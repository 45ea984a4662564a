"""The ``cartpole`` target: a candidate is an SSM policy's architecture and training
settings, and its weights.

* The starting champion is a saved model (the shipped one by default): its architecture and
  training settings are the baseline parameters, its weights the champion's weights.
* A challenger is *trained* before it is measured: its model is built from its parameters,
  warm-started from its parent's weights where shapes allow, and trained with PPO for
  ``train_steps`` environment steps on the training tasks, seeded from what the
  candidate is (parameters, origin, note; not its random id), so a seeded run repeats
  itself. The weights land in ``work/models/<candidate>.safetensors`` (atomically: a
  crash mid-training retrains).
* A measurement plays ``size`` units of validation tasks (physics and hard, alternating),
  ``episodes`` episodes each with the state carried (and, with ``standard``, ``hybrid``
  or ``identify`` adaptation, the policy adapted on the hard units as it plays). Its
  samples are the episode returns in order; its metrics are the five of ``metrics.py``.
  Episodes are cut after ``time_limit`` steps: CartPole-v1's 500 by default. A champion
  that balances every validation task for 500 steps cannot be proven worse than anything
  at 500; cut later, one that drifts off the track after 1000 steps can.
* ``apply`` copies the champion's weights to ``champion-policy.safetensors`` (and its
  ``.json``) in the run directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ratchet.core.errors import EvaluationError, RatchetError, RecipeError
from ratchet.core.space import Space
from ratchet.core.types import Candidate, EvalTask, Measurement
from ratchet.plugins.targets._base import Target
from ratchet.plugins.targets.cartpole import LIVE_POLICY, metrics
from ratchet.plugins.targets.cartpole.adapt import (
    GRADIENT_MODES,
    AdaptConfig,
    adapt_policy,
    replay_buffer,
)
from ratchet.plugins.targets.cartpole.checkpoint import load_policy, save_policy
from ratchet.plugins.targets.cartpole.hyper import (
    adapt_config,
    arch_of,
    defaults,
    train_config,
    training_meta,
    unknown,
    warm_start,
)
from ratchet.plugins.targets.cartpole.pretrain import SHIPPED, training_tasks
from ratchet.plugins.targets.cartpole.rollout import collect
from ratchet.plugins.targets.cartpole.ssm import SSMPolicy
from ratchet.plugins.targets.cartpole.tasks import Task, task_set
from ratchet.plugins.targets.cartpole.train import train_policy_gradient

if TYPE_CHECKING:
    from ratchet.plugins.targets.cartpole.spec import CartPoleTargetSpec

VALIDATION_TASKS = 16


class CartPoleTarget(Target):
    name = "cartpole"
    outcome = "samples"

    def __init__(self, spec: CartPoleTargetSpec, workdir: Path, *, seed: int = 0,
                 live_model: Path | None = None):
        self.spec = spec
        self.workdir = Path(workdir)
        self.model = Path(spec.model) if spec.model else SHIPPED
        self.seed = seed
        self.live_model = live_model or self.workdir / LIVE_POLICY

    # -- the Target protocol ------------------------------------------------------------
    def baseline(self, space: Space) -> dict[str, Any]:
        bad = unknown(space.names, self.spec.adaptation in GRADIENT_MODES)
        if bad:
            raise RecipeError(f"space: the cartpole target does not read {bad} (with "
                              f"adaptation: {self.spec.adaptation}); it reads "
                              f"{sorted(defaults())}")
        try:
            policy, meta = load_policy(self.model)
        except RatchetError as exc:
            raise RecipeError(f"target.model: {exc}") from None
        known = {**defaults(), **policy.arch.to_dict(), **meta.get("training", {})}
        values = {}
        for p in space:
            value = known[p.name]
            values[p.name] = p.clip(value) if p.is_numeric else value
        return space.validate(values)

    def evaluate(self, task: EvalTask) -> Measurement:
        torch.set_num_threads(self.spec.threads)
        trained = not self.weights_path(task.candidate).exists()
        policy = self.policy_of(task.candidate)
        physics, hard = self._units(task.seed, task.size)
        returns: dict[str, list[list[float]]] = {"physics": [], "hard": []}
        steps = 0
        if physics:
            played = collect(policy, physics, self.spec.episodes, seed=task.seed, greedy=True,
                             time_limit=self.spec.time_limit)
            returns["physics"], steps = played.returns, steps + played.steps
        if hard and self.spec.adaptation == "in_context":
            played = collect(policy, hard, self.spec.episodes, seed=task.seed + 1, greedy=True,
                             time_limit=self.spec.time_limit)
            returns["hard"], steps = played.returns, steps + played.steps
        elif hard:
            cfg = adapt_config(task.candidate.params, AdaptConfig(
                mode=self.spec.adaptation, episodes=self.spec.episodes,  # type: ignore[arg-type]
                time_limit=self.spec.time_limit))
            replay = None
            if self.spec.adaptation == "hybrid":
                replay = replay_buffer(policy, training_tasks(self.seed), 8, task.seed + 2)
                steps += replay.steps
            returns["hard"] = [adapt_policy(policy, t, cfg, task.seed + 3 + i,
                                            replay=replay).curve for i, t in enumerate(hard)]
            # CartPole pays 1 per step: an episode's return is its length
            steps += int(sum(sum(curve) for curve in returns["hard"]))
        scores = [r for unit in (*returns["physics"], *returns["hard"]) for r in unit]
        found = metrics.compute(returns["physics"], returns["hard"], self.spec.time_limit)
        found["eval_steps"] = float(steps)  # environment steps this measurement cost
        if trained and task.candidate.parent is not None:
            found["train_steps"] = float(self.train_steps_of(task.candidate))
        return Measurement("samples", tuple(scores), ordered=True, metrics=found)

    def train_steps_of(self, candidate: Candidate) -> int:
        """Environment steps spent training ``candidate`` (from its saved metadata)."""
        try:
            info = json.loads(self.weights_path(candidate).with_suffix(".json").read_text())
            return int(info.get("meta", {}).get("steps", 0))
        except (OSError, ValueError):
            return 0

    def apply(self, champion: Candidate) -> None:
        source = self.weights_path(champion)
        if not source.exists():
            self.policy_of(champion)
        self.live_model.parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".safetensors", ".json"):
            tmp = self.live_model.with_name(f".{self.live_model.stem}{suffix}.tmp")
            shutil.copyfile(source.with_suffix(suffix), tmp)
            os.replace(tmp, self.live_model.with_suffix(suffix))

    def discard(self, candidate: Candidate) -> None:
        for suffix in (".safetensors", ".json"):
            self.weights_path(candidate).with_suffix(suffix).unlink(missing_ok=True)

    # -- weights ------------------------------------------------------------------------
    def weights_path(self, candidate: Candidate) -> Path:
        return self.workdir / "models" / f"{candidate.id}.safetensors"

    def policy_of(self, candidate: Candidate) -> SSMPolicy:
        """The candidate's trained policy: loaded if saved, else made (and saved)."""
        path = self.weights_path(candidate)
        if path.exists():
            return self._load(path)[0]
        if candidate.parent is None:
            policy, meta = self._load(self.model)
            meta = {**meta, "source": str(self.model)}
        else:
            policy, meta = self._train(candidate)
        save_policy(policy, path, meta)
        return policy

    def _train(self, candidate: Candidate) -> tuple[SSMPolicy, dict[str, Any]]:
        parent_path = self.workdir / "models" / f"{candidate.parent}.safetensors"
        parent = self._load(parent_path if parent_path.exists() else self.model)[0]
        params = {**self._parent_params(parent), **candidate.params}
        seed = _training_seed(candidate, self.seed)
        torch.manual_seed(seed)  # what warm_start does not copy starts from this seed
        policy = SSMPolicy(arch_of(params, parent.arch))
        copied = warm_start(policy, parent)
        cfg = train_config(params, self.spec.train_steps, seed)
        tasks = training_tasks(self.seed, self.spec.hard_tasks)
        reports = train_policy_gradient(policy, tasks, cfg)
        return policy, {"parent": candidate.parent, "warm_started_tensors": copied,
                        "training": training_meta(cfg), "seed": seed,
                        "steps": reports[-1].steps if reports else 0}

    @staticmethod
    def _parent_params(parent: SSMPolicy) -> dict[str, Any]:
        return {**defaults(), **parent.arch.to_dict()}

    def _units(self, seed: int, size: int) -> tuple[list[Task], list[Task]]:
        physics = task_set("physics", "validation", VALIDATION_TASKS, self.seed)
        hard = task_set("hard", "validation", VALIDATION_TASKS, self.seed)
        units = [(physics if (i % 2 == 0 or not self.spec.hard_tasks) else hard)
                 [(seed + i // 2) % VALIDATION_TASKS] for i in range(size)]
        return ([u for u in units if not u.transforms], [u for u in units if u.transforms])

    @staticmethod
    def _load(path: Path) -> tuple[SSMPolicy, dict[str, Any]]:
        try:
            return load_policy(path)
        except Exception as exc:  # a missing or corrupt model fails the evaluation
            raise EvaluationError(f"cannot load the model {path}: {exc}") from exc


def _training_seed(candidate: Candidate, seed: int) -> int:
    """From what the candidate is, not from its id (a random uuid): a seeded run trains
    the same challengers again, and a retrained candidate is the same model."""
    what = json.dumps([seed, candidate.params, candidate.origin, candidate.note],
                      sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(what.encode()).digest()[:4], "little")
