"""A test workload whose speed depends on the values in a sysctl tree, with a known optimum.

It reads vm.swappiness, vm.dirty_ratio, vm.dirty_background_ratio and vm.vfs_cache_pressure
from ``$RATCHET_SYSCTL_ROOT`` (or ``--root``), computes ``true_performance`` of them and
prints it with realistic noise: multiplicative log-normal (3%) and, one run in thirty, a
slow run at 70% (a page-cache hiccup). With ``RATCHET_DRY_RUN=1`` it reads the values it
would have been given from ``RATCHET_PARAMS`` instead, as a real benchmark could not.

    python -m ratchet.plugins.targets.sysctl.workloads.synthetic --root /tmp/fake-sys
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Mapping
from pathlib import Path

RANGES = {"vm.swappiness": (0, 100), "vm.dirty_ratio": (5, 80),
          "vm.dirty_background_ratio": (1, 50), "vm.vfs_cache_pressure": (10, 200)}
OPTIMUM = {"vm.swappiness": 10, "vm.dirty_ratio": 40, "vm.dirty_background_ratio": 8,
           "vm.vfs_cache_pressure": 60}
LINUX_DEFAULTS = {"vm.swappiness": 60, "vm.dirty_ratio": 20, "vm.dirty_background_ratio": 10,
                  "vm.vfs_cache_pressure": 100}
PEAK = 10_000.0
_CURVATURE = {"vm.swappiness": 1.6, "vm.dirty_ratio": 1.2, "vm.dirty_background_ratio": 0.8,
              "vm.vfs_cache_pressure": 0.6}


def true_performance(values: Mapping[str, float]) -> float:
    """Operations per second without noise; ``PEAK`` at ``OPTIMUM``. Background writeback
    starting above half of dirty_ratio costs extra (the two interact)."""
    penalty = 0.0
    for name, k in _CURVATURE.items():
        low, high = RANGES[name]
        penalty += k * ((values[name] - OPTIMUM[name]) / (high - low)) ** 2
    penalty += max(0.0, values["vm.dirty_background_ratio"] - values["vm.dirty_ratio"] / 2) / 50
    return PEAK * math.exp(-penalty)


def make_tree(root: str | os.PathLike[str],
              values: Mapping[str, float] | None = None) -> Path:
    """A directory tree of files standing in for /proc/sys (Linux defaults)."""
    root = Path(root)
    for name, value in (values or LINUX_DEFAULTS).items():
        path = root.joinpath(*name.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n", encoding="ascii")
    return root


def read_values(root: Path) -> dict[str, float]:
    values = {name: float(root.joinpath(*name.split(".")).read_text().strip())
              for name in RANGES}
    if os.environ.get("RATCHET_DRY_RUN") == "1":
        values.update(json.loads(os.environ.get("RATCHET_PARAMS") or "{}"))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("RATCHET_SYSCTL_ROOT", "/proc/sys"))
    parser.add_argument("--seconds", type=float, default=0.0, help="time to spend")
    parser.add_argument("--noise", type=float, default=0.03, help="log-normal sd")
    args = parser.parse_args(argv)
    seed = os.environ.get("RATCHET_SEED")
    rng = random.Random(int(seed) if seed else None)
    try:
        values = read_values(Path(args.root))
    except (OSError, ValueError) as exc:
        print(f"cannot read the parameters under {args.root}: {exc}", file=sys.stderr)
        return 1
    time.sleep(args.seconds)
    speed = true_performance(values) * math.exp(rng.gauss(0.0, args.noise))
    if rng.random() < 1 / 30:
        speed *= 0.7
    print(f"operations_per_second: {speed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
