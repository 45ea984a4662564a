from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ratchet.plugins.targets.sysctl.workloads import synthetic

ROOT = Path(__file__).resolve().parents[3]
SYNTHETIC = Path(synthetic.__file__)
FAILING = ROOT / "tests" / "fixtures" / "sysctl_bench.py"


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file's text and modification time: what "nothing was written" means."""
    return {str(p.relative_to(root)): (p.read_text(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def values(root: Path) -> dict[str, str]:
    return {k: v[0].strip() for k, v in snapshot(root).items()}


def os_config(tmp: Path, *, benchmark: str | None = None, steps: int = 6,
              **training: Any) -> Path:
    config = {
        "workload_name": "test-workload",
        "reward_metric": "operations_per_second",
        "benchmark_command": benchmark or f"{sys.executable} {SYNTHETIC}",
        "action_space": [{"param": "vm.swappiness", "min": 0, "max": 100, "type": "int"},
                         {"param": "vm.dirty_ratio", "min": 5, "max": 80, "type": "int"},
                         {"param": "vm.vfs_cache_pressure", "min": 10, "max": 200,
                          "type": "int"}],
        "training_config": {"total_timesteps": steps, "n_steps": 4, "batch_size": 4,
                            "benchmark_timeout": 5, **training},
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    return path


def ratchet(*args: Any, timeout: float = 180, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = synthetic.make_tree(tmp_path / "sys")
    (root / "vm" / "dirty_background_ratio").write_text("10\n")
    return root
