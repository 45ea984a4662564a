"""The daemon with real processes and signals: start, status, stop, locks, faults."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ratchet.core.rundir import RunDir
from ratchet.core.store import Store
from ratchet.engine.race import RACE_KEY
from ratchet.service.pidfile import running_pid
from tests.conftest import write_recipe
from tests.test_loop import audit


def ratchet(*args, env=None, check=True, timeout=120):
    proc = subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def status(run_dir):
    return json.loads(ratchet("status", "--run-dir", run_dir, "--json").stdout)


@pytest.fixture
def daemon(tmp_path):
    """A toy recipe; stops whatever daemon a test leaves running."""
    recipe = write_recipe(tmp_path)
    run_dir = tmp_path / "run"
    yield recipe, run_dir
    info = running_pid(run_dir) if run_dir.exists() else None
    if info is not None:
        os.kill(info.pid, signal.SIGKILL)


@pytest.mark.slow
def test_start_status_stop(daemon):
    recipe, run_dir = daemon
    out = ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.1"}).stdout
    assert "started toy: pid" in out and "ratchet stop --run-dir" in out
    wait_for(lambda: status(run_dir)["promotions"] >= 1 or status(run_dir)["cycle"] >= 3,
             what="a few cycles")
    s = status(run_dir)
    assert s["running"] and s["mode"] == "daemon" and s["pid"] == running_pid(run_dir).pid
    assert s["uptime_s"] > 0 and s["best"]["score"]["n"] > 0
    # a second daemon on the same run is refused, exit code 1
    again = ratchet("start", recipe, "--run-dir", run_dir, check=False)
    assert again.returncode == 1 and "already running" in again.stderr
    old_pid = s["pid"]
    assert "started toy" in ratchet("restart", "--run-dir", run_dir).stdout
    assert status(run_dir)["pid"] not in (None, old_pid)
    follow = subprocess.Popen([sys.executable, "-m", "ratchet", "logs", "-f", "-n", "0",
                               "--run-dir", str(run_dir)], stdout=subprocess.PIPE, text=True)
    line = follow.stdout.readline()  # a new line written by the running daemon
    follow.kill()
    assert "ratchet." in line
    assert "stopped pid" in ratchet("stop", "--run-dir", run_dir).stdout
    assert not RunDir(run_dir).pid.exists()
    s = status(run_dir)
    assert not s["running"] and s["best"]["version"] == s["promotions"]
    assert s["ended_uncleanly"] is None  # it stopped as asked
    assert "not running" in ratchet("stop", "--run-dir", run_dir).stdout
    log = ratchet("logs", "--run-dir", run_dir, "-n", "200").stdout  # the newest start's
    assert re.search(r"ratchet\.loop: cycle \d+", log) and "exiting" in log


@pytest.mark.slow
def test_named_runs_side_by_side(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipes = {}
    for name in ("alpha", "beta"):  # each run owns its live config file
        (tmp_path / name).mkdir()
        recipes[name] = write_recipe(tmp_path / name)
    try:
        for name in ("alpha", "beta"):
            ratchet("start", recipes[name], "--name", name, env={"TOY_DELAY": "0.1"})
        for name in ("alpha", "beta"):
            s = json.loads(ratchet("status", "--name", name, "--json").stdout)
            assert s["running"] and s["name"] == name
    finally:
        for name in ("alpha", "beta"):
            ratchet("stop", "--name", name, check=False)


@pytest.mark.slow
def test_stale_pid_file_is_replaced(daemon):
    recipe, run_dir = daemon
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--quiet")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = json.dumps({"pid": dead.pid, "started_at": 0})
    RunDir(run_dir).pid.write_text(stale)
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--quiet")
    assert "replaced a stale pid file" in ratchet("logs", "--run-dir", run_dir).stdout
    RunDir(run_dir).pid.write_text(stale)
    assert not status(run_dir)["running"]  # status sees the lock is free...
    assert not RunDir(run_dir).pid.exists()  # ...and clears the stale file


def test_sigterm_during_a_hanging_benchmark_stops_within_the_bound(daemon):
    recipe, run_dir = daemon
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_MODE": "hang"})
    children = wait_for(lambda: [p for p in RunDir(run_dir).children.glob("*")],
                        what="the benchmark to start")
    child = psutil.Process(int(children[0].name))
    t = time.monotonic()
    ratchet("stop", "--run-dir", run_dir, "--timeout", "15")
    assert time.monotonic() - t < 10
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    store = Store(run_dir)
    assert store.evaluations() == []  # the killed evaluation was discarded, not recorded
    assert [e["kind"] for e in store.events()][-1] == "loop_stopped"


@pytest.mark.slow
def test_kill_9_leaves_no_orphan_benchmark_behind(daemon):
    recipe, run_dir = daemon
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_MODE": "hang"})
    entry = wait_for(lambda: list(RunDir(run_dir).children.glob("*")), what="benchmark")[0]
    orphan = psutil.Process(int(entry.name))
    os.kill(running_pid(run_dir).pid, signal.SIGKILL)
    time.sleep(0.5)
    assert orphan.is_running()  # kill -9 cannot clean up...
    ended = wait_for(lambda: status(run_dir)["ended_uncleanly"], what="status to see the end")
    assert "without stopping cleanly" in ended and "kill -9" in ended
    ratchet("start", recipe, "--run-dir", run_dir)  # ...so the next start does
    wait_for(lambda: not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE,
             what="the orphan to be killed")
    ratchet("stop", "--run-dir", run_dir)


@pytest.mark.slow
def test_status_names_a_crash_in_native_code(daemon):
    """A daemon that dies of a signal Python cannot handle (SIGSEGV, SIGBUS: a store file
    made immutable under sqlite's memory map) leaves no log line; status says what the
    fault handler printed."""
    recipe, run_dir = daemon
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_MODE": "hang"})
    wait_for(lambda: list(RunDir(run_dir).children.glob("*")), what="the benchmark to start")
    wait_for(lambda: status(run_dir)["phase"] == "starting", what="the loop to start")
    daemon_process = psutil.Process(running_pid(run_dir).pid)
    os.kill(daemon_process.pid, signal.SIGSEGV)
    wait_for(lambda: not status(run_dir)["running"], what="the daemon to end")
    assert "Segmentation fault" in status(run_dir)["ended_uncleanly"]
    assert "Segmentation fault" in ratchet("status", "--run-dir", run_dir).stdout
    ratchet("start", recipe, "--run-dir", run_dir)  # the next start reaps its benchmark
    ratchet("stop", "--run-dir", run_dir)


@pytest.mark.slow
def test_stop_file_and_pause(daemon):
    recipe, run_dir = daemon
    assert ratchet("pause", "--run-dir", run_dir, check=False).returncode == 2  # no run yet
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--quiet")
    ratchet("pause", "--run-dir", run_dir)  # a stopped run starts paused
    ratchet("start", recipe, "--run-dir", run_dir)
    s = wait_for(lambda: (lambda s: s if s["paused"] else None)(status(run_dir)),
                 what="paused status")
    assert s["pause_reason"] == "paused by request"
    ratchet("resume", "--run-dir", run_dir)
    wait_for(lambda: status(run_dir)["cycle"] >= 2, what="cycles after resume")
    (run_dir / "stop").touch()
    wait_for(lambda: running_pid(run_dir) is None, what="stop file honoured")


def _descendants(pid: int) -> set[psutil.Process]:
    try:
        return set(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return set()


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_chaos_kill_9_at_random_moments_over_a_promoting_run(tmp_path):
    """12+ kill -9 of the daemon at random moments (start-up, mid-race, mid-batch,
    mid-promotion) over a racing run whose easy judge promotes often, with pool workers
    and benchmarks running: every promotion is recorded once, versions are contiguous, no
    measurement is recorded twice, champion.json, the store and the live file agree, and
    no process the daemons started is left alive."""
    recipe = write_recipe(tmp_path, executor={"kind": "processes", "workers": 2},
                          judge={"elo1": 300, "batch": 10, "min_games": 10,
                                 "max_games": 40},
                          strategy={"kind": "perturb", "scale": 0.4},
                          racing={"challengers": 3, "screen": 10, "keep": 0.5},
                          schedule={"baseline": 10})
    run_dir = tmp_path / "run"
    rng = random.Random(11)
    env = {"TOY_DELAY": str(0.02)}
    kills, stalled = 0, 0
    started: set[psutil.Process] = set()

    def decided() -> int:
        return len(Store(run_dir).decisions()) if (run_dir / "ratchet.db").exists() else 0

    try:
        while kills < 12 or decided() < 15:
            before = decided()
            ratchet("start", recipe, "--run-dir", run_dir, env=env)
            time.sleep(rng.uniform(0.2, 2.5))
            if stalled >= 3:  # on a loaded machine start-up alone can outlast the sleep
                wait_for(lambda b=before: decided() > b, timeout=60, what="a decision")
            info = running_pid(run_dir)
            if info is not None:
                started |= _descendants(info.pid)
                os.kill(info.pid, signal.SIGKILL)
                wait_for(lambda: running_pid(run_dir) is None, what="daemon death")
                kills += 1
            stalled = 0 if decided() > before else stalled + 1
        ratchet("run", recipe, "--run-dir", run_dir, "--quiet", "--max-cycles", 1)
    finally:
        info = running_pid(run_dir)
        if info is not None:
            os.kill(info.pid, signal.SIGKILL)
    store = audit(run_dir, recipe.parent / "toy.json")
    assert store.pending_cycle() is None and store.get(RACE_KEY) is None
    assert len(store.promotions()) - 1 >= 2, "the easy judge should have promoted"
    keys = [(r.candidate_id, r.role, r.cycle, r.batch, r.shard) for r in store.evaluations()]
    assert len(keys) == len(set(keys))  # no measurement recorded twice
    assert any(d.stats.get("screened") for d in store.decisions()), "no race was screened"
    assert len(started) >= 12  # pool workers, the resource tracker, benchmarks
    wait_for(lambda: not [p for p in started if _alive(p)], timeout=30,
             what=f"no leftover process (alive: {[p for p in started if _alive(p)]})")


@pytest.mark.slow
def test_supervise_restarts_a_crashed_loop(daemon):
    recipe, run_dir = daemon
    sup = subprocess.Popen([sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir",
                            str(run_dir), "--quiet", "--supervise", "--max-cycles", "4"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "TOY_DELAY": "0.3"})
    first = wait_for(lambda: running_pid(run_dir), what="the first child")
    os.kill(first.pid, signal.SIGKILL)
    second = wait_for(lambda: (lambda i: i if i and i.pid != first.pid else None)(
        running_pid(run_dir)), timeout=60, what="a restarted child")
    assert second.pid != first.pid
    out, err = sup.communicate(timeout=120)
    assert sup.returncode == 0, err
    assert "restarting in 1 s" in err


def test_unusable_run_dir_and_deleted_config_are_clear_errors(tmp_path):
    recipe = write_recipe(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = ratchet("run", recipe, "--run-dir", blocker / "run", "--max-cycles", 1, check=False)
    assert proc.returncode == 2 and "cannot use run directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    (tmp_path / "toy.json").unlink()
    proc = ratchet("run", recipe, "--run-dir", tmp_path / "run", "--max-cycles", 1,
                   check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_service_install_writes_a_restarting_unit(tmp_path):
    recipe = write_recipe(tmp_path)
    unit = tmp_path / "ratchet-toy.service"
    out = ratchet("service", "install", recipe, "--user", "--output", unit).stdout
    text = unit.read_text()
    assert "Restart=always" in text and "ExecStart=" in text and str(recipe) in text
    assert "systemctl --user enable --now ratchet-toy.service" in out
    assert Path(text.split("ExecStart=")[1].split()[0]).exists()
