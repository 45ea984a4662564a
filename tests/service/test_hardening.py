"""Issue 26: nothing lost, no false "started", honest errors. Real processes and files."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from ratchet.core.rundir import RunDir
from ratchet.core.store import Store
from ratchet.service.pidfile import running_pid
from tests.conftest import write_recipe
from tests.service.test_daemon import ratchet, wait_for
from tests.test_loop import audit

EASY = {"judge": {"elo1": 300, "min_games": 20, "batch": 20},
        "schedule": {"baseline": 20, "checkpoint_every": 1}}


@pytest.fixture
def run(tmp_path):
    """A finished three-cycle toy run; kills whatever daemon a test leaves running."""
    recipe = write_recipe(tmp_path, **EASY)
    run_dir = tmp_path / "run"
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 3, "--quiet")
    yield recipe, run_dir
    info = running_pid(run_dir)
    if info is not None and info.pid > 0:
        os.kill(info.pid, signal.SIGKILL)


def no_traceback(proc):
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


@pytest.mark.slow
def test_a_second_run_naming_the_same_live_file_is_refused(run, tmp_path):
    recipe, run_dir = run
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.2"})
    before = (tmp_path / "toy.json").read_bytes()
    other = no_traceback(ratchet("run", recipe, "--run-dir", tmp_path / "b", "--max-cycles",
                                 1, check=False))
    assert other.returncode == 2
    assert "belongs to run" in other.stderr and "own config_file" in other.stderr
    errors = [line for line in other.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].endswith("own config_file")
    assert (tmp_path / "toy.json").read_bytes() == before  # nothing written by run b
    ratchet("stop", "--run-dir", run_dir)
    ratchet("run", recipe, "--run-dir", tmp_path / "b", "--max-cycles", 1, "--quiet")


@pytest.mark.slow
def test_a_hand_edit_is_refused_then_adopted_or_overwritten(run, tmp_path):
    recipe, run_dir = run
    live = tmp_path / "toy.json"
    data = json.loads(live.read_text())
    live.write_text(json.dumps({**data, "x": 0.123}))
    refused = no_traceback(ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1,
                                   check=False))
    assert refused.returncode == 2 and "--adopt" in refused.stderr
    assert "--restore-champion" in refused.stderr
    assert json.loads(live.read_text())["x"] == 0.123  # not overwritten
    cycles = len(Store(run_dir).decisions())
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--adopt", "--quiet")
    store = Store(run_dir)
    adopted = store.decisions()[cycles]
    assert adopted.candidate.origin == "adopted" and adopted.candidate.params["x"] == 0.123
    champion = store.champion().candidate
    assert json.loads(live.read_text())["x"] == champion.params["x"]  # champion is live
    live.write_text(json.dumps({**data, "x": 0.456}))
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--restore-champion",
            "--quiet")
    assert json.loads(live.read_text())["x"] == Store(run_dir).champion().candidate.params["x"]
    # ratchet's own writes are no hand edit
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--quiet")


@pytest.mark.slow
def test_an_emptied_store_is_refused_and_a_checkpoint_put_back(run):
    recipe, run_dir = run
    decided = len(Store(run_dir).decisions())
    (run_dir / "ratchet.db").write_bytes(b"")
    for command in (["run", recipe, "--max-cycles", 1], ["start", recipe]):
        proc = no_traceback(ratchet(*command, "--run-dir", run_dir, check=False))
        assert proc.returncode == 2 and "ratchet restore" in proc.stderr
        assert "checkpoints/cycle-" in proc.stderr
    assert (run_dir / "ratchet.db").stat().st_size == 0  # nothing started over it
    (run_dir / "ratchet.db").unlink()
    assert ratchet("run", recipe, "--run-dir", run_dir, check=False).returncode == 2
    out = ratchet("restore", "--run-dir", run_dir).stdout
    assert "restored" in out
    assert len(Store(run_dir).decisions()) == decided
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--quiet")
    assert len(Store(run_dir).decisions()) == decided + 1


def test_a_damaged_store_is_one_clear_error_and_nothing_is_applied(run, tmp_path):
    recipe, run_dir = run
    live = tmp_path / "toy.json"
    live.write_text(json.dumps({"x": 0.9, "y": 0.1, "untouched": "keep me"}))
    with open(run_dir / "ratchet.db", "r+b") as fh:  # a damaged page
        fh.seek(4096 * 3)
        fh.write(b"\xff" * 4096)
    before = live.read_bytes()
    started = no_traceback(ratchet("start", recipe, "--run-dir", run_dir, check=False))
    assert started.returncode == 2 and "ratchet restore" in started.stderr
    assert "started" not in started.stdout
    assert running_pid(run_dir) is None
    assert live.read_bytes() == before  # no champion applied from a damaged store
    status = no_traceback(ratchet("status", "--run-dir", run_dir, "--json", check=False))
    assert status.returncode == 2 and "cannot use the store" in status.stderr


def test_start_fails_with_the_daemons_own_error(tmp_path):
    recipe = write_recipe(tmp_path)
    (tmp_path / "toy.json").write_text("{not json")
    t = time.monotonic()
    proc = no_traceback(ratchet("start", recipe, "--run-dir", tmp_path / "run", check=False))
    assert proc.returncode == 2 and "not valid JSON (line 1, column 2)" in proc.stderr
    assert "started" not in proc.stdout and time.monotonic() - t < 30
    assert running_pid(tmp_path / "run") is None


@pytest.mark.slow
def test_stop_finds_the_daemon_by_its_lock_and_never_signals_a_stranger(tmp_path):
    recipe = write_recipe(tmp_path)
    run_dir = tmp_path / "run"
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.2"})
    daemon = running_pid(run_dir)
    assert RunDir(run_dir).pid.read_text().strip() == str(daemon.pid)  # a plain integer
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        RunDir(run_dir).pid.write_text(f"{stranger.pid}\n")
        RunDir(run_dir).daemon.write_text(json.dumps({"pid": stranger.pid,
                                                       "started_at": 0}))
        status = json.loads(ratchet("status", "--run-dir", run_dir, "--json").stdout)
        assert status["running"] and status["pid"] == daemon.pid
        RunDir(run_dir).pid.unlink()
        RunDir(run_dir).daemon.unlink()
        assert "stopped pid" in ratchet("stop", "--run-dir", run_dir).stdout
        wait_for(lambda: not psutil.pid_exists(daemon.pid) or  # it lets go of the lock
                 psutil.Process(daemon.pid).status() == psutil.STATUS_ZOMBIE,  # first
                 timeout=15, what="the daemon to exit")
        assert stranger.poll() is None  # never signalled
        again = ratchet("stop", "--run-dir", run_dir)
        assert "not running" in again.stdout and stranger.poll() is None
    finally:
        stranger.kill()


def test_a_run_whose_evaluations_all_fail_exits_non_zero_with_the_reason(tmp_path):
    recipe = write_recipe(tmp_path)
    proc = no_traceback(ratchet("run", recipe, "--run-dir", tmp_path / "run", "--max-cycles",
                                2, "--quiet", env={"TOY_MODE": "fail"}, check=False))
    assert proc.returncode == 1
    assert "every cycle failed (2 of 2)" in proc.stderr and "boom" in proc.stderr
    assert "nan" not in proc.stderr
    assert "ERROR ratchet.loop" in proc.stderr  # -q still shows warnings and errors


def test_yaml_1_2_numbers_in_recipes(tmp_path):
    recipe = write_recipe(tmp_path)
    text = recipe.read_text().replace("low: 0.0", "low: 1e-5", 1)
    recipe.write_text(text + "seed: 1\n")
    from ratchet.engine.recipe import load_recipe

    assert load_recipe(recipe).parsed_space().params[0].low == 1e-5


@pytest.mark.slow
def test_names_and_run_dirs_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = write_recipe(tmp_path)
    evil = no_traceback(ratchet("run", recipe, "--name", "../../evil", "--max-cycles", 1,
                                check=False))
    assert evil.returncode == 2 and "is not a run name" in evil.stderr
    assert not (tmp_path.parent / "evil").exists()
    ratchet("run", recipe, "--name", "a", "--max-cycles", 1, "--quiet")
    for command in ("best", "history", "export"):
        assert ratchet(command, "--name", "a").returncode == 0
    csv = ratchet("export", "--name", "a", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("iteration") and len(csv) > 1
    as_file = no_traceback(ratchet("best", "--run-dir", "toy.json", check=False))
    assert as_file.returncode == 2 and "is a file, expected a run directory" in as_file.stderr
    done = json.loads(ratchet("run", recipe, "--name", "a", "--max-cycles", 1,
                              "--json").stdout)
    assert done["cycles"] == 1 and "champion" in done


def test_run_files_are_owner_only(run):
    _, run_dir = run
    for path in [run_dir / "ratchet.db", run_dir / "ratchet.lock",
                 *run_dir.glob("checkpoints/*"), *run_dir.glob("logs/ratchet-*.log")]:
        assert path.stat().st_mode & 0o077 == 0, path


def test_the_systemd_unit_does_not_restart_a_user_mistake(tmp_path):
    recipe = write_recipe(tmp_path)
    unit = tmp_path / "ratchet-toy.service"
    ratchet("service", "install", recipe, "--user", "--output", unit)
    text = unit.read_text()
    assert "RestartPreventExitStatus=2" in text and "RestartMaxDelaySec=" in text


@pytest.mark.slow
def test_pool_workers_die_with_a_killed_daemon(tmp_path):
    recipe = write_recipe(tmp_path, executor={"kind": "processes", "workers": 2})
    run_dir = tmp_path / "run"
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.2"})
    daemon = psutil.Process(running_pid(run_dir).pid)

    def workers():
        found = [p for p in daemon.children(recursive=True)
                 if "multiprocessing" in " ".join(p.cmdline())]
        return found if len(found) >= 2 else None

    left = wait_for(workers, timeout=60, what="pool workers")
    daemon.kill()
    daemon.wait(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(p.is_running() and p.status() !=
                                              psutil.STATUS_ZOMBIE for p in left):
        time.sleep(0.2)
    alive = [p.pid for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []


@pytest.mark.slow
def test_the_next_start_reaps_a_worker_that_outlived_its_daemon(tmp_path):
    """The backstop: a worker that cannot notice its parent's death (stopped here with
    SIGSTOP) is killed by the run's next start, from the registry workers sign into."""
    recipe = write_recipe(tmp_path, executor={"kind": "processes", "workers": 2})
    run_dir = tmp_path / "run"
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.2"})
    daemon = psutil.Process(running_pid(run_dir).pid)
    registry = run_dir / "work" / ".workers"
    entries = wait_for(lambda: sorted(registry.glob("[0-9]*")) if registry.is_dir() and
                       len(list(registry.glob("[0-9]*"))) >= 2 else None, timeout=60,
                       what="registered workers")
    stuck = psutil.Process(int(entries[0].name))
    assert stuck.ppid() == daemon.pid
    stuck.suspend()
    daemon.kill()
    daemon.wait(10)
    time.sleep(2)
    assert stuck.is_running() and stuck.status() == psutil.STATUS_STOPPED
    ratchet("start", recipe, "--run-dir", run_dir)
    wait_for(lambda: not stuck.is_running() or stuck.status() == psutil.STATUS_ZOMBIE,
             timeout=30, what="the leftover worker to be killed")
    assert "pool workers left by a previous run" in ratchet("logs", "--run-dir", run_dir,
                                                            "-n", "200").stdout
    ratchet("stop", "--run-dir", run_dir)


def test_the_dashboard_refuses_a_foreign_host_header(run):
    import http.client

    from ratchet.apps.web import create_app
    from ratchet.apps.web.server import WebServer

    _, run_dir = run
    server = WebServer(create_app([run_dir]), "127.0.0.1", 0)
    url = server.start()
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    try:
        def get(host):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/status", headers={"Host": host})
            return conn.getresponse().status

        assert get(f"127.0.0.1:{port}") == 200 and get(f"localhost:{port}") == 200
        assert get(f"rebind.example:{port}") == 421 and get("evil.example") == 421
    finally:
        server.stop()
    # bound to every interface: still only this machine's names and the ones listed
    server = WebServer(create_app([run_dir]), "0.0.0.0", 0, allowed=["ratchet.lan"])
    port = server.server.config.port
    url = server.start()
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    try:
        assert get(f"127.0.0.1:{port}") == 200 and get(f"ratchet.lan:{port}") == 200
        assert get("evil.example") == 421 and get(f"rebind.example:{port}") == 421
    finally:
        server.stop()


def test_tokens_fail_closed(run):
    """An empty, short or non-ASCII token file authorizes nothing and the dashboard is
    not served over it; a header that is not ASCII is a wrong token (401), not a 500."""
    import httpx
    import pytest

    from ratchet.apps.web import create_app
    from ratchet.apps.web.server import WebServer
    from ratchet.core.errors import RatchetError
    from ratchet.service.token import check_token, ensure_token

    _, run_dir = run
    good = ensure_token(run_dir)
    server = WebServer(create_app([run_dir]), "127.0.0.1", 0)
    url = server.start()
    try:
        with httpx.Client(base_url=url) as http:
            for header in ("Bearer \u00a0", "Bearer \u00e9t\u00e9", "Bearer " + good[:-1]):
                res = http.post("/api/control/pause",
                                headers={"Authorization": header.encode("latin-1")})
                assert res.status_code == 401, (header, res.status_code)
            res = http.post("/api/control/pause", headers={"X-Ratchet-Token": b"\xa0\xff"})
            assert res.status_code == 401
            for text in ("", "\n", "short", "\u00e9" * 40):
                (run_dir / "token").write_text(text, encoding="utf-8")
                assert not check_token(run_dir, text.strip() or "\u00a0")
                for offered in ("\u00a0", "short", "\u00e9" * 40):
                    res = http.post("/api/control/pause",
                                    headers={"Authorization": ("Bearer " + offered)
                                             .encode("utf-8")})
                    assert res.status_code == 401
                with pytest.raises(RatchetError, match="holds no usable token"):
                    ensure_token(run_dir)
            assert not (run_dir / "pause").exists()
    finally:
        server.stop()
        (run_dir / "token").unlink()
    assert ensure_token(run_dir) != good  # removed: a new one is made


def test_unparseable_benchmark_output_is_quoted_with_what_was_expected():
    from ratchet.core.errors import EvaluationError
    from ratchet.plugins.targets._output import games_measurement, samples_measurement

    with pytest.raises(EvaluationError, match="first line was 'hello world'.*") as games:
        games_measurement("hello world\n", 0.1)
    assert "expected 'wins: N'" in str(games.value)
    with pytest.raises(EvaluationError, match="expected a line 'ops: NUMBER'.*hello world"):
        samples_measurement("hello world\n", "ops", 0.1)
    with pytest.raises(EvaluationError, match="it printed nothing"):
        samples_measurement("", "ops", 0.1)


@pytest.mark.slow
def test_a_dead_dashboard_process_is_restarted(tmp_path):
    import urllib.error
    import urllib.request

    recipe = write_recipe(tmp_path, dashboard={"port": 0})
    run_dir = tmp_path / "run"
    url = json.loads(ratchet("start", recipe, "--run-dir", run_dir, "--json",
                             env={"TOY_DELAY": "0.3"}).stdout)["url"]
    try:
        first = json.loads((run_dir / "dashboard.json").read_text())["server_pid"]
        os.kill(first, signal.SIGKILL)
        status = wait_for(lambda: (lambda s: s if s["dashboard"] and s["dashboard"]["up"]
                                   and s["dashboard"]["restarts"] >= 1 else None)(
            json.loads(ratchet("status", "--run-dir", run_dir, "--json").stdout)),
            timeout=60, what="the dashboard back up")
        assert status["url"] == url  # the same address as before
        try:
            with urllib.request.urlopen(url + "health", timeout=10) as response:
                code = response.status
        except urllib.error.HTTPError as exc:  # 503 while the loop is paused or failing
            code = exc.code
        assert code in (200, 503)
        assert "dashboard process died" in ratchet("logs", "--run-dir", run_dir,
                                                   "-n", "400").stdout
    finally:
        ratchet("stop", "--run-dir", run_dir)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own (tmpfs), for a disk that fills up. Needs root."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk):
    with open(disk / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


@pytest.mark.slow
def test_a_full_disk_stops_the_daemon_with_exit_75_and_says_so(tmp_path, small_disk):
    """The store lives on a disk that fills up (its file is a link into a small tmpfs; the
    run's other files stay where they can still be written): the daemon stops, says why in
    `status` and `logs`, a foreground run exits 75 (try again later), and once space is
    back the run goes on with nothing lost."""
    recipe = write_recipe(tmp_path, **EASY)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "ratchet.db").symlink_to(small_disk / "ratchet.db")
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--quiet")
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.05"})
    wait_for(lambda: len(Store(run_dir).decisions()) >= 3, timeout=60, what="cycles")
    fill(small_disk)
    wait_for(lambda: running_pid(run_dir) is None, timeout=90, what="the daemon to stop")
    state = json.loads(ratchet("status", "--run-dir", run_dir, "--json").stdout)
    assert not state["running"] and "disk is full" in state["last_error"], state
    assert "free space" in state["last_error"]
    assert "disk is full" in ratchet("logs", "--run-dir", run_dir, "-n", "50").stdout
    again = no_traceback(ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 2,
                                 check=False))
    assert again.returncode == 75 and "disk is full" in again.stderr, again.stderr
    (small_disk / "filler").unlink()
    before = len(Store(run_dir).decisions())
    ratchet("run", recipe, "--run-dir", run_dir, "--max-cycles", 1, "--quiet")
    store = audit(run_dir, tmp_path / "toy.json")
    assert len(store.decisions()) == before + 1 and store.pending_cycle() is None
