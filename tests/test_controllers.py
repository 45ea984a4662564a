"""The per-node resource controller against a simulated node: a worker costs a share of
the CPU (or GPU), utilization follows with a lag and noise, and other load comes and
goes."""

import math
import random
import statistics

import pytest

from ratchet.plugins.scaleout.controllers import Band, NodeController


class SimulatedNode:
    """Utilization = other load + cost per worker x workers, reached with a 15 s lag,
    read with 2 points of noise; one reading every 10 s."""

    def __init__(self, cost: dict[str, float], seed: int = 0):
        self.cost = cost
        self.load = {r: 0.0 for r in cost}
        self.other = {r: 0.0 for r in cost}
        self.rng = random.Random(seed)
        self.t = 0.0

    def step(self, workers: int) -> dict[str, float]:
        self.t += 10.0
        read = {}
        for r, per in self.cost.items():
            goal = min(100.0, self.other[r] + per * workers)
            self.load[r] += (goal - self.load[r]) * (1 - math.exp(-10.0 / 15.0))
            read[r] = min(100.0, max(0.0, self.load[r] + self.rng.gauss(0, 2)))
        return read


def run(node, controller, steps, trace=None):
    trace = [] if trace is None else trace
    for _ in range(steps):
        read = node.step(controller.workers)
        trace.append((controller.update(read, node.t), read))
    return trace


def settled(trace):
    workers = [w for w, _ in trace]
    middle = statistics.median(workers)
    in_band = sum(60 <= read["cpu"] <= 80 for _, read in trace) / len(trace)
    return in_band, max(abs(w - middle) for w in workers)


def test_cpu_settles_inside_its_band_without_oscillating():
    node = SimulatedNode({"cpu": 100 / 16})  # 16 cores, a worker each
    controller = NodeController("node-a", {"cpu": Band(70, 60, 80)}, max_workers=64)
    trace = run(node, controller, 150)
    assert controller.workers in (10, 11, 12)  # 70% of 16 cores
    in_band, spread = settled(trace[10:])  # within 100 s
    assert in_band >= 0.95 and spread <= 1  # only the noise moves it, by one worker
    node.other["cpu"] = 30.0  # something else starts using the node
    trace = run(node, controller, 150)
    in_band, spread = settled(trace[10:])
    assert in_band >= 0.95 and spread <= 1 and controller.workers in (6, 7, 8)


def test_each_node_and_resource_has_its_own_controller_and_state():
    bands = {"cpu": Band(70, 60, 80), "gpu": Band(85, 75, 95)}
    cpu_bound = NodeController("cpu-node", bands, max_workers=64)
    gpu_bound = NodeController("gpu-node", bands, max_workers=64)
    a = SimulatedNode({"cpu": 100 / 16, "gpu": 2.0}, seed=1)   # CPU fills first
    b = SimulatedNode({"cpu": 100 / 64, "gpu": 17.0}, seed=2)  # GPU fills first
    run(a, cpu_bound, 100)
    trace = run(b, gpu_bound, 100)
    assert cpu_bound.workers in (10, 11, 12) and gpu_bound.workers in (4, 5, 6)
    assert sum(75 <= read["gpu"] <= 95 for _, read in trace[20:]) >= 0.95 * 80
    states = [pid.state for c in (cpu_bound, gpu_bound) for pid in c.controllers.values()]
    assert len({id(s) for s in states}) == 4  # nothing shared between nodes or resources
    with pytest.raises(ValueError, match="node 'cpu-node' is not 'gpu-node'"):
        gpu_bound.restore(cpu_bound.to_dict())


def test_a_restarted_controller_carries_on_where_it_was():
    def fresh():
        return NodeController("node-a", {"cpu": Band()}, max_workers=64)

    steady, node = fresh(), SimulatedNode({"cpu": 100 / 16}, seed=3)
    whole = run(node, steady, 60)
    again, node = fresh(), SimulatedNode({"cpu": 100 / 16}, seed=3)
    first = run(node, again, 30)
    saved = again.to_dict()
    restarted = fresh()
    restarted.restore(saved)  # as a new process would, from the store
    assert [w for w, _ in run(node, restarted, 30, first)] == [w for w, _ in whole]


def test_the_integral_does_not_wind_up_while_the_workers_are_at_their_limit():
    node = SimulatedNode({"cpu": 100 / 16})
    controller = NodeController("small", {"cpu": Band()}, max_workers=4)  # 25% at most
    run(node, controller, 200)  # 2,000 s below the band, pinned at 4 workers
    pid = controller.controllers["cpu"]
    assert controller.workers == 4 and pid.gains.ki * pid.state.integral <= 3 + 1e-9
    node.other["cpu"] = 95.0  # then the node fills up from elsewhere
    trace = run(node, controller, 6)
    assert [w for w, _ in trace][-1] == 1  # down to the minimum at once, no unwinding


def test_updates_closer_than_the_minimum_interval_are_ignored():
    controller = NodeController("n", {"cpu": Band()}, max_workers=8)
    first = controller.update({"cpu": 10.0}, 100.0)
    assert controller.update({"cpu": 99.0}, 105.0) == first
    assert controller.update({"cpu": 99.0}, 111.0) < first
    with pytest.raises(ValueError, match="low <= target <= high"):
        Band(90, 60, 80)


def test_a_node_measured_just_before_it_was_lost_is_gone_not_new():
    """A reading of a node that the group no longer lists (its monitor answered, then the
    node was lost) makes no controller: the node is reported gone, once."""
    from ratchet.plugins.scaleout.controllers import NodeControllers

    class Group:
        def __init__(self):
            self.listed = {"a": 2, "b": 1}

        def measure_nodes(self):
            return {"a": {"cpu": 50.0}, "b": {"cpu": 50.0}}  # b's reading arrives late

        def nodes(self):
            return dict(self.listed)

    group = Group()
    controllers = NodeControllers(lambda node, workers: NodeController(
        node, {"cpu": Band(70, 60, 80)}, max_workers=8, workers=workers))
    first = controllers.step(group, 0.0)
    assert sorted(first.new) == ["a", "b"]
    del group.listed["b"]
    done = controllers.step(group, 10.0)
    assert done.gone == ["b"] and "b" not in done.readings and "b" not in done.new
    assert set(controllers.by_node) == {"a"}  # every node a caller is told of has one
    again = controllers.step(group, 20.0)
    assert again.gone == [] and "b" not in again.new
