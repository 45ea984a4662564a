"""The selfplay target through the engine's loop: tic-tac-toe, a few hundred games."""

import json
import sqlite3
import subprocess
import sys

import pytest
import yaml

from ratchet.core.rundir import RunDir
from ratchet.core.store import Store

TINY = {
    "name": "ttt",
    "target": {"kind": "selfplay", "game": "tic_tac_toe", "hidden": 16, "blocks": 1,
               "simulations": 8, "match_simulations": 8, "trigger_games": 40,
               "train_steps": 60, "games_per_batch": 20, "gate": False},
    "space": {"lr": {"type": "logfloat", "low": 0.0003, "high": 0.01}},
    "strategy": {"kind": "tpe"},
    "judge": {"kind": "sprt", "elo0": 0, "elo1": 150, "batch": 10, "min_games": 20,
              "max_games": 60},
    "schedule": {"baseline": 0},
}


@pytest.mark.slow
def test_the_whole_loop_runs_on_tic_tac_toe(tmp_path):
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    summary = run_recipe(parse_recipe(TINY), tmp_path / "run", max_cycles=2)
    assert summary.cycles == 2 and summary.failures == 0
    with Store(tmp_path / "run") as store:
        decisions = store.decisions()
        champion = store.champion()
    db = sqlite3.connect(tmp_path / "run" / "ratchet.db")
    # each challenger was trained after 40 new self-play games of the champion then
    assert db.execute("SELECT COUNT(*) FROM selfplay_games").fetchone()[0] == 2 * 40
    versions = dict(db.execute("SELECT candidate_id, version FROM selfplay_networks"))
    assert len(versions) == 3 and versions[champion.candidate.id] == champion.version
    assert all(len(sha) == 64 for (sha,) in db.execute("SELECT sha256 FROM selfplay_networks"))
    # every game of every promotion test is in the pool, under the candidates' ids
    rated = db.execute("SELECT first, second FROM selfplay_rated").fetchall()
    assert len(rated) >= sum(d.stats["n"] for d in decisions)
    assert {d.candidate.id for d in decisions} <= {a for pair in rated for a in pair}
    kept = {p.stem for p in (tmp_path / "run" / "work" / "nets").glob("*.safetensors")}
    assert kept == {c for c, v in versions.items() if v is not None}  # rejected: removed
    from ratchet.service.status import run_status

    shown = run_status(tmp_path / "run")["target"]
    assert shown["self-play games"].startswith("80 (") and shown["training runs"] == 2
    assert shown["champion network"].startswith(f"v{champion.version}")
    from prometheus_client import CollectorRegistry, generate_latest

    from ratchet.apps.web.metrics import RunCollector

    registry = CollectorRegistry()
    registry.register(RunCollector(tmp_path / "run"))
    scraped = generate_latest(registry).decode()
    assert 'ratchet_selfplay_games_total{run="ttt"} 80.0' in scraped
    assert 'ratchet_selfplay_training_runs_total{run="ttt",status="ok"} 2.0' in scraped


@pytest.mark.slow
def test_bad_self_play_recipes_are_one_clear_error(tmp_path):
    cases = [({"game": "kuhn_poker"}, "chance events"),
             ({"game": "nosuchgame"}, "unknown game 'nosuchgame'"),
             ({"hidden": 2}, "target.hidden")]
    for change, says in cases:
        recipe = {**TINY, "target": {**TINY["target"], **change}}
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(recipe))
        done = subprocess.run([sys.executable, "-m", "ratchet", "run", str(path), "--run-dir",
                               str(tmp_path / "run"), "--max-cycles", "1"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()
    recipe = {**TINY, "space": {"depth": {"type": "int", "low": 1, "high": 3}}}
    path.write_text(yaml.safe_dump(recipe))
    done = subprocess.run([sys.executable, "-m", "ratchet", "run", str(path), "--run-dir",
                           str(tmp_path / "run2"), "--max-cycles", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "tunes lr, train_steps, window_games" in done.stderr


@pytest.mark.slow
def test_probation_reverts_a_champion_weaker_than_its_predecessor(tmp_path):
    """Probation plays fresh games against the predecessor: a champion that loses them
    is put back at its first challenger (the cycle fails with the verdict and the loop
    is asked to promote the predecessor); a champion as strong as its predecessor (the
    same weights) passes once and is not examined again."""
    import pytest
    import torch

    from ratchet.core.errors import EvaluationError
    from ratchet.core.types import Candidate, EvalTask
    from ratchet.plugins.targets.selfplay.network import load_network, save_network
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec
    from ratchet.plugins.targets.selfplay.target import SelfPlayTarget

    run_dir = tmp_path
    spec = {**TINY["target"], "game": "connect_four", "probation_games": 80,
            "match_simulations": 32, "gate_anchor_simulations": 10, "trigger_games": 16,
            "train_steps": 20}
    target = SelfPlayTarget(SelfPlaySpec(**spec), RunDir(run_dir))
    first = Candidate({}, "baseline")
    target.apply(first)  # champion v0
    games = target.games

    def replace_weights(candidate, net):
        games.record_network(candidate.id, save_network(net, target.nets / candidate.id))

    # v0: plain search (uniform priors, value 0); the weak champion: the same search
    # misled by priors that pile everything on the leftmost open column
    plain = target.recorded_network(first.id)
    with torch.no_grad():
        for layer in (plain.policy, plain.value[2]):
            layer.weight.zero_()
            layer.bias.zero_()
    replace_weights(first, plain)
    misled = load_network(target.nets / first.id)
    with torch.no_grad():
        misled.policy.bias.copy_(-8.0 * torch.arange(7))

    def crown(parent):  # a trained challenger made champion (the next version)
        candidate = Candidate({"lr": 0.001}, "test", parent=parent)
        target.network_of(candidate)
        games.make_champion(candidate.id)
        return candidate

    def challenge(champion):
        challenger = Candidate({"lr": 0.002}, "test", parent=champion.id)
        return target.evaluate(EvalTask(challenger, "challenger", 5, 2, 9, 0,
                                        opponent=champion))

    weak = crown(first.id)
    replace_weights(weak, misled)
    with pytest.raises(EvaluationError, match=f"probation failed, reverting to {first.id}"):
        challenge(weak)
    wanted, revert = target.take_revert()  # what the loop asks next, once
    assert wanted == first.id and revert.startswith(f"probation failed: champion {weak.id}")
    assert target.take_revert() is None
    verdict = games.meta(f"probation:{weak.id}")
    assert verdict.startswith(f"reverted: champion {weak.id} worse than its predecessor")

    equal = crown(weak.id)
    replace_weights(equal, load_network(target.nets / weak.id))
    assert len(challenge(equal).scores) == 2
    assert games.meta(f"probation:{equal.id}").startswith("passed: champion")
    rated = games.conn.execute("SELECT purpose, COUNT(*) FROM selfplay_rated GROUP BY "
                               "purpose").fetchall()
    assert {purpose for purpose, _ in rated} >= {"probation", "anchor", "promotion test"}
    assert not (run_dir / "promote").exists() and target.take_revert() is None
    target.close()


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_stopping_keeps_what_was_handed_over(tmp_path):
    """Two worker processes, started the way an executor starts a target's workers, play
    with the champion published to them (its weights travel in the message: no shared
    disk). A worker killed with SIGKILL loses at most its batch in play and is started
    again, with the champion; every batch a worker announced reaches the coordinator,
    except at most the one each incarnation had in play when it was killed or stopped."""
    import os
    import signal
    import time
    from collections import Counter

    from ratchet.plugins.executors import InlineExecutor
    from ratchet.plugins.scaleout.workers import WorkerPlan
    from ratchet.plugins.targets.selfplay.game import game_info
    from ratchet.plugins.targets.selfplay.network import new_network, paths, save_network
    from ratchet.plugins.targets.selfplay.worker import ChampionMessage, selfplay_worker

    digest = save_network(new_network(game_info("tic_tac_toe"), hidden=8, blocks=1),
                          tmp_path / "v0")
    weights, arch = paths(tmp_path / "v0")
    group = InlineExecutor().start_workers(
        WorkerPlan(2, selfplay_worker, ("tic_tac_toe", 4, 4, 0), name="selfplay-worker"))
    group.publish(ChampionMessage(0, digest, weights.read_bytes(), arch.read_text()))
    (tmp_path / "v0.safetensors").unlink()  # the workers never read the coordinator's disk
    items: list[dict] = []
    deadline = time.monotonic() + 240  # generous: a busy machine starts processes slowly

    def games():
        return [g for item in items for g in item.get("games", [])]

    def receive_until(done):
        while not done() and time.monotonic() < deadline:
            items.extend(group.receive(0.2))

    try:
        receive_until(lambda: {g["worker"] for g in games()} == {"w0", "w1"})
        killed = next(i["worker"] for i in reversed(items) if i.get("index") == 0)
        os.kill(group.processes[0].pid, signal.SIGKILL)
        receive_until(lambda: group.restarts >= 1)
        before = len(games())
        # the worker started again plays with the champion it was given on start
        receive_until(lambda: any(g["worker"] == "w0" for g in games()[before:]))
        assert time.monotonic() < deadline, "timed out waiting for the restarted worker"
    finally:
        group.stop()
    items.extend(group.receive(0.5))
    assert group.restarts == 1 and any(g["worker"] == "w0" for g in games()[before:])
    assert all(g["version"] == 0 for g in games())
    announced = Counter(i["worker"] for i in items if "playing" in i)
    arrived = Counter(i["worker"] for i in items if "games" in i)
    assert len(announced) >= 3 and killed in announced  # two workers and a restarted one
    for incarnation, count in announced.items():
        assert count - 1 <= arrived[incarnation] <= count, (incarnation, count, arrived)
    assert not any(p.is_alive() for p in group.processes.values())


@pytest.mark.slow
def test_kill_9_of_the_loop_with_workers_loses_no_stored_game(tmp_path):
    """The daemon with two self-play workers (the loop trains on their games), killed
    with SIGKILL: its workers exit by themselves, every stored game is still there, and
    the next start goes on."""
    import os
    import signal

    import psutil

    from ratchet.service.pidfile import running_pid
    from tests.service.test_daemon import wait_for

    path = tmp_path / "ttt.yaml"
    path.write_text(yaml.safe_dump({**TINY, "target": {**TINY["target"], "workers": 2}}))
    run_dir = tmp_path / "run"

    def ratchet(*args):
        return subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)],
                              capture_output=True, text=True, timeout=120, check=True)

    def stored():
        with sqlite3.connect(run_dir / "ratchet.db") as db:
            return db.execute("SELECT COUNT(*) FROM selfplay_games").fetchone()[0]

    ratchet("start", path, "--run-dir", run_dir)
    try:
        wait_for(lambda: stored() >= 40, timeout=90, what="the workers' games")
        daemon = psutil.Process(running_pid(run_dir).pid)
        workers = [p for p in daemon.children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) >= 2
        before = stored()  # committed before the kill: none of it may go
        os.kill(daemon.pid, signal.SIGKILL)
        wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                                 for p in workers), timeout=30, what="the workers' exit")
        assert stored() >= before  # nothing stored was lost
        ratchet("start", path, "--run-dir", run_dir)
        wait_for(lambda: stored() > before + 8, timeout=120, what="games after the restart")

        def workers_seen():
            with sqlite3.connect(run_dir / "ratchet.db") as db:
                return {w for (w,) in db.execute("SELECT DISTINCT worker FROM "
                                                 "selfplay_games")}
        # both workers' games stored, over both starts (a busy machine starts one late)
        wait_for(lambda: workers_seen() == {"w0", "w1"}, timeout=120,
                 what="games of both workers, w0 and w1")
    finally:
        subprocess.run([sys.executable, "-m", "ratchet", "stop", "--run-dir", str(run_dir)],
                       capture_output=True, timeout=120)
    with sqlite3.connect(run_dir / "ratchet.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
def test_stop_abandons_a_training_run_in_flight_and_the_daemon_exits(tmp_path):
    """`ratchet stop` while a challenger trains (a long run): the training process is
    ended with the daemon, which exits within stop's timeout; the training is not counted
    as failed, and the cycle is left to resume."""
    import psutil

    from ratchet.service.pidfile import running_pid
    from tests.service.test_daemon import wait_for

    path = tmp_path / "ttt.yaml"
    path.write_text(yaml.safe_dump({**TINY, "target": {**TINY["target"],
                                                       "train_steps": 1_000_000}}))
    run_dir = tmp_path / "run"
    registry = run_dir / "work" / ".children"

    def training() -> psutil.Process | None:
        for entry in registry.glob("[0-9]*"):
            try:
                process = psutil.Process(int(entry.name))
                if process.is_running() and "spawn_main" in " ".join(process.cmdline()):
                    return process
            except (psutil.NoSuchProcess, ValueError):
                continue
        return None

    def ratchet(*args):
        return subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)],
                              capture_output=True, text=True, timeout=120)

    assert ratchet("start", path, "--run-dir", run_dir).returncode == 0
    try:
        daemon = psutil.Process(running_pid(run_dir).pid)
        trainer = wait_for(training, timeout=180, what="a training process in flight")
    finally:
        stopped = ratchet("stop", "--run-dir", run_dir, "--timeout", "60")
    assert stopped.returncode == 0, stopped.stderr
    def alive(process: psutil.Process) -> bool:
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    assert not alive(daemon) and not alive(trainer)
    with sqlite3.connect(run_dir / "ratchet.db") as db:
        failed = db.execute("SELECT value FROM selfplay_meta WHERE key = 'training_failed'"
                            ).fetchall()
        decided = db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    assert failed in ([], [("0",)]) and decided == 0
    with Store(run_dir) as store:
        assert store.pending_cycle() is not None


@pytest.mark.slow
def test_a_skill_bar_blocks_a_promotion_only_once_a_champion_has_cleared_it(tmp_path):
    """From random weights no network beats the anchors, so with ``gate_skill:
    regression`` a missed skill bar is advisory until some champion clears it; from then
    on it blocks a challenger shown under it. Soundness checks always block."""
    from ratchet.core.types import Candidate
    from ratchet.plugins.targets.selfplay.gating import bars_cleared
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec
    from ratchet.plugins.targets.selfplay.target import SelfPlayTarget

    spec = SelfPlaySpec(**{**TINY["target"], "gate": True, "gate_random_pairs": 3,
                           "gate_anchor_simulations": 5})
    target = SelfPlayTarget(spec, RunDir(tmp_path))
    champion, challenger = Candidate({}, "baseline"), Candidate({}, "test")
    target.apply(champion)
    checks = {c.gate: c for c in target.promotion_checks(challenger)}
    assert all(c.passed for c in checks.values()), checks  # 6 games cannot show 0.9
    assert checks["gate.vs_random"].reason.startswith("advisory, no champion has cleared")
    assert not checks["gate.loads"].reason.startswith("advisory")
    kept = json.loads(target.games.meta(f"gate:{challenger.id}"))
    assert {r["check"] for r in kept} >= {"loads", "vs_random", "vs_anchor"}

    kept = [{**r, "passed": True} if r["check"] == "vs_random" else r for r in kept]
    target.games.set_meta(f"gate:{challenger.id}", json.dumps(kept))  # as if it cleared it
    target.apply(challenger)  # promoted: its cleared bar binds every later champion
    assert "vs_random" in bars_cleared(target.games)
    later = Candidate({}, "test")
    checks = {c.gate: c for c in target.promotion_checks(later)}
    measured = {r["check"]: r for r in json.loads(target.games.meta(f"gate:{later.id}"))}
    assert checks["gate.vs_random"].reason.startswith("an earlier champion cleared this bar")
    assert checks["gate.vs_random"].passed == (not measured["vs_random"]["below"])
    assert "95% bounds" in checks["gate.vs_random"].reason
    target.close()


def test_the_anchor_bar_is_shown_under_only_when_its_test_accepts_h0():
    """The gate's own sequential test against the anchor, fed pairs of games: a score of
    0.55 that runs out of games undecided shows nothing; a losing one is shown under."""
    import random

    from ratchet.core.types import Evidence, Measurement
    from ratchet.plugins.targets.selfplay.gate import GateConfig, anchor_judge, shown_under

    def verdict(pairs):
        judge = anchor_judge(GateConfig(anchor_max_pairs=20))
        evidence, rng = Evidence("games", head_to_head=True, games_in_pairs=True), random.Random(0)
        for start in range(0, len(pairs), 5):
            games = tuple(s for pair in pairs[start:start + 5] for s in pair)
            evidence.add(Measurement("games", games, ordered=True), None, rng)
            decided = judge.decide(evidence)
            if decided.decision.is_final():
                return decided
        raise AssertionError(f"undecided after {len(pairs)} pairs: {decided.reason}")

    even = verdict([(1.0, 0.0)] * 9 + [(1.0, 1.0)] + [(0.5, 0.5)] * 10)  # 0.55 over 40 games
    assert even.decision.value == "reject" and "max_games" in even.reason
    assert not shown_under(even)
    losing = verdict([(0.0, 0.0)] * 20)
    assert losing.decision.value == "reject" and "H0" in losing.reason
    assert shown_under(losing)


def test_a_cleared_skill_bar_fails_a_challenger_shown_under_it_not_one_short_of_proof():
    from ratchet.plugins.targets.selfplay.gate import CheckResult
    from ratchet.plugins.targets.selfplay.gating import skill_verdict

    near = CheckResult("vs_random", False, "score 0.950 over 100 games", 0.888, below=False)
    under = CheckResult("vs_random", False, "score 0.800 over 100 games", 0.71, below=True)
    cleared, none = {"vs_random"}, set()
    assert skill_verdict(near, cleared, "regression").passed  # 0.95: short of proof only
    refused = skill_verdict(under, cleared, "regression")
    assert not refused.passed and "shown under it" in refused.reason
    assert not refused.advisory
    assert skill_verdict(under, none, "regression").advisory  # nobody has cleared it yet
    assert not skill_verdict(near, cleared, "absolute").passed  # absolute: proof needed
    assert not skill_verdict(near, none, "absolute").passed
    unsound = CheckResult("legal_moves", False, "1 illegal move", 1)
    assert not skill_verdict(unsound, cleared, "regression").passed
    assert skill_verdict(CheckResult("vs_anchor", True, "H1"), cleared, "absolute").passed


@pytest.mark.slow
def test_a_node_controller_sets_the_worker_count_to_hold_the_cpu_in_its_band(tmp_path):
    """Three workers on a node whose CPU band is 0-10% (far below what they use): its
    controller retires workers down to the minimum, each sending its batch in play first.
    Its state and last reading are kept, and a restart carries on from them."""
    import json
    import socket
    import time

    from ratchet.core.types import Candidate
    from ratchet.plugins.executors import InlineExecutor
    from ratchet.plugins.targets.selfplay.gamestore import RESOURCES
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec
    from ratchet.plugins.targets.selfplay.target import SelfPlayTarget

    spec = SelfPlaySpec(**{**TINY["target"], "workers": 3, "games_per_batch": 4,
                           "workers_control": {"cpu": {"target": 5, "low": 0, "high": 10},
                                               "min_workers": 1, "max_workers": 3,
                                               "interval_s": 1}})
    champion = Candidate({}, "baseline")

    def started():
        target = SelfPlayTarget(spec, RunDir(tmp_path))
        group = InlineExecutor().start_workers(target.workers())
        target.attach_workers(group)
        target.apply(champion)
        return target, group

    target, group = started()
    try:
        deadline = time.monotonic() + 240  # generous: a busy machine starts processes slowly
        while (group.count > 1 or group.retired) and time.monotonic() < deadline:
            time.sleep(0.3)
        while target.received < 8 and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        group.stop()
        target.close()
    assert group.count == 1 and group.restarts == 0 and target.received >= 8
    target, again = started()  # a restart: the saved controller says one worker
    try:
        assert again.count == 1
        saved = json.loads(target.games.meta(f"{RESOURCES}{socket.gethostname()}"))
        assert saved["controller"]["workers"] == 1 and saved["action"] <= 0
        # the last reading kept, with its verdict (a lull between batches can be in band)
        assert saved["in_band"] == {"cpu": saved["measured"]["cpu"] <= 10}
    finally:
        again.stop()
        target.close()


@pytest.mark.slow
def test_train_from_latest_trains_each_challenger_on_from_the_one_before(tmp_path):
    """AlphaGo Zero's trainer: a rejected challenger's training is not lost; the next
    one starts from its weights (kept until then), the champion plays the games."""
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe

    recipe = {**TINY, "target": {**TINY["target"], "train_from": "latest"},
              # nothing is 600 Elo better after 60 training steps: every one is rejected
              "judge": {"kind": "sprt", "elo0": 600, "elo1": 700, "batch": 10,
                        "min_games": 10, "max_games": 20}}
    summary = run_recipe(parse_recipe(recipe), tmp_path / "run", max_cycles=3)
    assert summary.cycles == 3 and summary.failures == 0
    with Store(tmp_path / "run") as store:
        decisions = store.decisions()
        champion = store.champion()
    assert [d.decision.value for d in decisions] == ["reject"] * 3
    first, second, third = (d.candidate.id for d in decisions)
    db = sqlite3.connect(tmp_path / "run" / "ratchet.db")
    meta = dict(db.execute("SELECT key, value FROM selfplay_meta"))
    assert [meta[f"trained_from:{c}"] for c in (first, second, third)] == [
        champion.candidate.id, first, second]
    kept = {p.stem for p in (tmp_path / "run" / "work" / "nets").glob("*.safetensors")}
    assert kept == {champion.candidate.id, third}  # the line's tip, until superseded
