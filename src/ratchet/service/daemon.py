"""Running the loop as a service: one process per run directory, stopped by SIGTERM,
SIGINT or a stop file within a bounded time, resumable after anything."""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ratchet.atomic import atomic_write_json
from ratchet.checkpoint import prune_logs
from ratchet.errors import RatchetError
from ratchet.loop import LoopSummary, Reporter
from ratchet.recipe import Recipe
from ratchet.runner import log_file, run_recipe
from ratchet.service import children
from ratchet.service.controls import Controls
from ratchet.service.pidfile import PidLock
from ratchet.service.token import ensure_token

log = logging.getLogger("ratchet.service")

STOP_GRACE_S = 3.0
DASHBOARD_FILE = "dashboard.json"


def registry_dir(run_dir: Path) -> Path:
    """Where the command target registers its benchmark processes."""
    return run_dir / "work" / ".children"


@contextmanager
def stop_on_signals(stop: threading.Event, run_dir: Path) -> Iterator[None]:
    """SIGTERM/SIGINT ask the loop to stop at its next safe point and terminate running
    benchmarks (their evaluation is discarded); a second SIGINT interrupts at once."""

    def handle(signum: int, frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("%s: stopping at the next safe point", signal.Signals(signum).name)
        stop.set()
        threading.Thread(target=children.begin_shutdown, args=(registry_dir(run_dir),
                                                               STOP_GRACE_S),
                         daemon=True).start()

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; the caller stops the loop itself
        return
    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def dashboard(recipe: Recipe, run_dir: Path, on_log: Reporter | None) -> Iterator[None]:
    """The recipe's web server (`dashboard: {port: ...}`) while the loop runs, in a process
    of its own: it only reads the store, so it can never slow or block the loop."""
    if recipe.dashboard.port is None:
        yield
        return
    ensure_token(run_dir)
    (run_dir / DASHBOARD_FILE).unlink(missing_ok=True)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_web_process, name="ratchet-web", daemon=True,
                       args=(str(run_dir), recipe.dashboard.host, recipe.dashboard.port,
                             os.getpid()))
    proc.start()
    url = _wait_for_url(run_dir, proc)
    log.info("dashboard at %s (token in %s)", url, run_dir / "token")
    if on_log is not None:
        on_log("dashboard", {"url": url})
    try:
        yield
    finally:
        proc.terminate()
        proc.join(5)
        (run_dir / DASHBOARD_FILE).unlink(missing_ok=True)


def _wait_for_url(run_dir: Path, proc: multiprocessing.process.BaseProcess) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return json.loads((run_dir / DASHBOARD_FILE).read_text())["url"]
        except (OSError, ValueError, KeyError):
            pass
        if not proc.is_alive():
            raise RatchetError("the dashboard could not start (is the port in use?); see "
                               f"{run_dir / 'logs'}")
        time.sleep(0.05)
    raise RatchetError("the dashboard did not start within 30 s")


def _web_process(run_dir: str, host: str, port: int, daemon_pid: int) -> None:
    """Serve until the daemon is gone (even after its kill -9)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the daemon's to handle
    from ratchet.web import create_app
    from ratchet.web.server import WebServer

    server = WebServer(create_app([Path(run_dir)]), host, port)
    url = server.start()
    atomic_write_json(Path(run_dir) / DASHBOARD_FILE, {"url": url, "pid": daemon_pid,
                                                       "server_pid": os.getpid()})
    while os.getppid() == daemon_pid:
        time.sleep(0.5)
    server.stop()


def serve(recipe: Recipe, run_dir: Path, *, max_cycles: int | None = None,
          reporter: Reporter | None = None, mode: str = "foreground",
          on_log: Reporter | None = None) -> LoopSummary:
    """Take the run's lock, clean up after a crash, run the loop until stopped."""
    with PidLock(run_dir, mode) as lock, log_file(run_dir) as log_path:
        if on_log is not None:
            on_log("log", {"path": log_path})
        if lock.stale_replaced:
            log.warning("replaced a stale pid file (the previous process died)")
        prune_logs(run_dir)
        children.reset(registry_dir(run_dir))
        children.reap_orphans(registry_dir(run_dir))
        Controls(run_dir).clear_stop()
        stop = threading.Event()
        with stop_on_signals(stop, run_dir):
            summary = run_recipe(recipe, run_dir, max_cycles=max_cycles, reporter=reporter,
                                 stop=stop, beside=lambda: dashboard(recipe, run_dir, on_log))
        log.info("exiting: %d cycles, %d promotions this start", summary.cycles,
                 summary.promotions)
        return summary
