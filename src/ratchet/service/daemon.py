"""Running the loop as a service: one process per run directory, stopped by SIGTERM,
SIGINT or a stop file within a bounded time, resumable after anything."""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from ratchet.core import children
from ratchet.core.errors import NO_ROOM, RatchetError, StoreWriteError, no_room_message
from ratchet.core.rundir import RunDir, configuration_dirs
from ratchet.engine.checkpoint import prune_logs
from ratchet.engine.loop import LoopSummary, Reporter
from ratchet.engine.recipe import Recipe
from ratchet.engine.runner import RunOptions, log_file, run_recipe
from ratchet.service.bind import check_bindable
from ratchet.service.dashboard import SupervisedDashboard, WebProcess
from ratchet.service.league import run_league
from ratchet.service.pidfile import PidLock
from ratchet.service.readiness import Readiness
from ratchet.service.status import record_fatal
from ratchet.service.token import ensure_token

log = logging.getLogger("ratchet.service")

STOP_GRACE_S = 3.0


@contextmanager
def stop_on_signals(stop: threading.Event, run_dir: Path) -> Iterator[None]:
    """SIGTERM/SIGINT ask the loop to stop at its next safe point and terminate running
    benchmarks (their evaluation is discarded); a second SIGINT interrupts at once."""

    def handle(signum: int, frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("%s: stopping at the next safe point", signal.Signals(signum).name)
        stop.set()
        threading.Thread(target=children.begin_shutdown, args=(RunDir(run_dir).children,
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
def dashboard(recipe: Recipe, run_dir: Path, on_log: Reporter | None,
              web_process: WebProcess | None) -> Iterator[str | None]:
    """The recipe's web server (`dashboard: {port: ...}`) while the loop runs, supervised
    in a process of its own; yields its URL (None without a dashboard)."""
    if recipe.dashboard.port is None:
        yield None
        return
    if web_process is None:
        raise RatchetError("this way of running ratchet serves no dashboard: remove "
                           "dashboard.port from the recipe, or use `ratchet run`/`start`")
    ensure_token(run_dir)
    check_bindable(recipe.dashboard.host, recipe.dashboard.port)
    web = SupervisedDashboard(run_dir, recipe.dashboard.host, recipe.dashboard.port,
                              web_process)
    url = web.start()
    log.info("dashboard at %s (token in %s)", url, RunDir(run_dir).token)
    if on_log is not None:
        on_log("dashboard", {"url": url})
    try:
        yield url
    finally:
        web.stop()


def serve(recipe: Recipe, run_dir: Path, *, max_cycles: int | None = None,
          reporter: Reporter | None = None, mode: str = "foreground",
          on_log: Reporter | None = None, options: RunOptions | None = None,
          web_process: WebProcess | None = None) -> LoopSummary:
    """Take the run's lock, clean up after a crash, run the loop until stopped. Under
    `ratchet start` the readiness handshake reports the start-up's outcome. The recipe's
    dashboard runs ``web_process`` (given by the application: ``ratchet.apps.web.process``)."""
    handshake = Readiness.from_env()
    try:
        return _serve(recipe, run_dir, max_cycles=max_cycles, reporter=reporter, mode=mode,
                      on_log=on_log, options=options, web_process=web_process,
                      on_ready=lambda url: handshake.ready(pid=os.getpid(), url=url))
    except RatchetError as exc:
        handshake.failed(str(exc), code=exc.exit_code)
        raise
    except Exception as exc:
        handshake.failed(f"the daemon crashed: {type(exc).__name__}: {exc} (see "
                         f"{RunDir(run_dir).logs})", code=1)
        raise


def _fatal(run_dir: Path, message: str) -> None:
    """A fatal error: in the log file, on stderr (the journal) and in `ratchet status`."""
    log.error("fatal: %s", message, extra={"printed_by_cli": True})
    if run_dir.is_dir():
        record_fatal(run_dir, message)


def _serve(recipe: Recipe, run_dir: Path, *, max_cycles: int | None,
           reporter: Reporter | None, mode: str, on_log: Reporter | None,
           options: RunOptions | None, on_ready: Callable[[str | None], None],
           web_process: WebProcess | None) -> LoopSummary:
    faulthandler.enable()  # a death in native code (SIGBUS, SIGSEGV) leaves its trace on stderr
    with PidLock(run_dir, mode) as lock, log_file(run_dir) as log_path:
        if on_log is not None:
            on_log("log", {"path": log_path})
        if lock.stale_replaced:
            log.warning("replaced a stale pid file (the previous process died)")
        prune_logs(run_dir)
        RunDir(run_dir).clean_after_crash()
        stop = threading.Event()
        try:
            with stop_on_signals(stop, run_dir):
                run = partial(run_league, mode=mode) if recipe.configurations else run_recipe
                if not recipe.configurations and configuration_dirs(run_dir):
                    raise RatchetError(f"{run_dir} holds a run of several configurations; "
                                       "this recipe has one: use another --run-dir")
                summary = run(recipe, run_dir, max_cycles=max_cycles,
                              reporter=reporter, stop=stop, on_ready=on_ready,
                              beside=lambda: dashboard(recipe, run_dir, on_log, web_process),
                              options=options)
        except RatchetError as exc:
            _fatal(run_dir, str(exc))
            raise
        except OSError as exc:
            if exc.errno not in NO_ROOM:
                _fatal(run_dir, f"the daemon crashed: {type(exc).__name__}: {exc}")
                log.exception("traceback")
                raise
            _fatal(run_dir, no_room_message(exc))
            raise StoreWriteError(no_room_message(exc)) from None
        except Exception as exc:
            _fatal(run_dir, f"the daemon crashed: {type(exc).__name__}: {exc}")
            log.exception("traceback")
            raise
        log.info("exiting: %d cycles, %d promotions this start", summary.cycles,
                 summary.promotions)
        return summary
