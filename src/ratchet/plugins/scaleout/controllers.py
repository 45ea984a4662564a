"""Keeping a node's utilization inside its band by the number of workers it runs.

One PID controller per node and per resource (CPU, GPU, GPU memory), each with its own
set point and band, and each keeping its own state, which round-trips through a dict so
that it survives a restart. Seed 001 shared one controller across every node (the
integral and derivative of one node mixed into another's), drove the GPU with the CPU's
set point, and let the integral saturate after one update; here:

    error(t)      = set point - measurement(t)
    integral(t)   = integral(t-1) + error(t) * dt     (kept where ki * integral lies
                                                        between none and the most
                                                        workers: anti-windup)
    derivative(t) = -(measurement(t) - measurement(t-1)) / dt   (on the measurement, so a
                                                                 set point change does
                                                                 not kick the output)
    raw(t)        = kp * error + ki * integral + kd * derivative   (workers above the
                                                                    minimum)
    output(t)     = smoothing * raw(t) + (1 - smoothing) * output(t-1)

An update sooner than ``min_interval_s`` after the last one is ignored. A node runs the
fewest workers any of its resources asks for (the most constrained resource wins).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Band:
    """A resource's set point and the band it should stay in (percent)."""

    target: float = 70.0
    low: float = 60.0
    high: float = 80.0

    def __post_init__(self) -> None:
        if not self.low <= self.target <= self.high:
            raise ValueError(f"a band needs low <= target <= high, got {self.low}, "
                             f"{self.target}, {self.high}")

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Gains:
    kp: float = 0.04         # workers per percentage point of error
    ki: float = 0.004        # workers per percentage point per second
    kd: float = 0.0          # workers per percentage point per second of change
    smoothing: float = 0.6   # weight of the new output against the previous one
    min_interval_s: float = 10.0


@dataclass
class PIDState:
    integral: float = 0.0
    output: float = 0.0
    last_measurement: float | None = None
    last_time: float | None = None


@dataclass
class PID:
    band: Band
    gains: Gains = Gains()
    state: PIDState = field(default_factory=PIDState)

    def update(self, measurement: float, now: float, *, span: float = math.inf
               ) -> float | None:
        """The output (workers above the minimum) after a new measurement, or None when
        too soon after the last one. ``span``: the most workers above the minimum."""
        s, g = self.state, self.gains
        if s.last_time is not None and now - s.last_time < g.min_interval_s:
            return None
        dt = g.min_interval_s if s.last_time is None else now - s.last_time
        error = self.band.target - measurement
        derivative = 0.0 if s.last_measurement is None else \
            -(measurement - s.last_measurement) / dt
        # anti-windup: the integral term alone never asks for fewer than the minimum or
        # more than the most workers, however long the node stays out of its band
        top = span / g.ki if g.ki and math.isfinite(span) else math.inf
        s.integral = min(max(s.integral + error * dt, 0.0), top)
        raw = min(max(g.kp * error + g.ki * s.integral + g.kd * derivative, 0.0), span)
        s.output = g.smoothing * raw + (1 - g.smoothing) * s.output
        s.last_measurement, s.last_time = measurement, now
        return s.output


@dataclass
class NodeController:
    """One node's workers: each resource's controller, the fewest workers wins."""

    node: str
    bands: dict[str, Band]
    min_workers: int = 1
    max_workers: int = 64
    gains: Gains = Gains()
    controllers: dict[str, PID] = field(default_factory=dict)
    workers: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.min_workers <= self.max_workers:
            raise ValueError(f"need 0 <= min_workers <= max_workers, got "
                             f"{self.min_workers}, {self.max_workers}")
        for resource, band in self.bands.items():
            self.controllers.setdefault(resource, PID(band, self.gains))
        self.workers = min(max(self.workers, self.min_workers), self.max_workers)

    def update(self, measurements: dict[str, float], now: float) -> int:
        """The number of workers this node should run after these measurements (a
        resource not measured, e.g. no GPU, has no say)."""
        span = self.max_workers - self.min_workers
        asked = []
        for resource, value in measurements.items():
            pid = self.controllers.get(resource)
            if pid is None:
                continue
            out = pid.update(value, now, span=span)
            if out is not None:
                asked.append(self.min_workers + round(out))
        if asked:
            self.workers = min(max(min(asked), self.min_workers), self.max_workers)
        return self.workers

    def due(self, now: float) -> bool:
        """True when some resource's controller would take a new measurement now."""
        return any(pid.state.last_time is None
                   or now - pid.state.last_time >= pid.gains.min_interval_s
                   for pid in self.controllers.values())

    def in_band(self, measurements: dict[str, float]) -> dict[str, bool]:
        return {r: self.bands[r].holds(v) for r, v in measurements.items() if r in self.bands}

    # -- surviving a restart ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "workers": self.workers,
                "state": {r: asdict(pid.state) for r, pid in self.controllers.items()}}

    def restore(self, saved: dict[str, Any]) -> None:
        """The state ``to_dict`` saved, for this node only (another node's is refused)."""
        if saved.get("node") != self.node:
            raise ValueError(f"controller state of node {saved.get('node')!r} is not "
                             f"{self.node!r}'s")
        self.workers = min(max(int(saved["workers"]), self.min_workers), self.max_workers)
        for resource, state in saved["state"].items():
            if resource in self.controllers:
                self.controllers[resource].state = PIDState(**state)


def reading(controller: NodeController, measured: dict[str, float], now: float,
            action: int) -> dict[str, Any]:
    """What is kept of a node after its controller's update (the state survives a
    restart; the rest is shown by `status` and `/metrics`)."""
    return {"controller": controller.to_dict(), "measured": measured, "at": now,
            "in_band": controller.in_band(measured), "action": action}


@dataclass
class NodeStep:
    """What one round of ``NodeControllers.step`` did."""

    alive: dict[str, int]                 # node: workers it runs now
    new: list[str]                        # nodes seen for the first time
    readings: dict[str, dict[str, Any]]   # node: ``reading`` after its update
    gone: list[str]                       # nodes no longer alive


class NodeControllers:
    """One controller per node of a worker group (``WorkerGroup.nodes`` and
    ``measure_nodes``): made by ``make(node, workers)`` when a node is first seen (this
    reading only primes its measurement), updated when due, forgotten when the node is
    gone."""

    def __init__(self, make: Callable[[str, int], NodeController]):
        self.make = make
        self.by_node: dict[str, NodeController] = {}

    def step(self, group: Any, now: float) -> NodeStep | None:
        """One round; None when nothing is due, or nothing answered (stopping)."""
        if self.by_node and not any(c.due(now) for c in self.by_node.values()):
            return None
        measured = group.measure_nodes()
        alive = group.nodes() if measured else {}
        if not measured or not alive:
            return None
        done = NodeStep(alive, [], {}, [])
        for node, read in measured.items():
            if node not in alive:  # measured just before it was lost: gone, not new
                continue
            controller = self.by_node.get(node)
            if controller is None:
                self.by_node[node] = self.make(node, alive.get(node, 0))
                done.new.append(node)
            elif controller.due(now):
                before = controller.workers
                controller.update(read, now)
                done.readings[node] = reading(controller, read, now,
                                              controller.workers - before)
        done.gone = [n for n in self.by_node if n not in alive]
        for node in done.gone:
            del self.by_node[node]
        return done


Labeled = list[tuple[dict[str, str], float | None]]
RESOURCE_SERIES = {"cpu": "cpu_utilization_percent", "memory": "memory_utilization_percent",
                   "gpu": "gpu_utilization_percent",
                   "gpu_memory": "gpu_memory_utilization_percent"}


def node_series(nodes: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, Labeled]]:
    """Each node's readings (``reading``) as metric series labeled by node; the cluster's
    mean of each resource over its nodes. A node that is gone is left out."""
    nodes = {n: seen for n, seen in nodes.items() if not seen.get("gone_at")}
    series: list[tuple[str, str, str, Labeled]] = []
    for resource, name in RESOURCE_SERIES.items():
        values = {node: seen["measured"][resource] for node, seen in nodes.items()
                  if resource in seen.get("measured", {})}
        if not values:
            continue
        series.append((f"ratchet_node_{name}", "gauge", f"{resource} utilization of a "
                       "node, as its worker controller last read it (percent)",
                       [({"node": n}, v) for n, v in values.items()]))
        series.append((f"ratchet_cluster_{name}", "gauge", f"mean {resource} utilization "
                       "over the nodes (percent)",
                       [({}, sum(values.values()) / len(values))]))
    series += [
        ("ratchet_in_target_range", "gauge", "1 if a node's resource is inside its band",
         [({"node": n, "resource": r}, float(inside)) for n, seen in nodes.items()
          for r, inside in seen.get("in_band", {}).items()]),
        ("ratchet_controller_workers", "gauge", "workers a node's controller runs",
         [({"node": n}, float(seen["controller"]["workers"])) for n, seen in nodes.items()]),
        ("ratchet_controller_action", "gauge", "a node controller's last change of its "
         "workers (+ more, - fewer, 0 none)",
         [({"node": n}, float(seen.get("action", 0))) for n, seen in nodes.items()]),
    ]
    return series


def measure(gpu: bool = True) -> dict[str, float]:
    """This node's utilization now: CPU (psutil), and where a GPU answers (pynvml) its
    utilization and memory in use, in percent."""
    import psutil

    found = {"cpu": float(psutil.cpu_percent(interval=None)),
             "memory": float(psutil.virtual_memory().percent)}
    if gpu:
        found.update(gpu_reading())
    return found


_gpu_unavailable: list[str] = []  # why GPUs cannot be read here, once known


def gpu_reading() -> dict[str, float]:
    """Every GPU's utilization (their mean) and memory in use (the fullest), in percent,
    through NVML (`pip install 'ratchet[gpu]'`); {} where none can be read. Why not is
    logged once per process, not at every reading."""
    if _gpu_unavailable:
        return {}
    try:
        import pynvml
    except ImportError:
        return _no_gpu("no NVML bindings (pip install 'ratchet[gpu]' for GPU readings)",
                       logging.INFO)
    try:
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                   for i in range(pynvml.nvmlDeviceGetCount())]
        if not handles:
            return _no_gpu("NVML sees no GPU", logging.INFO)
        busy = [float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu) for h in handles]
        memory = [pynvml.nvmlDeviceGetMemoryInfo(h) for h in handles]
    except Exception as exc:  # noqa: BLE001 - no driver, a lost GPU: say it once
        return _no_gpu(f"NVML failed: {type(exc).__name__}: {exc}", logging.WARNING)
    return {"gpu": sum(busy) / len(busy),
            "gpu_memory": max(100.0 * m.used / m.total for m in memory)}


def _no_gpu(reason: str, level: int) -> dict[str, float]:
    _gpu_unavailable.append(reason)
    log.log(level, "GPU readings unavailable: %s; the controllers go by the CPU alone",
            reason)
    return {}
