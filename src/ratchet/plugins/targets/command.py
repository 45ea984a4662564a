"""The ``command`` target: any program whose quality a benchmark command prints.

A challenger is measured from its own copy of the config file (``{config}``); the live
config file is written only by ``apply``, i.e. on promotion, atomically. The benchmark
prints ``wins/draws/losses`` (games) or ``metric: value`` (samples), as lines or one JSON
object; see ``_output``.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from ratchet.core.errors import EvaluationError
from ratchet.core.registry import BuildContext, Spec
from ratchet.core.rundir import children_registry
from ratchet.core.space import Space
from ratchet.core.types import Candidate, EvalTask, Measurement, OutcomeKind
from ratchet.plugins.targets import _config_file, _live_file, _output, _process
from ratchet.plugins.targets._base import Target, starting_values

if TYPE_CHECKING:
    from ratchet.core.store import Store

RESERVED = {"config", "seed", "games", "runs", "champion_config", "workdir", "candidate"}


class CommandTarget(Target):
    name = "command"

    def __init__(self, spec: CommandTargetSpec, workdir: str | os.PathLike[str]):
        self.spec = spec
        self.workdir = Path(workdir).resolve()
        self.config_file = Path(spec.config_file).resolve() if spec.config_file else None
        self.outcome: OutcomeKind = spec.outcome
        self._template: str | None = None
        self._live = _live_file.LiveFile(self.config_file) if self.config_file else None
        self._store: Store | None = None
        self.head_to_head = "champion_config" in self.placeholders()
        self.interleaved = (spec.outcome == "samples" if spec.interleave is None
                            else spec.interleave) and not self.head_to_head

    def placeholders(self) -> set[str]:
        found = _process.placeholders(self.spec.benchmark)
        if self.spec.build:
            found |= _process.placeholders(self.spec.build)
        for value in self.spec.env.values():
            found |= _process.placeholders(value)
        return found

    def baseline(self, space: Space) -> dict[str, Any]:
        values = dict(self.spec.start)
        if self.config_file is not None:
            missing = [n for n in space.names if n not in values]
            values.update(_config_file.read_values(self.config_file, missing))
        return starting_values(space, values)  # neither: the middle of the range

    def evaluate(self, task: EvalTask) -> Measurement:
        try:
            values = self._values(task)
        except _config_file.ConfigFileError as exc:  # e.g. the live file was deleted
            raise EvaluationError(str(exc)) from None
        env = self._environment(task, values)
        if self.spec.build:
            _process.run(_process.fill_command(self.spec.build, values), env=env, cwd=self.spec.cwd,
                         timeout_s=self.spec.timeout_s, what="build", registry=self.children_dir)
        done = _process.run(_process.fill_command(self.spec.benchmark, values), env=env,
                            cwd=self.spec.cwd, timeout_s=self.spec.timeout_s,
                            registry=self.children_dir)
        if self.outcome == "games":
            return _output.games_measurement(done.stdout, done.seconds)
        return _output.samples_measurement(done.stdout, self.spec.metric or "", done.seconds)

    @property
    def children_dir(self) -> Path:
        return children_registry(self.workdir)

    def open(self, store: Store) -> None:
        self._store = store
        if self._live is not None:
            self._live.hold(f"run {Path(store.run_dir).resolve()}")

    def close(self) -> None:
        if self._live is not None:
            self._live.release()
        self._store = None

    def hand_edit(self) -> str | None:
        if self._live is None or self._store is None:
            return None
        return self._live.edited(self._store)

    def live_params(self, space: Space) -> dict[str, Any]:
        if self.config_file is None:
            return self.baseline(space)
        return space.validate(_config_file.read_values(self.config_file, list(space.names)))

    def apply(self, champion: Candidate) -> None:
        if self.config_file is not None and self._live is not None:
            template = _config_file.read_text(self.config_file)
            text = _config_file.render_with(template, self.config_file, champion.params)
            self._live.write(text, self._store)
            self._template = None

    def __getstate__(self) -> dict[str, Any]:
        """Travel with the live config's text, so that a worker on another machine (Ray)
        can write a candidate's config without the loop's disk (nor its store and lock)."""
        if self.config_file is not None and self._template is None:
            self._template = _config_file.read_text(self.config_file)
        state = dict(self.__dict__)
        state.update(_store=None, _live=None)
        return state

    def discard(self, candidate: Candidate) -> None:
        shutil.rmtree(self.workdir / candidate.id, ignore_errors=True)

    def config_path(self, candidate: Candidate) -> Path:
        """The candidate's own config copy (written on first use)."""
        name = self.config_file.name if self.config_file else "params.json"
        path = self.workdir / candidate.id / name
        if not path.exists():
            if self.config_file is not None and self._template is not None:
                _config_file.write_text_with(self._template, path, candidate.params)
            elif self.config_file is not None:
                _config_file.write_with(self.config_file, path, candidate.params)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                _config_file.write_with_new(path, candidate.params)
        return path

    def _values(self, task: EvalTask) -> dict[str, Any]:
        values: dict[str, Any] = dict(task.candidate.params)
        values.update(config=self.config_path(task.candidate), seed=task.seed,
                      games=task.size, runs=task.size, workdir=self.workdir,
                      candidate=task.candidate.id)
        if task.opponent is not None:
            values["champion_config"] = self.config_path(task.opponent)
        return values

    def _environment(self, task: EvalTask, values: Mapping[str, Any]) -> dict[str, str]:
        env = dict(os.environ)
        # `python` in a benchmark means the interpreter ratchet runs in (its virtualenv)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update(RATCHET_CONFIG=str(values["config"]), RATCHET_SEED=str(task.seed),
                   RATCHET_BATCH=str(task.size), RATCHET_CANDIDATE=task.candidate.id,
                   RATCHET_ROLE=task.role)
        env.update({k: _process.fill(v, values) for k, v in self.spec.env.items()})
        return env


class CommandTargetSpec(Spec):
    """Any program whose quality a benchmark command prints."""

    kind: Literal["command"] = "command"
    benchmark: list[str] | str = Field(description="benchmark argv with placeholders "
                                       "({config}, {seed}, {games}, {runs}, {workdir}, "
                                       "{candidate}, {champion_config}, parameter names); a "
                                       "string only with shell: true")
    config_file: str | None = Field(None, description="the live config file (JSON or YAML)"
                                    ": each challenger gets its own copy, the champion "
                                    "is written here on promotion")
    build: list[str] | str | None = Field(None, description="a command run before each "
                                          "benchmark (same placeholders)")
    timeout_s: float = Field(300.0, gt=0, description="seconds before the benchmark's "
                             "process group is killed and the evaluation fails")
    outcome: Literal["games", "samples"] = Field("games", description="games: it prints "
                                                 "wins/draws/losses; samples: metric values")
    metric: str | None = Field(None, description="with outcome: samples, the name of the "
                               "value it prints (`metric: value`)")
    direction: Literal["maximize", "minimize"] = Field("maximize", description="which way "
                                                       "the metric is better")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment "
                                "variables (placeholders allowed)")
    shell: bool = Field(False, description="run benchmark and build through a shell")
    cwd: str | None = Field(None, description="working directory of the benchmark")
    start: dict[str, Any] = Field(default_factory=dict, description="the starting "
                                  "champion's values where no config file holds them")
    interleave: bool | None = Field(None, description="run challenger and champion one run "
                                    "at a time in ABBA order (two timing runs on the same "
                                    "cores disturb each other, and drift cancels in "
                                    "neighbouring pairs); default: on for outcome: samples")

    @model_validator(mode="after")
    def _check(self) -> CommandTargetSpec:
        for key in ("benchmark", "build"):
            value = getattr(self, key)
            if isinstance(value, str) and not self.shell:
                raise ValueError(f"{key} is a string; give a list of arguments, "
                                 "or set shell: true to run it through a shell")
            if isinstance(value, list) and not value:
                raise ValueError(f"{key} must not be empty")
        if self.outcome == "samples" and not self.metric:
            raise ValueError("outcome: samples needs metric: the name of the value to read")
        if self.interleave and self.outcome != "samples":
            raise ValueError("interleave applies to outcome: samples (games are paired by "
                             "seed already)")
        return self

    def check_space(self, space: Space) -> None:
        allowed = RESERVED | set(space.names)
        used = _process.placeholders(self.benchmark) | (
            _process.placeholders(self.build) if self.build else set())
        for value in self.env.values():
            used |= _process.placeholders(value)
        unknown = used - allowed
        if unknown:
            raise ValueError(f"target: unknown placeholders "
                             f"{sorted('{' + u + '}' for u in unknown)}; expected one of "
                             f"{sorted(RESERVED)} or a parameter name")

    def create(self, context: BuildContext) -> CommandTarget:
        return CommandTarget(self, context.work_dir)
