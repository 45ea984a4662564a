"""The dashboard's views of a stopped run, in a real browser (Debian's chromium): the
score's name on the curve, categorical slices with their labels, the parallel axes'
values, champion changes of a categorical, no empty gates card, "stopped" rather than
"live", the other metrics with a constraint's bound, the timeline, one candidate's
page, the drift hint, and a headless screenshot as docs/dashboard.md says to take it."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ratchet
from tests.conftest import ROOT
from tests.web.test_browser import ARGS, CHROMIUM, browser  # noqa: F401 - the fixture


def tuned_run(run_dir: Path) -> None:
    """A samples run with a categorical, an int and a float, a second printed metric and a
    constraint on it; some promotions."""
    def objective(params, seed):
        rng = random.Random(seed)
        kind = {"plain": 0.0, "fast": 0.4, "faster": 0.8}[params["mode"]]
        return {"score": params["x"] + kind + params["n"] / 10 + rng.gauss(0, 0.02),
                "ratio": 3.0 - kind + rng.gauss(0, 0.02)}

    ratchet.run(objective=objective, run_dir=run_dir, max_cycles=24, quiet=True, name="tuned",
                space={"x": (0.0, 1.0), "n": (1, 5), "mode": ["plain", "fast", "faster"]},
                recipe={"constraints": {"ratio": {"min": 2.5}}, "seed": 4,
                        "target": {"start": {"x": 0.1, "n": 1, "mode": "plain"}}})


def drifting_run(run_dir: Path) -> None:
    """A champion whose score rises with every call while no challenger is better."""
    calls = [0]

    def objective(params, seed):
        calls[0] += 1
        return calls[0] * 0.01 + random.Random(seed).gauss(0, 0.01)

    ratchet.run(objective=objective, run_dir=run_dir, max_cycles=6, quiet=True, name="drifting",
                space={"x": (0.0, 1.0)}, recipe={"judge": {"kind": "welch",
                                                            "min_improvement": 0.5}})


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("views")
    tuned_run(tmp / "tuned")
    drifting_run(tmp / "drifting")
    server = subprocess.Popen([sys.executable, "-m", "ratchet", "dashboard", str(tmp / "tuned"),
                               str(tmp / "drifting"), "--port", "0"], stderr=subprocess.PIPE,
                              text=True)
    try:
        url = re.search(r"(http://\S+)", server.stderr.readline())[1]
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
    said = server.stderr.read()
    assert "A new study" not in said, said  # no third-party chatter


def opened(browser, url, run):  # noqa: F811
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-loaded]")
    if page.input_value("#run-picker") != run:
        page.evaluate("delete document.body.dataset.loaded")
        page.select_option("#run-picker", run)
        page.wait_for_selector("body[data-loaded]")
    return page, errors


@pytest.mark.slow
def test_the_views_of_a_stopped_tuned_run(served, browser):  # noqa: F811
    page, errors = opened(browser, served, "tuned")
    page.wait_for_function("document.querySelector('#curve canvas') !== null")
    page.wait_for_selector("body[data-parameters]")
    assert page.inner_text("#live") == "stopped"
    assert page.get_attribute("body", "data-score-axis") == "score"  # the python target's
    labels = page.get_attribute("canvas[data-param='mode']", "data-labels")
    assert labels == "plain|fast|faster"
    assert int(page.get_attribute("#parallel", "data-ticks")) >= 3 * 3 + 3
    assert page.is_hidden("#gates")  # no gate in the recipe: no empty card
    changes = page.inner_text("#champions")  # "faster" breaks the ratio constraint
    assert "mode plain→fast" in changes and "faster" not in changes, changes
    assert page.is_visible("#metrics")
    assert page.get_attribute("canvas[data-metric='ratio']", "data-bounds") == "1"
    assert int(page.get_attribute("canvas[data-metric='ratio']", "data-points")) > 0
    assert int(page.get_attribute("#timeline", "data-bars")) > 24
    page.click("#candidates tbody tr >> nth=0")
    page.wait_for_selector("body[data-candidate]")
    assert page.is_visible("#candidate")
    assert page.locator("#c-params tbody tr").count() == 3
    assert "cycle" in page.inner_text("#c-decision")
    assert page.is_hidden("#drift")
    assert errors == []


@pytest.mark.slow
def test_a_drifting_champion_is_flagged(served, browser):  # noqa: F811
    page, errors = opened(browser, served, "drifting")
    page.wait_for_function("!document.getElementById('drift').hidden")
    assert "with nothing promoted" in page.inner_text("#s-drift")
    assert errors == []


@pytest.mark.slow
def test_a_headless_screenshot_as_the_docs_say(served, tmp_path):
    doc = (ROOT / "docs" / "dashboard.md").read_text()
    assert "?static" in doc and "--screenshot" in doc
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", *ARGS, "--window-size=1300,2400",
                    "--virtual-time-budget=5000", f"--screenshot={shot}",
                    served.rstrip("/") + "/?static"], timeout=120, capture_output=True)
    assert shot.exists() and shot.stat().st_size > 30_000
