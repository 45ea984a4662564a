"""Section rsi: the cartpole-rsi recipe with `evolve` against random search on one budget."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.cartpole.common import RECIPE, heldout_physics, paired_summary
from ratchet.core.store import Store
from ratchet.engine.recipe import load_recipe, parse_recipe
from ratchet.engine.runner import run_recipe
from ratchet.plugins.targets.cartpole.checkpoint import load_policy
from ratchet.plugins.targets.cartpole.pretrain import pretrain
from ratchet.plugins.targets.cartpole.tasks import task_set
from ratchet.plugins.targets.cartpole.train import evaluate


def run(seeds: int, budget: int, start_steps: int, time_limit: int | None,
                long_limit: int) -> None:
    """From the shipped model (``start_steps`` 0) nothing is left to find on physics tasks
    and 40k-step challengers do not learn the hard ones (measured: evolve, 17 cycles, no
    promotion), so by default both searches start from a weaker model, pretrained (same
    seeded call) for ``start_steps`` steps, which they must improve. ``time_limit``: the
    validation episode length (None: the recipe's); champions are re-measured on
    held-out physics at 500 steps and at ``long_limit``."""
    time_limit = time_limit or load_recipe(RECIPE).target.time_limit
    with tempfile.TemporaryDirectory() as tmp:
        start = None
        if start_steps:
            from ratchet.plugins.targets.cartpole.checkpoint import save_policy

            weak, meta = pretrain(seed=0, steps=start_steps)
            start = save_policy(weak, Path(tmp) / "start", meta)
            print(f"\nstarting model: pretrained {start_steps} steps, held-out physics "
                  f"{heldout_physics(weak):.1f}, at {long_limit} steps "
                  f"{heldout_physics(weak, long_limit):.1f}")
        _rsi_table(seeds, budget, Path(tmp), start, time_limit, long_limit)


def _rsi_table(seeds: int, budget: int, tmp: Path, start: Path | None,
               time_limit: int, long_limit: int) -> None:
    shipped = load_recipe(RECIPE).model_dump(mode="json")["strategy"]  # evolve as shipped
    print(f"evolve: {shipped}")
    print(f"\n## RSI: evolve vs random search, {budget} environment steps per run "
          f"(training + measuring), validation episodes cut at {time_limit} steps, "
          "champion re-measured on held-out tasks\n"
          "| strategy | seed | cycles | promotions | steps used | held-out physics | "
          f"held-out physics at {long_limit} steps | held-out hard | wall s |\n"
          "|---|---|---|---|---|---|---|---|---|")
    results: dict[str, list[dict[str, float]]] = {"evolve": [], "random": []}
    for seed in range(seeds):
        for kind, spec in (("evolve", shipped),
                           ("random", {"kind": "random", "n_startup_trials": 1})):
            r = _rsi_run(spec, seed, budget, tmp, start, time_limit, long_limit)
            results[kind].append(r)
            print(f"| {kind} | {seed} | {r['cycles']} | {r['promotions']} | "
                  f"{r['steps']:.0f} | {r['heldout_physics']:.1f} | "
                  f"{r['heldout_physics_long']:.1f} | {r['heldout_hard']:.1f} | "
                  f"{r['seconds']:.0f} |", flush=True)
    for kind, rs in results.items():
        print(f"{kind}: mean held-out physics {np.mean([r['heldout_physics'] for r in rs]):.1f}"
              f", at {long_limit} steps "
              f"{np.mean([r['heldout_physics_long'] for r in rs]):.1f}, hard "
              f"{np.mean([r['heldout_hard'] for r in rs]):.1f}, promotions "
              f"{np.mean([r['promotions'] for r in rs]):.1f}")
    for key, label in (("heldout_physics", "held-out physics"),
                       ("heldout_physics_long", f"held-out physics at {long_limit} steps")):
        print(paired_summary([r[key] for r in results["evolve"]],
                              [r[key] for r in results["random"]], label))


def _rsi_run(strategy: dict, seed: int, budget: int, tmp: Path, start: Path | None,
             time_limit: int, long_limit: int) -> dict[str, float]:
    raw = load_recipe(RECIPE).model_dump(mode="json")
    raw.update(strategy=strategy, seed=seed, name=f"rsi-{strategy['kind']}-{seed}")
    raw["target"].update(model=str(start) if start else None, time_limit=time_limit)
    raw["schedule"] = {**raw["schedule"], "max_cycles": 10_000}
    recipe = parse_recipe(raw)
    run_dir = tmp / raw["name"]
    stop = threading.Event()
    used = {"steps": 0.0}

    def count(event: str, data: dict) -> None:
        if event == "cycle_end":
            with Store(run_dir) as store:
                used["steps"] = sum(r.metrics.get("eval_steps", 0) + r.metrics.get(
                    "train_steps", 0) for r in store.evaluations())
            if used["steps"] >= budget:
                stop.set()  # the loop stops before the next cycle

    started = time.perf_counter()
    summary = run_recipe(recipe, run_dir, reporter=count, stop=stop)
    cycles, promotions = summary.cycles, summary.promotions
    champion = Store(run_dir).champion().candidate
    policy, _ = load_policy(run_dir / "work" / "models" / f"{champion.id}.safetensors")
    return {"cycles": cycles, "promotions": promotions, "steps": used["steps"],
            "heldout_physics": heldout_physics(policy),
            "heldout_physics_long": heldout_physics(policy, long_limit),
            "heldout_hard": float(np.mean(evaluate(policy, task_set("hard", "heldout", 10),
                                                   5))),
            "seconds": time.perf_counter() - started}
