"""CartPole task families, seeded, split into training and held-out sets.

Plain CartPole cannot show meta-learning: the one-line rule "push right if
theta + 0.5 * theta_dot > 0" balances for 500 steps, and ~491 on average across varied
physics. So besides ``physics`` variants the distribution holds ``hard`` variants where any
fixed policy fails and adaptation is required:

* ``physics``: pole half-length U[0.25, 1.0] (nominal 0.5), pole mass U[0.05, 0.5] (0.1),
  cart mass U[0.5, 2.0] (1.0), gravity U[8, 12] (9.8), force magnitude U[7, 13] (10).
  Robust policies transfer. The ``wide`` split (held out, physics only) draws each parameter
  log-uniformly from a range twice as wide in log scale about the same geometric centre
  (``WIDE_RANGES``: pole half-length 0.125-2, pole mass 0.016-1.58, cart mass 0.25-4,
  gravity 6.5-14.7, force 5.1-17.7): extrapolation, where CartPole-v1's 500 steps do not
  saturate every method.
* ``flip``: the action meaning is flipped (0 pushes right, 1 left). Every fixed policy fails.
* ``permute_obs``: the observation's dimensions come in a random non-identity order.
* ``mix_obs``: the observation is multiplied by a random matrix (orthogonal, rows scaled by
  U[0.5, 2]).
* ``mask_vel``: velocities are zeroed, only position and angle are observed: memory needed.

Training hard tasks use one hard transform on nominal-ish physics; held-out hard tasks are
unseen *combinations* (two transforms, e.g. flip + mix_obs) on varied physics. The
``validation`` split (what the RSI daemon selects on, so that the held-out figures stay
held out) draws physics like the held-out split and single hard transforms on varied
physics. Every task is fully determined by (family, split, index, seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Split = Literal["train", "validation", "heldout", "wide"]
SPLITS: tuple[Split, ...] = ("train", "validation", "heldout", "wide")
PHYSICS_RANGES: dict[str, tuple[float, float]] = {
    "length": (0.25, 1.0), "masspole": (0.05, 0.5), "masscart": (0.5, 2.0),
    "gravity": (8.0, 12.0), "force_mag": (7.0, 13.0)}
WIDE_RANGES: dict[str, tuple[float, float]] = {
    k: (math.sqrt(lo * hi) / (hi / lo), math.sqrt(lo * hi) * (hi / lo))
    for k, (lo, hi) in PHYSICS_RANGES.items()}
"""Each physics range widened to ``[c / (hi/lo), c * (hi/lo)]`` about its geometric centre c."""
NOMINAL = {"length": 0.5, "masspole": 0.1, "masscart": 1.0, "gravity": 9.8, "force_mag": 10.0}
HARD = ("flip", "permute_obs", "mix_obs", "mask_vel")
HELDOUT_COMBOS = (("flip", "mix_obs"), ("permute_obs", "mask_vel"), ("flip", "mask_vel"),
                  ("flip", "permute_obs"), ("mix_obs", "mask_vel"))


@dataclass(frozen=True)
class Task:
    name: str
    physics: dict[str, float] = field(default_factory=lambda: dict(NOMINAL))
    transforms: tuple[str, ...] = ()
    obs_matrix: tuple[tuple[float, ...], ...] | None = None  # applied as obs @ M.T
    obs_permutation: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "physics": self.physics, "transforms": list(self.transforms)}


def nominal() -> Task:
    return Task("nominal")


def _rng(family: str, split: Split, index: int, seed: int) -> np.random.Generator:
    code = sum(ord(c) * 31**i for i, c in enumerate(f"{family}/{split}")) % 2**31
    return np.random.default_rng([seed, code, index])


def _physics(rng: np.random.Generator) -> dict[str, float]:
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in PHYSICS_RANGES.items()}


def _with_transform(name: str, rng: np.random.Generator, task: dict[str, Any]) -> None:
    if name == "permute_obs":
        perm = np.arange(4)
        while (perm == np.arange(4)).all():
            perm = rng.permutation(4)
        task["obs_permutation"] = tuple(int(i) for i in perm)
    elif name == "mix_obs":
        q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
        scales = rng.uniform(0.5, 2.0, size=4)
        task["obs_matrix"] = tuple(tuple(float(v) for v in row) for row in q * scales[:, None])


def physics_task(split: Split, index: int, seed: int = 0) -> Task:
    rng = _rng("physics", split, index, seed)
    if split == "wide":
        physics = {k: float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
                   for k, (lo, hi) in WIDE_RANGES.items()}
        return Task(f"physics-wide-{index}", physics)
    return Task(f"physics-{split}-{index}", _physics(rng))


def hard_task(split: Split, index: int, seed: int = 0) -> Task:
    if split == "wide":
        raise ValueError("the wide split is physics only: hard tasks are train, validation "
                         "or heldout")
    rng = _rng("hard", split, index, seed)
    if split == "train":
        transforms: tuple[str, ...] = (HARD[index % len(HARD)],)
        physics = {k: float(v * rng.uniform(0.9, 1.1)) for k, v in NOMINAL.items()}
    elif split == "validation":
        transforms = (HARD[index % len(HARD)],)
        physics = _physics(rng)
    else:
        transforms = HELDOUT_COMBOS[index % len(HELDOUT_COMBOS)]
        physics = _physics(rng)
    spec: dict[str, Any] = {"name": f"hard-{split}-{index}-{'+'.join(transforms)}",
                            "physics": physics, "transforms": transforms}
    for t in transforms:
        _with_transform(t, rng, spec)
    return Task(**spec)


def task_set(family: Literal["physics", "hard"], split: Split, n: int, seed: int = 0
             ) -> list[Task]:
    make = physics_task if family == "physics" else hard_task
    return [make(split, i, seed) for i in range(n)]


SET_SIZES = {"physics": 30, "hard": 10}


def tasks_named(name: str, seed: int = 0) -> list[Task]:
    """``nominal``; one task, ``physics-heldout-3``; or a whole set, ``hard-train`` (30
    physics or 10 hard tasks; ``physics-wide``: 30 tasks from ``WIDE_RANGES``)."""
    if name == "nominal":
        return [nominal()]
    parts = name.split("-")
    family, split = parts[0], parts[1] if len(parts) > 1 else ""
    if family in SET_SIZES and split in SPLITS:
        if len(parts) == 2:
            return task_set(family, split, SET_SIZES[family], seed)  # type: ignore[arg-type]
        if len(parts) == 3 and parts[2].isdigit():
            make = physics_task if family == "physics" else hard_task
            return [make(split, int(parts[2]), seed)]  # type: ignore[arg-type]
    raise ValueError(f"unknown task {name!r}: expected nominal, FAMILY-SPLIT or "
                     f"FAMILY-SPLIT-INDEX with FAMILY physics or hard and SPLIT one of "
                     f"{', '.join(SPLITS)} (wide: physics only; e.g. physics-heldout, "
                     "hard-train-2)")


TRAIN_TASKS = 20


def training_tasks(seed: int = 0, hard: bool = False) -> list[Task]:
    """Nominal CartPole, the physics training tasks and, with ``hard``, the hard ones."""
    tasks = [nominal(), *task_set("physics", "train", TRAIN_TASKS, seed)]
    return tasks + task_set("hard", "train", TRAIN_TASKS, seed) if hard else tasks
