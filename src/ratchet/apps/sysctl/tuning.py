"""Seed 003's Python API, on ratchet's loop: ``optimize_os_parameters``.

    from ratchet.apps.sysctl.tuning import optimize_os_parameters
    result = optimize_os_parameters(config, show_dashboard=True, web_port=5000)
    result["best_config"], result["best_reward"], result["improvement"]

The originals are written back when tuning ends; the best configuration is reported, not
left applied. It is re-measured against the original first (``confirm``);
``sysctl_commands`` lists the commands that would apply it only when that re-measurement
puts it above the original.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

from ratchet.apps.sysctl.config import Algorithm, load_os_config, to_recipe
from ratchet.core.store import Store
from ratchet.engine.recipe import Recipe
from ratchet.plugins.targets.sysctl.tree import format_value


def optimize_os_parameters(config: dict[str, Any] | str | os.PathLike[str],
                           show_dashboard: bool = False, web_host: str = "127.0.0.1",
                           web_port: int = 5000, dry_run: bool = False, *,
                           sysctl_root: str | None = None, run_dir: str | None = None,
                           algorithm: Algorithm | None = None) -> dict[str, Any]:
    """Tune the config's kernel parameters; returns best_config, best_reward and
    improvement (% over the original configuration's reward), among others."""
    recipe = tuning_recipe(config, dry_run=dry_run, sysctl_root=sysctl_root,
                           algorithm=algorithm,
                           dashboard_port=web_port if show_dashboard else None, host=web_host)
    directory = Path(run_dir) if run_dir else Path("runs") / recipe.name
    tune(recipe, directory)
    return tuning_result(directory)


def tune(recipe: Recipe, directory: Path, **serve_options: Any) -> None:
    """Run the tuning loop (dashboard included if the recipe asks), then re-measure the
    best configuration against the original (``confirm``)."""
    from ratchet.apps.dashboard import serve_run
    from ratchet.apps.sysctl.confirm import confirm_best
    from ratchet.engine.runner import RunOptions
    from ratchet.service.daemon import serve

    serve(recipe, directory, options=RunOptions(finish=confirm_best), web_process=serve_run,
          **serve_options)


def tuning_recipe(config: dict[str, Any] | str | os.PathLike[str], **options: Any) -> Recipe:
    return to_recipe(load_os_config(config), **options)


def tuning_result(run_dir: Path, benchmark_sees_values: bool | None = None) -> dict[str, Any]:
    """The champion against the original configuration, both as measured while they were
    champion (never the selection-biased evidence that promoted a challenger), and the
    final re-measurement of one against the other (``confirmation``).
    ``benchmark_sees_values``: False for a benchmark that cannot read the values it was
    given (the shipped workloads): in a dry run its figures are noise, nothing to apply."""
    from ratchet.apps.sysctl.confirm import CONFIRMATION

    with Store(run_dir) as store:
        champion = store.champion()
        promotions = store.promotions()
        info = store.run_info() or {}
        best = _measured(store, champion.candidate.id)
        original = _measured(store, promotions[0]["candidate_id"])
        cycles = store.last_cycle()
        confirmation = store.get(CONFIRMATION)
    if confirmation and confirmation.get("candidate") not in (None, champion.candidate.id):
        confirmation = None  # re-measured an earlier champion (a manual promotion since)
    improvement = _percent(best["reward"], original["reward"])
    params = champion.candidate.params
    dry_run = bool(info.get("recipe", {}).get("target", {}).get("dry_run"))
    verdict = "noise" if dry_run and benchmark_sees_values is False else _verdict(confirmation)
    return {"best_config": params, "best_reward": best["reward"],
            "best_provisional": best["provisional"],
            "original_reward": original["reward"], "improvement": improvement,
            "best_performance": best["performance"],
            "original_performance": original["performance"],
            "performance_improvement": _percent(best["performance"], original["performance"]),
            "steps": cycles, "promotions": len(promotions) - 1,
            "dry_run": dry_run, "run_dir": str(run_dir),
            "benchmark_sees_values": benchmark_sees_values,
            "confirmation": confirmation, "apply": verdict,
            "sysctl_commands": [f"sysctl -w {k}={format_value(v)}" for k, v in params.items()]
            if verdict == "better" else []}


def _verdict(confirmation: dict[str, Any] | None) -> str:
    """``better`` (worth applying), ``original`` (no promotion), ``not better``,
    ``failed`` or ``not measured`` (stopped before the re-measurement)."""
    if not confirmation:
        return "not measured"
    if confirmation.get("same"):
        return "original"
    if "failed" in confirmation:
        return "failed"
    return "better" if confirmation["improvement"] > 0 else "not better"


def _measured(store: Store, candidate_id: str) -> dict[str, Any]:
    rows = [r for r in store.evaluations(candidate_id=candidate_id,
                                         roles=("baseline", "champion")) if r.ok]
    provisional = not rows
    if provisional:  # promoted by the last step: only the (optimistic) promoting evidence
        rows = [r for r in store.evaluations(candidate_id=candidate_id,
                                             roles=("challenger",)) if r.ok]
    scores = [s for r in rows for s in r.scores]
    performance = [r.metrics["performance"] for r in rows if "performance" in r.metrics]
    return {"reward": statistics.fmean(scores) if scores else None,
            "performance": statistics.fmean(performance) if performance else None,
            "provisional": provisional}


def _percent(new: float | None, old: float | None) -> float | None:
    if new is None or not old:
        return None
    return 100.0 * (new - old) / abs(old)
