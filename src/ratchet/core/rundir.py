"""A run's directory: every path in it (`RunDir`), its clean-up after a crash, and where
runs live (`runs/<name>` by default, one resolver for every command)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ratchet.core.errors import RatchetError

RUNS = Path("runs")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


def children_registry(work: Path) -> Path:
    """Where the processes a plugin starts in its working directory are registered, so
    that a stop ends them and the next start reaps any a crash left."""
    return work / ".children"


class RunDir:
    """Every file of one run. Nothing else builds a path inside a run directory: plugins
    get their working directory (`work`) and keep their own files under it."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def _at(self, *parts: str) -> Path:
        return self.path.joinpath(*parts)

    # the record: the store, its checkpoints, what the loop and the champion publish
    @property
    def store(self) -> Path:
        return self._at("ratchet.db")

    @property
    def store_files(self) -> tuple[Path, Path, Path]:
        """The store and its journal (write-ahead log, shared memory)."""
        return self.store, self._at("ratchet.db-wal"), self._at("ratchet.db-shm")

    @property
    def restore_scratch(self) -> Path:
        """Where `ratchet restore` checks a checkpoint before putting it in place."""
        return self._at(f".restore-{os.getpid()}.db")

    @property
    def checkpoints(self) -> Path:
        return self._at("checkpoints")

    def checkpoint(self, cycle: int) -> Path:
        return self.checkpoints / f"cycle-{cycle:08d}.db"

    def checkpoint_files(self) -> list[Path]:
        """The store's snapshots, oldest first."""
        return sorted(self.checkpoints.glob("cycle-*.db"))

    def champion_record(self, version: int) -> Path:
        """One small record per champion, kept forever beside the snapshots."""
        return self.checkpoints / f"champion-v{version:04d}.json"

    @property
    def state(self) -> Path:
        """The loop's live state (phase, cycle, progress), rewritten as it goes."""
        return self._at("state.json")

    @property
    def champion(self) -> Path:
        return self._at("champion.json")

    def published(self, name: str) -> Path:
        """A file a target publishes beside the record for others to read (the cartpole
        target's live policy)."""
        return self._at(name)

    @property
    def calibration(self) -> Path:
        """`ratchet calibrate`'s report, and the scratch run it measures in."""
        return self._at("calibration.json")

    @property
    def calibration_scratch(self) -> Path:
        """Calibration's own directory (a copy of the live file is kept there)."""
        return self._at("calibration")

    @property
    def calibration_run(self) -> Path:
        return self.calibration_scratch / "run"

    def calibration_live_copy(self, suffix: str) -> Path:
        """The copy of the live file a calibration measures (the live file is never
        written)."""
        return self.calibration_scratch / f"live{suffix}"

    # the daemon
    @property
    def lock(self) -> Path:
        return self._at("ratchet.lock")

    @property
    def pid(self) -> Path:
        return self._at("ratchet.pid")

    @property
    def daemon(self) -> Path:
        """Who holds the run (pid, mode, start time)."""
        return self._at("daemon.json")

    @property
    def start_request(self) -> Path:
        """How `ratchet start` started the daemon (recipe, cwd), for `restart`."""
        return self._at("start.json")

    @property
    def fatal(self) -> Path:
        """The error the daemon last ended on, for `ratchet status`."""
        return self._at("last_error.json")

    @property
    def token(self) -> Path:
        return self._at("token")

    @property
    def dashboard(self) -> Path:
        """The supervised dashboard's address and process."""
        return self._at("dashboard.json")

    @property
    def logs(self) -> Path:
        return self._at("logs")

    @property
    def daemon_out(self) -> Path:
        """The daemon's stdout and stderr under `ratchet start` (fault reports land here)."""
        return self.logs / "daemon.out"

    def log_file(self, started: str) -> Path:
        """The log of the process started at ``started`` (a timestamp)."""
        return self.logs / f"ratchet-{started}.log"

    def log_files(self) -> list[Path]:
        """The run's log files, oldest first."""
        return sorted(self.logs.glob("ratchet-*.log"))

    # requests to a running loop (see core.controls)
    @property
    def pause_request(self) -> Path:
        return self._at("pause")

    @property
    def stop_request(self) -> Path:
        return self._at("stop")

    @property
    def promote_request(self) -> Path:
        return self._at("promote")

    # the plugins' working directory and the processes started in it
    @property
    def work(self) -> Path:
        return self._at("work")

    @property
    def children(self) -> Path:
        return children_registry(self.work)

    @property
    def workers(self) -> Path:
        """Where pool workers register."""
        return self.work / ".workers"

    # a run of several configurations: one run directory each, and the curriculum's state
    @property
    def configurations(self) -> Path:
        return self._at("configurations")

    def configuration(self, name: str) -> RunDir:
        return RunDir(self.configurations / name)

    @property
    def league(self) -> Path:
        return self._at("league.json")

    @property
    def parent_run(self) -> RunDir | None:
        """The run of several configurations this one is a configuration of, if any."""
        up = self.path.parent
        return RunDir(up.parent) if up.name == self.configurations.name else None

    def clean_after_crash(self) -> None:
        """Before a loop starts here: end the processes a killed daemon left (benchmarks,
        pool workers) and forget a stop request meant for the previous process."""
        from ratchet.core import children

        children.reset(self.children)
        children.reap_orphans(self.children)
        children.reap_orphans(self.workers, "pool workers")
        self.stop_request.unlink(missing_ok=True)


def check_name(name: str) -> str:
    """A run name is one path component under runs/: letters, digits, '_', '.', '-'."""
    if not re.match(NAME_PATTERN, name) or name in (".", ".."):
        raise RatchetError(f"--name {name!r} is not a run name (expected letters, digits, "
                           "'_', '.' or '-', starting with a letter or digit)")
    return name


def existing_runs() -> list[Path]:
    """Run directories (holding a store) under ./runs."""
    return sorted(p.parent for p in RUNS.glob("*/" + RunDir("").store.name))


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
            raise RatchetError(f"which run? pass RECIPE, --run-dir DIR or --name NAME{listed}")
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
    run = RunDir(run_dir)
    if run.store.exists() or not run.configurations.is_dir():
        return {}
    return {d.name: d for d in sorted(run.configurations.iterdir())
            if RunDir(d).store.exists()}


def read_league(run_dir: Path) -> dict[str, Any]:
    """The curriculum's state of a run of several configurations ({} if none)."""
    try:
        return dict(json.loads(RunDir(run_dir).league.read_text()))
    except (OSError, ValueError, TypeError):
        return {}
