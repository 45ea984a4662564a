import json
import sqlite3
import time

import pytest

from ratchet.core.atomic import atomic_write_json
from ratchet.core.errors import StoreError
from ratchet.core.store import MIGRATIONS, CycleOutcome, EvaluationRow, Store
from ratchet.core.types import Candidate, Decision


def _row(cid, role="challenger", cycle=1, batch=0, scores=(1.0, 0.0)):
    return EvaluationRow(cid, role, cycle, batch, 1, len(scores), True, scores, True, 0, {},
                         0.1, None, 0.0)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "run", create=True)
    s.init_run("t", {"name": "t"}, Candidate({"x": 1}, "baseline", id="base"))
    yield s
    s.close()


def test_schema_is_versioned_and_in_wal_mode(store):
    assert store.schema_version() == len(MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master "
                                               "WHERE type='table'")}
    assert {"runs", "candidates", "evaluations", "decisions", "promotions",
            "events"} <= tables


def test_opening_a_missing_or_foreign_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no run at"):
        Store(tmp_path / "nothing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "ratchet.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot use the store"):
        Store(tmp_path / "junk")


def test_a_failed_transaction_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError), store.transaction() as cur:
        cur.execute("INSERT INTO events (ts, level, kind, message) VALUES (0,'i','k','m')")
        raise RuntimeError("crash in the middle")
    assert store.events() == []


def test_cycle_lifecycle_and_promotion(store):
    champ = store.champion()
    assert champ.version == 0 and champ.candidate.id == "base"
    cand = Candidate({"x": 2}, "perturb", parent="base", id="c1")
    store.start_cycle(1, cand, {"proposals": 1})
    assert store.pending_cycle()[1].id == "c1"
    store.record_evaluations([_row("c1"), _row("base", "champion", scores=(0.0, 0.0))])
    new = store.finish_cycle(CycleOutcome(1, cand, champ, Decision.PROMOTE, "proven",
                                          {"elo": 30}, 0.5, 0.0, 4, {"proposals": 1}))
    assert new.version == 1 and store.champion().candidate.id == "c1"
    assert store.pending_cycle() is None
    assert store.run_info()["strategy_state"] == {"proposals": 1}
    assert store.champion_scores("base") == [0.0, 0.0]
    assert store.champion_scores("c1") == []  # its promoting evidence is not its score
    # a promotion can never be recorded twice
    with pytest.raises(sqlite3.IntegrityError):
        store.finish_cycle(CycleOutcome(1, cand, champ, Decision.PROMOTE, "again", {}, 0.5,
                                        0.0, 4, {}))
    assert [p["version"] for p in store.promotions()] == [0, 1]


def test_same_batch_cannot_be_recorded_twice(store):
    store.start_cycle(1, Candidate({"x": 2}, "perturb", id="c1"), {})
    store.record_evaluations([_row("c1")])
    with pytest.raises(sqlite3.IntegrityError):
        store.record_evaluations([_row("c1")])


def test_atomic_json_write_replaces_whole_file(tmp_path):
    path = tmp_path / "champion.json"
    atomic_write_json(path, {"v": 1})
    atomic_write_json(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["champion.json"]


def test_live_files_are_written_off_the_thread_latest_first_and_errors_come_back(tmp_path):
    from ratchet.core.filewriter import LiveFiles

    files, path = LiveFiles(), tmp_path / "state.json"
    for v in range(50):
        files.write(path, json.dumps({"v": v}).encode())
    files.flush()
    assert json.loads(path.read_text()) == {"v": 49}
    files.write(path, b'{"v": "stale"}')
    files.write_now(path, b'{"v": "durable"}')  # after every write handed over before
    files.flush()
    assert json.loads(path.read_text()) == {"v": "durable"}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    files.write(tmp_path / "missing" / "\0bad", b"x")  # a name no file system takes
    with pytest.raises(ValueError):
        files.flush()
    files.flush()  # raised once


def test_a_full_disk_is_a_clear_error_and_the_store_stays_consistent(store):
    from ratchet.core.errors import StoreError

    store.start_cycle(1, Candidate({"x": 2}, "perturb", id="c1"), {})
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now "full"
    big = tuple([1.0] * 50_000)
    with pytest.raises(StoreError, match="full.*nothing was half-written"):
        store.record_evaluations([_row("c1", scores=big), _row("c1", batch=1)])
    assert store.evaluations() == []  # neither row of the batch landed
    store.conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    store.record_evaluations([_row("c1")])
    assert len(store.evaluations()) == 1 and store.pending_cycle()[1].id == "c1"


def test_a_store_from_before_shards_is_migrated_with_its_evaluations(tmp_path):
    run = tmp_path / "old"
    run.mkdir()
    conn = sqlite3.connect(run / "ratchet.db")
    for script in MIGRATIONS[:2]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO runs (id, name, recipe, created_at) VALUES (1, 't', '{}', 0)")
    conn.execute("INSERT INTO candidates (id, cycle, params, origin, status, created_at) "
                 "VALUES ('base', 0, '{}', 'baseline', 'champion', 0)")
    conn.execute("INSERT INTO evaluations (candidate_id, role, cycle, batch, seed, size, ok, "
                 "scores, duration_s, created_at) VALUES ('base', 'baseline', 0, 0, 7, 2, 1, "
                 "'[1.0, 0.5]', 0.1, 0)")
    conn.commit()
    conn.close()
    with Store(run) as reader:  # `ratchet status` before the loop has migrated the store
        assert reader.schema_version() == 2 and reader.evaluations()[0].shard == 0
    with Store(run, create=True) as store:  # the loop opens it
        assert store.schema_version() == len(MIGRATIONS)
        (row,) = store.evaluations()
        assert (row.seed, row.scores, row.shard) == (7, (1.0, 0.5), 0)
        store.record_evaluations([EvaluationRow("base", "baseline", 0, 0, 8, 2, True,
                                                (0.0, 1.0), True, 0, {}, 0.1, None, 0.0, 1)])
        assert [r.shard for r in store.evaluations()] == [0, 1]  # a second shard, same batch


def test_the_live_files_thread_ends_when_idle_and_a_later_write_starts_another(tmp_path,
                                                                            monkeypatch):
    import ratchet.core.filewriter as filewriter

    monkeypatch.setattr(filewriter, "IDLE_S", 0.05)
    files, path = filewriter.LiveFiles(), tmp_path / "state.json"
    files.write(path, b"1")
    files.flush()
    first = files._thread
    deadline = time.monotonic() + 5
    while files._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert files._thread is None and not first.is_alive()
    files.write(path, b"2")
    files.flush()
    assert path.read_bytes() == b"2"
