"""Shadow tournaments: the champion's fresh games against a fixed ladder (random, MCTS
rungs, earlier champions), stored apart from the games that select, rated on their own,
and shown in status, /metrics and the dashboard's Ladder card."""

import time
from types import SimpleNamespace

import pytest

from ratchet.core.errors import RecipeError
from ratchet.core.rundir import RunDir
from ratchet.engine.recipe import parse_recipe
from ratchet.plugins.targets.selfplay.gamestore import GameStore
from ratchet.plugins.targets.selfplay.tournament import PURPOSE, LadderConfig, Tournaments
from tests.targets.selfplay.test_loop import TINY


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from ratchet.engine.runner import run_recipe

    path = tmp_path_factory.mktemp("ladder") / "run"
    run_recipe(parse_recipe({**TINY, "seed": 5}), path, max_cycles=2)
    return path


def holder(run_dir):
    """What a tournament reads of its target: the store, the networks, the game."""
    run = RunDir(run_dir)
    return SimpleNamespace(db=run.store, nets=run.work / "nets", registry=run.children,
                           spec=SimpleNamespace(game="tic_tac_toe"))


@pytest.mark.slow
def test_a_tournament_plays_fresh_games_against_every_rung_and_is_reported(run_dir):
    from ratchet.plugins.targets.selfplay.report import metrics, report, views

    with GameStore(RunDir(run_dir).store) as games:
        champions = games.champions()
        selecting = len(games.rated("tic_tac_toe"))
    tournaments = Tournaments(holder(run_dir), 3600, LadderConfig(pairs=3, mcts=(5, 20),
                                                                  simulations=8), 1)
    first, second = tournaments.run_once(), tournaments.run_once()
    rungs = {"random", "mcts-5", "mcts-20"} | ({"v0"} if len(champions) > 1 else set())
    assert set(first["rungs"]) == rungs
    assert all(v["games"] == 6 and v["low"] <= v["score"] <= v["high"]
               for v in first["rungs"].values())
    with GameStore(RunDir(run_dir).store) as games:
        rated = games.rated("tic_tac_toe", (PURPOSE,))
        assert len(games.rated("tic_tac_toe")) == selecting + len(rated)
    assert len(rated) == 2 * 6 * len(rungs)  # two tournaments, apart from the selecting
    assert second["at"] > first["at"]
    line = report(run_dir)["ladder"]
    assert line.startswith(f"v{first['version']} at ") and "mcts-20" in line
    series = {name: value for name, _, _, value in metrics(run_dir)}
    assert {labels["rung"] for labels, _ in series["ratchet_selfplay_ladder_score"]} == rungs
    card = next(v for v in views(run_dir) if v["title"] == "Ladder")
    assert card["points"] and {r["label"] for r in card["references"]} >= {"random",
                                                                            "mcts-5"}


@pytest.mark.slow
def test_the_thread_runs_tournaments_until_closed(run_dir):
    tournaments = Tournaments(holder(run_dir), 0.05, LadderConfig(pairs=1, mcts=(5,),
                                                                  simulations=4), 0)
    tournaments.start()
    deadline = time.monotonic() + 300
    while tournaments.done < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    tournaments.close()
    assert tournaments.done >= 2, "no two tournaments within 300 s"


def test_the_ladder_is_checked_in_the_recipe():
    target = {**TINY["target"], "tournament_interval_s": 600}
    assert parse_recipe({**TINY, "target": {**target, "ladder": [1000, 100]}}
                        ).target.ladder == [100, 1000]
    with pytest.raises(RecipeError, match="distinct MCTS simulation counts"):
        parse_recipe({**TINY, "target": {**target, "ladder": [100, 0]}})
