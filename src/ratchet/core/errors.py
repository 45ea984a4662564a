"""One exception root. Messages say what was wrong and what was expected."""

from __future__ import annotations

import errno


class RatchetError(Exception):
    """Root of every error ratchet raises on purpose; the CLI turns it into one line and
    exit code 2 (``exit_code`` where a subclass says otherwise)."""

    exit_code = 2


class SpaceError(RatchetError, ValueError):
    """A parameter value or a parameter definition is outside what the space allows."""


class RecipeError(RatchetError):
    """A recipe file is missing, unreadable or invalid."""


class StoreError(RatchetError):
    """The run directory or its store cannot be used."""


class StoreWriteError(StoreError):
    """The store cannot be written now (a full disk, a read-only file system). Not the
    user's mistake: a supervisor (systemd, --supervise) tries again after a back-off."""

    exit_code = 75  # EX_TEMPFAIL


NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)  # a disk that cannot take a write now


def no_room_message(exc: OSError) -> str:
    return (f"cannot write {exc.filename or 'a file'}: the disk is full or read-only "
            f"({exc.strerror}); nothing was lost: free space, then start again (exit 75)")


class StoreGoneError(StoreWriteError):
    """The store's file was deleted or replaced under a running process: it stops (exit
    75, as for a full disk) instead of writing where no one will read."""


class EvaluationError(RatchetError):
    """One evaluation failed (crash, timeout, bad output). The loop records it and goes on."""
