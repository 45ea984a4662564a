"""The five CartPole metrics, from the returns of one evaluation.

An evaluation plays *units*: each unit is one task played for ``E`` episodes back to back
with the hidden state carried (the policy adapts in context). Units are either held-out
``physics`` tasks or held-out ``hard`` tasks. With R[u][e] the return of episode e of
unit u, L the most an episode can return (its time limit: CartPole-v1's 500 unless the
evaluation cuts episodes later) and "adapted return" A_u the mean of a hard unit's last
three episodes:

* ``average_reward``: the mean of all R[u][e], divided by L.
* ``generalization``: the mean return on the held-out physics units, divided by L
  (zero-shot transfer: robust policies score high without adapting).
* ``adaptation_speed``: for each hard unit, k_u = the first episode (1-based) whose return
  reaches 90% of A_u; the metric is 1 - (mean k_u - 1) / (E - 1): 1 when the first
  episode is already adapted, 0 when only the last one is.
* ``meta_efficiency``: the mean over hard units of (A_u - R[u][0]) / L: what adapting
  added to the zero-shot return (negative when the policy got worse while playing).
* ``stability``: 1 - sd / (L / 2), with sd the standard deviation of all R[u][e] across
  episodes and tasks (L / 2 is the largest possible sd of values in [0, L]).

All five are higher-is-better and about [0, 1], so a judge can weigh them. The raw figures
come along too: ``mean_return``, ``heldout_physics_return``, ``episodes_to_adapt``,
``adapted_return``, ``zero_shot_hard_return``, ``return_sd``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_RETURN = 500.0
METRICS = ("average_reward", "adaptation_speed", "generalization", "meta_efficiency",
           "stability")


def episodes_to_adapt(returns: Sequence[float]) -> int:
    """1-based index of the first episode reaching 90% of the adapted return."""
    adapted = float(np.mean(returns[-3:]))
    for i, r in enumerate(returns):
        if r >= 0.9 * adapted:
            return i + 1
    return len(returns)


def compute(physics: Sequence[Sequence[float]], hard: Sequence[Sequence[float]],
            max_return: float = MAX_RETURN) -> dict[str, float]:
    """The five metrics (and raw figures) from per-unit episode returns; ``max_return`` is
    L, the episodes' time limit."""
    every = [r for unit in (*physics, *hard) for r in unit]
    if not every:
        raise ValueError("no episodes to compute metrics from")
    episodes = max(len(u) for u in (*physics, *hard))
    sd = float(np.std(every))
    out = {"mean_return": float(np.mean(every)), "return_sd": sd}
    out["average_reward"] = out["mean_return"] / max_return
    out["stability"] = 1.0 - sd / (max_return / 2)
    if physics:
        out["heldout_physics_return"] = float(np.mean([r for u in physics for r in u]))
        out["generalization"] = out["heldout_physics_return"] / max_return
    if hard:
        ks = [episodes_to_adapt(u) for u in hard]
        adapted = [float(np.mean(u[-3:])) for u in hard]
        out["episodes_to_adapt"] = float(np.mean(ks))
        out["adapted_return"] = float(np.mean(adapted))
        out["zero_shot_hard_return"] = float(np.mean([u[0] for u in hard]))
        out["adaptation_speed"] = (1.0 - (out["episodes_to_adapt"] - 1) / (episodes - 1)
                                   if episodes > 1 else 1.0)
        out["meta_efficiency"] = (out["adapted_return"] - out["zero_shot_hard_return"]) \
            / max_return
    return out
