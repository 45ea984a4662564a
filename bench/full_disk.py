"""A run whose whole directory is on a disk that fills up (issue 40's full-disk audit).

Each round mounts a small tmpfs (root only), runs a self-play loop in the foreground with
its run directory there, fills the disk at a random moment, and records: the exit code
(goal: 75, "try again later", every time), whether a traceback reached the terminal
(goal: never), what `ratchet status` says afterwards (it must name the full disk, though
nothing can be written there), what `ratchet start` on the full disk answers, and, once
space is back, whether the store is intact and the run goes on.

    sudo python -m bench.full_disk [--rounds 12] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench._results import add_arguments, recorded
from bench.selfplay_chaos import RECIPE, ratchet

DISK_MB = 96


def fill(disk: Path) -> None:
    try:
        with open(disk / "filler", "wb") as handle:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
    except OSError:
        pass  # full


def one_round(tmp: Path, recipe: Path, rnd: int, wait_s: float) -> tuple:
    disk = tmp / f"disk{rnd}"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs",
                              str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        raise SystemExit(f"cannot mount a tmpfs (run as root): {mounted.stderr.strip()}")
    try:
        run_dir = disk / "run"
        run = subprocess.Popen([sys.executable, "-m", "ratchet", "run", str(recipe),
                                "--run-dir", str(run_dir), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(wait_s)
        fill(disk)
        try:
            out, err = run.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            run.kill()
            out, err = run.communicate()
        traceback = "Traceback" in out + err
        if traceback:  # where it came from, for the reader of the figures
            lines = (out + err).strip().splitlines()
            at = next(i for i, line in enumerate(lines) if "Traceback" in line)
            end = next((i for i in range(at + 1, len(lines)) if not lines[i].startswith(" ")),
                       len(lines) - 1)
            print("    traceback: " + " / ".join(lines[max(0, at - 1):at + 3] + lines[end - 1:
                                                                                   end + 1]))
        status = ratchet("status", "--run-dir", str(run_dir), "--json")
        said = ""
        try:
            state = json.loads(status.stdout)
            said = state.get("last_error") or state.get("ended_uncleanly") or ""
        except ValueError:
            said = f"(status exit {status.returncode}: {status.stderr.strip()[:120]})"
        start = ratchet("start", str(recipe), "--run-dir", str(run_dir))
        start_tb = "Traceback" in start.stdout + start.stderr
        if start.returncode == 0:  # it started after all: stop it before the next check
            ratchet("stop", "--run-dir", str(run_dir), "--timeout", "30")
        (disk / "filler").unlink(missing_ok=True)
        with sqlite3.connect(run_dir / "ratchet.db") as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        again = ratchet("run", str(recipe), "--run-dir", str(run_dir), "--max-cycles", "1",
                        "--quiet", timeout=300)
        named = "yes" if "full" in said else "no"
        return (rnd, f"{wait_s:.0f} s", run.returncode, "yes" if traceback else "no", named,
                said[:90].replace("|", "/") or "(nothing)",
                f"{start.returncode}{' traceback' if start_tb else ''}", integrity,
                again.returncode)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    add_arguments(ap)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, recorded(
            "full-disk", "A self-play run on a disk that fills up, measured from outside",
            args):
        recipe = Path(tmp) / "disk.yaml"
        recipe.write_text(yaml.safe_dump({**RECIPE, "name": "disk"}))
        print(f"tmpfs of {DISK_MB} MB per round; the self-play recipe of bench.selfplay_chaos")
        print("| round | filled after | run exit | traceback | status names the full disk | "
              "status says | start on the full disk | integrity | run after space is back |")
        print("|---|---|---|---|---|---|---|---|---|")
        rows = []
        for rnd in range(1, args.rounds + 1):
            row = one_round(Path(tmp), recipe, rnd, rng.uniform(3, 30))
            rows.append(row)
            print("| " + " | ".join(map(str, row)) + " |", flush=True)
        print(f"\nexit 75: {sum(r[2] == 75 for r in rows)} of {len(rows)}; tracebacks: "
              f"{sum(r[3] == 'yes' for r in rows)}; status named the full disk: "
              f"{sum(r[4] == 'yes' for r in rows)} of {len(rows)}; start refused "
              f"with 75: {sum(r[6] == '75' for r in rows)}; integrity ok: "
              f"{sum(r[7] == 'ok' for r in rows)}; went on after: "
              f"{sum(r[8] == 0 for r in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
