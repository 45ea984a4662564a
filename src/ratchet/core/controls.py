"""Control files in the run directory: how `ratchet pause|resume|stop` reach a running loop
without writing to its store (the loop stays the store's one writer)."""

from __future__ import annotations

import os
from pathlib import Path

from ratchet.core.rundir import RunDir


class Controls:
    def __init__(self, run_dir: Path):
        self.run = RunDir(run_dir)
        # looked at before every batch: the paths made once
        self._pause, self._stop, self._promote = (str(p) for p in (
            self.run.pause_request, self.run.stop_request, self.run.promote_request))

    @property
    def paused(self) -> bool:
        return os.path.exists(self._pause)

    @property
    def stop_requested(self) -> bool:
        return os.path.exists(self._stop)

    def pause(self) -> None:
        self.run.pause_request.touch()

    def resume(self) -> None:
        self.run.pause_request.unlink(missing_ok=True)

    def request_stop(self) -> None:
        self.run.stop_request.touch()

    def clear_stop(self) -> None:
        self.run.stop_request.unlink(missing_ok=True)

    def request_promotion(self, candidate_id: str) -> None:
        """Promote ``candidate_id`` at the loop's next safe point (a person's choice)."""
        from ratchet.core.atomic import atomic_write_text

        atomic_write_text(self.run.promote_request, candidate_id + "\n")

    def take_promotion(self) -> tuple[str, str] | None:
        """(candidate, "") asked for, once (the second item: no revert reason)."""
        if not os.path.exists(self._promote):
            return None
        path = Path(self._promote)
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            return None
        path.unlink(missing_ok=True)
        candidate = lines[0].strip() if lines else ""
        return (candidate, "") if candidate else None
