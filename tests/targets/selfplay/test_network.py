"""The conv network (``network: {kind: conv}``): it reads board games' planes, is saved
and loaded the same safe way as the MLP, refuses what does not fit, and runs the loop."""

import json

import numpy as np
import pytest

from ratchet.core.errors import RecipeError
from ratchet.plugins.targets.selfplay.game import game_info
from ratchet.plugins.targets.selfplay.network import (
    ConvNet,
    MlpNet,
    NetworkError,
    board_shape,
    load_network,
    new_network,
    paths,
    save_network,
)


@pytest.mark.parametrize("game", ["connect_four", "hex(board_size=5)",
                                  "breakthrough(rows=6,columns=6)"])
def test_a_conv_network_is_saved_and_loaded_as_safely_as_the_mlp(tmp_path, game):
    info = game_info(game)
    net = new_network(info, kind="conv", channels=8, blocks=2, seed=3)
    assert isinstance(net, ConvNet) and board_shape(info) == info.observation_shape
    digest = save_network(net, tmp_path / "n")
    again = load_network(tmp_path / "n", info, sha256=digest)
    net.eval()
    rng = np.random.default_rng(0)
    obs = rng.random((5, info.observation_size), dtype=np.float32)
    legal = rng.random((5, info.actions)) < 0.5
    legal[:, 0] = True
    (p1, v1), (p2, v2) = net.evaluate(obs, legal), again.evaluate(obs, legal)
    assert np.allclose(p1, p2) and np.allclose(v1, v2)
    assert np.allclose(p1.sum(-1), 1) and (p1[~legal] == 0).all() and (abs(v1) <= 1).all()
    weights, arch = paths(tmp_path / "n")
    assert json.loads(arch.read_text())["format"] == "ratchet-policy-value-conv/1"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(NetworkError, match="sha256"):
        load_network(tmp_path / "n", info, sha256=digest)


def test_a_conv_network_for_one_board_is_refused_on_another(tmp_path):
    save_network(new_network(game_info("connect_four"), kind="conv", channels=4), tmp_path / "c")
    with pytest.raises(NetworkError, match="3x6x7 planes"):
        load_network(tmp_path / "c", game_info("hex(board_size=5)"))
    assert isinstance(load_network(tmp_path / "c"), ConvNet)
    save_network(new_network(game_info("nim"), hidden=8), tmp_path / "m")  # 1-D: the MLP
    assert isinstance(load_network(tmp_path / "m", game_info("nim")), MlpNet)


def test_a_game_that_is_no_board_is_refused_for_conv_in_the_recipe():
    from ratchet.engine.recipe import parse_recipe

    base = {"name": "n", "space": {"lr": {"type": "logfloat", "low": 1e-4, "high": 1e-2}},
            "judge": {"kind": "sprt"}}
    with pytest.raises(RecipeError, match=r"observation has shape \[39\]: use kind mlp"):
        parse_recipe({**base, "target": {"kind": "selfplay", "game": "nim",
                                         "network": {"kind": "conv"}}})
    with pytest.raises(RecipeError, match="network.kind"):
        parse_recipe({**base, "target": {"kind": "selfplay", "game": "nim",
                                         "network": {"kind": "transformer"}}})


@pytest.mark.slow
def test_the_loop_runs_with_a_conv_network(tmp_path):
    from ratchet.core.store import Store
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe
    from tests.targets.selfplay.test_loop import TINY

    recipe = {**TINY, "target": {**TINY["target"], "network": {"kind": "conv", "channels": 8,
                                                               "blocks": 1}}}
    summary = run_recipe(parse_recipe(recipe), tmp_path / "run", max_cycles=1)
    assert summary.cycles == 1 and summary.failures == 0
    with Store(tmp_path / "run") as store:
        champion = store.champion().candidate.id
    arch = json.loads(paths(tmp_path / "run" / "work" / "nets" / champion)[1].read_text())
    assert arch["format"] == "ratchet-policy-value-conv/1" and arch["channels"] == 8
