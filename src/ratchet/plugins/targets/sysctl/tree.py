"""Kernel parameters as files: ``vm.swappiness`` is ``<root>/vm/swappiness``.

The root is ``/proc/sys`` on a real system and any directory tree of plain files in
tests. Every value is checked before the first byte is written: the name is one the
space lists (the whitelist), its file exists, the value has the parameter's type and lies
in its range. A write that the kernel refuses for lack of privileges becomes one clear
error that says what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ratchet.core.errors import RatchetError, SpaceError
from ratchet.core.space import Space

DEFAULT_ROOT = Path("/proc/sys")
_NAME = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)+$")


class SysctlError(RatchetError):
    """A kernel parameter cannot be read, checked or written."""


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SysctlError(f"{name!r} is not a sysctl name; expected dotted words like "
                          "vm.swappiness")
    return name


def check_space(space: Space) -> Space:
    """Every parameter is a sysctl name holding one int or float."""
    for p in space:
        check_name(p.name)
        if p.type not in ("int", "float"):
            raise SysctlError(f"space.{p.name}: a kernel parameter is int or float, "
                              f"not {p.type}")
    return space


def path_of(root: Path, name: str) -> Path:
    return root.joinpath(*check_name(name).split("."))


def write_raw(root: Path, raw: Mapping[str, str]) -> None:
    """Write each text to its parameter's file; the caller has checked what it writes."""
    for name, text in raw.items():
        path = path_of(root, name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                os.write(fd, (text + "\n").encode("ascii"))
            finally:
                os.close(fd)
        except PermissionError:
            raise SysctlError(permission_message(path)) from None
        except OSError as exc:
            raise SysctlError(f"{name}: the kernel refused {text!r} ({exc.strerror})") \
                from None


def format_value(value: int | float) -> str:
    return str(value) if isinstance(value, int) else format(value, "g")


class SysctlTree:
    """Reads and writes the parameters of ``space`` under ``root``; nothing else."""

    def __init__(self, space: Space, root: str | os.PathLike[str] = DEFAULT_ROOT):
        self.space = check_space(space)
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return path_of(self.root, name)

    def read_raw(self, name: str) -> str:
        try:
            return self.path(name).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise SysctlError(f"{name}: no such kernel parameter ({self.path(name)} does not "
                              "exist)") from None
        except OSError as exc:
            raise SysctlError(f"{name}: cannot read {self.path(name)}: {exc.strerror}") \
                from None

    def read(self, name: str) -> int | float:
        raw = self.read_raw(name)
        try:
            return int(raw) if self.space[name].type == "int" else float(raw)
        except ValueError:
            raise SysctlError(f"{name}: {raw!r} is not a single number; only one-number "
                              "parameters can be tuned") from None

    def read_all(self) -> dict[str, str]:
        """The raw text of every parameter in the space (what a restore writes back)."""
        return {name: self.read_raw(name) for name in self.space.names}

    def check(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every problem with ``values`` in one error, or the values in canonical types."""
        problems = [f"{name}: not in the configured parameters {self.space.names}"
                    for name in values if name not in self.space.names]
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name not in self.space.names:
                continue
            try:
                checked[name] = self.space[name].validate(value)
            except SpaceError as exc:
                problems.append(str(exc))
                continue
            if not self.path(name).is_file():
                problems.append(f"{name}: no such kernel parameter ({self.path(name)})")
        if problems:
            raise SysctlError("refused before any write: " + "; ".join(problems))
        return checked

    def write(self, values: Mapping[str, Any]) -> None:
        """Check everything, then write each value."""
        write_raw(self.root, {k: format_value(v) for k, v in self.check(values).items()})

    def restore(self, raw: Mapping[str, str]) -> None:
        """Write back raw texts read earlier (they may lie outside the tuning ranges)."""
        unknown = [name for name in raw if name not in self.space.names]
        if unknown:
            raise SysctlError(f"refusing to restore {unknown}: not configured parameters")
        write_raw(self.root, dict(raw))

    def unwritable(self) -> list[Path]:
        """The parameter files this process may not write."""
        return [self.path(n) for n in self.space.names if not os.access(self.path(n), os.W_OK)]


def permission_message(path: Path) -> str:
    return (f"no permission to write {path}: run with --dry-run to measure without changing "
            "anything, or run as root (e.g. sudo)")
