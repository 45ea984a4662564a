"""The run's record read back: `ratchet best`, `history` and `export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ratchet.apps.export import ExportFormat, export_csv, export_jsonl, export_lines, history_rows
from ratchet.apps.options import (
    JsonOpt,
    NameOpt,
    RecipeArg,
    RunDirOpt,
    err,
    out,
    resolve_recipe_run_dir,
)
from ratchet.core import terminal
from ratchet.core.rundir import check_outside_run
from ratchet.core.store import Store
from ratchet.engine.summary import champion_summary


def register(app: typer.Typer) -> None:
    for command in (best, history, export):
        app.command()(command)


def best(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: NameOpt = None,
         as_json: JsonOpt = False) -> None:
    """The champion: parameters and measured score with its confidence interval."""
    with Store(resolve_recipe_run_dir(recipe, run_dir, name)) as store:
        summary = champion_summary(store)
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
        return
    score = summary["score"]
    ci = (f"[{score['low']:.4g}, {score['high']:.4g}]" if score.get("low") is not None
          else "(interval needs 2+ measurements)")
    out.print(terminal.line((summary["name"], "bold"), f" champion v{summary['version']} "
                            f"({summary['candidate']}, from {summary['origin']}, cycle "
                            f"{summary['cycle']})"))
    if score.get("mean") is not None:
        note = " (provisional: not yet re-measured)" if summary["provisional"] else ""
        out.print(f"mean score while champion {score['mean']:.4g} {ci} at "
                  f"{score['confidence']:.0%}, n={score['n']}{note}")
    promo = summary.get("promotion") or {}
    if "elo" in promo:
        out.print(f"promoted at {promo['elo']:+.1f} Elo [{promo['elo_low']:+.1f}, "
                  f"{promo['elo_high']:+.1f}] over its predecessor, n={promo['n']}")
    table = Table("parameter", "value")
    for k, v in summary["params"].items():
        table.add_row(k, f"{v:.6g}" if isinstance(v, float) else str(v))
    out.print(table)
    out.print(f"{summary['promotions']} promotions in {summary['cycles']} cycles")


def history(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: NameOpt = None,
            as_json: JsonOpt = False,
            limit: Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                                      help="last N cycles only")] = None,
            ) -> None:
    """Every cycle: candidate, evidence, decision. ``challenger`` and ``champion`` are the
    mean score each side measured in that cycle (a head-to-head target: the challenger's
    score against the champion); ``effect`` is the judged difference."""
    with Store(resolve_recipe_run_dir(recipe, run_dir, name)) as store:
        rows = history_rows(store, limit)
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    cells = [[str(r["cycle"]), r["candidate"][:8], r["decision"], str(r["n"]),
              _fmt(r["challenger_mean"]), _fmt(r["champion_mean"]), _effect(r), r["reason"]]
             for r in rows]
    for line in history_lines(cells, out.width):
        out.print(line, highlight=False, soft_wrap=True)


HISTORY_COLUMNS = ("cycle", "candidate", "decision", "n", "challenger", "champion", "effect")
MIN_REASON_WIDTH = 30


def history_lines(cells: list[list[str]], width: int) -> list[str]:
    """The history as lines of at most ``width`` characters: every column but the reason
    always, the reason beside them where it has room, else on an indented line of its
    own under its cycle (cut with an ellipsis where even that is too narrow)."""
    widths = [max([len(name)] + [len(c[i]) for c in cells])
              for i, name in enumerate(HISTORY_COLUMNS)]

    def row(values: list[str] | tuple[str, ...]) -> str:
        return "  ".join(v.rjust(w) if i in (0, 3, 4, 5, 6) else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True)))

    fixed = len(row(HISTORY_COLUMNS))
    beside = width - fixed - 2 >= MIN_REASON_WIDTH
    lines = [row(HISTORY_COLUMNS) + ("  reason" if beside else "")]
    for c in cells:
        if beside:
            lines.append(row(c[:-1]) + "  " + _cut(c[-1], width - fixed - 2))
        else:
            lines += [row(c[:-1]), "    " + _cut(c[-1], width - 4)]
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def export(recipe: RecipeArg = None, run_dir: RunDirOpt = None, name: NameOpt = None,
           fmt: Annotated[ExportFormat, typer.Option(
               "--format", help="jsonl: one JSON object per line; csv: a header, then one "
                                "row per evaluation")] = ExportFormat.jsonl,
           jsonl: Annotated[bool, typer.Option("--jsonl", help="same as --format jsonl")]
           = False,
           output: Annotated[Path | None, typer.Option("--output", "-o",
                                                       help="file (default: stdout)")] = None,
           optuna_storage: Annotated[str | None, typer.Option(
               "--optuna-storage", help="instead: write the run's trials into this Optuna "
               "storage (e.g. sqlite:///ratchet-trials.db) for optuna-dashboard",
               show_default=False)] = None,
           study: Annotated[str | None, typer.Option(
               "--study", help="the Optuna study's name (default: the run's)",
               show_default=False)] = None,
           ) -> None:
    """One record per evaluation (iteration, win_rate, best_win_rate, improvement, ...),
    one JSON object a line, ready for jq. With
    --optuna-storage: one Optuna trial per decided cycle instead."""
    directory = resolve_recipe_run_dir(recipe, run_dir, name)
    if output is not None:
        check_outside_run(output, directory, "the export")
    if optuna_storage is not None and optuna_storage.startswith("sqlite:"):
        check_outside_run(Path(optuna_storage.split(":///", 1)[-1]), directory,
                          "the Optuna storage")
    with Store(directory) as store:
        if optuna_storage is not None:
            from ratchet.apps.optuna_export import export_to_optuna

            written, count = export_to_optuna(store, optuna_storage, study)
            err.print(f"wrote {count} trials to study {written!r} in {optuna_storage}; "
                      f"optuna-dashboard {optuna_storage}")
            return
        records = list(export_lines(store))
    text = (export_jsonl(records) if jsonl or fmt is ExportFormat.jsonl
            else export_csv(records))
    if output is None:
        sys.stdout.write(text)
    else:
        from ratchet.core.atomic import atomic_write_text

        atomic_write_text(output, text)
        err.print(f"wrote {len(records)} records to {output}")


def _effect(row: dict) -> str:
    if row.get("elo") is not None:
        return f"{row['elo']:+.0f} Elo"
    if row.get("improvement") is not None:
        return f"{row['improvement']:+.2%}"
    return ""


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"
