"""The store's reads: the run, its candidates, evaluations, decisions, promotions, events
and keyed state, as typed rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from ratchet.core.errors import StoreError
from ratchet.core.store.connection import SafeConnection
from ratchet.core.store.rows import (
    Champion,
    DecisionRow,
    EvaluationRow,
    candidate_from_row,
    challenger_n,
)
from ratchet.core.store.schema import SHARDS_SCHEMA
from ratchet.core.store.state import StateKey
from ratchet.core.types import Candidate, Decision, Trial

T = TypeVar("T")


class StoreReads:
    conn: SafeConnection
    path: Path
    _champion: Champion | None

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def get(self, key: StateKey[T]) -> T | None:
        """The value kept under ``key`` (see store.state), or None."""
        row = self.conn.execute("SELECT value FROM keyed_state WHERE key = ?",
                                (key.name,)).fetchone()
        return key.decode(row[0], self.path) if row else None

    def run_info(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT name, recipe, created_at, strategy_state FROM runs "
                                "WHERE id = 1").fetchone()
        if row is None:
            return None
        return {"name": row[0], "recipe": json.loads(row[1]), "created_at": row[2],
                "strategy_state": json.loads(row[3])}

    def candidate(self, candidate_id: str) -> Candidate:
        row = self.conn.execute("SELECT id, params, parent, origin, note, artifact FROM "
                                "candidates WHERE id = ?", (candidate_id,)).fetchone()
        if row is None:
            raise StoreError(f"no candidate {candidate_id!r} in {self.path}")
        return candidate_from_row(row)

    def champion(self) -> Champion:
        row = self.conn.execute("SELECT candidate_id, version, cycle, created_at FROM "
                                "promotions ORDER BY version DESC LIMIT 1").fetchone()
        if row is None:
            raise StoreError(f"{self.path} has no champion yet")
        cached = self._champion
        if cached is not None and (cached.candidate.id, cached.version, cached.cycle,
                                   cached.promoted_at) == tuple(row):
            return cached  # read several times a cycle; its candidate is the costly part
        self._champion = Champion(self.candidate(row[0]), row[1], row[2], row[3])
        return self._champion

    def promotions(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT version, candidate_id, previous_id, cycle, stats, "
                                 "created_at FROM promotions ORDER BY version").fetchall()
        return [{"version": r[0], "candidate_id": r[1], "previous_id": r[2], "cycle": r[3],
                 "stats": json.loads(r[4]), "created_at": r[5]} for r in rows]

    def pending_cycle(self) -> tuple[int, Candidate] | None:
        """The cycle whose candidate was proposed but not decided (a crash mid-cycle)."""
        row = self.conn.execute("SELECT id, params, parent, origin, note, artifact, cycle "
                                "FROM candidates WHERE status = 'pending' "
                                "ORDER BY cycle DESC LIMIT 1").fetchone()
        return (row[6], candidate_from_row(row[:6])) if row else None

    def pending_cycles(self) -> list[tuple[int, Candidate]]:
        """Every proposed, undecided cycle, oldest first (a race has several)."""
        rows = self.conn.execute("SELECT id, params, parent, origin, note, artifact, cycle "
                                 "FROM candidates WHERE status = 'pending' "
                                 "ORDER BY cycle").fetchall()
        return [(row[6], candidate_from_row(row[:6])) for row in rows]

    def last_cycle(self) -> int:
        row = self.conn.execute("SELECT MAX(cycle) FROM candidates").fetchone()
        return int(row[0] or 0)

    def evaluations(self, *, candidate_id: str | None = None, cycle: int | None = None,
                    roles: Sequence[str] | None = None) -> list[EvaluationRow]:
        sql = ("SELECT candidate_id, role, cycle, batch, seed, size, ok, scores, ordered, "
               "errors, metrics, duration_s, reason, created_at, "
               # a reader may open a store the loop has not migrated yet
               f"{'shard' if self.schema_version() >= SHARDS_SCHEMA else '0'} "
               "FROM evaluations WHERE 1=1")
        args: list[Any] = []
        if candidate_id is not None:
            sql += " AND candidate_id = ?"
            args.append(candidate_id)
        if cycle is not None:
            sql += " AND cycle = ?"
            args.append(cycle)
        if roles:
            sql += f" AND role IN ({','.join('?' * len(roles))})"
            args.extend(roles)
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [EvaluationRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]),
                              tuple(json.loads(r[7])), bool(r[8]), r[9], json.loads(r[10]),
                              r[11], r[12], r[13], r[14]) for r in rows]

    def seeds_used(self) -> list[int]:
        """Every seed an evaluation of this run was given (the seed ledger's memory)."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT seed FROM evaluations")]

    def measured(self) -> int:
        """Games or runs measured so far, every role counted (failed evaluations not)."""
        row = self.conn.execute("SELECT COALESCE(SUM(size), 0) FROM evaluations "
                                "WHERE ok = 1").fetchone()
        return int(row[0])

    def score_moments(self, candidate_id: str, roles: Sequence[str],
                      outside_test_of: int | None = None) -> tuple[int, float, float]:
        """Count, sum and sum of squares of a candidate's measured scores, added up by
        SQLite (a long-held champion has hundreds of thousands); ``outside_test_of``
        leaves out the champion rows of that cycle's test."""
        sql = ("SELECT COUNT(j.value), TOTAL(j.value), TOTAL(j.value * j.value) "
               "FROM evaluations AS e, json_each(e.scores) AS j WHERE e.candidate_id = ? "
               f"AND e.ok = 1 AND e.role IN ({','.join('?' * len(roles))})")
        args: list[Any] = [candidate_id, *roles]
        if outside_test_of is not None:
            sql += " AND NOT (e.role = 'champion' AND e.cycle = ?)"
            args.append(outside_test_of)
        row = self.conn.execute(sql, args).fetchone()
        return int(row[0]), float(row[1]), float(row[2])

    def pair_noise(self, cycle: int, cycles: int = 50) -> tuple[int, float]:
        """Degrees of freedom and sum of squares of interleaved pairs' differences
        (challenger minus champion, run by run) about each cycle's mean, over the
        ``cycles`` cycles before ``cycle``: the noise of a pair, whatever the gaps."""
        rows = self.conn.execute(
            "SELECT cycle, batch, shard, role, scores, ordered FROM evaluations "
            "WHERE ok = 1 AND role IN ('challenger', 'champion') AND cycle >= ? "
            "AND cycle < ?", (cycle - cycles, cycle)).fetchall()
        sides: dict[tuple[int, int, int], dict[str, list[float]]] = {}
        for c, batch, shard, role, scores, ordered in rows:
            if ordered:
                sides.setdefault((c, batch, shard), {})[role] = json.loads(scores)
        by_cycle: dict[int, list[float]] = {}
        for (c, _, _), found in sides.items():
            ours, theirs = found.get("challenger"), found.get("champion")
            if ours is not None and theirs is not None and len(ours) == len(theirs):
                by_cycle.setdefault(c, []).extend(a - b for a, b in zip(ours, theirs,
                                                                        strict=True))
        df, squares = 0, 0.0
        for differences in by_cycle.values():
            if len(differences) >= 2:
                mean = sum(differences) / len(differences)
                df += len(differences) - 1
                squares += sum((d - mean) ** 2 for d in differences)
        return df, squares

    def champion_scores(self, candidate_id: str) -> list[float]:
        """Every score measured while ``candidate_id`` was the champion (never the
        evidence that promoted it, which is biased upward by selection)."""
        return [s for row in self.evaluations(candidate_id=candidate_id,
                                              roles=("baseline", "champion"))
                if row.ok for s in row.scores]

    def gated_decisions(self, limit: int) -> list[dict[str, Any]]:
        """The newest decisions whose challenger reached the gates, newest first."""
        rows = self.conn.execute(
            "SELECT cycle, candidate_id, decision, stats, created_at FROM decisions "
            "WHERE stats LIKE '%\"gates\"%' ORDER BY cycle DESC LIMIT ?", (limit,)).fetchall()
        return [{"cycle": cycle, "candidate": candidate, "decision": decision,
                 "decided_at": created, "gates": json.loads(stats).get("gates", [])}
                for cycle, candidate, decision, stats, created in rows]

    def decisions(self, limit: int | None = None) -> list[DecisionRow]:
        sql = ("SELECT d.cycle, c.id, c.params, c.parent, c.origin, c.note, c.artifact, "
               "d.champion_id, d.decision, d.reason, d.stats, d.score, d.champion_score, "
               "d.games, d.created_at FROM decisions d JOIN candidates c "
               "ON c.id = d.candidate_id ORDER BY d.cycle")
        if limit is not None:
            sql = f"SELECT * FROM ({sql} DESC LIMIT {int(limit)}) ORDER BY cycle"
        return [DecisionRow(r[0], candidate_from_row(r[1:7]), r[7], Decision(r[8]), r[9],
                            json.loads(r[10]), r[11], r[12], r[13], r[14])
                for r in self.conn.execute(sql).fetchall()]

    def trials(self, limit: int | None = None) -> list[Trial]:
        """Every decided cycle as a trial (``limit``: the newest that many)."""
        return [Trial(d.candidate, d.cycle, d.decision, d.stats.get("strategy_score", d.score),
                      d.champion_score, challenger_n(d)) for d in self.decisions(limit)]

    def lazy_trials(self) -> Sequence[Trial]:
        """The trials, read only when first looked at (a strategy's ``propose`` gets the
        run's history, which grows with every cycle; most strategies never read it)."""
        return LazyTrials(self)

    def events(self, limit: int = 100, after: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` events, or with ``after`` the first ``limit`` after that id."""
        if after is None:
            rows = self.conn.execute("SELECT id, ts, level, kind, message, data FROM events "
                                     "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()[::-1]
        else:
            rows = self.conn.execute("SELECT id, ts, level, kind, message, data FROM events "
                                     "WHERE id > ? ORDER BY id LIMIT ?",
                                     (after, limit)).fetchall()
        return [{"id": r[0], "ts": r[1], "level": r[2], "kind": r[3], "message": r[4],
                 "data": json.loads(r[5])} for r in rows]

    def last_event_id(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])


class LazyTrials(Sequence[Trial]):
    def __init__(self, store: StoreReads):
        self._store = store
        self._trials: list[Trial] | None = None

    def _all(self) -> list[Trial]:
        if self._trials is None:
            self._trials = self._store.trials()
        return self._trials

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())
