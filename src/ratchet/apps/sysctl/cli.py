"""`ratchet tune-os` (kernel parameters tuned with rollback) and `ratchet sysctl restore`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from ratchet.core import terminal
from ratchet.core.errors import RatchetError

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                  help="Kernel parameters tuned by ratchet: restore what a run changed.")
out = terminal.console(soft_wrap=True)  # sentences and sysctl lines stay whole when piped
err = terminal.console(stderr=True)

Algorithm = Literal["ppo", "tpe", "perturb"]


def tune_os(
    config: Annotated[Path | None, typer.Argument(
        help="a JSON config (workload_name, reward_metric, benchmark_command, "
             "action_space, ...); or use --workload", show_default=False)] = None,
    workload: Annotated[str | None, typer.Option(
        "--workload", help="a shipped preset instead of CONFIG: memory or network")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="write no kernel parameter; everything else runs")] = False,
    sysctl_root: Annotated[Path | None, typer.Option(
        "--sysctl-root", help="where kernel parameters live (default /proc/sys)")] = None,
    run_dir: Annotated[Path | None, typer.Option(
        "--run-dir", help="run directory (default: runs/<workload_name>)")] = None,
    algorithm: Annotated[str | None, typer.Option(
        "--algorithm", help="ppo, tpe or perturb (default: the config's, else ppo)")] = None,
    steps: Annotated[int | None, typer.Option(
        "--steps", min=1, help="configurations to try (default: total_timesteps)")] = None,
    dashboard: Annotated[bool, typer.Option(
        "--dashboard", help="serve the live dashboard while tuning")] = False,
    host: Annotated[str, typer.Option(help="dashboard address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="dashboard port (0: any free port)")] = 5000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no live display")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Tune kernel parameters for a workload, safely: every value checked before it is
    written, the originals stored first and written back at the end (or on the next start
    after a crash). Prints the best configuration and its improvement."""
    from ratchet.apps.display import RunDisplay, with_champion
    from ratchet.apps.sysctl.config import load_os_config, preset, to_recipe
    from ratchet.apps.sysctl.tuning import tune, tuning_result

    if (config is None) == (workload is None):
        raise RatchetError("give a CONFIG file or --workload memory|network (one of them)")
    if algorithm is not None and algorithm not in ("ppo", "tpe", "perturb"):
        raise RatchetError(f"--algorithm {algorithm!r} is unknown; expected ppo, tpe or "
                           "perturb")
    parsed = load_os_config(preset(workload) if workload else config)  # type: ignore[arg-type]
    if steps is not None:
        parsed.training_config.total_timesteps = steps
    recipe = to_recipe(parsed, dry_run=dry_run,
                       sysctl_root=str(sysctl_root) if sysctl_root else None,
                       algorithm=algorithm,  # type: ignore[arg-type]
                       dashboard_port=port if dashboard else None, host=host)
    directory = run_dir or Path("runs") / recipe.name
    display = RunDisplay(recipe.name, recipe.judge.kind,
                         console=terminal.console(stderr=True, quiet=quiet or as_json))
    with display:
        tune(recipe, directory, reporter=with_champion(display, directory),
             on_log=lambda kind, d: display.line(
                 f"tuning {recipe.name} in {directory} · log {d['path']}"
                 + (" · DRY RUN: nothing is written" if dry_run else "")
                 if kind == "log" else f"dashboard: {d['url']}"))
    # the shipped workloads measure the machine; they never read RATCHET_PARAMS
    result = tuning_result(directory, benchmark_sees_values=None if workload is None else False)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _print_result(result)


_NOT_APPLIED = {
    "noise": "nothing to apply: in a dry run this benchmark measured the same system for "
             "every configuration",
    "original": "no challenger was proven better: the original configuration stays",
    "not better": "nothing to apply: re-measured against the original, the best "
                  "configuration is not better",
    "failed": "nothing to apply: the re-measurement against the original failed",
    "not measured": "nothing to apply: the run stopped before the best configuration was "
                    "re-measured against the original",
}


def _print_result(result: dict) -> None:
    table = Table("parameter", "best value", title="best configuration")
    for name, value in result["best_config"].items():
        table.add_row(name, str(value))
    out.print(table)

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:+.2f}%"

    def num(x: float | None) -> str:
        return "—" if x is None else f"{x:.4g}"

    out.print(f"reward {num(result['best_reward'])} (original {num(result['original_reward'])},"
              f" improvement {pct(result['improvement'])}); performance "
              f"{num(result['best_performance'])} (original "
              f"{num(result['original_performance'])}, {pct(result['performance_improvement'])})"
              f"; {result['steps']} steps, {result['promotions']} promotions")
    if result["best_provisional"]:
        out.print("(the best was promoted by the last step: its figures come from the "
                  "evidence that promoted it and are likely optimistic)")
    confirmation = result["confirmation"] or {}
    if "pairs" in confirmation:
        out.print(f"re-measured against the original over {confirmation['runs']} "
                  f"interleaved runs a side: reward {confirmation['best_reward']:.4g} vs "
                  f"{confirmation['original_reward']:.4g} "
                  f"({confirmation['improvement']:+.2f}%, p={confirmation['p_value']:.2g})",
                  highlight=False)
    if result["dry_run"]:
        sees = result.get("benchmark_sees_values")
        out.print("dry run: no kernel parameter was written, so every configuration ran on "
                  "the same system: " + (
                      "this benchmark cannot see the values, so these figures measure noise"
                      if sees is False else "unless the benchmark reads the values from "
                      "RATCHET_PARAMS, these figures measure noise"))
    else:
        out.print("the original values are back in place")
    if not result["sysctl_commands"]:
        out.print(_NOT_APPLIED.get(result["apply"], "nothing to apply"))
        return
    out.print("to apply the best configuration:")
    for line in result["sysctl_commands"]:
        out.print(f"  {line}")


@app.command()
def restore(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="the tuning run's directory")],
    sysctl_root: Annotated[Path | None, typer.Option(
        "--sysctl-root", help="where kernel parameters live (default: the run's)")] = None,
) -> None:
    """Write back the kernel parameters a tuning run stored before its first change."""
    import sqlite3

    from ratchet.core.store import Store
    from ratchet.plugins.targets.sysctl.target import restore_originals
    from ratchet.service.pidfile import running_pid

    live = running_pid(run_dir) if run_dir.is_dir() else None
    if live is not None:
        raise RatchetError(f"the run in {run_dir} is running (pid {live.pid}); it restores "
                           f"the originals itself when stopped: ratchet stop --run-dir {run_dir}")
    with Store(run_dir) as store:
        try:
            values = restore_originals(store, sysctl_root)
        except sqlite3.OperationalError:
            raise RatchetError(f"{run_dir} is not a sysctl tuning run") from None
        store.event("sysctl_restored", f"restored {len(values)} kernel parameters by hand",
                    values=values)
    for name, value in values.items():
        out.print(f"{name} = {value}")
    out.print(f"restored {len(values)} kernel parameters")
