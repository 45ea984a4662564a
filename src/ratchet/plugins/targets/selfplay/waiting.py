"""Waits that a stop cuts short: the pause between trainings and a training process's
result (its process killed), each raising ``Stopped`` once ratchet is stopping."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any

from ratchet.plugins.targets.selfplay.match import Stopped

STOP_POLL_S = 0.2  # how often waiting work looks for a stop


def sleep(seconds: float, stopping: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stopping():
            raise Stopped("waiting to train: ratchet is stopping")
        time.sleep(min(left, STOP_POLL_S))


def result(pool: Any, future: Future[Any], what: str, stopping: Callable[[], bool]) -> Any:
    """``future``'s result, the pool's processes killed once ratchet is stopping."""
    while True:
        try:
            return future.result(timeout=STOP_POLL_S)
        except FuturesTimeout:
            if stopping():
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.kill()
                raise Stopped(f"{what} abandoned: ratchet is stopping") from None
