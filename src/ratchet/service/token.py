"""The run's token: anything that changes state over HTTP must present it.

It fails closed: a token file that is empty, too short, not ASCII or unreadable (a full
disk, a bad restore) authorizes nothing, and the daemon refuses to serve its dashboard
until the file is removed (a new one is then made) or fixed. Tokens are compared as
bytes in constant time; a header that is not ASCII is simply a wrong token."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from ratchet.core.errors import RatchetError
from ratchet.core.rundir import RunDir

MIN_LENGTH = 32  # characters of a usable token (ratchet writes 43)


def _usable(token: str) -> bool:
    return len(token) >= MIN_LENGTH and token.isascii() and token.isprintable() \
        and " " not in token


def read_token(run_dir: Path) -> str | None:
    """The run's token, or None when there is none or it is unusable."""
    try:
        token = RunDir(run_dir).token.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token if _usable(token) else None


def ensure_token(run_dir: Path) -> str:
    """The run's token, created on first use readable by its owner only (mode 0600); an
    existing file that holds no usable token is refused with what to do."""
    path = RunDir(run_dir).token
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    token = read_token(run_dir)
    if token is None:
        raise RatchetError(f"{path} holds no usable token (empty, shorter than "
                           f"{MIN_LENGTH} characters, not ASCII, or unreadable): the "
                           "dashboard is not served, since it would authorize nothing or "
                           "anything. Remove the file and start again: a new token is made")
    return token


def check_token(run_dir: Path, offered: str | None) -> bool:
    """Whether ``offered`` is the run's token (never for an unusable token file)."""
    token = read_token(run_dir)
    if token is None or not offered:
        return False
    offered = offered.strip()
    if not offered.isascii():
        return False
    return secrets.compare_digest(token.encode("ascii"), offered.encode("ascii"))
