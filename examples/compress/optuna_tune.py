"""The compress task in plain Optuna, for comparison (docs/tutorial.md counts both): what
a user writes to run a command benchmark, read its printed metrics and keep a constraint."""

import json
import subprocess
import sys
import tempfile

import optuna


def objective(trial):
    config = {"level": trial.suggest_int("level", 1, 9),
              "mem_level": trial.suggest_int("mem_level", 1, 9),
              "strategy": trial.suggest_categorical(
                  "strategy", ["default", "filtered", "huffman_only", "rle", "fixed"])}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    out = subprocess.run([sys.executable, "examples/compress/bench.py", "--config", f.name,
                          "--seed", str(trial.number)], capture_output=True, text=True,
                         check=True).stdout
    metrics = dict(line.split(": ") for line in out.splitlines())
    trial.set_user_attr("constraint", [3.25 - float(metrics["ratio"])])
    return float(metrics["mb_per_s"])


sampler = optuna.samplers.TPESampler(constraints_func=lambda t: t.user_attrs["constraint"])
study = optuna.create_study(direction="maximize", sampler=sampler)
study.optimize(objective, n_trials=40)
feasible = [t for t in study.trials if t.user_attrs["constraint"][0] <= 0]
best = max(feasible, key=lambda t: t.value)
print(best.params, best.value)
