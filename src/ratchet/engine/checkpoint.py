"""Checkpoints: consistent snapshots of the store (SQLite's online backup) taken on every
promotion, every N cycles and at shutdown. The last ``keep`` snapshots are kept, plus one
small JSON record per champion forever, so the disk does not grow without bound."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from ratchet.core.atomic import atomic_write_json
from ratchet.core.errors import StoreWriteError
from ratchet.core.rundir import RunDir
from ratchet.core.store import Store
from ratchet.engine.summary import champion_summary

log = logging.getLogger(__name__)


def write_checkpoint(store: Store, cycle: int, reason: str, keep: int = 5) -> Path:
    """A snapshot of the store; a full disk (or any write that fails) is a
    ``StoreWriteError`` (exit 75: try again later), and no half-written snapshot stays."""
    run = RunDir(store.run_dir)
    directory, path = run.checkpoints, run.checkpoint(cycle)
    tmp = path.with_suffix(".db.tmp")
    try:
        directory.mkdir(exist_ok=True)
        tmp.unlink(missing_ok=True)
        os.close(os.open(tmp, os.O_RDWR | os.O_CREAT, 0o600))  # owner-only, like the store
        target = sqlite3.connect(tmp)
        try:
            store.conn.backup(target)
        finally:
            target.close()
        tmp.replace(path)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise StoreWriteError(f"cannot write the checkpoint {path}: "
                              f"{getattr(exc, 'strerror', None) or exc}; the run stops "
                              "(exit 75) and resumes from its store when started again") \
            from None
    summary = champion_summary(store)
    try:
        atomic_write_json(run.champion_record(summary["version"]), summary)
    except OSError as exc:
        raise StoreWriteError(f"cannot write the champion's record in {directory}: "
                              f"{exc.strerror}") from None
    _prune(run, keep)
    log.info("checkpoint %s (%s)", path.name, reason)
    return path


def _prune(run: RunDir, keep: int) -> None:
    snapshots = run.checkpoint_files()
    for old in snapshots[:-keep] if keep > 0 else snapshots:
        old.unlink(missing_ok=True)


def prune_logs(run_dir: Path, keep: int = 20) -> None:
    logs = sorted(RunDir(run_dir).log_files(), key=lambda p: p.stat().st_mtime)
    for old in logs[:-keep]:
        old.unlink(missing_ok=True)
