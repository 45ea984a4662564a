"""A real two-node Ray cluster on this machine (`ray start --head`, then a second node
with `ray start --address`): self-play workers run as Ray actors over both nodes, each
node with its own worker controller, the loop the one writer; losing the second node (its
raylet killed) loses only the games its workers had in play, counted, and their
replacements are placed on the node that is left."""

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import yaml

pytest.importorskip("ray")

RAY = Path(sys.executable).parent / "ray"
# Token authentication off for this private cluster; node loss noticed within seconds.
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_health_check_period_ms": "500",
       "RAY_health_check_timeout_ms": "3000", "RAY_health_check_failure_threshold": "5",
       "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _processes_of(temp_dir: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(temp_dir in part for part in p.info["cmdline"] or []):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


@pytest.fixture
def cluster():
    """Head: 4 CPUs (the loop's node, with a resource naming it); second node: 2 CPUs and
    a resource naming it."""
    temp_dir = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: socket paths
    port = _free_port()
    env = {**os.environ, **ENV}
    address = f"127.0.0.1:{port}"
    try:
        for args in (["--head", f"--port={port}", "--num-cpus=4", "--include-dashboard=false",
                      f"--temp-dir={temp_dir}", '--resources={"coordinator": 1}'],
                     [f"--address={address}", "--num-cpus=2",
                      '--resources={"second_node": 2}']):
            started = subprocess.run([str(RAY), "start", *args, "--disable-usage-stats"],
                                     env=env, capture_output=True, text=True, timeout=120)
            assert started.returncode == 0, started.stdout + started.stderr
        yield address, temp_dir
    finally:
        for p in _processes_of(temp_dir):
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _second_raylet(temp_dir: str) -> tuple[psutil.Process, str]:
    for p in _processes_of(temp_dir):
        args = p.cmdline()
        if "raylet" in os.path.basename(args[0]) and any(
                a.startswith("--static_resource_list=") and "second_node" in a for a in args):
            node = next(a.split("=", 1)[1] for a in args if a.startswith("--node_id="))
            return p, node
    raise AssertionError("the second node's raylet is not running")


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a busy machine: Ray's start-up and node-loss detection are slow
def test_a_two_node_ray_cluster_loses_only_the_games_in_play_on_the_lost_node(
        cluster, tmp_path):
    address, temp_dir = cluster
    recipe = {
        "name": "ray-ttt",
        "target": {"kind": "selfplay", "game": "tic_tac_toe", "hidden": 16, "blocks": 0,
                   "simulations": 4, "games_per_batch": 4, "workers": 3,
                   "trigger_games": 1_000_000, "worker_timeout_s": 900, "gate": False,
                   # a band this busy machine stays in, its set point asking for the most
                   "workers_control": {"cpu": {"target": 100, "low": 0, "high": 100},
                                       "min_workers": 1, "max_workers": 3,
                                       "interval_s": 2}},
        "space": {"lr": {"type": "logfloat", "low": 0.0003, "high": 0.01}},
        "judge": {"kind": "sprt", "elo0": 0, "elo1": 150, "batch": 10, "min_games": 20,
                  "max_games": 60},
        "schedule": {"baseline": 0},
        # the cycle's measurement waits for games: one at a time, on the loop's node
        "executor": {"kind": "ray", "address": address,
                     "task_resources": {"coordinator": 1}},
    }
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    run = tmp_path / "run"
    log = (tmp_path / "loop.log").open("w")
    loop = subprocess.Popen([sys.executable, "-m", "ratchet", "run", "r.yaml", "--run-dir",
                             str(run), "-q"], cwd=tmp_path, env={**os.environ, **ENV},
                            stdout=log, stderr=subprocess.STDOUT)
    raylet, second = _second_raylet(temp_dir)
    on_second = f"/{second[:8]}"

    def stored() -> list[tuple[str, str]]:
        try:
            with sqlite3.connect(run / "ratchet.db") as db:
                return db.execute("SELECT host, worker FROM selfplay_games ORDER BY id"
                                  ).fetchall()
        except sqlite3.Error:
            return []

    def wait_for(done, what: str, seconds: float = 600) -> None:
        """Generous: on a busy machine Ray's own start-up and node-loss detection take
        minutes; a timeout says what was missing, with the loop's last lines."""
        deadline = time.monotonic() + seconds
        while not done():
            assert loop.poll() is None, f"the loop exited: {(tmp_path / 'loop.log').read_text()}"
            if time.monotonic() > deadline:
                tail = (tmp_path / "loop.log").read_text(errors="replace")[-1500:]
                raise AssertionError(f"timed out after {seconds:g} s waiting for {what}; "
                                     f"the loop's log ends: {tail}")
            time.sleep(0.5)

    def meta(key: str) -> str | None:
        with sqlite3.connect(run / "ratchet.db") as db:
            row = db.execute("SELECT value FROM selfplay_meta WHERE key = ?", (key,)
                             ).fetchone()
        return row[0] if row else None

    try:
        # games from both nodes (the workers spread over the cluster) reach the one store
        wait_for(lambda: len({h for h, _ in stored()}) == 2, "games from both nodes")
        nodes = {h for h, _ in stored()}
        second_name = next(h for h in nodes if h.endswith(on_second))
        head_name = next(h for h in nodes if h != second_name)
        wait_for(lambda: all(meta(f"resources:{n}") for n in nodes),
                 "a controller's reading of each node")
        lost_at = len(stored())
        moved = {w for h, w in stored() if h == second_name}
        raylet.kill()  # the second node is lost, with its workers and their games in play
        wait_for(lambda: int(meta("games_lost") or 0) > 0, "the lost games to be counted")
        wait_for(lambda: "gone_at" in json.loads(meta(f"resources:{second_name}")),
                 "the second node's controller to see it gone")
        # the lost workers are started again on the node that is left, and play on
        wait_for(lambda: any(w in moved and h == head_name for h, w in stored()[lost_at:]),
                 "a lost worker to play again on the head node")
        lost = int(meta("games_lost"))
        assert 0 < lost <= 3 * 4 * 2  # at most two batches in play per lost worker
        assert int(meta("receive_errors") or 0) == 0
        status = subprocess.run([sys.executable, "-m", "ratchet", "status", "--run-dir",
                                 str(run), "--json"], capture_output=True, text=True,
                                timeout=60, env={**os.environ, **ENV})
        shown = json.loads(status.stdout)["target"]
        assert f"{lost} lost in play on lost workers" in shown["self-play games"]
        assert "the node is gone" in shown[f"workers on {second_name}"]
        assert "set by its controller" in shown[f"workers on {head_name}"]
    finally:
        loop.send_signal(signal.SIGTERM)
        code = loop.wait(120)
    assert code == 0, f"exit {code}: " + (tmp_path / "loop.log").read_text()[-3000:]
    with sqlite3.connect(run / "ratchet.db") as db:  # the store is whole
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
