"""Day-one figures (issue 43): the two newcomer tasks in ratchet and in plain Optuna
(lines of code), `ratchet --help` and `--version` wall time (median of 10), and the
wheel (its size, the dashboard's chart library inside it).

    python -m bench.day_one [--no-save]

Lines of code: lines that are neither blank, nor comments, nor a module's docstring.
The concepts of each task are named in docs/tutorial.md (a reader's count, not this one).
"""

from __future__ import annotations

import argparse
import ast
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench._results import ROOT, add_arguments, recorded

TASKS = {
    "a command benchmark with a constraint (compress)": {
        "ratchet": ["recipes/compress.yaml"],
        "optuna": ["examples/compress/optuna_tune.py"]},
    "the Python API on a numpy classifier": {
        "ratchet": ["examples/classifier/tune.py"],
        "optuna": ["examples/classifier/optuna_quickstart.py"]},
}


def code_lines(path: Path) -> int:
    text = path.read_text()
    skip: set[int] = set()
    if path.suffix == ".py":
        body = ast.parse(text).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip = set(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return sum(1 for i, line in enumerate(text.splitlines(), 1)
               if i not in skip and line.strip() and not line.strip().startswith("#"))


def wall_times(args: list[str], repeats: int = 10) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ratchet", *args], capture_output=True,
                       check=True, timeout=60)
        times.append(time.perf_counter() - started)
    return times


def wheel_figures() -> tuple[int, bool, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "-q", "-w", tmp, str(ROOT)], check=True,
                       capture_output=True, timeout=600)
        (wheel,) = Path(tmp).glob("ratchet-*.whl")
        names = zipfile.ZipFile(wheel).namelist()
        vendored = [n for n in names if "/static/vendor/" in n]
        return wheel.stat().st_size, any(n.endswith("uPlot.iife.min.js") for n in names), \
            vendored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    with recorded("day-one", "Day one: newcomer tasks, CLI start-up, the wheel", args):
        print("lines of code (not blank, comments or docstrings):")
        for task, sides in TASKS.items():
            counts = {side: sum(code_lines(ROOT / f) for f in files)
                      for side, files in sides.items()}
            print(f"  {task}: ratchet {counts['ratchet']} ({', '.join(sides['ratchet'])}), "
                  f"Optuna {counts['optuna']} ({', '.join(sides['optuna'])})")
        for flags in (["--help"], ["--version"]):
            times = wall_times(flags)
            print(f"ratchet {flags[0]}: median {statistics.median(times):.3f} s of 10 "
                  f"(min {min(times):.3f}, max {max(times):.3f}); python -m ratchet")
        size, charts, vendored = wheel_figures()
        print(f"wheel: {size / 1024:.0f} KiB; chart library inside: {charts} "
              f"({', '.join(Path(n).name for n in vendored)})")
        print("the wheel in a fresh venv serving its charts: tests/test_wheel.py")


if __name__ == "__main__":
    main()
