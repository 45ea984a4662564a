"""The exit codes the README documents, each produced by a real `ratchet` process: the
table in the README and the codes walked here must be the same set."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, write_recipe


def ratchet(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def documented_codes() -> set[int]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("Exit codes", 1)[1].split("\n\n", 2)[1]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}


FULL_DISK_TEST = ("tests/service/test_hardening.py",
                  "test_a_full_disk_stops_the_daemon_with_exit_75_and_says_so")


def test_the_readme_documents_exactly_the_codes_walked_here():
    walked = {0, 1, 2}
    path, name = FULL_DISK_TEST  # 75 needs a full disk: a tmpfs, as root, in its own test
    assert f"def {name}(" in (ROOT / path).read_text()
    assert documented_codes() == walked | {75}


@pytest.mark.slow
def test_each_documented_exit_code(tmp_path: Path):
    recipe = write_recipe(tmp_path)
    run_dir = tmp_path / "run"

    done = ratchet("run", recipe, "--max-cycles", 1, "--run-dir", run_dir, "-q")
    assert done.returncode == 0, done.stderr

    failed = ratchet("run", recipe, "--max-cycles", 2, "--run-dir", tmp_path / "failing", "-q",
                     env={"TOY_MODE": "fail"})
    assert failed.returncode == 1 and "every cycle failed" in failed.stderr, failed.stderr

    started = ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.2"})
    assert started.returncode == 0, started.stderr
    try:
        again = ratchet("start", recipe, "--run-dir", run_dir)
        assert again.returncode == 1 and "already running" in again.stderr, again.stderr
        foreground = ratchet("run", recipe, "--run-dir", run_dir, "-q")
        assert foreground.returncode == 1 and "already running" in foreground.stderr
    finally:
        assert ratchet("stop", recipe, "--run-dir", run_dir).returncode == 0

    bad_recipe = tmp_path / "bad.yaml"
    bad_recipe.write_text("name: bad\ntarget: {kind: nonsense}\n")
    for mistake in (ratchet("run", bad_recipe), ratchet("status", "--run-dir", tmp_path / "no"),
                    ratchet("run", recipe, "--max-cycles", 0),
                    ratchet("history", tmp_path / "missing.yaml")):
        assert mistake.returncode == 2, mistake.stderr
        assert "Traceback" not in mistake.stderr and mistake.stderr.strip(), mistake.stderr
