"""`ratchet cartpole`: eval prints JSON with mean_return; bad input is one line, exit 2."""

import json
import os
import subprocess
import sys

import pytest

from ratchet.plugins.targets.cartpole import floatpath


def ratchet(*args):
    return subprocess.run([sys.executable, "-m", "ratchet", "cartpole", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_eval_of_the_shipped_model_prints_json():
    done = ratchet("eval", "--episodes", "2", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["episodes"] == 2 and result["mean_return"] >= 475


@pytest.mark.slow
def test_train_adapt_and_eval_round_trip(tmp_path):
    model = tmp_path / "pg.safetensors"
    done = ratchet("train", "--epochs", "2", "--tasks-per-epoch", "2", "--out", model)
    assert done.returncode == 0, done.stderr
    done = ratchet("adapt", "--model", model, "--task", "hard-train-0", "--episodes", "2",
                   "--steps", "1", "--json", "--out", tmp_path / "adapted")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["curve"]) == 2
    assert ratchet("eval", "--model", tmp_path / "adapted", "--episodes", "1").returncode == 0


@pytest.mark.slow
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path):
    for args, message in ((["eval", "--task", "nowhere"], "unknown task 'nowhere'"),
                          (["eval", "--task", "hard-wide"], "the wide split is physics only"),
                          (["eval", "--model", tmp_path / "absent"], "no saved policy"),
                          (["adapt", "--mode", "sideways"],
                           "expected one of standard, hybrid, identify"),
                          (["train", "--env-name", "Pendulum-v1"], "only CartPole-v1"),
                          (["eval", "--episodes", "0"], "--episodes must be positive")):
        done = ratchet(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_identify_adaptation_is_saved_and_replayed_by_eval(tmp_path):
    out = tmp_path / "identified"
    done = ratchet("adapt", "--mode", "identify", "--task", "hard-heldout-3", "--json",
                   "--out", out)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["before"] < 100 and report["after"] >= 400, report  # measured 27 -> 500
    done = ratchet("eval", "--model", out, "--task", "hard-heldout-3", "--episodes", "3",
                   "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mean_return"] >= 400  # played through its sensor map
    meta = json.loads(out.with_suffix(".json").read_text())
    meta["meta"]["sensor_map"] = [[1.0, 2.0]]
    out.with_suffix(".json").write_text(json.dumps(meta))
    done = ratchet("eval", "--model", out, "--episodes", "1")
    assert done.returncode == 2 and "sensor_map" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_pretrain_gives_the_same_bytes_whichever_code_path_the_cpu_would_take(tmp_path):
    """Unpinned, MKL and oneDNN restricted to AVX2 (an older CPU's paths) train other
    weights than on a CPU with AVX-512 (checked on such machines at 4096-16384 steps: MKL
    on an Intel one, oneDNN's GELU on an AMD one); pinned, the same."""
    unpinned = {k: v for k, v in os.environ.items() if k not in floatpath.PINNED}
    older_cpu = {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    for name, cpu in (("own", {}), ("avx2", older_cpu)):
        done = subprocess.run([sys.executable, "-m", "ratchet", "cartpole", "pretrain",
                               "--steps", "4096", "--out", str(tmp_path / name)],
                              env={**unpinned, **cpu}, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        meta = json.loads((tmp_path / f"{name}.json").read_text())["meta"]
        assert meta["float_path"] == ("ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE "
                                      "oneDNN off")
    own, avx2 = ((tmp_path / f"{n}.safetensors").read_bytes() for n in ("own", "avx2"))
    assert own == avx2


@pytest.mark.slow
def test_pretrain_without_memory_saves_a_feedforward_policy(tmp_path):
    done = ratchet("pretrain", "--steps", "2048", "--no-memory", "--out", tmp_path / "ff")
    assert done.returncode == 0, done.stderr
    arch = json.loads((tmp_path / "ff.json").read_text())["arch"]
    assert arch["previous_step"] is False and arch["max_decay"] == 1e-4
    assert ratchet("eval", "--model", tmp_path / "ff", "--episodes", "1").returncode == 0
