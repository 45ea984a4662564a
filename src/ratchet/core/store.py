"""The run's store: one SQLite file (WAL) in the run directory; the loop is its one writer.

Every state change is one transaction, so a crash at any instant leaves the store at the
last committed step: a cycle's candidate is recorded with the strategy state that produced
it, each batch's evaluations land together, and a decision lands with its promotion.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratchet.core.errors import StoreError, StoreGoneError, StoreWriteError
from ratchet.core.rundir import RunDir
from ratchet.core.types import Candidate, Decision, Trial

MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        recipe TEXT NOT NULL,
        created_at REAL NOT NULL,
        strategy_state TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE candidates (
        id TEXT PRIMARY KEY,
        cycle INTEGER NOT NULL,
        params TEXT NOT NULL,
        parent TEXT,
        origin TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        artifact TEXT,
        status TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX candidates_status ON candidates(status);
    CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        candidate_id TEXT NOT NULL REFERENCES candidates(id),
        role TEXT NOT NULL,
        cycle INTEGER NOT NULL,
        batch INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        size INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        scores TEXT NOT NULL DEFAULT '[]',
        ordered INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        metrics TEXT NOT NULL DEFAULT '{}',
        duration_s REAL NOT NULL,
        reason TEXT,
        created_at REAL NOT NULL,
        UNIQUE (candidate_id, role, cycle, batch)
    );
    CREATE INDEX evaluations_candidate ON evaluations(candidate_id, role);
    CREATE TABLE decisions (
        cycle INTEGER PRIMARY KEY,
        candidate_id TEXT NOT NULL UNIQUE REFERENCES candidates(id),
        champion_id TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        stats TEXT NOT NULL DEFAULT '{}',
        score REAL,
        champion_score REAL,
        games INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE promotions (
        version INTEGER PRIMARY KEY,
        candidate_id TEXT NOT NULL UNIQUE REFERENCES candidates(id),
        previous_id TEXT,
        cycle INTEGER NOT NULL,
        stats TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        level TEXT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # What a target keeps about the system it changes (sysctl: the original values and
    # whether they may be overwritten), apart from the run's history.
    """
    CREATE TABLE target_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # A batch split across workers: one evaluation row per shard, merged in shard order
    # (SQLite cannot change a table's UNIQUE constraint in place: the table is rebuilt).
    """
    CREATE TABLE evaluations_by_shard (
        id INTEGER PRIMARY KEY,
        candidate_id TEXT NOT NULL REFERENCES candidates(id),
        role TEXT NOT NULL,
        cycle INTEGER NOT NULL,
        batch INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        size INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        scores TEXT NOT NULL DEFAULT '[]',
        ordered INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        metrics TEXT NOT NULL DEFAULT '{}',
        duration_s REAL NOT NULL,
        reason TEXT,
        created_at REAL NOT NULL,
        shard INTEGER NOT NULL DEFAULT 0,
        UNIQUE (candidate_id, role, cycle, batch, shard)
    );
    INSERT INTO evaluations_by_shard (id, candidate_id, role, cycle, batch, seed, size, ok,
        scores, ordered, errors, metrics, duration_s, reason, created_at)
        SELECT id, candidate_id, role, cycle, batch, seed, size, ok, scores, ordered, errors,
        metrics, duration_s, reason, created_at FROM evaluations;
    DROP TABLE evaluations;
    ALTER TABLE evaluations_by_shard RENAME TO evaluations;
    CREATE INDEX evaluations_candidate ON evaluations(candidate_id, role);
    """,
    # A former champion may be champion again (a revert, or `ratchet promote` of an old
    # one): a candidate may appear in more than one promotion.
    """
    CREATE TABLE promotions_again (
        version INTEGER PRIMARY KEY,
        candidate_id TEXT NOT NULL REFERENCES candidates(id),
        previous_id TEXT,
        cycle INTEGER NOT NULL,
        stats TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    INSERT INTO promotions_again SELECT version, candidate_id, previous_id, cycle, stats,
        created_at FROM promotions;
    DROP TABLE promotions;
    ALTER TABLE promotions_again RENAME TO promotions;
    CREATE INDEX promotions_candidate ON promotions(candidate_id);
    """,
]


SHARDS_SCHEMA = 3  # the schema version whose evaluations have a shard column


@dataclass(frozen=True)
class EvaluationRow:
    candidate_id: str
    role: str
    cycle: int
    batch: int
    seed: int
    size: int
    ok: bool
    scores: tuple[float, ...]
    ordered: bool
    errors: int
    metrics: dict[str, float]
    duration_s: float
    reason: str | None
    created_at: float
    shard: int = 0


@dataclass(frozen=True)
class DecisionRow:
    cycle: int
    candidate: Candidate
    champion_id: str
    decision: Decision
    reason: str
    stats: dict[str, Any]
    score: float | None
    champion_score: float | None
    games: int
    created_at: float


@dataclass(frozen=True)
class Champion:
    candidate: Candidate
    version: int
    cycle: int
    promoted_at: float


@dataclass(frozen=True)
class CycleOutcome:
    """What a decided cycle commits (``Store.finish_cycle``)."""

    cycle: int
    candidate: Candidate
    champion: Champion       # the champion it was measured against
    decision: Decision
    reason: str
    stats: dict[str, Any]
    score: float | None      # the challenger's mean
    champion_score: float | None
    games: int               # games or samples played, both sides
    strategy_state: dict[str, Any]


class _Rows:
    """A cursor whose reading errors are StoreErrors too (rows are read lazily)."""

    def __init__(self, cursor: sqlite3.Cursor, path: Path):
        self._cursor = cursor
        self._path = path

    def fetchone(self) -> Any:
        with _reading(self._path):
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with _reading(self._path):
            return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
        raise  # ratchet's own mistake, not the file's
    except sqlite3.DatabaseError as exc:
        if _no_room(exc):
            raise StoreWriteError(write_failed_message(path, exc)) from None
        raise StoreError(damaged_message(path, exc)) from None


def _no_room(exc: sqlite3.DatabaseError) -> bool:
    """A full disk or a read-only file system: the store is fine, the machine is not."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and (
        "full" in text or "readonly" in text or "read-only" in text)


def write_failed_message(path: Path, detail: object) -> str:
    return (f"cannot write the store {path}: {detail} (nothing was half-written; free space "
            "or fix permissions, then start again)")


def damaged_message(path: Path, detail: object) -> str:
    return (f"cannot use the store {path}: {detail}; nothing was applied from it. Put a "
            f"checkpoint back with 'ratchet restore --run-dir {path.parent}'")


class SafeConnection:
    """The store's SQLite connection; any database error while reading becomes one
    StoreError that names the file and the way out (`ratchet restore`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.raw = conn
        self.path = path

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Rows:
        with _reading(self.path):
            return _Rows(self.raw.execute(sql, args), self.path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def promotion_changes(old: Candidate, new: Candidate) -> dict[str, list[Any]]:
    """Each parameter a promotion changed: [old value, new value]."""
    return {k: [old.params.get(k), v] for k, v in new.params.items()
            if old.params.get(k) != v}


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


class Store:
    def __init__(self, run_dir: str | Path, *, create: bool = False,
                 file: Path | None = None):
        self.run_dir = Path(run_dir)
        self.path = file or RunDir(run_dir).store
        db_name = self.path.name
        self._champion: Champion | None = None
        if not self.path.exists() and not create:
            raise StoreError(f"no run at {self.run_dir} (no {db_name}); start one with "
                             "'ratchet run RECIPE' or pass --run-dir")
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise StoreError(f"{self.run_dir} is a file, expected a run directory")
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if create:  # owner-only: the store holds the run's whole history
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
                os.chmod(self.path, 0o600)
            raw = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                  check_same_thread=False)
            self.conn = SafeConnection(raw, self.path)
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=NORMAL")  # FULL for a durable transaction
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA busy_timeout=30000")
            self._file = _file_identity(self.path)
            if create:
                self._migrate()
            elif self.schema_version() == 0:
                raise StoreError(f"{self.path} is not a ratchet store")
        except sqlite3.DatabaseError as exc:
            raise StoreError(damaged_message(self.path, exc)) from None
        except OSError as exc:
            raise StoreError(f"cannot use run directory {self.run_dir}: {exc.strerror}") \
                from None

    def _check_same_file(self) -> None:
        """The file at the store's path is still the one this connection writes: a store
        deleted or replaced under a running daemon would take every later write into a
        file no one will open again."""
        now = _file_identity(self.path)
        if now != self._file:
            what = "deleted" if now is None else "replaced by another file"
            raise StoreGoneError(
                f"{self.path} was {what} while this run was using it; nothing more is "
                "written. Put the newest checkpoint back with 'ratchet restore --run-dir "
                f"{self.run_dir}' (or restore the file), then start the run again")

    def check_integrity(self) -> None:
        """SQLite's quick check: a damaged page is found before anything is applied."""
        rows = self.conn.execute("PRAGMA quick_check").fetchall()
        problems = [r[0] for r in rows if r[0] != "ok"]
        if problems:
            detail = " ".join(" ".join(problems[:3]).split())
            raise StoreError(damaged_message(self.path, f"damaged ({detail})"))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema {current}, newer than this ratchet "
                             f"({len(MIGRATIONS)}); upgrade ratchet")
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction() as cur:
                for statement in filter(str.strip, script.split(";")):
                    cur.execute(statement)
                cur.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Cursor]:
        """All or nothing. A full disk or an unwritable file becomes a StoreError; the
        transaction is rolled back, so the store stays at its last committed step.

        ``durable=False`` (the per-cycle records that nothing outside the store acts on):
        the commit survives a crash or kill of the process, but is synced to disk only by
        the next durable commit or checkpoint of the WAL, so a power cut may undo it (the
        cycle is then measured again). A promotion, whose champion is then made live, is
        always durable."""
        self._check_same_file()
        cur = self.conn.cursor()
        if durable:
            cur.execute("PRAGMA synchronous=FULL")
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self.conn.in_transaction:
                self.conn.rollback()
            raise StoreWriteError(write_failed_message(self.path, exc)) from None
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            if self.conn.in_transaction:
                self.conn.rollback()
            raise
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                self.conn.rollback()
            raise StoreError(damaged_message(self.path, exc)) from None
        finally:
            if durable:
                with suppress(sqlite3.Error):
                    cur.execute("PRAGMA synchronous=NORMAL")

    # -- writes ---------------------------------------------------------------------
    def init_run(self, name: str, recipe: dict[str, Any], baseline: Candidate) -> None:
        """Create the run with its baseline as champion version 0 (once)."""
        now = time.time()
        with self.transaction() as cur:
            cur.execute("INSERT INTO runs (id, name, recipe, created_at) VALUES (1, ?, ?, ?)",
                        (name, json.dumps(recipe), now))
            self._insert_candidate(cur, baseline, 0, "champion", now)
            cur.execute("INSERT INTO promotions (version, candidate_id, previous_id, cycle, "
                        "created_at) VALUES (0, ?, NULL, 0, ?)", (baseline.id, now))

    def start_cycle(self, cycle: int, candidate: Candidate, strategy_state: dict[str, Any]) -> None:
        with self.transaction(durable=False) as cur:
            self._insert_candidate(cur, candidate, cycle, "pending", time.time())
            cur.execute("UPDATE runs SET strategy_state = ? WHERE id = 1",
                        (json.dumps(strategy_state),))

    def record_evaluations(self, rows: Sequence[EvaluationRow]) -> None:
        with self.transaction(durable=False) as cur:
            _insert_evaluations(cur, rows)

    def finish_cycle(self, outcome: CycleOutcome,
                     evaluations: Sequence[EvaluationRow] = ()) -> Champion | None:
        """Record the decision, with the ``evaluations`` that decided it; on PROMOTE also
        the promotion, in the same transaction. Returns the new champion when there is
        one."""
        with self.transaction(durable=outcome.decision is Decision.PROMOTE) as cur:
            _insert_evaluations(cur, evaluations)
            return self._finish(cur, outcome, time.time())

    def finish_cycles(self, outcomes: Sequence[CycleOutcome],
                      state: tuple[str, Any] | None = None) -> None:
        """Several rejections in one transaction (a race's screened-out challengers), with
        ``state`` = (key, value) committed beside them (None deletes the key)."""
        now = time.time()
        with self.transaction(durable=False) as cur:
            for outcome in outcomes:
                if outcome.decision is Decision.PROMOTE:
                    raise ValueError("finish_cycles records rejections only")
                self._finish(cur, outcome, now)
            if state is not None:
                _set_state(cur, *state)

    def start_race(self, entrants: Sequence[tuple[int, Candidate]],
                   strategy_state: dict[str, Any], state: tuple[str, Any]) -> None:
        """Several pending cycles at once, with the race's record, in one transaction."""
        now = time.time()
        with self.transaction(durable=False) as cur:
            for cycle, candidate in entrants:
                self._insert_candidate(cur, candidate, cycle, "pending", now)
            cur.execute("UPDATE runs SET strategy_state = ? WHERE id = 1",
                        (json.dumps(strategy_state),))
            _set_state(cur, *state)

    def _finish(self, cur: sqlite3.Cursor, outcome: CycleOutcome,
                now: float) -> Champion | None:
        cycle, candidate, champion = outcome.cycle, outcome.candidate, outcome.champion
        decision, reason, stats = outcome.decision, outcome.reason, outcome.stats
        score, champion_score, games = outcome.score, outcome.champion_score, outcome.games
        strategy_state = outcome.strategy_state
        promoted = None
        cur.execute("INSERT INTO decisions (cycle, candidate_id, champion_id, decision, "
                    "reason, stats, score, champion_score, games, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (cycle, candidate.id, champion.candidate.id, decision.value, reason,
                     json.dumps(stats, default=float), score, champion_score, games, now))
        status = "champion" if decision is Decision.PROMOTE else decision.value
        cur.execute("UPDATE candidates SET status = ? WHERE id = ?", (status, candidate.id))
        if decision is Decision.PROMOTE:
            version = champion.version + 1
            cur.execute("INSERT INTO promotions (version, candidate_id, previous_id, cycle, "
                        "stats, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (version, candidate.id, champion.candidate.id, cycle,
                         json.dumps(stats, default=float), now))
            cur.execute("UPDATE candidates SET status = 'retired' WHERE id = ?",
                        (champion.candidate.id,))
            promoted = Champion(candidate, version, cycle, now)
            changes = promotion_changes(champion.candidate, candidate)
            cur.execute("INSERT INTO events (ts, level, kind, message, data) VALUES "
                        "(?, 'info', 'promotion', ?, ?)",
                        (now, f"cycle {cycle}: promoted {candidate.id} as champion "
                              f"v{version}; changes {changes}",
                         json.dumps({"cycle": cycle, "version": version,
                                     "candidate": candidate.id, "changes": changes,
                                     "elo": stats.get("elo"),
                                     "improvement": stats.get("improvement")},
                                    default=str)))
        cur.execute("UPDATE runs SET strategy_state = ? WHERE id = 1",
                    (json.dumps(strategy_state),))
        # the live stream's record of the cycle, in the same transaction as the decision
        cur.execute("INSERT INTO events (ts, level, kind, message, data) VALUES "
                    "(?, 'info', 'decision', ?, ?)",
                    (now, f"cycle {cycle}: {decision.value}", json.dumps({
                        "cycle": cycle, "candidate": candidate.id,
                        "origin": candidate.origin, "decision": decision.value, "score": score,
                        "champion_score": champion_score, "games": games,
                        "n": stats.get("n"), "elo": stats.get("elo"),
                        "improvement": stats.get("improvement"), "reason": reason,
                        "version": promoted.version if promoted else champion.version},
                        default=float)))
        return promoted

    def manual_promotion(self, candidate_id: str, champion: Champion, cycle: int, *,
                         revert: str = "") -> Champion:
        """A person's promotion, or with ``revert`` (its reason) the target's putting a
        former champion back: recorded as such, in one transaction."""
        now = time.time()
        candidate = self.candidate(candidate_id)
        version = champion.version + 1
        if revert:
            stats: dict[str, Any] = {"revert": True, "reason": revert}
            kind = "revert"
            message = (f"champion v{champion.version} ({champion.candidate.id}) reverted: "
                       f"{candidate_id} is champion v{version} again ({revert})")
        else:
            stats, kind = {"manual": True}, "promotion"
            message = f"manual promotion of {candidate_id} as champion v{version}"
        with self.transaction() as cur:
            cur.execute("INSERT INTO promotions (version, candidate_id, previous_id, cycle, "
                        "stats, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (version, candidate_id, champion.candidate.id, cycle,
                         json.dumps(stats), now))
            cur.execute("UPDATE candidates SET status = 'retired' WHERE id = ?",
                        (champion.candidate.id,))
            cur.execute("UPDATE candidates SET status = 'champion' WHERE id = ?",
                        (candidate_id,))
            cur.execute("INSERT INTO events (ts, level, kind, message, data) VALUES "
                        "(?, 'warning', ?, ?, ?)",
                        (now, kind, message,
                         json.dumps({**stats, "version": version, "cycle": cycle,
                                     "candidate": candidate_id,
                                     "previous": champion.candidate.id})))
        return Champion(candidate, version, cycle, now)

    def set_target_state(self, key: str, value: Any) -> None:
        """Commit ``value`` (JSON) under ``key``; None deletes it."""
        with self.transaction() as cur:
            _set_state(cur, key, value)

    def target_state(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM target_state WHERE key = ?",
                                (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def event(self, kind: str, message: str, level: str = "info", **data: Any) -> None:
        with self.transaction() as cur:
            cur.execute("INSERT INTO events (ts, level, kind, message, data) VALUES (?,?,?,?,?)",
                        (time.time(), level, kind, message, json.dumps(data, default=str)))

    @staticmethod
    def _insert_candidate(cur: sqlite3.Cursor, c: Candidate, cycle: int, status: str,
                          now: float) -> None:
        cur.execute("INSERT INTO candidates (id, cycle, params, parent, origin, note, artifact, "
                    "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (c.id, cycle, json.dumps(c.params), c.parent, c.origin, c.note, c.artifact,
                     status, now))

    # -- reads ----------------------------------------------------------------------
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
        return _candidate(row)

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
        return (row[6], _candidate(row[:6])) if row else None

    def pending_cycles(self) -> list[tuple[int, Candidate]]:
        """Every proposed, undecided cycle, oldest first (a race has several)."""
        rows = self.conn.execute("SELECT id, params, parent, origin, note, artifact, cycle "
                                 "FROM candidates WHERE status = 'pending' "
                                 "ORDER BY cycle").fetchall()
        return [(row[6], _candidate(row[:6])) for row in rows]

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

    def score_moments(self, candidate_id: str, roles: Sequence[str]
                      ) -> tuple[int, float, float]:
        """Count, sum and sum of squares of a candidate's measured scores, added up by
        SQLite (a long-held champion has hundreds of thousands)."""
        row = self.conn.execute(
            "SELECT COUNT(j.value), TOTAL(j.value), TOTAL(j.value * j.value) "
            "FROM evaluations AS e, json_each(e.scores) AS j WHERE e.candidate_id = ? "
            f"AND e.ok = 1 AND e.role IN ({','.join('?' * len(roles))})",
            (candidate_id, *roles)).fetchone()
        return int(row[0]), float(row[1]), float(row[2])

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
        return [DecisionRow(r[0], _candidate(r[1:7]), r[7], Decision(r[8]), r[9],
                            json.loads(r[10]), r[11], r[12], r[13], r[14])
                for r in self.conn.execute(sql).fetchall()]

    def trials(self, limit: int | None = None) -> list[Trial]:
        """Every decided cycle as a trial (``limit``: the newest that many)."""
        return [Trial(d.candidate, d.cycle, d.decision, d.score, d.champion_score,
                      _challenger_n(d)) for d in self.decisions(limit)]

    def lazy_trials(self) -> Sequence[Trial]:
        """The trials, read only when first looked at (a strategy's ``propose`` gets the
        run's history, which grows with every cycle; most strategies never read it)."""
        return _LazyTrials(self)

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


def _insert_evaluations(cur: sqlite3.Cursor, rows: Sequence[EvaluationRow]) -> None:
    if rows:
        cur.executemany(
            "INSERT INTO evaluations (candidate_id, role, cycle, batch, seed, size, ok, "
            "scores, ordered, errors, metrics, duration_s, reason, created_at, shard) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.candidate_id, r.role, r.cycle, r.batch, r.seed, r.size, int(r.ok),
              _scores_json(r.scores), int(r.ordered), r.errors,
              json.dumps(r.metrics) if r.metrics else "{}", r.duration_s, r.reason,
              r.created_at, r.shard) for r in rows])


def _scores_json(scores: Sequence[float]) -> str:
    """``json.dumps(list(scores))``, quicker for the usual finite floats (a batch split
    over many workers writes a row a shard after every batch)."""
    values = [float(s) for s in scores]
    if all(math.isfinite(v) for v in values):
        return "[" + ", ".join(map(repr, values)) + "]"
    return json.dumps(values)


def _set_state(cur: sqlite3.Cursor, key: str, value: Any) -> None:
    if value is None:
        cur.execute("DELETE FROM target_state WHERE key = ?", (key,))
    else:
        cur.execute("INSERT INTO target_state (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at", (key, json.dumps(value), time.time()))


def _challenger_n(d: DecisionRow) -> int:
    """The challenger's games or runs in a decided cycle (half of both sides' games, but
    all of them head-to-head, where the champion is not measured apart)."""
    if d.score is None:
        return 0
    return d.games if d.champion_score is None else d.games // 2


def _candidate(row: Sequence[Any]) -> Candidate:
    return Candidate(id=row[0], params=json.loads(row[1]), parent=row[2], origin=row[3],
                     note=row[4], artifact=row[5])


class _LazyTrials(Sequence[Trial]):
    def __init__(self, store: Store):
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
