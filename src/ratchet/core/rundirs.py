"""Where runs live (`runs/<name>` by default): one resolver for every command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ratchet.core.errors import RatchetError

RUNS = Path("runs")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
CONFIGURATIONS = "configurations"  # a run of several: one run directory each under it
LEAGUE_FILE = "league.json"        # and the curriculum's state beside them


def check_name(name: str) -> str:
    """A run name is one path component under runs/: letters, digits, '_', '.', '-'."""
    if not re.match(NAME_PATTERN, name) or name in (".", ".."):
        raise RatchetError(f"--name {name!r} is not a run name (expected letters, digits, "
                           "'_', '.' or '-', starting with a letter or digit)")
    return name


def existing_runs() -> list[Path]:
    """Run directories (holding a store) under ./runs."""
    return sorted(p.parent for p in RUNS.glob("*/ratchet.db"))


def resolve_run_dir(run_dir: Path | None, name: str | None = None,
                    must_exist: bool = False) -> Path:
    """``--run-dir``, else ``runs/<name>``, else the only run under ./runs."""
    if name is not None and run_dir is None:
        check_name(name)
    directory = run_dir if run_dir is not None else RUNS / name if name else None
    if directory is None:
        runs = existing_runs()
        if len(runs) != 1:
            listed = f" (runs here: {', '.join(map(str, runs))})" if runs else ""
            raise RatchetError(f"which run? pass --run-dir DIR or a name{listed}")
        directory = runs[0]
    shown = str(directory) if len(str(directory)) <= 120 else str(directory)[:117] + "..."
    if len(str(directory)) > 1024 or any(len(part.encode()) > 255 for part in directory.parts):
        raise RatchetError(f"run directory {shown}: too long a path (at most 255 bytes a "
                           "name, 1024 in all)")
    try:
        if directory.exists() and not directory.is_dir():
            raise RatchetError(f"{shown} is a file, expected a run directory")
        if must_exist and not directory.is_dir():
            raise RatchetError(f"no run at {shown}")
    except OSError as exc:
        raise RatchetError(f"run directory {shown}: {exc.strerror}") from None
    return directory


def check_outside_run(path: Path, run_dir: Path, what: str) -> None:
    """Refuse to write ``what`` to ``path`` when that is the run's store or anything
    inside its directory (an export written over ``ratchet.db`` loses the run), or a
    directory."""
    target = path.expanduser().resolve()
    home = run_dir.resolve()
    if target == home or home in target.parents:
        raise RatchetError(f"refusing to write {what} to {path}: it is inside the run "
                           f"directory {run_dir}, whose files only the run writes; choose "
                           "a path outside it")
    if target.is_dir():
        raise RatchetError(f"{path} is a directory; expected a file path for {what}")


def configuration_dirs(run_dir: Path) -> dict[str, Path]:
    """The configurations of a run with several, by name (empty for a plain run)."""
    root = run_dir / CONFIGURATIONS
    if (run_dir / "ratchet.db").exists() or not root.is_dir():
        return {}
    return {d.name: d for d in sorted(root.iterdir()) if (d / "ratchet.db").exists()}


def read_league(run_dir: Path) -> dict[str, Any]:
    """The curriculum's state of a run of several configurations ({} if none)."""
    try:
        return dict(json.loads((run_dir / LEAGUE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return {}
