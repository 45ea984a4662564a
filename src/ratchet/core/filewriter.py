"""Live files (state.json, champion.json) written off the loop's thread.

A crash-safe rewrite of a small file costs a temp file and a rename: milliseconds on some
file systems, a good part of a short cycle. The loop hands the bytes over and goes back to
its workers; one thread writes them, the latest content of each file winning. A durable
write (a new champion) first waits for the writes handed over before it, so files never
go back in time.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ratchet.core.atomic import atomic_write_bytes

log = logging.getLogger("ratchet.loop")
IDLE_S = 5.0  # the writing thread ends after this long without a write


class LiveFiles:
    """Latest-wins writes of whole files, in a daemon thread; ``flush`` waits for them.
    A write that fails is raised again at the next call from the loop's thread."""

    def __init__(self) -> None:
        self._pending: dict[Path, bytes] = {}
        self._busy = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def write(self, path: Path, data: bytes) -> None:
        """Replace ``path`` with ``data`` soon (never half-written, not synced to disk)."""
        with self._cond:
            self._raise_error()
            self._pending[path] = data
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ratchet-live-files",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def write_now(self, path: Path, data: bytes) -> None:
        """Write ``path`` in this thread and sync it to disk, after every write handed
        over before."""
        with self._cond:
            self._pending.pop(path, None)  # superseded
        self.flush()
        atomic_write_bytes(path, data)

    def flush(self) -> None:
        with self._cond:
            while self._pending or self._busy:
                self._cond.wait()
            self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(IDLE_S) and not self._pending:
                        self._thread = None  # the next write starts another
                        return
                path = next(iter(self._pending))
                data = self._pending.pop(path)
                self._busy = True
            try:
                atomic_write_bytes(path, data, durable=False)
            except BaseException as exc:  # noqa: BLE001 - handed to the loop's thread
                log.warning("could not write %s: %s", path, exc)
                with self._cond:
                    self._error = exc
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
