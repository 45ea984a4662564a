"""Where runs live (`runs/<name>` by default): one resolver for every command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ratchet.errors import RatchetError

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
    if directory.exists() and not directory.is_dir():
        raise RatchetError(f"{directory} is a file, expected a run directory")
    if must_exist and not directory.is_dir():
        raise RatchetError(f"no run at {directory}")
    return directory


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
