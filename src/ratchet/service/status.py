"""`ratchet status`: the live process (if any) and the run's standing, from the store."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from ratchet.core.atomic import atomic_write_json
from ratchet.core.errors import StoreError
from ratchet.core.rundir import RunDir, configuration_dirs, read_league
from ratchet.core.store import Store
from ratchet.core.types import Decision
from ratchet.engine.summary import champion_summary
from ratchet.service.dashboard import read_state as read_dashboard_state
from ratchet.service.pidfile import running_pid


def run_status(run_dir: Path, *, target_report: bool = True) -> dict[str, Any]:
    """``target_report=False``: without the target kind's own lines (a metrics scrape
    reads the same numbers through ``Spec.metrics``)."""
    info = running_pid(run_dir)
    stranger = info if info is not None and not info.ours else None
    if stranger is not None:  # reported, never taken for the daemon
        info = None
    check_store_present(run_dir, info.pid if info else None)
    with Store(run_dir) as store:
        champ = champion_summary(store)
        kind = (((store.run_info() or {}).get("recipe") or {}).get("target") or {}).get("kind")
        decisions = store.decisions(limit=50)
        in_flight = sorted(c for c, _ in store.pending_cycles())
        error = store.conn.execute("SELECT message, ts FROM events WHERE level = 'error' "
                                   "ORDER BY id DESC LIMIT 1").fetchone()
    web = read_dashboard_state(run_dir)
    trailing_failures = 0
    for d in reversed(decisions):
        if d.decision is not Decision.FAILED:
            break
        trailing_failures += 1
    state = _read_state(run_dir) if info is not None else {}
    ended = None if info is not None or stranger is not None else unclean_end(run_dir)
    last = decisions[-1] if decisions else None
    judged = [d for d in decisions if d.decision in (Decision.PROMOTE, Decision.REJECT)]
    inconclusive = sum(1 for d in judged if d.stats.get("inconclusive"))
    return {
        "run_dir": str(run_dir), "name": champ["name"],
        "running": info is not None, "pid": info.pid if info else None,
        "lock_held_by": stranger.describe() if stranger else None,
        "mode": info.mode if info else None,
        "uptime_s": round(time.time() - info.started_at, 1) if info else None,
        "phase": state.get("phase", "running" if info else "stopped"),
        "paused": bool(state.get("paused")) or RunDir(run_dir).pause_request.exists(),
        "pause_reason": state.get("pause_reason") or
        ("paused by request" if RunDir(run_dir).pause_request.exists() else None),
        "cycle": in_flight[0] if in_flight else (last.cycle if last else 0),
        "cycle_in_progress": bool(in_flight),
        # a race: its cycles still in flight (the others were screened out or decided)
        "racing": in_flight if len(in_flight) > 1 else [],
        "cycles_decided": champ["cycles"] - len(in_flight),
        "current_score": last.score if last else None,
        "best": champ,
        "promotions": champ["promotions"],
        "cycles_since_promotion": (last.cycle - champ["cycle"]) if last else 0,
        "last_decision": None if last is None else {
            "cycle": last.cycle, "candidate": last.candidate.id,
            "decision": last.decision.value, "reason": last.reason},
        "consecutive_failures": state.get("consecutive_failures", trailing_failures),
        # of the last 50 cycles' verdicts, the share that hit max_games / max_samples
        "inconclusive_rate": round(inconclusive / len(judged), 3) if judged else None,
        "last_error": _last_error(run_dir, error),
        "ended_uncleanly": ended,
        "log_file": str(newest_log(run_dir) or ""),
        "target": _target_report(kind, run_dir) if target_report else {},
        "url": web.get("url") if info is not None else None,
        "dashboard": None if info is None or not web else {
            "up": web.get("up", True), "restarts": web.get("restarts", 0),
            "down_since": web.get("down_since"), "error": web.get("error")},
    }


def check_store_present(run_dir: Path, pid: int | None) -> None:
    """A run directory whose store is gone says what happened (not "no run here")."""
    run = RunDir(run_dir)
    if run.store.exists() or not (pid or read_fatal(run_dir) or run.champion.exists()):
        return
    fatal = read_fatal(run_dir)
    if pid is not None:
        raise StoreError(f"{run.store} is missing while the daemon (pid {pid}) "
                         "runs: it stops at its next write (exit 75) rather than write "
                         "where no one reads. Put the newest checkpoint back with 'ratchet "
                         f"restore --run-dir {run_dir}' once it has stopped")
    why = f" The run's last error: {fatal['message']}" if fatal else ""
    raise StoreError(f"{run.store} is missing: the run's history is gone from its "
                     f"directory.{why} Put the newest checkpoint back with 'ratchet restore "
                     f"--run-dir {run_dir}'")


def league_status(run_dir: Path) -> dict[str, Any] | None:
    """A run of several configurations: the process, each configuration's status, the
    curriculum's weights and reasons, the node controllers. None for a plain run."""
    dirs = configuration_dirs(run_dir)
    if not dirs:
        return None
    info = running_pid(run_dir)
    league = read_league(run_dir)
    return {"run_dir": str(run_dir), "running": info is not None,
            "pid": info.pid if info else None, "mode": info.mode if info else None,
            "uptime_s": round(time.time() - info.started_at, 1) if info else None,
            "configurations": {name: run_status(d) for name, d in dirs.items()},
            "curriculum": league.get("weights") or {},
            "rebalanced_at": league.get("rebalanced_at"),
            "resources": league.get("resources") or {},
            "last_error": (read_fatal(run_dir) or {}).get("message")}


def _target_report(kind: str | None, run_dir: Path) -> dict[str, Any]:
    """The target kind's own part of the status (its spec's ``report``); nothing if the
    kind is unknown here or its report cannot be read."""
    if not kind:
        return {}
    from ratchet.core.registry import TARGETS

    try:
        return TARGETS.spec_of(kind).report(run_dir)
    except Exception as exc:  # a status must show even when a report cannot be made
        return {"report unavailable": str(exc)[:200]}


def _last_error(run_dir: Path, from_store: tuple[str, float] | None) -> str | None:
    """The newest of the store's last error event and the last fatal error (written beside
    the store, since a full disk or a damaged store cannot record it)."""
    fatal = read_fatal(run_dir)
    if fatal and (from_store is None or fatal["at"] >= from_store[1]):
        return str(fatal["message"])
    return from_store[0] if from_store else None


def unclean_end(run_dir: Path) -> str | None:
    """How the last start ended when it did not stop cleanly (its state says it was still
    running, and no fatal error was recorded after): what its process printed last."""
    state = _read_state(run_dir)
    if state.get("phase") in (None, "stopped"):
        return None
    fatal = read_fatal(run_dir)
    if fatal and fatal["at"] >= float(state.get("updated_at") or 0):
        return None
    crash = _fatal_signal(RunDir(run_dir).daemon_out)
    log_path = newest_log(run_dir)
    last = _last_line(log_path) if log_path else ""
    return ("the process ended without stopping cleanly (a kill -9, the out-of-memory "
            "killer, or a crash in native code" + (f": {crash}" if crash else "") + ")"
            + (f"; its log's last line: {last}" if last else ""))


def tail_lines(path: Path, size: int = 8192) -> list[str]:
    """The last lines of ``path`` (at most ``size`` bytes read); [] when it cannot be."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, 2) - size))
            return fh.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return []


def _fatal_signal(path: Path) -> str | None:
    """The fault Python's fault handler reported at the end of ``path``, if any."""
    found = [line for line in tail_lines(path) if line.startswith("Fatal Python error:")]
    return found[-1].removeprefix("Fatal Python error:").strip() if found else None


def _last_line(path: Path) -> str:
    lines = tail_lines(path)
    return lines[-1][:300] if lines else ""


def _fallback(run_dir: Path) -> Path:
    """Where a fatal error goes when the run directory cannot be written (a full disk):
    memory-backed /dev/shm where there is one, named after the run directory."""
    import hashlib
    import tempfile

    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:16]
    return base / f"ratchet-fatal-{digest}.json"


def record_fatal(run_dir: Path, message: str) -> None:
    """The fatal error in ``last_error.json``; where that cannot be written, in memory
    (``_fallback``), so that `ratchet status` can still say why the run stopped."""
    record = {"message": message, "at": time.time()}
    try:
        atomic_write_json(RunDir(run_dir).fatal, record)
        _fallback(run_dir).unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            _fallback(run_dir).write_text(json.dumps(record))


def read_fatal(run_dir: Path) -> dict[str, Any] | None:
    found = []
    for path in (RunDir(run_dir).fatal, _fallback(run_dir)):
        try:
            data = json.loads(path.read_text())
            found.append({"message": str(data["message"]), "at": float(data["at"])})
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return max(found, key=lambda f: f["at"]) if found else None


def _read_state(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads(RunDir(run_dir).state.read_text())
    except (OSError, ValueError):
        return {}


def newest_log(run_dir: Path) -> Path | None:
    logs = RunDir(run_dir).log_files()
    return logs[-1] if logs else None
