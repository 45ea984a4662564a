"""Read-only views of a run for the web app. Every call opens its own connection: SQLite in
WAL mode lets readers run beside the loop's writes without blocking them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ratchet.core.rundir import RunDir, read_league
from ratchet.core.store import Store
from ratchet.engine.parameters import parameter_view
from ratchet.engine.race import RACE_KEY
from ratchet.service.status import run_status


def history(run_dir: Path, since: int = 0, limit: int | None = None) -> dict[str, Any]:
    """Cycles as parallel arrays (compact for 10,000+ cycles), plus the event id to stream
    from so that nothing is missed between this answer and the live stream."""
    with Store(run_dir) as store:
        last_event = store.last_event_id()
        sql = ("SELECT d.cycle, d.candidate_id, d.decision, d.score, d.champion_score, "
               "d.games, d.stats, d.reason, d.created_at, c.origin FROM decisions d "
               "JOIN candidates c ON c.id = d.candidate_id WHERE d.cycle > ? "
               "ORDER BY d.cycle")
        args: list[Any] = [since]
        rows = store.conn.execute(sql, args).fetchall()
    if limit is not None:
        rows = rows[-limit:]
    cols: dict[str, list[Any]] = {k: [] for k in (
        "cycle", "candidate", "decision", "score", "champion_score", "games", "n", "elo",
        "elo_low", "elo_high", "improvement", "reason", "ts", "origin")}
    for r in rows:
        stats = json.loads(r[6])
        cols["cycle"].append(r[0])
        cols["candidate"].append(r[1])
        cols["decision"].append(r[2])
        cols["score"].append(r[3])
        cols["champion_score"].append(r[4])
        cols["games"].append(r[5])
        cols["reason"].append(r[7])
        cols["ts"].append(r[8])
        cols["origin"].append(r[9])
        for key in ("n", "elo", "elo_low", "elo_high", "improvement"):
            cols[key].append(stats.get(key))
    return {"last_event_id": last_event, "cycles": cols}


def objectives(run_dir: Path) -> dict[str, Any]:
    """Per cycle, the challenger's mean ``performance`` and ``stability`` metrics and mean
    score (reward), for targets that measure both (sysctl); empty lists otherwise."""
    with Store(run_dir) as store:
        strategy = ((store.run_info() or {}).get("recipe") or {}).get("strategy") or {}
        rows = store.conn.execute(
            "SELECT e.cycle, e.metrics, e.scores, d.decision FROM evaluations e JOIN "
            "decisions d ON d.cycle = e.cycle WHERE e.ok = 1 AND e.role = 'challenger' "
            "ORDER BY e.cycle, e.batch").fetchall()
    per_cycle: dict[int, dict[str, Any]] = {}
    for cycle, metrics, scores, decision in rows:
        m = json.loads(metrics)
        if "performance" not in m or "stability" not in m:
            continue
        c = per_cycle.setdefault(cycle, {"p": [], "s": [], "r": [], "decision": decision})
        c["p"].append(m["performance"])
        c["s"].append(m["stability"])
        c["r"].extend(json.loads(scores))
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    cycles = sorted(per_cycle)
    return {"cycle": cycles, "performance": [mean(per_cycle[c]["p"]) for c in cycles],
            "stability": [mean(per_cycle[c]["s"]) for c in cycles],
            "reward": [mean(per_cycle[c]["r"]) for c in cycles],
            "decision": [per_cycle[c]["decision"] for c in cycles],
            "episode_length": int(strategy.get("max_steps_per_episode") or 10)}


def candidates(run_dir: Path, decision: str | None, limit: int, offset: int
               ) -> list[dict[str, Any]]:
    sql = ("SELECT c.id, c.cycle, c.origin, c.note, c.params, c.status, d.decision, d.score, "
           "d.champion_score, d.stats, d.reason FROM candidates c LEFT JOIN decisions d "
           "ON d.candidate_id = c.id")
    args: list[Any] = []
    if decision:
        sql += " WHERE d.decision = ?"
        args.append(decision)
    sql += " ORDER BY c.cycle DESC LIMIT ? OFFSET ?"
    args += [limit, offset]
    with Store(run_dir) as store:
        rows = store.conn.execute(sql, args).fetchall()
    out = []
    for r in rows:
        stats = json.loads(r[9]) if r[9] else {}
        out.append({"id": r[0], "cycle": r[1], "origin": r[2], "note": r[3],
                    "params": json.loads(r[4]), "status": r[5], "decision": r[6],
                    "score": r[7], "champion_score": r[8], "reason": r[10],
                    "n": stats.get("n"), "elo": stats.get("elo"),
                    "elo_low": stats.get("elo_low"), "elo_high": stats.get("elo_high"),
                    "improvement": stats.get("improvement")})
    return out


def champion(run_dir: Path) -> dict[str, Any]:
    """The champion and every promotion with the parameters it changed."""
    from ratchet.engine.summary import champion_summary

    with Store(run_dir) as store:
        summary = champion_summary(store)
        promotions = store.promotions()
        params = {p["candidate_id"]: store.candidate(p["candidate_id"]).params
                  for p in promotions}
    history_rows = []
    for p in promotions:
        before = params.get(p["previous_id"] or "", {})
        after = params[p["candidate_id"]]
        history_rows.append({
            "version": p["version"], "cycle": p["cycle"], "candidate": p["candidate_id"],
            "promoted_at": p["created_at"],
            "changes": {k: [before.get(k), v] for k, v in after.items()
                        if before and before.get(k) != v},
            "elo": p["stats"].get("elo"), "elo_low": p["stats"].get("elo_low"),
            "elo_high": p["stats"].get("elo_high"), "n": p["stats"].get("n"),
            "improvement": p["stats"].get("improvement"),
            "manual": bool(p["stats"].get("manual")),
            "revert": p["stats"].get("reason") if p["stats"].get("revert") else None})
    return {**summary, "history": history_rows}


def cycle_detail(run_dir: Path, cycle: int) -> dict[str, Any]:
    """Per-batch outcomes of one cycle (wins/draws/losses or samples) by role."""
    with Store(run_dir) as store:
        rows = store.evaluations(cycle=cycle)
    roles: dict[str, dict[str, Any]] = {}
    for r in rows:
        role = roles.setdefault(r.role, {"wins": 0, "draws": 0, "losses": 0, "samples": [],
                                         "failed": 0})
        if not r.ok:
            role["failed"] += 1
            continue
        role["wins"] += sum(1 for s in r.scores if s == 1.0)
        role["draws"] += sum(1 for s in r.scores if s == 0.5)
        role["losses"] += sum(1 for s in r.scores if s == 0.0)
        role["samples"].extend(r.scores)
    return {"cycle": cycle, "roles": roles}


def status(run_dir: Path) -> dict[str, Any]:
    return run_status(run_dir)


def in_flight(run_dir: Path) -> dict[str, Any]:
    """The challengers proposed and not yet decided, with the evidence each has: in a
    race's screening (games or runs, its mean, the champion's on the same seeds) or in
    the sequential test against the champion."""
    with Store(run_dir) as store:
        race = store.get(RACE_KEY)
        pending = store.pending_cycles()
        first = race["cycles"][0] if race else None
        wanted = {c for c, _ in pending} | ({first} if first is not None else set())
        rows = [r for c in sorted(wanted) for r in store.evaluations(cycle=c) if r.ok]
    champion_screen = {r.batch: r for r in rows
                       if r.role == "screen_champion" and r.cycle == first}
    out = []
    for cycle, candidate in pending:
        screening = race is not None and cycle in race["cycles"]
        if screening:
            mine = [r for r in rows if r.role == "screen" and r.cycle == cycle
                    and r.batch in champion_screen]
            theirs = [champion_screen[r.batch] for r in mine]
        else:
            mine = [r for r in rows if r.role == "challenger" and r.cycle == cycle]
            theirs = [r for r in rows if r.role == "champion" and r.cycle == cycle]
        ours, champ = _scores(mine), _scores(theirs)
        out.append({"cycle": cycle, "candidate": candidate.id, "params": candidate.params,
                    "stage": "screening" if screening else "test", "n": len(ours),
                    "mean": _mean(ours), "champion_mean": _mean(champ),
                    "gap": (_mean(ours) - _mean(champ)) if ours and champ else None})
    return {"race": race, "challengers": out}


def _scores(rows: list[Any]) -> list[float]:
    return [s for r in rows for s in r.scores]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def gates(run_dir: Path, limit: int = 50) -> list[dict[str, Any]]:
    """The newest challengers that reached the gates (they passed the judge), each gate's
    result and reason, newest first."""
    with Store(run_dir) as store:
        return store.gated_decisions(limit)


def target_views(run_dir: Path) -> list[dict[str, Any]]:
    """The target kind's own cards (its spec's ``views``); none if they cannot be made."""
    from ratchet.core.registry import TARGETS

    with Store(run_dir) as store:
        kind = ((store.run_info() or {}).get("recipe") or {}).get("target", {}).get("kind")
    if not kind:
        return calibration_view(run_dir)
    try:
        own = TARGETS.spec_of(kind).views(run_dir)
    except Exception:  # noqa: BLE001 - the dashboard shows the rest without them
        own = []
    return [*curriculum_view(run_dir), *own, *calibration_view(run_dir)]


def calibration_view(run_dir: Path) -> list[dict[str, Any]]:
    """The last ``ratchet calibrate`` of this run directory, as a table."""
    from ratchet.apps.calibrate import read_report, report_lines

    report = read_report(run_dir)
    if report is None:
        return []
    try:
        rows = [[label, text] for label, text in report_lines(report)]
    except (KeyError, TypeError, ValueError):
        return []  # a report of another version: not shown rather than half shown
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(report.get("created_at", 0)))
    return [{"kind": "table", "title": "Calibration (A/A)",
             "note": f"ratchet calibrate, {at}: the benchmark's noise and the judge's "
                     "false-promotion rate on challengers no better than the champion",
             "columns": ["measured", "found"], "rows": rows}]


def curriculum_view(run_dir: Path) -> list[dict[str, Any]]:
    """In a run of several configurations, the curriculum's weights, workers and reasons
    (every configuration's, shown with each)."""
    parent = RunDir(run_dir).parent_run
    if parent is None:
        return []
    league = read_league(parent.path)
    weights = league.get("weights") or {}
    if not weights:
        return []
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(league.get("rebalanced_at", 0)))
    return [{"kind": "table", "title": "Curriculum",
             "note": f"worker slots shared by each configuration's rating gain per game in "
                     f"its own pool; rebalanced {at}",
             "columns": ["configuration", "weight", "share", "workers", "why"],
             "rows": [[name + (" (this run)" if name == run_dir.name else ""),
                       f"{w['weight']:.2f}", f"{w['share']:.0%}", str(w.get("workers", "")),
                       w["why"]] for name, w in weights.items()]}]


def parameters(run_dir: Path) -> dict[str, Any]:
    """The parameter views' data: the space, recent trials and Optuna's importances."""
    with Store(run_dir) as store:
        return parameter_view(store)
