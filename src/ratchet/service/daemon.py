"""Running the loop as a service: one process per run directory, stopped by SIGTERM,
SIGINT or a stop file within a bounded time, resumable after anything."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ratchet.checkpoint import prune_logs
from ratchet.loop import LoopSummary, Reporter
from ratchet.recipe import Recipe
from ratchet.runner import log_file, run_recipe
from ratchet.service import children
from ratchet.service.controls import Controls
from ratchet.service.pidfile import PidLock

log = logging.getLogger("ratchet.service")

STOP_GRACE_S = 3.0


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

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


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
                                 stop=stop)
        log.info("exiting: %d cycles, %d promotions this start", summary.cycles,
                 summary.promotions)
        return summary
