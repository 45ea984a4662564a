"""`ratchet run --supervise`: run the loop in a child process and restart it after a
crash, with exponential back-off (seed 004's start_training.sh, done in Python)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable

log = logging.getLogger("ratchet.supervise")

STABLE_S = 600.0  # a child that ran this long resets the back-off


def supervise(child_args: list[str], *, max_backoff_s: float = 300.0,
              say: Callable[[str], None] = print) -> int:
    """Restart ``ratchet run CHILD_ARGS`` until it exits 0 (stopped or done) or this
    process is asked to stop (SIGTERM/SIGINT are passed on to the child)."""
    backoff = 1.0
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            started = time.monotonic()
            child = subprocess.Popen([sys.executable, "-m", "ratchet", "run", *child_args])
            code = child.wait()
            if code == 0 or stopping:
                return code
            if code == 2:  # a user mistake (bad recipe): restarting cannot fix it
                say("the run refused to start (exit code 2); not restarting")
                return code
            if time.monotonic() - started > STABLE_S:
                backoff = 1.0
            say(f"the run exited with code {code}; restarting in {backoff:g} s")
            deadline = time.monotonic() + backoff
            while time.monotonic() < deadline and not stopping:
                time.sleep(0.1)
            if stopping:
                return 0
            backoff = min(backoff * 2, max_backoff_s)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
