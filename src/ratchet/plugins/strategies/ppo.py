"""Seed 003's learner: Stable-Baselines3 PPO proposes configurations.

SB3's ``learn()`` drives its environment, while ratchet's loop drives strategies, so PPO
runs in a thread of its own against ``OSTuningEnv``, whose ``step`` hands the action to
``propose`` and waits for the reward from ``observe`` (the challenger's measured mean
reward; a failed measurement counts 0). The two sides take turns, never run at once: the
policy's weights are read (``state_dict``) only while PPO waits for a reward.

On resume the policy's weights come back from the strategy state (safetensors bytes,
never a pickle); a rollout that was half collected when the run stopped is started anew.
"""

from __future__ import annotations

import base64
import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Space
from ratchet.core.types import Candidate, Trial
from ratchet.plugins.strategies._base import Direction, Strategy

log = logging.getLogger(__name__)

FAILURE_REWARD = 0.0
_WAIT_S = 1.0


def check_numeric(space: Space) -> Space:
    not_numeric = [p.name for p in space if not p.is_numeric]
    if not_numeric:
        raise ValueError(f"ppo tunes numeric parameters only; {not_numeric} are not")
    return space


class _Stopped(Exception):
    """Raised inside the PPO thread to end ``learn()`` when the strategy closes."""


class PPOSpec(Spec):
    """Stable-Baselines3 PPO proposing challengers (numeric spaces)."""

    kind: Literal["ppo"] = "ppo"
    n_steps: int = Field(64, ge=2, description="steps per rollout before a PPO update")
    batch_size: int = Field(32, ge=1, description="PPO minibatch size")
    n_epochs: int = Field(5, ge=1, description="PPO epochs per update")
    learning_rate: float = Field(1e-3, gt=0, description="PPO learning rate")
    gamma: float = Field(0.95, ge=0, le=1, description="PPO discount")
    max_steps_per_episode: int = Field(10, ge=1, description="proposals per episode")
    state_metrics: list[str] = Field(default_factory=lambda: ["cpu_usage",
                                                              "memory_used_percent"],
                                     description="system metrics the policy observes")

    @model_validator(mode="after")
    def _check(self) -> PPOSpec:
        from ratchet.plugins.strategies.system_metrics import STATE_METRICS

        unknown = [m for m in self.state_metrics if m not in STATE_METRICS]
        if unknown:
            raise ValueError(f"unknown state metrics {unknown}; expected some of "
                             f"{sorted(STATE_METRICS)}")
        if self.batch_size > self.n_steps:
            raise ValueError(f"batch_size ({self.batch_size}) must not exceed n_steps "
                             f"({self.n_steps})")
        return self

    def check_space(self, space: Space) -> None:
        check_numeric(space)

    def create(self, context: BuildContext) -> PPOStrategy:
        from ratchet.core.extras import require

        require("torch", "gymnasium", "stable_baselines3", feature="the ppo strategy")
        return PPOStrategy.from_spec(self, context)  # type: ignore[return-value]


class PPOStrategy(Strategy):
    name = "ppo"

    options_spec = PPOSpec
    proposes_several = False  # its environment steps one proposal, one reward at a time

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize",
                 **options: Any):
        super().__init__(space, seed=seed, direction=direction, **options)
        check_numeric(space)
        o = self.options
        self.ppo_options = dict(n_steps=o.n_steps, batch_size=o.batch_size,
                                n_epochs=o.n_epochs, learning_rate=o.learning_rate,
                                gamma=o.gamma)
        self.max_steps_per_episode = o.max_steps_per_episode
        self.state_metrics = tuple(o.state_metrics)
        self.steps = 0
        self._weights: bytes | None = None
        self._saved_updates: int | None = None  # PPO updates behind ``_weights``
        self._actions: queue.Queue[Any] = queue.Queue()
        self._rewards: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._model: Any = None
        self._env: Any = None
        self._next: dict[str, Any] | None = None
        self._pending: str | None = None

    # -- the Strategy protocol ------------------------------------------------------
    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        if self._thread is None:
            self._start(champion.params)
        self._env.start = dict(champion.params)  # episodes start from the champion
        params = self._next if self._next is not None else self._take_action()
        self._next = None
        candidate = self._candidate(params, champion, f"ppo step {self.steps + 1}")
        self._pending = candidate.id
        return candidate

    def observe(self, trial: Trial) -> None:
        if trial.candidate.id != self._pending:
            return  # a cycle resumed from before a restart: PPO never asked for it
        self._pending = None
        self.steps += 1
        score = trial.score if trial.score is not None else FAILURE_REWARD
        self._rewards.put(score if self.direction == "maximize" else -score)
        self._next = self._take_action()  # PPO may train first; it then waits again

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"steps": self.steps}
        if self._model is not None and self._model._n_updates != self._saved_updates:
            self._weights = self._policy_bytes()  # the weights change only when PPO trains
            self._saved_updates = self._model._n_updates
        if self._weights is not None:
            state["policy"] = base64.b64encode(self._weights).decode("ascii")
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state.get("steps", 0))
        if "policy" in state:
            self._weights = base64.b64decode(state["policy"])

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._rewards.put(_Stopped)
            self._thread.join(10)

    # -- the PPO thread -------------------------------------------------------------
    def _start(self, start: dict[str, Any]) -> None:
        from stable_baselines3 import PPO

        from ratchet.plugins.strategies.ppo_env import OSTuningEnv

        self._env = OSTuningEnv(self.space, self.state_metrics, self._exchange, start,
                                self.max_steps_per_episode)
        self._model = PPO("MlpPolicy", self._env, seed=self.seed, device="cpu", verbose=0,
                          **self.ppo_options)
        if self._weights is not None:
            from safetensors.torch import load

            self._model.policy.load_state_dict(load(self._weights))
            log.info("ppo: policy restored after %d steps", self.steps)
        self._thread = threading.Thread(target=self._learn, name="ratchet-ppo", daemon=True)
        self._thread.start()

    def _learn(self) -> None:
        try:
            self._model.learn(total_timesteps=10**12)
        except _Stopped:
            return
        except BaseException as exc:  # surfaces in propose() instead of hanging it
            self._actions.put(exc)

    def _exchange(self, params: dict[str, Any]) -> float:
        """Called by the environment in the PPO thread: one configuration out, its
        reward back."""
        self._actions.put(params)
        reward = self._rewards.get()
        if reward is _Stopped:
            raise _Stopped
        return float(reward)

    def _take_action(self) -> dict[str, Any]:
        while True:
            try:
                item = self._actions.get(timeout=_WAIT_S)
            except queue.Empty:
                if self._thread is None or not self._thread.is_alive():
                    raise RuntimeError("the PPO thread ended without proposing") from None
                continue
            if isinstance(item, BaseException):
                raise RuntimeError(f"PPO failed: {item!r}") from item
            return item

    def _policy_bytes(self) -> bytes:
        from safetensors.torch import save

        state = {k: v.detach().contiguous() for k, v in
                 self._model.policy.state_dict().items()}
        return save(state)

