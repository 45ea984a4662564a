"""The originals come back after a normal end, SIGTERM, and kill -9 + restart (or by hand);
a dry run writes nothing; failing and hanging benchmarks do not stop tuning."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ratchet.core.store import Store
from ratchet.plugins.targets.sysctl.target import CHANGED, ORIGINALS
from tests.targets.sysctl.conftest import FAILING, SYNTHETIC, os_config, ratchet, snapshot, values


def tune(config, tree, run_dir, *extra):
    return ratchet("tune-os", config, "--sysctl-root", tree, "--run-dir", run_dir, "--json",
                   *extra)


@pytest.mark.slow
def test_normal_end_restores_the_originals_and_reports_the_best(tmp_path, tree):
    originals = values(tree)
    done = tune(os_config(tmp_path, steps=6), tree, tmp_path / "run")  # ppo, the default
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert values(tree) == originals
    assert result["steps"] == 6 and set(result["best_config"]) == {
        "vm.swappiness", "vm.dirty_ratio", "vm.vfs_cache_pressure"}
    assert result["original_performance"] > 0 and result["improvement"] is not None
    with Store(tmp_path / "run") as store:
        saved = store.get(ORIGINALS)["values"]
        assert saved == {"vm.swappiness": "60", "vm.dirty_ratio": "20",
                         "vm.vfs_cache_pressure": "100"}
        assert store.get(CHANGED) is None
        kinds = [e["kind"] for e in store.events(limit=1000)]
        assert kinds.index("sysctl_originals") < kinds.index("run_created")


def _slow_config(tmp_path):
    return os_config(tmp_path, steps=200,
                     benchmark=f"{sys.executable} {SYNTHETIC} --seconds 0.4")


def _start_slow(tmp_path, tree, run_dir):
    config = _slow_config(tmp_path)
    return subprocess.Popen([sys.executable, "-m", "ratchet", "tune-os", config,
                             "--sysctl-root", tree, "--run-dir", run_dir, "--quiet",
                             "--algorithm", "perturb"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_until_changed(tree, originals, proc, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"tune-os ended early: {proc.stderr.read()}")
        try:
            if values(tree) != originals:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    pytest.fail("the tree never changed")


@pytest.mark.slow
def test_sigterm_restores_the_originals(tmp_path, tree):
    originals = values(tree)
    proc = _start_slow(tmp_path, tree, tmp_path / "run")
    _wait_until_changed(tree, originals, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.stderr.read()
    assert values(tree) == originals


def _kill_9_while_changed(tmp_path, tree, run_dir):
    """SIGKILL at a moment the tree holds a challenger's values. The process is frozen
    (SIGSTOP) before the tree is read, so the values read are the ones it dies with: on a
    loaded machine it may put the originals back between a read and an unfrozen kill."""
    originals = values(tree)
    proc = _start_slow(tmp_path, tree, run_dir)
    for _ in range(50):
        _wait_until_changed(tree, originals, proc)
        proc.send_signal(signal.SIGSTOP)
        try:
            if values(tree) != originals:
                break
        except (OSError, ValueError):
            pass
        proc.send_signal(signal.SIGCONT)
    proc.kill()
    proc.wait(10)
    assert values(tree) != originals  # the crash left a challenger's values in place
    return originals


@pytest.mark.slow
def test_kill_9_then_restart_restores_first(tmp_path, tree):
    run_dir = tmp_path / "run"
    originals = _kill_9_while_changed(tmp_path, tree, run_dir)
    done = tune(_slow_config(tmp_path), tree, run_dir, "--algorithm", "perturb", "--steps", "1")
    assert done.returncode == 0, done.stderr
    assert values(tree) == originals
    with Store(run_dir) as store:
        messages = [e["message"] for e in store.events(limit=1000)]
    assert any("left changed by a run that did not finish" in m for m in messages)


@pytest.mark.slow
def test_kill_9_then_restore_by_hand(tmp_path, tree):
    run_dir = tmp_path / "run"
    originals = _kill_9_while_changed(tmp_path, tree, run_dir)
    done = ratchet("sysctl", "restore", "--run-dir", run_dir)
    assert done.returncode == 0, done.stderr
    assert "restored 3 kernel parameters" in done.stdout
    assert values(tree) == originals


@pytest.mark.slow
def test_dry_run_writes_nothing(tmp_path, tree):
    before = snapshot(tree)
    done = tune(os_config(tmp_path, steps=4), tree, tmp_path / "run", "--dry-run",
                "--algorithm", "tpe")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dry_run"] is True
    assert snapshot(tree) == before


@pytest.mark.slow
def test_failing_and_hanging_benchmarks_do_not_stop_tuning(tmp_path, tree):
    config = os_config(tmp_path, steps=6, benchmark=f"{sys.executable} {FAILING} {tree}",
                       benchmark_timeout=1)
    data = json.loads(config.read_text())
    data["action_space"][0]["min"] = 70   # swappiness above 80 hangs
    data["action_space"][1]["min"] = 60   # dirty_ratio above 70 fails
    (tree / "vm" / "swappiness").write_text("75\n")
    (tree / "vm" / "dirty_ratio").write_text("65\n")
    config.write_text(json.dumps(data))
    originals = values(tree)
    done = tune(config, tree, tmp_path / "run", "--algorithm", "tpe")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"] == 6
    assert values(tree) == originals
    with Store(tmp_path / "run") as store:
        reasons = [r.reason or "" for r in store.evaluations() if not r.ok]
        decisions = [d.decision.value for d in store.decisions()]
    assert any("timed out" in r or "exited with code 3" in r for r in reasons), reasons
    assert "failed" in decisions and len(decisions) == 6


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"),
                    reason="needs setpriv to drop root's permission override")
def test_without_privileges_a_clear_message(tmp_path, tree):
    for path in tree.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    config = os_config(tmp_path, steps=1)
    before = snapshot(tree)
    command = [sys.executable, "-m", "ratchet", "tune-os", str(config), "--sysctl-root",
               str(tree), "--run-dir", str(tmp_path / "run"), "--quiet"]
    if os.geteuid() == 0:  # root without CAP_DAC_OVERRIDE obeys the files' modes
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "--dry-run" in done.stderr and "run as root" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(tree) == before
