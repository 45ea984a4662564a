"""The live config file belongs to one run, and ratchet knows what it last wrote there.

A run holds a lock beside the file (``.NAME.ratchet-lock``, released by the kernel even on
kill -9), so a second run naming the same file is refused instead of overwriting the
first run's champion. The hash of the bytes last written is committed to the store, so a
hand edit is seen on the next start instead of being overwritten silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from typing_extensions import TypedDict  # pydantic reads it before Python 3.12

from ratchet.core.atomic import atomic_write_text
from ratchet.core.errors import RatchetError
from ratchet.core.store import StateKey

if TYPE_CHECKING:
    from ratchet.core.store import Store



class LiveFileRecord(TypedDict):
    path: str
    sha256: str
    before: str | None  # the hash before ratchet's last write (a crash mid-write)


STATE_KEY = StateKey("live_file", LiveFileRecord)


class LiveFileInUse(RatchetError):
    """Another run holds the live config file."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LiveFile:
    def __init__(self, path: Path):
        self.path = path
        self.lock_path = path.with_name(f".{path.name}.ratchet-lock")
        self._fd: int | None = None

    def hold(self, owner: str) -> None:
        """Take the file for this process's run; refuse when another run has it."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LiveFileInUse(f"cannot lock the live config file {self.path} "
                                f"({self.lock_path}: {exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another run"
            os.close(fd)
            raise LiveFileInUse(f"the live config file {self.path} belongs to {holder}; "
                                "two runs must not write one file: give this recipe its "
                                "own config_file") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{owner} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def current_hash(self) -> str | None:
        try:
            return sha256(self.path.read_bytes())
        except OSError:
            return None

    def edited(self, store: Store) -> str | None:
        """The hand edit since ratchet last wrote the file, as a sentence, or None."""
        recorded = store.get(STATE_KEY)
        if not recorded or recorded.get("path") != str(self.path):
            return None
        current = self.current_hash()
        if current is None or current in (recorded.get("sha256"), recorded.get("before")):
            return None  # missing: the usual error says so; "before": a crash mid-write
        return (f"the live config file {self.path} was changed since ratchet last wrote it "
                "(by hand, or by a run restored from an older checkpoint)")

    def write(self, text: str, store: Store | None) -> None:
        """Write ``text`` atomically; first commit its hash (and the previous one, so a
        crash between the two steps is not taken for a hand edit)."""
        if store is not None:
            recorded = store.get(STATE_KEY) or {}
            before = recorded.get("sha256") if recorded.get("path") == str(self.path) \
                else self.current_hash()
            store.put(STATE_KEY, {"path": str(self.path),
                                               "sha256": sha256(text.encode("utf-8")),
                                               "before": before})
        atomic_write_text(self.path, text)
