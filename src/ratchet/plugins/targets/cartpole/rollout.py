"""Run the SSM policy on several tasks at once, one slot per task, and record what PPO
needs.

Within a task the hidden state is carried across episodes (in-context adaptation); it
starts afresh when a slot takes up a new task. Two ways to play:

* ``collect``: each slot plays ``episodes`` whole episodes of its task from a fresh state
  and stops (evaluation, adaptation data). Slots finish at different times, so every
  tensor is (slot, time), padded, with ``mask`` marking the steps that happened.
* ``Stream``: slots play continuously and hand out fixed-length segments (training); a slot
  moves to a newly sampled task after ``episodes_per_task`` episodes, which ``resets``
  marks, and a segment cut mid-episode carries the value to bootstrap from.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ratchet.plugins.targets.cartpole.envs import make_env
from ratchet.plugins.targets.cartpole.pushes import Pushes
from ratchet.plugins.targets.cartpole.ssm import SSMPolicy, policy_input
from ratchet.plugins.targets.cartpole.tasks import Task

_STEP_KEYS = ("inputs", "actions", "logprobs", "values", "rewards", "dones", "mask", "resets",
              "truncated_values")


@dataclass
class Rollout:
    inputs: Tensor        # (slot, time, input_dim): what the policy saw
    actions: Tensor       # (slot, time)
    logprobs: Tensor      # (slot, time)
    values: Tensor        # (slot, time)
    rewards: Tensor       # (slot, time)
    dones: Tensor         # (slot, time) 1 at each episode's last step (and on padding)
    mask: Tensor          # (slot, time) 1 where a step happened
    resets: Tensor        # (slot, time) 1 where the hidden state started afresh
    truncated_values: Tensor  # (slot, time) at a step that hit the time limit, the value of
    #                           the observation it led to (0 elsewhere): PPO bootstraps it
    h0: list[Tensor]      # per layer (slot, state): the hidden state before the first step
    last_values: Tensor   # (slot,) value after the last step (0 when it ended an episode)
    returns: list[list[float]]  # per slot, the episodes finished in this rollout

    @property
    def steps(self) -> int:
        return int(self.mask.sum())

    def episode_returns(self) -> list[float]:
        return [x for slot in self.returns for x in slot]

    def rows(self, index: Sequence[int] | Tensor) -> Rollout:
        """The rollout of some slots only (a minibatch)."""
        idx = torch.as_tensor(index, dtype=torch.long)
        return Rollout(*(getattr(self, k)[idx] for k in _STEP_KEYS),
                       h0=[h[idx] for h in self.h0], last_values=self.last_values[idx],
                       returns=[self.returns[int(i)] for i in idx])


class _Slots:
    """Environments stepped together, each with its task, hidden state and last action."""

    def __init__(self, policy: SSMPolicy, tasks: Sequence[Task], seed: int,
                 sensor: np.ndarray | None = None, time_limit: int | None = None,
                 pushes: Pushes | None = None):
        self.seed = seed
        self.pushes = pushes
        self.push_rng = np.random.default_rng(seed + 12345) if pushes else None
        self.sensor = sensor
        self.time_limit = time_limit
        self.n_actions = policy.arch.n_actions
        self.tasks = list(tasks)
        self.envs = [self._make_env(t) for t in self.tasks]
        self.episodes = [0] * len(tasks)           # finished in the current task
        self.started = [0] * len(tasks)            # tasks taken up by each slot
        self.running = np.zeros(len(tasks))
        self.obs = np.stack([self._reset_env(i) for i in range(len(tasks))])
        self.state = policy.initial_state(len(tasks))
        self.prev_action = torch.full((len(tasks),), -1)
        self.prev_reward = torch.zeros(len(tasks))
        self.fresh = torch.ones(len(tasks))        # next step starts a new task
        self.rng = torch.Generator().manual_seed(seed)

    def _make_env(self, task: Task) -> Any:
        return make_env(task, sensor=self.sensor, time_limit=self.time_limit,
                        pushes=self.pushes, push_rng=self.push_rng)

    def _reset_env(self, i: int) -> np.ndarray:
        seed = (self.seed * 1_000_003 + i * 1009 + self.started[i] * 7919 + self.episodes[i])
        obs, _ = self.envs[i].reset(seed=int(seed % 2**31))
        return np.asarray(obs, dtype=np.float32)

    def switch(self, i: int, task: Task) -> None:
        """Slot ``i`` takes up ``task``: fresh environment, hidden state and history."""
        self.envs[i].close()
        self.tasks[i], self.envs[i] = task, self._make_env(task)
        self.episodes[i], self.running[i] = 0, 0.0
        self.started[i] += 1
        self.obs[i] = self._reset_env(i)
        for h in self.state:
            h[i] = 0.0
        self.prev_action[i], self.prev_reward[i], self.fresh[i] = -1, 0.0, 1.0

    def inputs(self) -> Tensor:
        return policy_input(torch.from_numpy(self.obs), self.prev_action, self.prev_reward,
                            self.n_actions)

    def step(self, policy: SSMPolicy, greedy: bool, active: np.ndarray
             ) -> tuple[dict[str, Tensor], list[tuple[int, float]]]:
        """One step of every active slot; returns the step's record and the episodes that
        ended (slot, return). A finished episode's environment is reset in place."""
        n = len(self.envs)
        x = self.inputs()
        logits, value, self.state = policy.step(x, self.state)
        logp = torch.log_softmax(logits, -1)
        action = (logits.argmax(-1) if greedy
                  else torch.multinomial(logp.exp(), 1, True, generator=self.rng)[:, 0])
        reward, done = torch.zeros(n), torch.ones(n)
        ended, cut = [], []
        for i in np.flatnonzero(active):
            obs, r, terminated, truncated, _ = self.envs[i].step(int(action[i]))
            self.running[i] += r
            reward[i] = float(r)
            if truncated and not terminated:
                cut.append((int(i), np.asarray(obs, dtype=np.float32)))
            if terminated or truncated:
                ended.append((int(i), float(self.running[i])))
                self.episodes[i] += 1
                self.running[i] = 0.0
                obs = self._reset_env(int(i))
            else:
                done[i] = 0.0
            self.obs[i] = obs
        record = {"inputs": x, "actions": action, "values": value, "rewards": reward,
                  "logprobs": logp.gather(1, action[:, None])[:, 0], "dones": done,
                  "mask": torch.from_numpy(active.astype(np.float32)),
                  "resets": self.fresh.clone(),
                  "truncated_values": self._values_after(policy, cut, action, reward)}
        self.prev_action, self.prev_reward = action.clone(), reward.clone()
        self.fresh = torch.zeros(n)
        return record, ended

    def _values_after(self, policy: SSMPolicy, cut: list[tuple[int, np.ndarray]],
                      action: Tensor, reward: Tensor) -> Tensor:
        """Values of the observations that episodes cut by the time limit led to (the
        state advanced to them is thrown away: the next episode starts from ``self.state``
        as before)."""
        values = torch.zeros(len(self.envs))
        if not cut:
            return values
        obs = torch.from_numpy(self.obs.copy())
        for i, final in cut:
            obs[i] = torch.from_numpy(final)
        _, after, _ = policy.step(policy_input(obs, action, reward, self.n_actions),
                                  self.state)
        for i, _ in cut:
            values[i] = after[i]
        return values

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _stack(records: list[dict[str, Tensor]], h0: list[Tensor], last_values: Tensor,
           returns: list[list[float]]) -> Rollout:
    stacked = {k: torch.stack([r[k] for r in records], dim=1) for k in _STEP_KEYS}
    return Rollout(**stacked, h0=h0, last_values=last_values, returns=returns)


@torch.no_grad()
def collect(policy: SSMPolicy, tasks: Sequence[Task], episodes: int, seed: int,
            greedy: bool = False, max_steps: int | None = None,
            sensor: np.ndarray | None = None, time_limit: int | None = None) -> Rollout:
    """``episodes`` episodes of each task, all slots stepped together, each from a fresh
    hidden state; a slot stops early after ``max_steps`` steps (its last step then counts
    as an episode end). ``sensor``: the tasks seen through this sensor map (``identify``
    adaptation). ``time_limit``: episode length before a cut (default 500)."""
    slots = _Slots(policy, tasks, seed, sensor, time_limit)
    h0 = [h.clone() for h in slots.state]
    active = np.ones(len(tasks), dtype=bool)
    finished: list[list[float]] = [[] for _ in tasks]
    records = []
    while active.any():
        record, ended = slots.step(policy, greedy, active)
        records.append(record)
        for i, ret in ended:
            finished[i].append(ret)
        for i in np.flatnonzero(active):
            if len(finished[i]) >= episodes:
                active[i] = False
            elif max_steps is not None and len(records) >= max_steps:
                record["dones"][i] = 1.0
                active[i] = False
    slots.close()
    return _stack(records, h0, torch.zeros(len(tasks)), finished)


class Stream:
    """Slots that play sampled tasks without end, handing out ``steps``-long segments
    (with ``pushes``, randomly kicked: training only)."""

    def __init__(self, policy: SSMPolicy, tasks: Sequence[Task], slots: int,
                 episodes_per_task: int, seed: int, pushes: Pushes | None = None):
        self.pool = list(tasks)
        self.episodes_per_task = episodes_per_task
        self.rng = random.Random(seed)
        self.slots = _Slots(policy, [self.rng.choice(self.pool) for _ in range(slots)], seed,
                            pushes=pushes)

    @torch.no_grad()
    def segment(self, policy: SSMPolicy, steps: int) -> Rollout:
        slots = self.slots
        h0 = [h.clone() for h in slots.state]
        active = np.ones(len(slots.envs), dtype=bool)
        finished: list[list[float]] = [[] for _ in slots.envs]
        records = []
        for _ in range(steps):
            record, ended = slots.step(policy, False, active)
            records.append(record)
            for i, ret in ended:
                finished[i].append(ret)
                if slots.episodes[i] >= self.episodes_per_task:
                    slots.switch(i, self.rng.choice(self.pool))
        _, last_values, _ = policy.step(slots.inputs(), slots.state)
        last_values = last_values * (1 - records[-1]["dones"])
        return _stack(records, h0, last_values, finished)

    def close(self) -> None:
        self.slots.close()
