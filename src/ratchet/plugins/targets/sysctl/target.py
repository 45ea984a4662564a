"""The ``sysctl`` target: kernel parameters measured by a benchmark, and always put back.

Safety, in order:
1. ``open`` (before anything is written) stores the original values in the run's store,
   committed, and marks the system as possibly changed. If that mark is still there from
   a run that died (kill -9, power loss), the originals are written back first.
2. Every write is checked first (whitelist, existence, type, range: ``SysctlTree.check``).
3. An evaluation writes the candidate's values, runs the benchmark, and writes back what
   was live before it, under a file lock, so two evaluations never mix their settings.
4. ``close`` (completion, stop, error) writes the originals back and clears the mark;
   ``ratchet sysctl restore`` does the same by hand.

With ``dry_run`` nothing is written, ever; everything else runs (the benchmark sees the
values it would have been given in ``RATCHET_PARAMS``).

Challenger and champion runs are always interleaved (``_interleave``): one configuration is
live at a time, and a machine's speed drifts between blocks of runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shlex
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from typing_extensions import TypedDict  # pydantic reads it before Python 3.12

from ratchet.core.errors import EvaluationError
from ratchet.core.rundir import children_registry
from ratchet.core.space import Space
from ratchet.core.store import StateKey
from ratchet.core.types import Candidate, EvalTask, Measurement
from ratchet.plugins.targets import _interleave, _output, _process
from ratchet.plugins.targets._base import Target
from ratchet.plugins.targets.sysctl import reward
from ratchet.plugins.targets.sysctl.tree import (
    SysctlError,
    SysctlTree,
    format_value,
    permission_message,
    write_raw,
)

if TYPE_CHECKING:
    from ratchet.core.store import Store
    from ratchet.plugins.targets.sysctl.spec import SysctlTargetSpec

log = logging.getLogger("ratchet.sysctl")



class Originals(TypedDict):
    root: str
    values: dict[str, str]
    saved_at: float


class Changed(TypedDict):
    pid: int
    since: float


# the values before the run's first write; "changed" while values may differ from them
ORIGINALS = StateKey("sysctl.originals", Originals)
CHANGED = StateKey("sysctl.changed", Changed)
REFERENCE = StateKey("sysctl.reference", dict[str, Any])  # the champion's first measurement


class SysctlTarget(Target):
    name = "sysctl"
    outcome = "samples"
    interleaved = True
    batch_is_unit = True  # every run's reward holds its batch's stability

    def __init__(self, spec: SysctlTargetSpec, space: Space, workdir: str | os.PathLike[str]):
        self.spec = spec
        benchmark = spec.benchmark
        self.argv = shlex.split(benchmark) if isinstance(benchmark, str) else list(benchmark)
        if not self.argv:
            raise SysctlError("the benchmark command is empty")
        self.tree = SysctlTree(space, spec.sysctl_root)
        self.workdir = Path(workdir).resolve()
        self.weights = reward.Weights(spec.performance_weight, spec.stability_weight)
        self.reference: float | None = None
        self._store: Store | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}  # workers never touch the store

    # -- lifecycle ------------------------------------------------------------------
    def open(self, store: Store) -> None:
        self._store = store
        self.workdir.mkdir(parents=True, exist_ok=True)
        if store.get(ORIGINALS) is not None and store.get(CHANGED):
            restored = restore_originals(store, self.tree.root)
            msg = (f"restored {len(restored)} kernel parameters left changed by a run that "
                   "did not finish")
            log.warning(msg)
            store.event("sysctl_restored", msg, level="warning", values=restored)
        if store.get(ORIGINALS) is None:
            originals = self.tree.read_all()
            for name in originals:
                self.tree.read(name)  # a parameter that is not one number is refused now
            store.put(ORIGINALS, {"root": str(self.tree.root),
                                               "values": originals, "saved_at": time.time()})
            store.event("sysctl_originals", f"stored the original values of "
                        f"{len(originals)} kernel parameters", values=originals)
        if not self.spec.dry_run:
            unwritable = self.tree.unwritable()
            if unwritable:
                raise SysctlError(permission_message(unwritable[0]))
        reference = store.get(REFERENCE)
        if reference is None:
            reference = self._measure_reference()
            store.put(REFERENCE, reference)
        self.reference = float(reference["performance"])
        if not self.spec.dry_run:  # from here on, values may be changed
            store.put(CHANGED, {"pid": os.getpid(), "since": time.time()})

    def close(self) -> None:
        store, self._store = self._store, None
        if store is None or self.spec.dry_run:
            return
        restored = restore_originals(store, self.tree.root)
        log.info("restored %d kernel parameters to their original values", len(restored))
        store.event("sysctl_restored", f"restored {len(restored)} kernel parameters to their "
                    "original values", values=restored)

    def _measure_reference(self) -> dict[str, Any]:
        """The original configuration's mean metric: what ``performance`` 1.0 means."""
        log.info("measuring the original configuration (%d runs)", self.spec.reference_runs)
        results, reasons = self._run_benchmark(None, seed=0, runs=self.spec.reference_runs)
        ok = [r for r in results if r is not None]
        if not ok:
            raise SysctlError(f"the benchmark fails with the original values: {reasons[0]}")
        mean = statistics.fmean(ok)
        if mean <= 0:
            raise SysctlError(f"the benchmark's {self.spec.metric} is {mean:g} with the original "
                              "values; a positive number (higher is better) is expected")
        return {"performance": mean, "runs": results, "measured_at": time.time()}

    # -- the Target protocol --------------------------------------------------------
    def baseline(self, space: Space) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for p in space:
            current = self.tree.read(p.name)
            values[p.name] = p.clip(current)
            if values[p.name] != current:
                log.warning("%s is %s, outside the range [%s, %s]: the starting champion "
                            "uses %s", p.name, current, p.low, p.high, values[p.name])
        return space.validate(values)

    def apply(self, champion: Candidate) -> None:
        if self.spec.dry_run:
            log.info("dry run: would set %s", _assignments(champion.params))
            return
        with self._lock():
            self.tree.write(champion.params)

    def evaluate(self, task: EvalTask) -> Measurement:
        if self.reference is None:
            raise EvaluationError("the sysctl target was not opened (no reference measured)")
        started = time.monotonic()
        try:
            results, reasons = self._run_benchmark(task.candidate.params, task.seed, task.size)
        except SysctlError as exc:
            raise EvaluationError(str(exc)) from None
        return self._measurement(task, results, reasons, time.monotonic() - started)

    def evaluate_interleaved(self, first: EvalTask,
                             second: EvalTask) -> tuple[Measurement, Measurement]:
        """One configuration live per run, alternating ABBA; each side's stability is that
        of its own runs in this batch, as in ``evaluate``."""
        if self.reference is None:
            raise EvaluationError("the sysctl target was not opened (no reference measured)")
        def run_one(single: EvalTask) -> tuple[list[float | None], list[str], float]:
            started = time.monotonic()
            try:
                done, why = self._run_benchmark(single.candidate.params, single.seed, 1)
            except SysctlError as exc:
                raise EvaluationError(str(exc)) from None
            return done, why, time.monotonic() - started

        tasks = (first, second)
        measured = []
        for side, runs in enumerate(_interleave.alternate(first, second, run_one)):
            results = [r for done, _, _ in runs for r in done]
            reasons = [w for _, why, _ in runs for w in why]
            try:
                measured.append(self._measurement(tasks[side], results, reasons,
                                                  sum(s for _, _, s in runs), ordered=True))
            except EvaluationError as exc:
                raise _interleave.PairedRunFailed(side, str(exc)) from None
        return measured[0], measured[1]

    def _measurement(self, task: EvalTask, results: list[float | None], reasons: list[str],
                     seconds: float, ordered: bool = False) -> Measurement:
        assert self.reference is not None
        if not any(r is not None for r in results):
            raise EvaluationError(f"every benchmark run failed: {reasons[0]}")
        for why in reasons:
            log.warning("candidate %s: a benchmark run failed: %s", task.candidate.id, why)
        stable = reward.stability(results)
        performance = statistics.fmean(r for r in results if r is not None)
        metrics = {"performance": performance,
                   "performance_score": performance / self.reference,
                   "stability": stable, "failures": float(len(reasons)),
                   "cpu_usage": psutil.cpu_percent(interval=None),
                   "memory_used_percent": psutil.virtual_memory().percent}
        scores = reward.rewards(results, self.reference, self.weights, stable)
        return Measurement("samples", tuple(scores), ordered=ordered, errors=len(reasons),
                           cost_s=seconds, metrics=metrics)

    # -- measuring ------------------------------------------------------------------
    def _run_benchmark(self, params: dict[str, Any] | None, seed: int,
                       runs: int) -> tuple[list[float | None], list[str]]:
        """Run the benchmark ``runs`` times with ``params`` live (None: as they are), then
        put back what was live. Each run's metric, None where it failed, and why."""
        with self._lock():
            previous = None
            if params is not None and not self.spec.dry_run:
                previous = self.tree.read_all()
                self.tree.write(params)  # checks everything before the first write
            try:
                results: list[float | None] = []
                reasons: list[str] = []
                for i in range(runs):
                    try:
                        done = _process.run(self.argv, env=self._environment(params, seed + i),
                                            cwd=self.spec.cwd, timeout_s=self.spec.timeout_s,
                                            registry=children_registry(self.workdir))
                        results.append(_output.samples_measurement(
                            done.stdout, self.spec.metric, done.seconds).mean)
                    except EvaluationError as exc:
                        results.append(None)
                        reasons.append(str(exc))
                return results, reasons
            finally:
                if previous is not None:
                    self.tree.restore(previous)

    def _environment(self, params: dict[str, Any] | None, seed: int) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update(RATCHET_SYSCTL_ROOT=str(self.tree.root), RATCHET_SEED=str(seed),
                   RATCHET_DRY_RUN="1" if self.spec.dry_run else "0",
                   RATCHET_PARAMS=json.dumps(params or {}))
        return env

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "sysctl.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def restore_originals(store: Store, root: str | os.PathLike[str] | None = None
                      ) -> dict[str, str]:
    """Write back the values stored before the run's first write, then clear the
    "changed" mark. ``root`` overrides the stored sysctl root."""
    saved = store.get(ORIGINALS)
    if saved is None:
        raise SysctlError(f"{store.run_dir} holds no original sysctl values (not a sysctl "
                          "run, or it never started)")
    values: dict[str, str] = saved["values"]
    write_raw(Path(root or saved["root"]), values)  # only names this run read itself
    store.put(CHANGED, None)
    return values


def _assignments(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={format_value(v)}" for k, v in params.items())
