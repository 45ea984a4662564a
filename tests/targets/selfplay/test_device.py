"""Where the network runs (``device: auto | cpu | cuda | cuda:N``): on this machine's CPU
everything runs and is tested; the GPU tests run where a GPU answers and skip with the
reason elsewhere. GPU readings (NVML): why they are unavailable is said once."""

import logging

import numpy as np
import pytest
import torch

from ratchet.core.errors import RatchetError, RecipeError
from ratchet.plugins.targets.selfplay.device import DeviceError, resolve_device
from ratchet.plugins.targets.selfplay.game import game_info
from ratchet.plugins.targets.selfplay.network import load_network, new_network, save_network

GPU = torch.cuda.is_available()
NEEDS_GPU = pytest.mark.skipif(not GPU, reason="no GPU answers here (torch.cuda.is_available() "
                               "is False: the CPU build of torch); the GPU path runs on a "
                               "GPU machine (bench/selfplay_device.py)")


def test_cpu_and_auto_resolve_here_and_a_missing_gpu_is_an_error_that_says_so():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto", index=3) == ("cuda:" if GPU else "cpu") + (
        str(3 % torch.cuda.device_count()) if GPU else "")
    with pytest.raises(DeviceError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    if not GPU:
        for wanted in ("cuda", "cuda:1"):
            with pytest.raises(DeviceError, match="no GPU answers here"):
                resolve_device(wanted)


def test_a_recipe_names_its_device_and_a_missing_gpu_stops_the_start(tmp_path):
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe
    from tests.targets.selfplay.test_loop import TINY

    with pytest.raises(RecipeError, match="target.device"):
        parse_recipe({**TINY, "target": {**TINY["target"], "device": "gpu0"}})
    if GPU:
        pytest.skip("a GPU answers here: device cuda is not missing")
    recipe = parse_recipe({**TINY, "target": {**TINY["target"], "device": "cuda"}})
    with pytest.raises(RatchetError, match="device cuda: no GPU answers here"):
        run_recipe(recipe, tmp_path / "run", max_cycles=1)


def test_gpu_readings_that_cannot_be_had_are_said_once(monkeypatch, caplog):
    from ratchet.plugins.scaleout import controllers

    monkeypatch.setattr(controllers, "_gpu_unavailable", [])
    with caplog.at_level(logging.INFO, logger="ratchet.plugins.scaleout.controllers"):
        readings = [controllers.measure() for _ in range(3)]
    said = [r for r in caplog.records if "GPU readings unavailable" in r.message]
    if any("gpu" in r for r in readings):
        assert not said  # a GPU answered: its readings are there
        assert all(0 <= r["gpu"] <= 100 and 0 <= r["gpu_memory"] <= 100 for r in readings)
    else:
        assert len(said) == 1 and all("cpu" in r for r in readings), caplog.text


@NEEDS_GPU
@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_on_a_gpu_the_network_agrees_with_the_cpu_and_trains(tmp_path, kind):
    from ratchet.plugins.targets.selfplay.train import Samples, TrainConfig, train

    info = game_info("connect_four")
    net = new_network(info, kind=kind, hidden=32, channels=8, blocks=1, seed=1)
    save_network(net, tmp_path / "n")
    cpu, gpu = load_network(tmp_path / "n", info), load_network(tmp_path / "n", info,
                                                               device="cuda:0")
    assert str(gpu.device).startswith("cuda")
    rng = np.random.default_rng(0)
    obs = rng.random((8, info.observation_size), dtype=np.float32)
    legal = np.ones((8, info.actions), dtype=bool)
    (p1, v1), (p2, v2) = cpu.evaluate(obs, legal), gpu.evaluate(obs, legal)
    assert np.allclose(p1, p2, atol=0.05) and np.allclose(v1, v2, atol=0.05)  # bfloat16
    samples = Samples(obs, np.full((8, info.actions), 1 / info.actions, dtype=np.float32),
                      np.zeros(8, dtype=np.float32), np.zeros(8))
    losses = train(gpu, samples, TrainConfig(steps=20, lr=1e-2, batch=8))
    assert losses[-1] < losses[0]
    save_network(gpu, tmp_path / "back")  # saved from the GPU, loaded on the CPU
    assert load_network(tmp_path / "back", info).device.type == "cpu"
