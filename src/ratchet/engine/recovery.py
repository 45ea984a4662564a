"""A run's store lost or damaged: refuse to start over it, and put a checkpoint back.

An emptied or removed ``ratchet.db`` beside ``checkpoints/`` or ``champion.json`` means a
run's history is gone, not that a new run begins: starting would silently make the
baseline champion again. `ratchet restore` copies a checkpoint back atomically.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ratchet.core.atomic import atomic_write_bytes
from ratchet.core.errors import StoreError
from ratchet.core.rundir import RunDir
from ratchet.core.store import Store


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's store snapshots, oldest first."""
    return RunDir(run_dir).checkpoint_files()


def _store_is_empty(run_dir: Path) -> bool:
    path = RunDir(run_dir).store
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        with Store(run_dir) as store:
            return store.run_info() is None
    except StoreError:
        return False  # damaged or foreign: the integrity check reports it


def _champion_version(run_dir: Path) -> int | None:
    try:
        return int(json.loads(RunDir(run_dir).champion.read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_history(run_dir: Path) -> None:
    """Raise when the store is missing or empty but the run directory shows a history."""
    snapshots = checkpoints(run_dir)
    version = _champion_version(run_dir)
    if not (snapshots or version is not None) or not _store_is_empty(run_dir):
        return
    run = RunDir(run_dir)
    state = "missing" if not run.store.exists() else "empty"
    had = f"champion.json says champion v{version}" if version is not None else \
        "checkpoints exist"
    newest = (f"the newest checkpoint is {snapshots[-1]}; put it back with 'ratchet restore "
              f"--run-dir {run_dir}'" if snapshots else
              f"no checkpoint is left in {run.checkpoints}; move champion.json away to "
              "start a new run here")
    raise StoreError(f"{run.store} is {state}, but {had}: starting would begin a new "
                     f"run over the old one. Nothing was changed; {newest}")


def run_identity(store: Store) -> tuple[str, float, str] | None:
    """What tells one run from another: its name, when it was created and its starting
    champion's id (a random id made once per run). None for a store without a run."""
    info = store.run_info()
    promotions = store.promotions()
    if info is None or not promotions:
        return None
    return info["name"], float(info["created_at"]), str(promotions[0]["candidate_id"])


def _own_identity(run_dir: Path) -> tuple[str, float, str] | None:
    """The identity of the run in ``run_dir`` (None when its store is gone or unreadable:
    then there is nothing to compare a checkpoint with)."""
    if not RunDir(run_dir).store.is_file():
        return None
    try:
        with Store(run_dir) as store:
            return run_identity(store)
    except (StoreError, sqlite3.DatabaseError):
        return None


def restore(run_dir: Path, checkpoint: Path | None = None, *,
            from_another_run: bool = False) -> dict[str, object]:
    """Put ``checkpoint`` (default: the newest) back as the run's store, atomically. The
    caller holds the run's lock, so no daemon writes meanwhile. A checkpoint of another
    run is refused unless ``from_another_run``."""
    run = RunDir(run_dir)
    if checkpoint is None:
        snapshots = checkpoints(run_dir)
        if not snapshots:
            raise StoreError(f"no checkpoint in {run.checkpoints} to restore")
        checkpoint = snapshots[-1]
    if not checkpoint.is_file():
        raise StoreError(f"checkpoint {checkpoint} is not a file (expected one of "
                         f"{run.checkpoints}/cycle-*.db)")
    data = checkpoint.read_bytes()
    scratch = run.restore_scratch
    try:
        scratch.write_bytes(data)
        with Store(run_dir, file=scratch) as candidate:
            candidate.check_integrity()
            info = candidate.run_info()
            if info is None:
                raise StoreError(f"checkpoint {checkpoint} holds no run")
            identity = run_identity(candidate)
            champion = candidate.champion()
            cycles = candidate.last_cycle()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"checkpoint {checkpoint} is not a usable store: {exc}") from None
    finally:
        scratch.unlink(missing_ok=True)
    own = _own_identity(run_dir)
    if own is not None and identity != own and not from_another_run:
        raise StoreError(f"{checkpoint} is a checkpoint of another run ({info['name']!r}, "
                         f"created {_when(identity)}), not of the run in {run_dir} "
                         f"({own[0]!r}, created {_when(own)}). Nothing was changed; pass "
                         "--from-another-run to put it in place anyway")
    for journal in run.store_files[1:]:  # the old store's journal must not be replayed
        journal.unlink(missing_ok=True)
    atomic_write_bytes(run.store, data, mode=0o600)
    return {"checkpoint": str(checkpoint), "name": info["name"], "version": champion.version,
            "cycles": cycles}


def _when(identity: tuple[str, float, str] | None) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(identity[1])) if identity \
        else "at an unknown time"
