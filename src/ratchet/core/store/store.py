"""The run's store: one SQLite file (WAL) in the run directory; the loop is its one writer.

Every state change is one transaction, so a crash at any instant leaves the store at the
last committed step: a cycle's candidate is recorded with the strategy state that produced
it, each batch's evaluations land together, and a decision lands with its promotion.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from ratchet.core.errors import StoreError, StoreGoneError, StoreWriteError
from ratchet.core.rundir import RunDir
from ratchet.core.store.connection import (
    SafeConnection,
    damaged_message,
    file_identity,
    immediate_transaction,
    write_failed_message,
)
from ratchet.core.store.reads import StoreReads
from ratchet.core.store.rows import (
    Champion,
    CycleOutcome,
    EvaluationRow,
    promotion_changes,
    scores_json,
)
from ratchet.core.store.schema import MIGRATIONS, run_script
from ratchet.core.store.state import StateKey, write_state
from ratchet.core.types import Candidate, Decision

T = TypeVar("T")


class Store(StoreReads):
    """The run's store, opened (``create``: made and migrated). Writes are here, each one
    transaction; reads are in ``StoreReads``."""

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
            self._file = file_identity(self.path)
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
        now = file_identity(self.path)
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
    def _migrate(self) -> None:
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema {current}, newer than this ratchet "
                             f"({len(MIGRATIONS)}); upgrade ratchet")
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction() as cur:
                run_script(cur, script)
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
            with immediate_transaction(self.conn) as written:
                yield written
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
                      state: tuple[StateKey[Any], Any] | None = None) -> None:
        """Several rejections in one transaction (a race's screened-out challengers), with
        ``state`` = (key, value) committed beside them (None deletes the key)."""
        now = time.time()
        with self.transaction(durable=False) as cur:
            for outcome in outcomes:
                if outcome.decision is Decision.PROMOTE:
                    raise ValueError("finish_cycles records rejections only")
                self._finish(cur, outcome, now)
            if state is not None:
                write_state(cur, *state)

    def start_race(self, entrants: Sequence[tuple[int, Candidate]],
                   strategy_state: dict[str, Any], state: tuple[StateKey[Any], Any]) -> None:
        """Several pending cycles at once, with the race's record, in one transaction."""
        now = time.time()
        with self.transaction(durable=False) as cur:
            for cycle, candidate in entrants:
                self._insert_candidate(cur, candidate, cycle, "pending", now)
            cur.execute("UPDATE runs SET strategy_state = ? WHERE id = 1",
                        (json.dumps(strategy_state),))
            write_state(cur, *state)

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

    def put(self, key: StateKey[T], value: T | None) -> None:
        """Commit ``value`` under ``key`` (see store.state); None deletes it."""
        with self.transaction() as cur:
            write_state(cur, key, value)

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


def _insert_evaluations(cur: sqlite3.Cursor, rows: Sequence[EvaluationRow]) -> None:
    if rows:
        cur.executemany(
            "INSERT INTO evaluations (candidate_id, role, cycle, batch, seed, size, ok, "
            "scores, ordered, errors, metrics, duration_s, reason, created_at, shard) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.candidate_id, r.role, r.cycle, r.batch, r.seed, r.size, int(r.ok),
              scores_json(r.scores), int(r.ordered), r.errors,
              json.dumps(r.metrics) if r.metrics else "{}", r.duration_s, r.reason,
              r.created_at, r.shard) for r in rows])
