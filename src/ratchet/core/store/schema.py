"""The store's schema: the engine's numbered migrations, and the tables a plugin keeps in
the run's store (`PluginSchema`: numbered migrations of its own, recorded per plugin)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ratchet.core.errors import StoreError
from ratchet.core.store.connection import immediate_transaction

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
    # Keyed state, the loop's and the plugins' (see store.state), and the schema versions
    # of the plugins' own tables.
    """
    ALTER TABLE target_state RENAME TO keyed_state;
    CREATE TABLE IF NOT EXISTS plugin_schemas (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    );
    """,
]

SHARDS_SCHEMA = 3  # the schema version whose evaluations have a shard column


def run_script(cur: sqlite3.Cursor, script: str) -> None:
    for statement in filter(str.strip, script.split(";")):
        cur.execute(statement)


@dataclass(frozen=True)
class PluginSchema:
    """Tables a plugin keeps in the run's store, as numbered migrations of its own: the
    n-th script runs once, when the store's record for ``name`` is below n."""

    name: str
    migrations: tuple[str, ...]

    def version(self, conn: sqlite3.Connection | sqlite3.Cursor) -> int:
        """The version of this plugin's tables in the store (0: none yet)."""
        try:
            row = conn.execute("SELECT version FROM plugin_schemas WHERE name = ?",
                               (self.name,)).fetchone()
        except sqlite3.OperationalError:  # no plugin has declared tables here yet
            return 0
        return int(row[0]) if row else 0

    def apply(self, conn: sqlite3.Connection) -> None:
        """Bring the plugin's tables up to date in one transaction (``conn`` in
        autocommit mode, as the stores open it); a reader of an up-to-date store takes
        no write lock."""
        current = self.version(conn)
        if current == len(self.migrations):
            return
        self._check(current)
        with immediate_transaction(conn) as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS plugin_schemas (name TEXT PRIMARY KEY, "
                        "version INTEGER NOT NULL)")
            current = self.version(cur)
            self._check(current)
            for script in self.migrations[current:]:
                run_script(cur, script)
            if current < len(self.migrations):
                cur.execute("INSERT INTO plugin_schemas (name, version) VALUES (?, ?) ON "
                            "CONFLICT(name) DO UPDATE SET version = excluded.version",
                            (self.name, len(self.migrations)))

    def _check(self, current: int) -> None:
        if current > len(self.migrations):
            raise StoreError(f"the store's {self.name} tables have schema {current}, newer "
                             f"than this ratchet ({len(self.migrations)}); upgrade ratchet")
