"""System metrics a strategy may observe (seed 003's ``state_space``), each scaled to [0, 1]."""

from __future__ import annotations

from collections.abc import Callable

import psutil


def _load() -> float:
    return min(1.0, psutil.getloadavg()[0] / (2.0 * (psutil.cpu_count() or 1)))


STATE_METRICS: dict[str, Callable[[], float]] = {
    "cpu_usage": lambda: psutil.cpu_percent(interval=None) / 100.0,
    "memory_used_percent": lambda: psutil.virtual_memory().percent / 100.0,
    "swap_used_percent": lambda: psutil.swap_memory().percent / 100.0,
    "load_average": _load,  # 1-minute load over twice the CPU count, capped at 1
}


def read_metrics(names: list[str] | tuple[str, ...]) -> list[float]:
    return [float(STATE_METRICS[name]()) for name in names]
