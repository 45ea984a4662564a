"""The self-play daemon under kill -9 and stop (issue 40's audit), measured from outside.

A tic-tac-toe self-play run with two worker processes and the regression gate (its judge
passes every challenger, so that a gate runs every cycle) is started, then, round after
round, either killed with SIGKILL or stopped with `ratchet stop --timeout 10`, at a
random moment or at the moment a gate process runs. Printed for each round: what was
done, whether a gate was running, the processes of the run left 10 s after a kill
(workers, gate, training: goal 0), how long `stop` took and whether the daemon's process
was gone when it returned (goal: under 10 s, gone every time); after all rounds: the
store's integrity and whether the stored games ever decreased.

    python -m bench.selfplay_chaos [--rounds 16] [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from bench._results import add_arguments, recorded

RECIPE = {
    "name": "chaos",
    "target": {"kind": "selfplay", "game": "tic_tac_toe", "hidden": 16, "blocks": 1,
               "simulations": 8, "match_simulations": 8, "trigger_games": 24,
               "train_steps": 40, "games_per_batch": 8, "workers": 2, "gate": True,
               "gate_random_pairs": 3, "gate_anchor_simulations": 5, "rating_pairs": 2,
               "probation_games": 0},
    "space": {"lr": {"type": "logfloat", "low": 0.0003, "high": 0.01}},
    "strategy": {"kind": "tpe"},
    "judge": {"kind": "sprt", "elo0": -500, "elo1": -400, "batch": 10, "min_games": 10,
              "max_games": 20},
    "schedule": {"baseline": 0},
}


def ratchet(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ratchet", *args], capture_output=True,
                          text=True, timeout=timeout)


def run_processes(run_dir: Path, since: float, daemon: int | None) -> list[psutil.Process]:
    """Processes of this run started since ``since``: anything whose command line names
    the run directory (the gate), or a spawned child (worker, training) whose parent is
    the daemon or, once the daemon is gone, init (other runs' children are not counted)."""
    found = []
    for p in psutil.process_iter(["cmdline", "create_time", "pid", "ppid"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["pid"] == os.getpid() or p.info["create_time"] < since - 1:
                continue
            orphan_or_ours = p.info["ppid"] in (1, daemon)
            if str(run_dir) in cmd or (orphan_or_ours and "spawn_main" in cmd):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return [p for p in found if _alive(p)]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def named(processes: list[psutil.Process]) -> list[psutil.Process]:
    """``processes``, each one left printed with its command line (what it was)."""
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            print(f"    left: pid {p.pid} ({p.status()}): {' '.join(p.cmdline())[:300]}")
    return processes


def gate_running() -> bool:
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "ratchet.plugins.targets.selfplay.gate" in " ".join(p.info["cmdline"] or []):
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return False


def stored_games(run_dir: Path) -> int:
    try:
        with sqlite3.connect(run_dir / "ratchet.db") as db:
            return int(db.execute("SELECT COUNT(*) FROM selfplay_games").fetchone()[0])
    except sqlite3.Error:
        return -1


def daemon_pid(run_dir: Path) -> int | None:
    try:
        return int((run_dir / "ratchet.pid").read_text())
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    add_arguments(ap)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, recorded(
            "selfplay-chaos", "Self-play daemon: kill -9 and stop, measured from outside",
            args):
        recipe = Path(tmp) / "chaos.yaml"
        recipe.write_text(yaml.safe_dump(RECIPE))
        run_dir = Path(tmp) / "run"
        games: list[int] = []
        took: list[float] = []  # each stop's seconds
        rows = []
        print("| round | action | at a gate | left 10 s after | stop took | gone after stop |"
              " games stored |")
        print("|---|---|---|---|---|---|---|")
        for rnd in range(1, args.rounds + 1):
            started = time.time()
            done = ratchet("start", str(recipe), "--run-dir", str(run_dir))
            if done.returncode != 0:
                print(f"| {rnd} | start failed: {done.stderr.strip()[-200:]} | | | | | |")
                return 1
            pid = daemon_pid(run_dir)
            at_gate = rnd % 2 == 0  # every other round waits for a gate to run
            deadline = time.monotonic() + (90 if at_gate else rng.uniform(3, 25))
            while time.monotonic() < deadline and not (at_gate and gate_running()):
                time.sleep(0.2)
            hit_gate = gate_running()
            kill = rnd % 4 in (1, 2)
            stop_s, gone, left = "-", "-", "-"
            if kill and pid:
                os.kill(pid, signal.SIGKILL)
                time.sleep(10)
                left = str(len(named(run_processes(run_dir, started, pid))))
            else:
                t = time.monotonic()
                stopped = ratchet("stop", "--run-dir", str(run_dir), "--timeout", "10")
                took.append(time.monotonic() - t)
                stop_s = f"{took[-1]:.1f} s" + ("" if stopped.returncode == 0 else " (failed)")
                gone = "yes" if pid is None or not psutil.pid_exists(pid) or \
                    not _alive(psutil.Process(pid)) else "no"
                time.sleep(2)
                left = str(len(named(run_processes(run_dir, started, pid))))
            games.append(stored_games(run_dir))
            row = (rnd, "kill -9" if kill else "stop", "yes" if hit_gate else "no", left,
                   stop_s, gone, games[-1])
            rows.append(row)
            print("| " + " | ".join(map(str, row)) + " |", flush=True)
        ratchet("stop", "--run-dir", str(run_dir), "--timeout", "30")
        with sqlite3.connect(run_dir / "ratchet.db") as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            promotions = db.execute("SELECT COUNT(*) FROM promotions").fetchone()[0] - 1
        kills = [r for r in rows if r[1] == "kill -9"]
        stops = [r for r in rows if r[1] == "stop"]
        print(f"\nkills: {len(kills)} ({sum(r[2] == 'yes' for r in kills)} at a gate), "
              f"processes left after them: {sum(int(r[3]) for r in kills)}")
        print(f"stops: {len(stops)} ({sum(r[2] == 'yes' for r in stops)} at a gate), "
              f"gone every time: {all(r[5] == 'yes' for r in stops)}, slowest "
              f"{max(took, default=0):.1f} s; processes left after them: "
              f"{sum(int(r[3]) for r in stops)}")
        kept = all(b >= a for a, b in zip(games, games[1:], strict=False))
        print(f"games stored never decreased: {kept} ({games[-1]} at the end); promotions "
              f"{promotions}; integrity {integrity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
