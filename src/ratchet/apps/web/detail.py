"""The dashboard's closer views of a run: the evaluations on a wall-clock axis, one
candidate's evidence beside the champion, every printed metric per cycle with the
recipe's constraints, and whether the champion's score drifts with nothing promoted."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ratchet.core.store import Store

TIMELINE_ROWS = 5000
DRIFT_P = 0.01  # how sure the drift hint must be that the two halves differ


def recipe_of(store: Store) -> dict[str, Any]:
    return (store.run_info() or {}).get("recipe") or {}


def score_name(recipe: dict[str, Any]) -> str:
    """What the score is called: the benchmark's metric, else games' score."""
    target = recipe.get("target") or {}
    if target.get("outcome") == "games":
        return "score (win = 1, draw = ½)"
    return str(target.get("metric") or "score")


def timeline(run_dir: Path) -> dict[str, Any]:
    """The newest evaluations, each with its start and end on the wall clock, its cycle,
    role and outcome (as optuna-dashboard's trial timeline)."""
    with Store(run_dir) as store:
        rows = store.conn.execute(
            "SELECT cycle, role, ok, created_at, duration_s, candidate_id FROM evaluations "
            "ORDER BY id DESC LIMIT ?", (TIMELINE_ROWS,)).fetchall()
    rows.reverse()
    return {"evaluations": [{"cycle": c, "role": role, "ok": bool(ok), "end": end,
                             "start": end - max(duration, 0.0), "candidate": cand}
                            for c, role, ok, end, duration, cand in rows]}


def candidate(run_dir: Path, candidate_id: str) -> dict[str, Any] | None:
    """One candidate: its parameters against the champion's it was measured against, its
    decision with the evidence and gates, and the means of what it measured."""
    with Store(run_dir) as store:
        try:
            cand = store.candidate(candidate_id)
        except Exception:  # noqa: BLE001 - an unknown id: the route answers 404
            return None
        decision = next((d for d in store.decisions() if d.candidate.id == candidate_id),
                        None)
        champion_id = decision.champion_id if decision else store.champion().candidate.id
        champion = store.candidate(champion_id)
        rows = [r for r in store.evaluations(candidate_id=candidate_id) if r.ok]
    metrics: dict[str, list[float]] = {}
    for r in rows:
        for k, v in r.metrics.items():
            metrics.setdefault(k, []).append(v)
    scores = [s for r in rows for s in r.scores]
    names = list(dict.fromkeys([*cand.params, *champion.params]))
    return {
        "candidate": cand.id, "origin": cand.origin, "note": cand.note, "parent": cand.parent,
        "champion": champion.id,
        "params": [{"name": k, "value": cand.params.get(k), "champion": champion.params.get(k),
                    "changed": cand.params.get(k) != champion.params.get(k)} for k in names],
        "decision": None if decision is None else {
            "cycle": decision.cycle, "decision": decision.decision.value,
            "reason": decision.reason, "score": decision.score,
            "champion_score": decision.champion_score,
            "stats": {k: v for k, v in decision.stats.items() if k != "gates"},
            "gates": decision.stats.get("gates", [])},
        "measured": {"n": len(scores), "mean": sum(scores) / len(scores) if scores else None,
                     "metrics": {k: sum(v) / len(v) for k, v in metrics.items()}},
    }


def metrics(run_dir: Path) -> dict[str, Any]:
    """Per decided cycle, the challenger's mean of each metric the benchmark printed
    besides its score, the champion's, and the recipe's bounds on them."""
    with Store(run_dir) as store:
        recipe = recipe_of(store)
        rows = store.conn.execute(
            "SELECT e.cycle, e.role, e.metrics FROM evaluations e JOIN decisions d ON "
            "d.cycle = e.cycle WHERE e.ok = 1 AND e.metrics != '{}' AND e.role IN "
            "('challenger', 'champion', 'screen', 'screen_champion') ORDER BY e.cycle").fetchall()
    sums: dict[tuple[int, str, str], list[float]] = {}
    for cycle, role, raw in rows:
        side = "champion" if "champion" in role else "challenger"
        for name, value in json.loads(raw).items():
            if isinstance(value, int | float) and math.isfinite(value):
                sums.setdefault((cycle, side, name), []).append(float(value))
    names = sorted({name for _, _, name in sums})
    cycles = sorted({cycle for cycle, _, _ in sums})
    series = {name: {side: [_mean(sums.get((c, side, name))) for c in cycles]
                     for side in ("challenger", "champion")} for name in names}
    return {"score": score_name(recipe), "cycle": cycles, "metrics": series,
            "constraints": recipe.get("constraints") or {}}


def drift(run_dir: Path) -> dict[str, Any] | None:
    """Whether the champion's score moved while nothing was promoted: its runs (or
    games) since its promotion, first half against second half (Welch's t-test). None
    when there are too few, or no sign of a move."""
    with Store(run_dir) as store:
        champ = store.champion()
        rows = [r for r in store.evaluations(candidate_id=champ.candidate.id)
                if r.ok and r.role in ("baseline", "champion", "screen_champion")]
    scores = [s for r in sorted(rows, key=lambda r: r.created_at) for s in r.scores]
    if len(scores) < 20:
        return None
    half = len(scores) // 2
    early, late = scores[:half], scores[half:]
    from scipy.stats import ttest_ind

    p = float(ttest_ind(early, late, equal_var=False).pvalue)
    if not math.isfinite(p) or p >= DRIFT_P:
        return None
    return {"early": sum(early) / len(early), "late": sum(late) / len(late), "p": p,
            "n": len(scores), "version": champ.version}


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None
