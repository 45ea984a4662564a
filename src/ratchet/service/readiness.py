"""The start-up handshake between `ratchet start` and the daemon it launches.

`start` hands the daemon the write end of a pipe (its number in ``RATCHET_READY_FD``). The
daemon writes one JSON line: ``{"ready": true, ...}`` once the run is open and the champion
applied, or ``{"error": "...", "code": N}`` when it cannot start. A daemon that dies first
closes the pipe without a line, which `start` sees at once: no timer decides.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
from typing import Any

ENV = "RATCHET_READY_FD"


class Readiness:
    """The daemon's end. Without the variable (a foreground run) every call is a no-op."""

    def __init__(self, fd: int | None):
        self.fd = fd

    @classmethod
    def from_env(cls) -> Readiness:
        value = os.environ.pop(ENV, "")
        if not value.isdigit():
            return cls(None)
        fd = int(value)
        try:
            os.set_inheritable(fd, False)  # no benchmark or worker may keep it open
        except OSError:
            return cls(None)
        return cls(fd)

    def ready(self, **info: Any) -> None:
        self._send({"ready": True, **info})

    def failed(self, message: str, code: int = 2) -> None:
        self._send({"error": message, "code": code})

    def _send(self, message: dict[str, Any]) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self.fd, (json.dumps(message, default=str) + "\n").encode())
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = None


def read_message(fd: int, timeout_s: float | None = None) -> dict[str, Any] | None:
    """Wait for the daemon's line; None when the pipe closes without one. Raises
    TimeoutError after ``timeout_s`` (a safety net for a hung start-up, not the signal)."""
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], timeout_s)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    try:
        message = json.loads(data.decode(errors="replace") or "null")
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
