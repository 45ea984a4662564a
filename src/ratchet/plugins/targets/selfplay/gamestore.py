"""The game store: every self-play game and every rated game of a run, in the run's own
SQLite file (tables of the selfplay target's own, beside the engine's).

The coordinator is the one writer: workers send finished games to it, and it appends
them in batches, one transaction each. Counts (games played, games since the last
training run) and the replay window come from here, never from files on disk.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ratchet.core.store import PluginSchema
from ratchet.core.store.connection import immediate_transaction
from ratchet.plugins.targets.selfplay.match import GameResult
from ratchet.plugins.targets.selfplay.play import GameRecord

#: the rated games ratings are fitted on: each champion's fresh, fixed-size matches
#: against the anchors; never games that selected it (a promotion test stops when it
#: crosses a bound, and its games chain along the champions)
RATING_PURPOSES = ("anchor",)

# the first version is written to fit stores made before the tables had a version
TABLES = PluginSchema("selfplay", ("""
CREATE TABLE IF NOT EXISTS selfplay_games (
    id INTEGER PRIMARY KEY,
    config TEXT NOT NULL,
    version INTEGER NOT NULL,
    worker TEXT NOT NULL,
    host TEXT NOT NULL,
    moves TEXT NOT NULL,
    policies TEXT NOT NULL,
    returns TEXT NOT NULL,
    duration_s REAL NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS selfplay_games_by_config ON selfplay_games (config, id);
CREATE TABLE IF NOT EXISTS selfplay_rated (
    id INTEGER PRIMARY KEY,
    config TEXT NOT NULL,
    purpose TEXT NOT NULL,
    pair INTEGER NOT NULL,
    first TEXT NOT NULL,
    second TEXT NOT NULL,
    score REAL NOT NULL,
    length INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS selfplay_rated_by_config ON selfplay_rated (config, id);
CREATE TABLE IF NOT EXISTS selfplay_networks (
    candidate_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    version INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS selfplay_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""", """
ALTER TABLE selfplay_games ADD COLUMN root_values TEXT NOT NULL DEFAULT '[]';
"""))

# selfplay_meta keys
LAST_TRAINED = "last_trained_game_id"  # the newest game the last training run read
LAST_TRAINED_AT = "last_trained_at"
GATE = "gate:"            # + candidate: its gate's results (JSON)
RESOURCES = "resources:"  # + node: its worker controller's state and last reading
TRAINING_SINCE = "training_since"      # when the training run in progress began (0: none)
TRAINING_FAILED = "training_failed"    # training runs that failed
LATEST_LINE = "latest_line"            # train_from latest: the newest trained network
KEPT_FOR_LINE = "kept_for_line"        # a discarded candidate whose network the line needs
TRAINED_FROM = "trained_from:"         # + candidate: the network its training started from
RECEIVE_ERRORS = "receive_errors"      # batches of games that could not be received/stored
GAMES_LOST = "games_lost"              # games in play on a worker that was lost
RESIGNED = "resigned"                  # self-play games ended by a resignation
RESIGN_CHECKED = "resign_checked"      # checked games in which a player would have resigned
RESIGN_FALSE = "resign_false"          # of which, the would-be resigner did not lose
REVERT = "revert"                      # a failed probation's predecessor and reason (JSON)


class GameStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        TABLES.apply(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> GameStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[sqlite3.Cursor]:
        """One write transaction: all of it or nothing."""
        return immediate_transaction(self.conn)

    def append(self, records: Sequence[GameRecord]) -> int:
        """Store ``records`` in one transaction; returns the id of the last one."""
        now = time.time()
        with self._write() as cur:
            cur.executemany(
                "INSERT INTO selfplay_games (config, version, worker, host, moves, policies, "
                "returns, duration_s, created_at, root_values) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.game, r.version, r.worker, r.host, json.dumps(r.moves),
                  json.dumps(r.to_dict()["policies"]), json.dumps(list(r.returns)),
                  r.duration_s, now, json.dumps(r.root_values)) for r in records])
            _add_counts(cur, {RESIGNED: sum(r.resigned is not None for r in records),
                              RESIGN_CHECKED: sum(r.would_resign is not None for r in records),
                              RESIGN_FALSE: sum(r.false_resignation for r in records)})
            last = cur.execute("SELECT COALESCE(MAX(id), 0) FROM selfplay_games").fetchone()
        return int(last[0])

    def append_sent(self, batch: dict[str, Any]) -> int:
        """A batch as a worker sent it (``{"games": [GameRecord.to_dict(), ...]}``),
        stored in one transaction; returns the number of games."""
        records = [GameRecord.from_dict(r) for r in batch["games"]]
        self.append(records)
        return len(records)

    def count(self, config: str, after_id: int = 0) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM selfplay_games WHERE config = ? AND "
                                "id > ?", (config, after_id)).fetchone()
        return int(row[0])

    def last_id(self, config: str) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM selfplay_games WHERE "
                                "config = ?", (config,)).fetchone()
        return int(row[0])

    def window(self, config: str, *, last_games: int | None = None,
               last_versions: int | None = None, up_to: int | None = None
               ) -> list[GameRecord]:
        """The replay window, oldest first: the last ``last_games`` games, or those played
        by the last ``last_versions`` champion versions (both: the smaller set), counting
        only games up to id ``up_to`` when given."""
        sql = ("SELECT config, moves, policies, returns, version, worker, host, duration_s, "
               "root_values FROM selfplay_games WHERE config = ?")
        args: list[object] = [config]
        if up_to is not None:
            sql += " AND id <= ?"
            args.append(up_to)
        if last_versions is not None:
            sql += (" AND version > (SELECT COALESCE(MAX(version), 0) FROM selfplay_games "
                    "WHERE config = ?) - ?")
            args += [config, last_versions]
        sql += " ORDER BY id DESC"
        if last_games is not None:
            sql += " LIMIT ?"
            args.append(last_games)
        rows = self.conn.execute(sql, args).fetchall()[::-1]
        return [GameRecord.from_dict({
            "game": r[0], "moves": json.loads(r[1]), "policies": json.loads(r[2]),
            "returns": json.loads(r[3]), "version": r[4], "worker": r[5], "host": r[6],
            "duration_s": r[7], "root_values": json.loads(r[8])}) for r in rows]

    def add_rated(self, config: str, purpose: str, results: Sequence[GameResult]) -> None:
        """Rated games (a promotion test, a gate, probation, anchors) in one transaction."""
        now = time.time()
        with self._write() as cur:
            cur.executemany(
                "INSERT INTO selfplay_rated (config, purpose, pair, first, second, score, "
                "length, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(config, purpose, r.pair, r.first, r.second, r.score, r.length, now)
                 for r in results])

    def rated(self, config: str, purposes: Sequence[str] | None = None
              ) -> list[tuple[str, str, float]]:
        """The rated games of one pool (of the given purposes; default: every one) as
        (first, second, first's score)."""
        sql = "SELECT first, second, score FROM selfplay_rated WHERE config = ?"
        args: list[Any] = [config]
        if purposes is not None:
            sql += f" AND purpose IN ({','.join('?' * len(purposes))})"
            args += purposes
        return [(a, b, s) for a, b, s in self.conn.execute(sql + " ORDER BY id", args)]

    # -- networks: each candidate's weights hash, and the champion versions ------------
    def record_network(self, candidate_id: str, sha256: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT OR REPLACE INTO selfplay_networks (candidate_id, sha256, "
                              "version, created_at) VALUES (?, ?, (SELECT version FROM "
                              "selfplay_networks WHERE candidate_id = ?), ?)",
                              (candidate_id, sha256, candidate_id, time.time()))

    def network(self, candidate_id: str) -> tuple[str, int | None] | None:
        """(sha256, champion version or None) of a candidate's recorded network."""
        row = self.conn.execute("SELECT sha256, version FROM selfplay_networks WHERE "
                                "candidate_id = ?", (candidate_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def make_champion(self, candidate_id: str) -> int:
        """The champion version of ``candidate_id`` (the next one the first time)."""
        with self._write() as cur:
            row = cur.execute("SELECT version FROM selfplay_networks WHERE "
                                    "candidate_id = ?", (candidate_id,)).fetchone()
            if row is None:
                raise KeyError(candidate_id)
            if row[0] is None:
                (top,) = cur.execute("SELECT COALESCE(MAX(version), -1) FROM "
                                           "selfplay_networks").fetchone()
                cur.execute("UPDATE selfplay_networks SET version = ? WHERE "
                                  "candidate_id = ?", (top + 1, candidate_id))
                return int(top + 1)
            return int(row[0])

    def champions(self) -> list[str]:
        """Every candidate whose network has been champion, oldest version first."""
        return [c for (c,) in self.conn.execute(
            "SELECT candidate_id FROM selfplay_networks WHERE version IS NOT NULL "
            "ORDER BY version")]

    def champion_before(self, candidate_id: str) -> str | None:
        """The candidate whose network was champion version v - 1, for the champion of
        version v (None for the starting champion)."""
        row = self.conn.execute("SELECT p.candidate_id FROM selfplay_networks c JOIN "
                                "selfplay_networks p ON p.version = c.version - 1 WHERE "
                                "c.candidate_id = ?", (candidate_id,)).fetchone()
        return row[0] if row else None

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM selfplay_meta WHERE key = ?",
                                (key,)).fetchone()
        return row[0] if row else default

    def add_meta(self, key: str, amount: int = 1) -> None:
        """Add to a counter kept in the meta table."""
        with self._write() as cur:
            _add_counts(cur, {key: amount})

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT OR REPLACE INTO selfplay_meta (key, value) VALUES (?, ?)",
                              (key, value))

    def take_meta(self, key: str) -> str | None:
        """The value under ``key``, deleted in the same transaction (once); asked often,
        so the write lock is taken only when there is a value."""
        if self.meta(key) is None:
            return None
        with self._write() as cur:
            row = cur.execute("SELECT value FROM selfplay_meta WHERE key = ?",
                              (key,)).fetchone()
            cur.execute("DELETE FROM selfplay_meta WHERE key = ?", (key,))
        return row[0] if row else None


def _add_counts(cur: sqlite3.Cursor, counts: dict[str, int]) -> None:
    """Add to counters kept in the meta table (in the caller's transaction)."""
    cur.executemany("INSERT INTO selfplay_meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + ?",
                    [(k, str(v), v) for k, v in counts.items() if v])
