"""Tune a small classifier from Python, as in Optuna's quickstart (numpy only).

    python examples/classifier/tune.py            # 40 candidates
    python examples/classifier/tune.py 10         # 10

Each seed draws its own data set, so a run's accuracy is noisy; ratchet measures the
champion and a challenger on the same seeds and promotes only a proven gain.
"""

import sys

import numpy as np

import ratchet


def accuracy(params, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, 10))
    y = (x @ np.linspace(-1, 1, 10) + rng.normal(size=600) > 0).astype(float)
    coef = np.zeros(10)
    for _ in range(params["epochs"]):
        p = 1 / (1 + np.exp(-x[:400] @ coef))
        coef -= params["lr"] * (x[:400].T @ (p - y[:400]) / 400 + params["l2"] * coef)
    return float(((x[400:] @ coef > 0) == y[400:]).mean())


if __name__ == "__main__":
    result = ratchet.run(objective=accuracy, max_cycles=int(sys.argv[1:2] and sys.argv[1] or 40),
                         space={"lr": {"type": "logfloat", "low": 1e-4, "high": 1.0},
                                "l2": {"type": "logfloat", "low": 1e-5, "high": 1.0},
                                "epochs": (1, 100)})
    print(result)  # the champion's parameters, its accuracy and 95% interval
