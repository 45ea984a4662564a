"""A run's store lost or damaged: refuse to start over it, and put a checkpoint back.

An emptied or removed ``ratchet.db`` beside ``checkpoints/`` or ``champion.json`` means a
run's history is gone, not that a new run begins: starting would silently make the
baseline champion again. `ratchet restore` copies a checkpoint back atomically.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from ratchet.atomic import atomic_write_bytes
from ratchet.checkpoint import DIR_NAME
from ratchet.errors import StoreError
from ratchet.store import DB_NAME, Store

STORE_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm")


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's store snapshots, oldest first."""
    return sorted((run_dir / DIR_NAME).glob("cycle-*.db"))


def _store_is_empty(run_dir: Path) -> bool:
    path = run_dir / DB_NAME
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        with Store(run_dir) as store:
            return store.run_info() is None
    except StoreError:
        return False  # damaged or foreign: the integrity check reports it


def _champion_version(run_dir: Path) -> int | None:
    try:
        return int(json.loads((run_dir / "champion.json").read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_history(run_dir: Path) -> None:
    """Raise when the store is missing or empty but the run directory shows a history."""
    snapshots = checkpoints(run_dir)
    version = _champion_version(run_dir)
    if not (snapshots or version is not None) or not _store_is_empty(run_dir):
        return
    state = "missing" if not (run_dir / DB_NAME).exists() else "empty"
    had = f"champion.json says champion v{version}" if version is not None else \
        "checkpoints exist"
    newest = (f"the newest checkpoint is {snapshots[-1]}; put it back with 'ratchet restore "
              f"--run-dir {run_dir}'" if snapshots else
              f"no checkpoint is left in {run_dir / DIR_NAME}; move champion.json away to "
              "start a new run here")
    raise StoreError(f"{run_dir / DB_NAME} is {state}, but {had}: starting would begin a new "
                     f"run over the old one. Nothing was changed; {newest}")


def restore(run_dir: Path, checkpoint: Path | None = None) -> dict[str, object]:
    """Put ``checkpoint`` (default: the newest) back as the run's store, atomically. The
    caller holds the run's lock, so no daemon writes meanwhile."""
    if checkpoint is None:
        snapshots = checkpoints(run_dir)
        if not snapshots:
            raise StoreError(f"no checkpoint in {run_dir / DIR_NAME} to restore")
        checkpoint = snapshots[-1]
    if not checkpoint.is_file():
        raise StoreError(f"checkpoint {checkpoint} is not a file (expected one of "
                         f"{run_dir / DIR_NAME}/cycle-*.db)")
    data = checkpoint.read_bytes()
    scratch = run_dir / f".restore-{os.getpid()}.db"
    try:
        scratch.write_bytes(data)
        with Store(scratch.parent, db_name=scratch.name) as candidate:
            candidate.check_integrity()
            info = candidate.run_info()
            if info is None:
                raise StoreError(f"checkpoint {checkpoint} holds no run")
            champion = candidate.champion()
            cycles = candidate.last_cycle()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"checkpoint {checkpoint} is not a usable store: {exc}") from None
    finally:
        scratch.unlink(missing_ok=True)
    for name in STORE_FILES[1:]:  # the old store's journal must not be replayed onto it
        (run_dir / name).unlink(missing_ok=True)
    atomic_write_bytes(run_dir / DB_NAME, data, mode=0o600)
    return {"checkpoint": str(checkpoint), "name": info["name"], "version": champion.version,
            "cycles": cycles}
