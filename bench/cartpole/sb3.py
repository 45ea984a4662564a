"""The Stable-Baselines3 baselines: PPO (defaults and tuned) and sb3-contrib's RecurrentPPO,
trained with domain randomization over the same tasks, played and fine-tuned like ours."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from ratchet.plugins.targets.cartpole.envs import make_env
from ratchet.plugins.targets.cartpole.tasks import Task


def _randomized_env(tasks: list[Task], seed: int):
    """A gymnasium env that plays a randomly chosen task each episode."""
    import gymnasium as gym

    class Randomized(gym.Env):
        def __init__(self) -> None:
            self.rng = random.Random(seed)
            self.env = make_env(tasks[0])
            self.observation_space = self.env.observation_space
            self.action_space = self.env.action_space

        def reset(self, *, seed: int | None = None, options: Any = None):
            self.env.close()
            self.env = make_env(self.rng.choice(tasks))
            return self.env.reset(seed=self.rng.randrange(2**31))

        def step(self, action):
            return self.env.step(action)

    return Randomized()


def sb3_train(kind: str, tasks: list[Task], steps: int, seed: int):
    """``ppo``: SB3 PPO tuned for this (8 envs x 256 steps, batch 256, lr 1e-3);
    ``ppo-default``: SB3 PPO's defaults, 1 env; ``lstm``: RecurrentPPO, as ``ppo``."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    if kind == "ppo-default":
        env = DummyVecEnv([lambda: _randomized_env(tasks, seed * 100)])
        model = PPO("MlpPolicy", env, seed=seed, verbose=0, device="cpu")
        model.learn(total_timesteps=steps)
        return model
    env = DummyVecEnv([lambda i=i: _randomized_env(tasks, seed * 100 + i) for i in range(8)])
    if kind == "ppo":
        model = PPO("MlpPolicy", env, seed=seed, verbose=0, n_steps=256, batch_size=256,
                    learning_rate=1e-3, ent_coef=0.0, device="cpu")
    else:
        from sb3_contrib import RecurrentPPO

        model = RecurrentPPO("MlpLstmPolicy", env, seed=seed, verbose=0, n_steps=256,
                             batch_size=256, learning_rate=1e-3, device="cpu")
    model.learn(total_timesteps=steps)
    return model


def sb3_returns(model, task: Task, episodes: int, seed: int,
                time_limit: int | None = None) -> list[float]:
    env = make_env(task, time_limit=time_limit)
    out = []
    recurrent = hasattr(model.policy, "lstm_actor")
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        state, start, total, done = None, np.ones((1,), dtype=bool), 0.0, False
        while not done:
            if recurrent:
                action, state = model.predict(obs, state=state, episode_start=start,
                                              deterministic=True)
                start = np.zeros((1,), dtype=bool)
            else:
                action, _ = model.predict(obs, deterministic=True)
            obs, r, term, trunc, _ = env.step(int(action))
            total += float(r)
            done = term or trunc
        out.append(total)
    return out


def sb3_finetune(model, task: Task, episodes: int, seed: int):
    """Copy of ``model`` trained on ``episodes`` episodes of ``task`` (small rollouts so
    that the few episodes give a few updates)."""
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    class StopAfterEpisodes(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.done = 0

        def _on_step(self) -> bool:
            self.done += int(np.sum(self.locals["dones"]))
            return self.done < episodes

    env = DummyVecEnv([lambda: _fixed_seeds(make_env(task), seed)])
    policy = "MlpLstmPolicy" if hasattr(model.policy, "lstm_actor") else "MlpPolicy"
    tuned = type(model)(policy, env, n_steps=32, batch_size=32, learning_rate=3e-4,
                        seed=seed, verbose=0, device="cpu")
    tuned.policy.load_state_dict(model.policy.state_dict())
    tuned.learn(total_timesteps=episodes * 500, callback=StopAfterEpisodes(),
                reset_num_timesteps=True)
    return tuned


def _fixed_seeds(env, seed: int):
    """``env`` with each reset seeded from a counter (a gymnasium wrapper)."""
    import gymnasium as gym

    class FixedSeeds(gym.Wrapper):
        count = 0

        def reset(self, *, seed_: int | None = None, **kwargs: Any):
            self.count += 1
            return self.env.reset(seed=seed + self.count)

    return FixedSeeds(env)


def sb3_fresh_returns(model, tasks: list[Task], limit: int | None) -> list[float]:
    """Per task, the mean of 3 greedy episodes (the same reset seeds as ``fresh_returns``)."""
    return [float(np.mean(sb3_returns(model, t, 3, 10_000 + i, limit)))
            for i, t in enumerate(tasks)]
