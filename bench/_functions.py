"""Noisy test functions with a known optimum, as a ratchet Target (scalar samples)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ratchet.core.space import Space
from ratchet.core.types import EvalTask, Measurement
from ratchet.plugins.targets import Target

DIM = 4
OPTIMUM = np.array([1.5, -2.0, 0.5, 3.0])
START = np.zeros(DIM)


def _bowl(x: np.ndarray) -> float:
    return float(np.sum((x - OPTIMUM) ** 2))


def _rosenbrock(x: np.ndarray) -> float:
    z = (x - OPTIMUM) / 2.0 + 1.0  # optimum of the classic form is at z = 1
    return float(np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2))


def _rastrigin(x: np.ndarray) -> float:
    z = x - OPTIMUM
    return float(10 * DIM + np.sum(z**2 - 10 * np.cos(2 * np.pi * z)))


def _flat(x: np.ndarray) -> float:
    return 1.0  # every configuration equally good: every promotion is a false one


FUNCTIONS: dict[str, Callable[[np.ndarray], float]] = {
    "bowl": _bowl, "rosenbrock": _rosenbrock, "rastrigin": _rastrigin, "flat": _flat}


def space() -> Space:
    return Space.from_dict({f"x{i}": {"type": "float", "low": -5.0, "high": 5.0}
                            for i in range(DIM)})


def point(params: dict[str, float]) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(DIM)])


@dataclass
class Problem:
    """score = 100 - 50 * f(x) / f(start): 50 at the start, 100 at the optimum."""

    name: str
    noise: float

    @property
    def fn(self) -> Callable[[np.ndarray], float]:
        return FUNCTIONS[self.name]

    def regret(self, params: dict[str, float]) -> float:
        """Fraction of the start's gap to the optimum still left (0 = solved)."""
        return self.fn(point(params)) / self.fn(START)

    def score(self, x: np.ndarray) -> float:
        return 100.0 - 50.0 * self.fn(x) / self.fn(START)


class FunctionTarget(Target):
    """Each evaluation is one noisy sample; ``evaluations`` counts them (the budget)."""

    name = "function"
    outcome = "samples"

    def __init__(self, problem: Problem, seed: int, delay_s: float = 0.0):
        self.problem = problem
        self.delay_s = delay_s  # each sample's cost: equal-time comparisons
        self.rng = np.random.default_rng(seed)
        self.evaluations = 0

    def baseline(self, space: Space) -> dict[str, float]:
        return {f"x{i}": float(v) for i, v in enumerate(START)}

    def sample(self, params: dict[str, float]) -> float:
        self.evaluations += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.problem.score(point(params)) + self.rng.normal(0, self.problem.noise)

    def evaluate(self, task: EvalTask) -> Measurement:
        values = tuple(self.sample(task.candidate.params) for _ in range(task.size))
        return Measurement("samples", values)
