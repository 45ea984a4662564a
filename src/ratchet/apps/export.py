"""Rows for `ratchet history` and records for `ratchet export` (JSON lines or CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
from collections.abc import Iterator
from typing import Any

from ratchet.core.store import Store
from ratchet.core.types import Decision


def history_rows(store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    rows = []
    for d in store.decisions(limit):
        rows.append({"cycle": d.cycle, "candidate": d.candidate.id, "origin": d.candidate.origin,
                     "note": d.candidate.note, "params": d.candidate.params,
                     "champion": d.champion_id, "decision": d.decision.value,
                     "reason": d.reason, "n": d.stats.get("n", 0), "games": d.games,
                     "challenger_mean": d.score, "champion_mean": d.champion_score,
                     "elo": d.stats.get("elo"), "elo_low": d.stats.get("elo_low"),
                     "elo_high": d.stats.get("elo_high"), "llr": d.stats.get("llr"),
                     "improvement": d.stats.get("improvement"),
                     "p_value": d.stats.get("p_value"), "gates": d.stats.get("gates", []),
                     "timestamp": _iso(d.created_at)})
    return rows


def export_lines(store: Store) -> Iterator[dict[str, Any]]:
    """One line per evaluation. ``iteration`` is the cycle, ``mean`` the evaluation's mean
    score, ``champion_mean`` the champion's measured score so far (re-measured, not a
    running maximum), and ``improvement`` is non-zero only on the last evaluation of a
    cycle that promoted (so seed 004's "count improvements" recipe counts promotions).
    ``metrics`` holds every other figure the benchmark printed (``{"ratio": 3.3}``).
    A games target also has seed 004's names: ``win_rate`` and ``best_win_rate`` (the
    same figures), ``wins``, ``draws`` and ``losses``; a samples target has none of them."""
    games = _outcome(store) == "games"
    decisions = {d.cycle: d for d in store.decisions()}
    champion = {p["cycle"]: p["candidate_id"] for p in store.promotions()}
    last_of_cycle: dict[int, int] = {}
    rows = store.evaluations()
    for i, row in enumerate(rows):
        if row.role == "challenger":
            last_of_cycle[row.cycle] = i
    sums: dict[str, list[float]] = {}
    current = champion.get(0)
    params: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        decision = decisions.get(row.cycle)
        if decision is not None:
            current = decision.champion_id
        if row.ok and row.role in ("baseline", "champion"):
            acc = sums.setdefault(row.candidate_id, [0.0, 0])
            acc[0] += sum(row.scores)
            acc[1] += len(row.scores)
        acc = sums.get(current or "", [0.0, 0])
        if row.candidate_id not in params:
            params[row.candidate_id] = store.candidate(row.candidate_id).params
        final = decision is not None and last_of_cycle.get(row.cycle) == i
        promoted = final and decision.decision is Decision.PROMOTE
        mean = sum(row.scores) / len(row.scores) if row.scores else None
        improvement = 0.0
        if promoted and decision.score is not None and decision.champion_score is not None:
            improvement = decision.score - decision.champion_score
        champion_mean = acc[0] / acc[1] if acc[1] else None
        line = {
            "iteration": row.cycle, "timestamp": _iso(row.created_at),
            "candidate": row.candidate_id, "role": row.role, "batch": row.batch,
            "seed": row.seed, "ok": row.ok, "reason": row.reason,
            ("games" if games else "runs"): len(row.scores), "errors": row.errors,
            "mean": mean, "champion_mean": champion_mean, "improvement": improvement,
            "decision": decision.decision.value if final else None,
            "duration_s": round(row.duration_s, 3), "config": params[row.candidate_id],
            "metrics": dict(row.metrics),
        }
        if games:
            line.update(wins=_count(row.scores, 1.0), draws=_count(row.scores, 0.5),
                        losses=_count(row.scores, 0.0), win_rate=mean,
                        best_win_rate=champion_mean)
        yield line


def _outcome(store: Store) -> str:
    """``games`` or ``samples``, from the run's recipe (its target's, else its judge's)."""
    recipe = (store.run_info() or {}).get("recipe", {})
    outcome = recipe.get("target", {}).get("outcome")
    if outcome in ("games", "samples"):
        return str(outcome)
    return "games" if recipe.get("judge", {}).get("kind") == "sprt" else "samples"


def _count(scores: tuple[float, ...], value: float) -> int:
    return sum(1 for s in scores if s == value)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


class ExportFormat(enum.StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def export_jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, default=str) + "\n" for r in records)


def export_csv(records: list[dict[str, Any]]) -> str:
    """One row per record; nested values (params, metrics) as JSON in their cell."""
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: json.dumps(v, default=str) if isinstance(v, dict | list) else v
                         for k, v in record.items()})
    return buf.getvalue()
