"""tune-os re-measures its best configuration against the original before it tells anyone
to apply it, and says when a dry run's figures can only be noise."""

import os
import sys

import pytest

from ratchet.apps.sysctl.tuning import tuning_result
from ratchet.core.store import Store
from tests.conftest import ROOT
from tests.targets.sysctl.conftest import os_config, ratchet, values

FADING = ROOT / "tests" / "fixtures" / "fading_bench.py"


@pytest.mark.slow
def test_a_gain_that_fades_is_promoted_but_no_sysctl_line_is_printed(tmp_path, tree):
    """The challenger is faster while it is judged (its first 12 runs: the judge's 10-run
    minimum, in batches of 3), slower when re-measured: promoted, then not applied."""
    config = os_config(tmp_path, steps=1, benchmark=f"{sys.executable} {FADING} {tree}")
    env = dict(os.environ, FADE_COUNTER=str(tmp_path / "counter"), FADE_AFTER="12")
    originals = values(tree)
    done = ratchet("tune-os", config, "--sysctl-root", tree, "--run-dir", tmp_path / "run",
                   "--algorithm", "perturb", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    result = tuning_result(tmp_path / "run")
    assert result["promotions"] == 1, result
    assert result["apply"] == "not better" and result["sysctl_commands"] == []
    assert result["confirmation"]["improvement"] < -10 and result["confirmation"]["runs"] >= 10
    assert "sysctl -w" not in done.stdout
    assert "nothing to apply: re-measured against the original, the best configuration is " \
           "not better" in done.stdout
    assert values(tree) == originals
    with Store(tmp_path / "run") as store:
        assert "sysctl_confirmation" in [e["kind"] for e in store.events(limit=1000)]


@pytest.mark.slow
def test_a_gain_that_holds_is_printed_as_sysctl_lines(tmp_path, tree):
    config = os_config(tmp_path, steps=1, benchmark=f"{sys.executable} {FADING} {tree}")
    env = dict(os.environ, FADE_COUNTER=str(tmp_path / "counter"), FADE_AFTER="1000")
    done = ratchet("tune-os", config, "--sysctl-root", tree, "--run-dir", tmp_path / "run",
                   "--algorithm", "perturb", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    result = tuning_result(tmp_path / "run")
    assert result["apply"] == "better" and result["confirmation"]["improvement"] > 10
    assert "to apply the best configuration:" in done.stdout
    assert done.stdout.count("sysctl -w ") == 3
