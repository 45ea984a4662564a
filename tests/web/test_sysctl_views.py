"""Seed 003's dashboard views on a live `ratchet tune-os --dashboard`: learning curve,
performance vs stability, episode reward bars, best configuration."""

import json
import signal
import subprocess
import sys
import time

import pytest

from ratchet.plugins.targets.sysctl.workloads import synthetic
from tests.targets.sysctl.conftest import SYNTHETIC, os_config
from tests.web.test_browser import browser, open_dashboard  # noqa: F401 - the fixture


@pytest.mark.slow
def test_tune_os_dashboard_views(tmp_path, browser):  # noqa: F811
    tree = synthetic.make_tree(tmp_path / "sys")
    config = os_config(tmp_path, steps=60,
                       benchmark=f"{sys.executable} {SYNTHETIC} --seconds 0.05")
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ratchet", "tune-os", config,
                             "--sysctl-root", tree, "--run-dir", run_dir, "--dashboard",
                             "--port", "0", "--quiet", "--algorithm", "tpe"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / "dashboard.json").exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "no dashboard"
            time.sleep(0.1)
        url = json.loads((run_dir / "dashboard.json").read_text())["url"]
        assert url.startswith("http://127.0.0.1:")
        page, errors = open_dashboard(browser, url, height=1200)
        page.wait_for_function("!document.getElementById('objectives').hidden", timeout=60_000)
        points = "Number(document.getElementById('tradeoff').dataset.points)"
        before = page.evaluate(points)
        page.wait_for_function(f"{points} > {before}", timeout=60_000)  # live, no reload
        page.wait_for_function(f"{points} >= 11", timeout=90_000)
        assert page.evaluate("Number(document.getElementById('episodes').dataset.bars)") >= 2
        best = page.inner_text("#best")
        assert "vm.swappiness" in best and "vm.vfs_cache_pressure" in best
        shot = tmp_path / "sysctl.png"
        page.screenshot(path=str(shot), full_page=True)
        assert errors == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert (tree / "vm" / "swappiness").read_text() == "60\n"
