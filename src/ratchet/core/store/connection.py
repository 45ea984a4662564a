"""The store's SQLite connection: reading errors become one StoreError naming the file and
the way out; a full disk or read-only file system is a StoreWriteError (exit 75)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ratchet.core.errors import StoreError, StoreWriteError


class Rows:
    """A cursor whose reading errors are StoreErrors too (rows are read lazily)."""

    def __init__(self, cursor: sqlite3.Cursor, path: Path):
        self._cursor = cursor
        self._path = path

    def fetchone(self) -> Any:
        with reading(self._path):
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with reading(self._path):
            return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


@contextmanager
def reading(path: Path) -> Iterator[None]:
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
        raise  # ratchet's own mistake, not the file's
    except sqlite3.DatabaseError as exc:
        if no_room(exc):
            raise StoreWriteError(write_failed_message(path, exc)) from None
        raise StoreError(damaged_message(path, exc)) from None


def no_room(exc: sqlite3.DatabaseError) -> bool:
    """A full disk or a read-only file system: the store is fine, the machine is not."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and (
        "full" in text or "readonly" in text or "read-only" in text)


def write_failed_message(path: Path, detail: object) -> str:
    return (f"cannot write the store {path}: {detail} (nothing was half-written; free space "
            "or fix permissions, then start again)")


def damaged_message(path: Path, detail: object) -> str:
    return (f"cannot use the store {path}: {detail}; nothing was applied from it. Put a "
            f"checkpoint back with 'ratchet restore --run-dir {path.parent}'")


class SafeConnection:
    """The store's SQLite connection; any database error while reading becomes one
    StoreError that names the file and the way out (`ratchet restore`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.raw = conn
        self.path = path

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        with reading(self.path):
            return Rows(self.raw.execute(sql, args), self.path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
    """One write transaction on a connection in autocommit mode (the write lock taken at
    once): all of it or nothing. For tables beside the store's own (a plugin's)."""
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")
