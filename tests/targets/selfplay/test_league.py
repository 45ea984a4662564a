"""Several game configurations in one run: one daemon, a pool and a champion each, the
workers shared by the curriculum."""

import json
import subprocess
import sys

import pytest
import yaml

from ratchet.core.store import Store

LEAGUE = {
    "name": "league",
    "target": {"kind": "selfplay", "game": "tic_tac_toe", "hidden": 16, "blocks": 0,
               "simulations": 4, "match_simulations": 4, "trigger_games": 16,
               "train_steps": 10, "games_per_batch": 8, "workers": 1, "gate": False,
               "workers_control": {"interval_s": 0.5, "max_workers": 4}},
    "configurations": [{"name": "ttt", "game": "tic_tac_toe"},
                       {"name": "c4", "game": "connect_four", "trigger_games": 8},
                       {"name": "hex3", "game": "hex(board_size=3)"}],
    "curriculum": {"rebalance_interval_s": 2, "window_games": 10},
    "space": {"lr": {"type": "logfloat", "low": 0.0003, "high": 0.01}},
    "judge": {"kind": "sprt", "elo0": 0, "elo1": 150, "batch": 10, "min_games": 10,
              "max_games": 10},
    "schedule": {"baseline": 0},
}


def ratchet(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_one_daemon_runs_each_configuration_in_its_own_run(tmp_path):
    (tmp_path / "league.yaml").write_text(yaml.safe_dump(LEAGUE))
    run = tmp_path / "run"
    done = ratchet("run", "league.yaml", "--run-dir", run, "--max-cycles", "1", "--json",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["cycles"] == 3 and set(outcome["champions"]) == {"ttt", "c4", "hex3"}
    games = {}
    for name, game in (("ttt", "tic_tac_toe"), ("c4", "connect_four"),
                       ("hex3", "hex(board_size=3)")):
        with Store(run / "configurations" / name) as store:  # a run of its own each
            assert store.run_info()["recipe"]["target"]["game"] == game
            assert len(store.decisions()) == 1
        import sqlite3

        db = sqlite3.connect(run / "configurations" / name / "ratchet.db")
        games[name] = db.execute("SELECT DISTINCT config FROM selfplay_games").fetchall()
    assert games == {"ttt": [("tic_tac_toe",)], "c4": [("connect_four",)],
                     "hex3": [("hex(board_size=3)",)]}  # each pool holds its own games
    status = json.loads(ratchet("status", "--run-dir", run, "--json", cwd=tmp_path).stdout)
    assert set(status["configurations"]) == {"ttt", "c4", "hex3"}
    weights = status["curriculum"]
    assert set(weights) == {"ttt", "c4", "hex3"}
    assert all(w["workers"] >= 1 and w["why"] for w in weights.values())
    shown = ratchet("status", "--run-dir", run, cwd=tmp_path).stdout
    assert "curriculum" in shown and "configuration hex3" in shown
    assert "worker slots (CPU" in shown  # this node's controller set the number of slots
    from ratchet.apps.web.data import target_views

    card = target_views(run / "configurations" / "c4")[0]  # the dashboard's card
    assert card["title"] == "Curriculum" and len(card["rows"]) == 3
    assert "c4 (this run)" in [row[0] for row in card["rows"]]
    check_metrics(run)
    # a second start resumes every configuration where it stopped
    again = ratchet("run", "league.yaml", "--run-dir", run, "--max-cycles", "1", "--json",
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    for name in ("ttt", "c4", "hex3"):
        with Store(run / "configurations" / name) as store:
            assert len(store.decisions()) == 2
    # a recipe of one configuration is refused in that directory, and the other way round
    one = {k: v for k, v in LEAGUE.items() if k not in ("configurations", "curriculum")}
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(one))
    refused = ratchet("run", "one.yaml", "--run-dir", run, "--max-cycles", "1", cwd=tmp_path)
    assert refused.returncode == 2 and "several configurations" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_bad_configurations_are_one_clear_error(tmp_path):
    cases = [
        ({"configurations": [{"name": "a"}, {"name": "a"}]}, "its own name"),
        ({"configurations": [{"name": "a", "game": "no_such_game"}, {"name": "b"}]},
         "configurations.a: unknown game 'no_such_game'"),
        ({"configurations": [{"name": "a", "simulations": 0}, {"name": "b"}]},
         "configurations.a: target.simulations"),
        ({"configurations": [{"name": "a"}], "curriculum": {}}, "at least two"),
        ({"curriculum": {"min_share": 2}}, "curriculum.min_share"),
    ]
    import pytest

    from ratchet.core.errors import RecipeError
    from ratchet.engine.recipe import parse_recipe

    for change, expected in cases:
        with pytest.raises(RecipeError, match=expected.replace(".", r"\.")):
            parse_recipe({**LEAGUE, **change})
    path = tmp_path / "bad.yaml"  # as a user meets it: one line, exit 2, nothing made
    path.write_text(yaml.safe_dump({**LEAGUE, **cases[1][0]}))
    done = ratchet("run", path, "--run-dir", tmp_path / "r", cwd=tmp_path)
    assert done.returncode == 2 and cases[1][1] in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r").exists()


def test_progress_is_the_rating_gain_per_game_in_the_configurations_own_pool(tmp_path):
    from ratchet.plugins.targets.selfplay.gamestore import GameStore
    from ratchet.plugins.targets.selfplay.match import GameResult
    from ratchet.plugins.targets.selfplay.play import GameRecord
    from ratchet.plugins.targets.selfplay.progress import measure_progress

    with GameStore(tmp_path / "g.db") as games:
        for version, name in enumerate(("v0", "v1", "v2")):
            games.record_network(name, "0" * 64)
            games.make_champion(name)
            games.append([GameRecord("c4", version=version) for _ in range(100)])
        assert measure_progress(games, "c4", 100) is None  # no rated game: not measured
        # each champion's fresh games against the random anchor: v0 scores 1/2, v1 3/4,
        # v2 9/10 (about +190 and then +190 Elo)
        for name, every in (("v0", 2), ("v1", 4), ("v2", 10)):
            games.add_rated("c4", "anchor", [
                GameResult(i, name, "random", 1.0 if i % every else 0.0, 9)
                for i in range(200)])
        games.add_rated("other", "anchor", [  # another pool: never read
            GameResult(i, "v0", "v2", 1.0, 9) for i in range(200)])
        games.add_rated("c4", "promotion test", [  # games that selected: never read
            GameResult(i, "v0", "v2", 1.0, 9) for i in range(200)])
        recent = measure_progress(games, "c4", 100)
        assert recent.low > 0 and 1000 < recent.gain < 2800  # ~190 Elo in 100 games
        assert recent.trend is not None and recent.trend > 0
        assert measure_progress(games, "c4", 1000).games == 299  # all there is
        assert measure_progress(games, "nothing here", 100) is None


def check_metrics(run):
    """/metrics of a run of several configurations: each series labeled by its
    configuration, the curriculum's and the node's, and every series the self-play alert
    rules and Grafana board use (the GPU's only where a GPU answers)."""
    import httpx

    from ratchet.apps.web import create_app
    from ratchet.apps.web.server import WebServer
    from ratchet.plugins.scaleout.controllers import measure
    from tests.web.test_deploy import used

    server = WebServer(create_app([run]), port=0)
    try:
        text = httpx.get(server.start() + "metrics").text
    finally:
        server.stop()
    for name in ("ttt", "c4", "hex3"):
        assert f'ratchet_selfplay_games_total{{configuration="{name}",run="league-{name}"}}' \
            in text
        assert f'ratchet_curriculum_weight{{configuration="{name}",league="run"}}' in text
    assert "ratchet_node_cpu_utilization_percent{league=" in text
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
               if line.startswith("ratchet_")}
    gpu = "gpu" in measure()
    missing = {m for m in used("selfplay.json", "selfplay-alerts.yml")
               if m not in exposed and (gpu or "gpu" not in m)}
    assert not missing, f"used in deploy/ but not exposed: {sorted(missing)}"
