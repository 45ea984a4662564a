"""The run's token: anything that changes state over HTTP must present it."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TOKEN_FILE = "token"


def ensure_token(run_dir: Path) -> str:
    """The run's token, created on first use readable by its owner only (mode 0600)."""
    path = run_dir / TOKEN_FILE
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def check_token(run_dir: Path, offered: str | None) -> bool:
    path = run_dir / TOKEN_FILE
    if not offered or not path.exists():
        return False
    return secrets.compare_digest(path.read_text().strip(), offered.strip())
