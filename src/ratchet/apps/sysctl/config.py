"""Seed 003's JSON configuration, validated, and the ratchet recipe it becomes.

    {"workload_name": ..., "reward_metric": ..., "benchmark_command": "...",
     "action_space": [{"param": "vm.swappiness", "min": 0, "max": 100, "type": "int"}],
     "state_space": [{"metric": "cpu_usage"}], "training_config": {...},
     "reward": {"performance_weight": 0.5, "stability_weight": 0.5}}

``training_config`` takes the seed's keys (total_timesteps, n_steps, batch_size, n_epochs,
learning_rate, gamma, benchmark_timeout, max_steps_per_episode, verbose) and ratchet's:
``repeats`` (benchmark runs per measurement of a configuration), ``algorithm`` (ppo, tpe
or perturb), ``early_stopping_patience`` (steps without an improvement before stopping)
and ``seed``. One step is one proposed configuration, measured against the champion until
the Welch judge decides: runs interleaved with the champion's, at least 10 a side, at most
30 (or 3 × repeats).
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ratchet.core.errors import RecipeError
from ratchet.engine.recipe import Recipe, _describe, parse_recipe
from ratchet.plugins.strategies.system_metrics import STATE_METRICS

PRESETS = ("memory", "network")
Algorithm = Literal["ppo", "tpe", "perturb"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionSpec(_Strict):
    param: str
    min: float
    max: float
    type: Literal["int", "float"] = "int"
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> ActionSpec:
        if not self.min < self.max:
            raise ValueError(f"{self.param}: min ({self.min:g}) must be below max "
                             f"({self.max:g})")
        if self.type == "int" and (self.min != int(self.min) or self.max != int(self.max)):
            raise ValueError(f"{self.param}: an int parameter needs whole-number min and max")
        return self


class StateSpec(_Strict):
    metric: str
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> StateSpec:
        if self.metric not in STATE_METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; expected one of "
                             f"{sorted(STATE_METRICS)}")
        return self


class TrainingConfig(_Strict):
    total_timesteps: int = Field(200, ge=1)
    n_steps: int = Field(64, ge=2)
    batch_size: int = Field(32, ge=1)
    n_epochs: int = Field(5, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    gamma: float = Field(0.95, ge=0, le=1)
    benchmark_timeout: float = Field(15.0, gt=0)
    max_steps_per_episode: int = Field(10, ge=1)
    verbose: bool = False
    repeats: int = Field(3, ge=2)
    algorithm: Algorithm = "ppo"
    early_stopping_patience: int | None = Field(None, ge=1)
    seed: int = 0


class RewardSpec(_Strict):
    performance_weight: float = Field(0.5, ge=0)
    stability_weight: float = Field(0.5, ge=0)


class OSConfig(_Strict):
    workload_name: str = Field(min_length=1)
    reward_metric: str = Field(min_length=1)
    benchmark_command: str | list[str]
    action_space: list[ActionSpec] = Field(min_length=1)
    state_space: list[StateSpec] = Field(default_factory=lambda: [
        StateSpec(metric="cpu_usage"), StateSpec(metric="memory_used_percent")])
    training_config: TrainingConfig = Field(default_factory=TrainingConfig)
    reward: RewardSpec = Field(default_factory=RewardSpec)

    @model_validator(mode="after")
    def _check(self) -> OSConfig:
        names = [a.param for a in self.action_space]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"action_space lists {twice} more than once")
        if not self.benchmark_command or (isinstance(self.benchmark_command, str)
                                          and not self.benchmark_command.strip()):
            raise ValueError("benchmark_command must not be empty")
        return self


def load_os_config(source: str | os.PathLike[str] | dict[str, Any]) -> OSConfig:
    """A config from a dict, a JSON file, or a preset name (``memory``, ``network``)."""
    where = "config"
    if isinstance(source, dict):
        raw: Any = source
    else:
        path = Path(source)
        where = str(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RecipeError(f"{path}: no such config file (or use --workload "
                              f"{'/'.join(PRESETS)})") from None
        except IsADirectoryError:
            raise RecipeError(f"{path}: is a directory, expected a JSON config") from None
        except json.JSONDecodeError as exc:
            raise RecipeError(f"{path}: not valid JSON (line {exc.lineno}, column "
                              f"{exc.colno}): {exc.msg}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RecipeError(f"{path}: cannot read the config: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: expected a JSON object with workload_name, "
                          "reward_metric, benchmark_command, action_space")
    try:
        return OSConfig.model_validate(raw)
    except ValidationError as exc:
        raise RecipeError(f"{where}: {_describe(exc)}") from None


def preset(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise RecipeError(f"unknown workload {name!r}; expected one of {list(PRESETS)}")
    text = resources.files("ratchet.plugins.targets.sysctl").joinpath("presets", f"{name}.json")
    return json.loads(text.read_text(encoding="utf-8"))


def to_recipe(config: OSConfig, *, dry_run: bool = False, sysctl_root: str | None = None,
              algorithm: Algorithm | None = None, dashboard_port: int | None = None,
              host: str = "127.0.0.1") -> Recipe:
    t = config.training_config
    algorithm = algorithm or t.algorithm
    strategies: dict[str, dict[str, Any]] = {
        "ppo": {"kind": "ppo", "n_steps": t.n_steps, "batch_size": min(t.batch_size, t.n_steps),
                "n_epochs": t.n_epochs, "learning_rate": t.learning_rate, "gamma": t.gamma,
                "max_steps_per_episode": t.max_steps_per_episode,
                "state_metrics": [s.metric for s in config.state_space]},
        "tpe": {"kind": "tpe"},
        "perturb": {"kind": "perturb", "params_per_step": [1, min(2, len(config.action_space))]},
    }
    raw = {
        "name": re.sub(r"[^A-Za-z0-9_.\-]+", "-", config.workload_name).strip("-.") or "os",
        "seed": t.seed,
        "target": {"kind": "sysctl", "benchmark": config.benchmark_command,
                   "metric": config.reward_metric, "sysctl_root": sysctl_root or "/proc/sys",
                   "dry_run": dry_run, "timeout_s": t.benchmark_timeout,
                   "performance_weight": config.reward.performance_weight,
                   "stability_weight": config.reward.stability_weight,
                   "reference_runs": t.repeats},
        "space": {a.param: {"type": a.type, "low": a.min, "high": a.max}
                  for a in config.action_space},
        "strategy": strategies[algorithm],
        "judge": {"kind": "welch", "batch": t.repeats, "min_samples": max(10, t.repeats),
                  "max_samples": max(30, 3 * t.repeats), "min_improvement": 0.01},
        "schedule": {"max_cycles": t.total_timesteps, "baseline": t.repeats,
                     "failure_backoff_s": 0, "max_consecutive_failures": 5, "pause_s": 10,
                     "early_stop_cycles": t.early_stopping_patience},
    }
    if dashboard_port is not None:
        raw["dashboard"] = {"port": dashboard_port, "host": host}
    return parse_recipe(raw, source=f"config {config.workload_name!r}")
