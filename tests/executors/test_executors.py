"""Every executor runs the same evaluations to the same results; Ray on a local instance."""

import os
from pathlib import Path

import pytest

from ratchet.core.space import Space
from ratchet.core.store import Store
from ratchet.core.types import Candidate, EvalTask, Measurement
from ratchet.engine.recipe import parse_recipe
from ratchet.engine.runner import run_recipe
from ratchet.plugins.executors import InlineExecutor, ProcessesExecutor
from ratchet.plugins.executors.ray import RayExecutor
from ratchet.plugins.targets import Target
from tests.conftest import toy_recipe


class DiesOnce(Target):
    """Kills its own worker process on the first attempt of each task (a crashed node)."""

    name = "dies-once"
    outcome = "samples"

    def __init__(self, marker_dir: Path):
        self.marker_dir = marker_dir

    def baseline(self, space: Space) -> dict:
        return {}

    def evaluate(self, task: EvalTask) -> Measurement:
        marker = self.marker_dir / f"{task.batch}"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # the worker dies mid-evaluation
        attempts = marker.read_text()
        marker.write_text(attempts + " retried")
        return Measurement("samples", (float(task.batch),))


def fails_once(link, index, marker):
    """A worker whose first run raises (a bug that surfaces once); the next one works."""
    if not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise RuntimeError("a worker's bug")
    while not link.stopped():
        link.send(index)
        import time

        time.sleep(0.05)


def dies_mid_message(link, index, marker):
    """Worker 0's first incarnation dies halfway through writing a message to its pipe
    (killed mid-send); every other worker sends its index until stopped."""
    import signal
    import struct
    import time

    if index == 0 and not Path(marker).exists():
        Path(marker).write_text("died mid-message")
        os.write(link.outbox.fileno(), struct.pack("!i", 1000) + b"cut short")
        os.kill(os.getpid(), signal.SIGKILL)
    while not link.stopped():
        link.send(index)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def ray_executor():
    executor = RayExecutor(num_cpus=2)
    yield executor
    executor.close()


def _tasks(n=4):
    c = Candidate({"x": 0.5, "y": 0.5}, "test")
    return [EvalTask(c, "challenger", seed=s, size=10, cycle=1, batch=s) for s in range(n)]


@pytest.mark.slow
def test_all_executors_return_identical_results(tmp_path, ray_executor):
    from ratchet.engine.factory import build_target

    target = build_target(parse_recipe(toy_recipe(tmp_path)), tmp_path / "run")
    tasks = _tasks()
    with ProcessesExecutor(2) as procs:
        results = [ex.run(target, tasks) for ex in (InlineExecutor(), procs, ray_executor)]
    scores = [[r.measurement.scores for r in rs] for rs in results]
    assert scores[0] == scores[1] == scores[2]
    assert all(r.ok for rs in results for r in rs)


def test_a_worker_that_dies_mid_evaluation_is_retried_and_counted_once(tmp_path,
                                                                       ray_executor):
    results = ray_executor.run(DiesOnce(tmp_path), _tasks(3))
    assert [r.measurement.scores for r in results] == [(0.0,), (1.0,), (2.0,)]
    for batch in range(3):  # each task died once, ran again once, and returned one result
        assert (tmp_path / str(batch)).read_text().endswith(" retried")
        assert (tmp_path / str(batch)).read_text().count("retried") == 1


def test_a_recipe_runs_on_ray_like_on_processes(tmp_path, ray_executor):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = parse_recipe(toy_recipe(tmp_path / "a", executor={"kind": "processes", "workers": 2}))
    b = parse_recipe(toy_recipe(tmp_path / "b", executor={"kind": "ray", "workers": 2}))
    run_recipe(a, tmp_path / "a" / "run", max_cycles=3)
    run_recipe(b, tmp_path / "b" / "run", max_cycles=3)
    da, db = Store(tmp_path / "a" / "run").decisions(), Store(tmp_path / "b" / "run").decisions()
    assert [(d.decision, d.candidate.params, d.score) for d in da] == \
        [(d.decision, d.candidate.params, d.score) for d in db]


def test_a_batch_is_split_across_every_worker_and_rebuilt_in_shard_order(tmp_path):
    """processes with 4 workers: a batch is sized to them (each worker a judge's batch of
    20 games), each side's 40 games two shards of 20, each shard its own seed shared by the
    two sides; a resumed cycle rebuilds the same evidence from the shard rows."""
    from ratchet.engine.cycle import CycleRunner
    from ratchet.engine.factory import build_components

    recipe = parse_recipe(toy_recipe(tmp_path, executor={"kind": "processes", "workers": 4},
                                     schedule={"baseline": 0}))
    run_recipe(recipe, tmp_path / "run", max_cycles=2)
    with Store(tmp_path / "run") as store:
        rows = store.evaluations(roles=("challenger", "champion"))
        for row in rows:
            assert row.size == 20 and row.shard in (0, 1)
        seeds = {(r.cycle, r.batch, r.shard, r.role): r.seed for r in rows}
        for (cycle, batch, shard, role), seed in seeds.items():
            assert seeds[cycle, batch, shard, "champion"] == seed  # paired by shard
            assert seeds[cycle, batch, 1 - shard, role] != seed  # each shard its own seed
        decided = store.decisions()[0]
        runner = CycleRunner(store, build_components(recipe, tmp_path / "run"), seed=0,
                             stop=__import__("threading").Event(), reporter=lambda *a: None)
        evidence, next_batch = runner._rebuild_evidence(decided.cycle)
        assert evidence.n == decided.stats["n"] and evidence.games_played == decided.games
        first = [r for r in rows if r.cycle == decided.cycle and r.batch == 0
                 and r.role == "challenger"]
        assert list(evidence.challenger[:40]) == [
            s for r in sorted(first, key=lambda r: r.shard) for s in r.scores]


@pytest.mark.slow
@pytest.mark.timeout(1200)  # waits on events: a busy machine starts Ray actors slowly
def test_a_targets_workers_run_as_ray_actors_and_a_lost_one_is_started_again(ray_executor,
                                                                             tmp_path):
    """Self-play workers as Ray actors: the champion reaches them through Ray's object
    store, their games come back through Ray; an actor killed is started again with the
    champion, and what was sent before stopping is received."""
    import time

    from ratchet.plugins.scaleout.workers import WorkerPlan
    from ratchet.plugins.targets.selfplay.game import game_info
    from ratchet.plugins.targets.selfplay.network import new_network, paths, save_network
    from ratchet.plugins.targets.selfplay.worker import ChampionMessage, selfplay_worker

    digest = save_network(new_network(game_info("tic_tac_toe"), hidden=8, blocks=1),
                          tmp_path / "v0")
    weights, arch = paths(tmp_path / "v0")
    group = ray_executor.start_workers(WorkerPlan(2, selfplay_worker,
                                                  ("tic_tac_toe", 4, 4, 0)))
    group.publish(ChampionMessage(0, digest, weights.read_bytes(), arch.read_text()))
    games: list[dict] = []

    def receive_until(done, what):
        """Waits on the event, however long a busy machine takes to start an actor (it
        returns as soon as ``done``); a timeout says what was missing."""
        deadline = time.monotonic() + 600
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            games.extend(g for batch in group.receive(0.5) for g in batch.get("games", []))

    try:
        receive_until(lambda: {g["worker"] for g in games} == {"w0", "w1"},
                      "games of both actors")
        import ray

        ray.kill(group.actors[0], no_restart=True)  # its process is gone
        receive_until(lambda: group.restarts >= 1, "the killed actor to be started again")
        before = len(games)
        receive_until(lambda: any(g["worker"] == "w0" for g in games[before:]),
                      "games of the restarted actor")
        group.resize(1)  # w1 retires: it sends its batch in play, then ends
        receive_until(lambda: not group.retiring, "the retired actor to end")
    finally:
        group.stop()
    games.extend(g for batch in group.receive(0.5) for g in batch.get("games", []))
    assert group.restarts == 1 and group.lost == 1 and group.count == 1
    assert any(g["worker"] == "w0" for g in games[before:])  # with the champion
    assert group.receive(0.1) == []


@pytest.mark.parametrize("executor", ["processes", "ray"])
@pytest.mark.timeout(1200)  # waits on events: a busy machine starts Ray actors slowly
def test_a_worker_whose_run_raises_is_started_again(executor, ray_executor, tmp_path):
    import time

    from ratchet.plugins.scaleout.workers import WorkerPlan

    chosen = ray_executor if executor == "ray" else ProcessesExecutor(workers=1)
    group = chosen.start_workers(WorkerPlan(1, fails_once, (str(tmp_path / "m"),)))
    sent, deadline = [], time.monotonic() + 600  # returns once it is there; a busy machine
    try:                                         # starts a Ray worker slowly
        while 0 not in sent and time.monotonic() < deadline:
            sent += group.receive(0.5)
    finally:
        group.stop()
    assert 0 in sent and {"worker_lost": 0} in sent and group.restarts == 1


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_message_loses_only_that_message(tmp_path):
    """A worker killed halfway through sending: the others go on being heard (each sends
    through a pipe of its own), the cut message is dropped, and the worker is restarted."""
    import time

    from ratchet.plugins.scaleout.workers import WorkerPlan

    group = ProcessesExecutor(workers=2).start_workers(
        WorkerPlan(2, dies_mid_message, (str(tmp_path / "m"),)))
    sent, deadline = [], time.monotonic() + 300
    try:
        while time.monotonic() < deadline and not (
                {"worker_lost": 0} in sent and 0 in sent[sent.index({"worker_lost": 0}):]
                and 1 in sent[sent.index({"worker_lost": 0}):]):
            sent += group.receive(0.5)
    finally:
        group.stop()
    assert {"worker_lost": 0} in sent, f"worker 0 was not found dead: {sent[-5:]}"
    after = sent[sent.index({"worker_lost": 0}):]
    assert 0 in after and 1 in after, f"after the loss only {set(map(str, after))} arrived"
    assert group.restarts == 1 and set(map(str, sent)) <= {"0", "1", "{'worker_lost': 0}"}
