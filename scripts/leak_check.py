"""Start the toy recipe as a daemon (processes executor), kill -9 it, repeat; count the
processes the killed daemons left alive. Issue 26's figure: 0 after 100 kills.

    .venv/bin/python scripts/leak_check.py --kills 100
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def ratchet(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)], check=True,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TOY_DELAY": "0.1"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--settle-s", type=float, default=3.0,
                    help="seconds to wait after the last kill before counting")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))  # the test fixtures' toy recipe
    from tests.conftest import write_recipe

    from ratchet.service.pidfile import running_pid

    tmp = Path(tempfile.mkdtemp(prefix="ratchet-leaks-"))
    recipe = write_recipe(tmp, executor={"kind": "processes", "workers": 2})
    run_dir = tmp / "run"
    seen: set[psutil.Process] = set()
    for i in range(args.kills):
        ratchet("start", recipe, "--run-dir", run_dir)
        time.sleep(1.0)
        daemon = psutil.Process(running_pid(run_dir).pid)
        seen.update(daemon.children(recursive=True))
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(30)
        print(f"kill {i + 1}/{args.kills}: {len(seen)} processes seen so far", flush=True)
    time.sleep(args.settle_s)
    left = [p for p in seen if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    rss = sum(p.memory_info().rss for p in left) / 2**20
    print(f"{args.kills} kill -9: {len(seen)} child processes seen, {len(left)} still alive "
          f"({rss:.0f} MB)")


if __name__ == "__main__":
    main()
