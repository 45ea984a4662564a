"""The Python API example (examples/classifier/), run as a user runs it, beside its plain
Optuna counterpart that docs/tutorial.md compares it with."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "classifier"


def test_the_example_tunes_the_classifier_and_prints_its_champion(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE / "tune.py"), "6"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    found = re.search(r"score (0\.\d+) \[(0\.\d+), (0\.\d+)\] \(95%\)", line)
    assert line.startswith("champion v") and "lr=" in line and found, line
    low, score, high = float(found[2]), float(found[1]), float(found[3])
    assert 0.5 < low <= score <= high <= 1.0
    assert "baseline" in done.stderr and "cycle" in done.stderr
    assert (tmp_path / "runs" / "accuracy" / "ratchet.db").exists()


def test_the_optuna_counterpart_runs_the_same_objective(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE / "optuna_quickstart.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "'epochs'" in done.stdout
