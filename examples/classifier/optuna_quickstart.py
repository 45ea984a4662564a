"""The same task in plain Optuna, for comparison (docs/tutorial.md counts both)."""

import numpy as np
import optuna


def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    l2 = trial.suggest_float("l2", 1e-5, 1.0, log=True)
    epochs = trial.suggest_int("epochs", 1, 100)
    rng = np.random.default_rng(trial.number)
    x = rng.normal(size=(600, 10))
    y = (x @ np.linspace(-1, 1, 10) + rng.normal(size=600) > 0).astype(float)
    coef = np.zeros(10)
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-x[:400] @ coef))
        coef -= lr * (x[:400].T @ (p - y[:400]) / 400 + l2 * coef)
    return float(((x[400:] @ coef > 0) == y[400:]).mean())


study = optuna.create_study(direction="maximize")
study.optimize(objective, n_trials=40)
print(study.best_params, study.best_value)
