"""The `sysctl` target's recipe section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ratchet.core.registry import BuildContext
from ratchet.core.space import Space
from ratchet.plugins.targets._base import MaximizedSamplesSpec, Target


class SysctlTargetSpec(MaximizedSamplesSpec):
    """Kernel parameters, measured by a benchmark and always put back
    (docs/targets/sysctl.md)."""

    kind: Literal["sysctl"] = "sysctl"
    benchmark: list[str] | str = Field(description="benchmark argv; a string is split like a "
                                       "shell would, and never run by one")
    metric: str = Field(description="the value the benchmark prints (`metric: value`), "
                        "higher is better")
    sysctl_root: str = Field("/proc/sys", description="where kernel parameters live "
                             "(a directory tree of files in tests)")
    dry_run: bool = Field(False, description="write nothing; measure the system as it is")
    timeout_s: float = Field(15.0, gt=0, description="seconds before a benchmark run is "
                             "killed and counted as failed")
    performance_weight: float = Field(0.5, ge=0, description="reward weight of the metric "
                                      "over the original values' mean")
    stability_weight: float = Field(0.5, ge=0, description="reward weight of the runs' "
                                    "stability (successes, spread, load)")
    reference_runs: int = Field(3, ge=1, description="runs measuring the original values")
    cwd: str | None = Field(None, description="working directory of the benchmark")

    @model_validator(mode="after")
    def _check(self) -> SysctlTargetSpec:
        if not self.benchmark or (isinstance(self.benchmark, str)
                                  and not self.benchmark.strip()):
            raise ValueError("benchmark must not be empty")
        if self.performance_weight + self.stability_weight <= 0:
            raise ValueError("performance_weight + stability_weight must be above 0")
        return self

    def check_space(self, space: Space) -> None:
        from ratchet.plugins.targets.sysctl.tree import SysctlError, check_space

        try:
            check_space(space)
        except SysctlError as exc:
            raise ValueError(str(exc)) from None

    def create(self, context: BuildContext) -> Target:
        from ratchet.plugins.targets.sysctl.target import SysctlTarget

        return SysctlTarget(self, context.space, context.work_dir)
