"""A real browser (Debian's chromium, headless) on the dashboard of a live run."""

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager

import pytest

from tests.conftest import write_recipe

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ratchet(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ratchet", *map(str, args)], check=True,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def live_run(tmp_path):
    recipe = write_recipe(tmp_path, dashboard={"port": 0})
    run_dir = tmp_path / "run"
    ratchet("start", recipe, "--run-dir", run_dir, env={"TOY_DELAY": "0.4"})
    try:
        status = json.loads(ratchet("status", "--run-dir", run_dir, "--json").stdout)
        assert status["url"].startswith("http://127.0.0.1:")
        yield status["url"], run_dir
    finally:
        ratchet("stop", "--run-dir", run_dir)


@pytest.fixture
def browser():
    assert os.path.exists(CHROMIUM), "chromium is missing: `make test` installs it (apt)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_dashboard(browser, url, height=1000):
    """A page on the dashboard once its learning curve is drawn, and its script errors."""
    page = browser.new_page(viewport={"width": 1300, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-loaded]")
    page.wait_for_function("document.querySelector('#curve canvas') !== null")
    return page, errors


@pytest.mark.slow
def test_dashboard_draws_and_updates_live(live_run, browser, tmp_path):
    url, _ = live_run
    page, errors = open_dashboard(browser, url)
    page.wait_for_function("document.getElementById('live').textContent === 'live'")
    points = "Number(document.body.dataset.points)"
    before = page.evaluate(points)
    page.wait_for_function(f"{points} > {before}", timeout=60_000)  # a new cycle, no reload
    assert page.evaluate(points) > before
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.inner_text("#s-state").startswith("running")
    assert not page.is_visible("#objectives")  # sysctl's panels stay hidden on a games run
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    assert errors == []


@pytest.mark.slow
def test_a_wrong_token_is_refused_from_the_page(live_run, browser):
    url, run_dir = live_run
    page = browser.new_page()
    page.goto(url)
    call = ("async (t) => (await fetch('/api/control/pause', {method: 'POST', "
            "headers: {Authorization: 'Bearer ' + t}})).status")
    assert page.evaluate(call, "not-the-token") == 401
    assert not (run_dir / "pause").exists()
    token = (run_dir / "token").read_text().strip()
    assert page.evaluate(call, token) == 200
    assert (run_dir / "pause").exists()


@contextmanager
def dashboard_of(run_dir, browser):
    """A read-only dashboard server on a finished run, and a page on it."""
    from ratchet.apps.web import create_app
    from ratchet.apps.web.server import WebServer

    server = WebServer(create_app([run_dir], read_only=True), port=0)
    url = server.start()
    try:
        yield open_dashboard(browser, url, height=1800)
    finally:
        server.stop()


@pytest.mark.slow
def test_a_race_in_flight_and_the_parameter_views_are_shown(tmp_path, browser):
    """A race stopped by its budget mid-screening: its survivors are on the page with
    the games each has and their gap to the champion on the same seeds; the decided
    trials are in the importance bars, the parallel coordinates and one slice each."""
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe
    from tests.conftest import toy_recipe

    recipe = parse_recipe(toy_recipe(tmp_path, racing={"challengers": 16, "screen": 20,
                                                       "keep": 0.25},
                                     schedule={"budget": {"games": 380}}))
    run_recipe(recipe, tmp_path / "run")  # baseline 40 + one round of 17 x 20: spent
    with dashboard_of(tmp_path / "run", browser) as (page, errors):
        page.wait_for_function("document.body.dataset.inFlight === '4'")
        rows = page.locator("#in-flight tbody tr")
        assert rows.count() == 4 and page.is_visible("#in-flight")
        text = page.inner_text("#in-flight tbody")
        assert text.count("screening") == 4 and "\t20\t" in text
        # the baseline and the 12 screened out; the 4 in flight are not decided yet
        page.wait_for_function("document.body.dataset.parameters === '13'")
        assert page.is_visible("#parameters")
        assert page.get_attribute("#importance", "data-params") == "2"
        assert "PED-ANOVA" in page.inner_text("#evaluator")
        assert page.get_attribute("#parallel", "data-lines") == "13"
        slices = page.locator("#slices canvas")
        assert slices.count() == 2
        assert {slices.nth(i).get_attribute("data-param") for i in range(2)} == {"x", "y"}
        page.screenshot(path=str(tmp_path / "parameters.png"), full_page=True)
        assert errors == []


@pytest.mark.slow
def test_self_play_ratings_and_gate_results_are_drawn(tmp_path, browser):
    """A tic-tac-toe self-play run whose judge passes nearly every challenger (its bounds
    far below an equal player), so that each goes through the regression gate and, once
    champion, its anchor games: the dashboard draws every rated champion version with its
    interval against the anchors, and each gated challenger's checks (the skill bars
    advisory: no champion has cleared them)."""
    from ratchet.core.store import Store
    from ratchet.core.types import Decision
    from ratchet.engine.recipe import parse_recipe
    from ratchet.engine.runner import run_recipe
    from tests.targets.selfplay.test_loop import TINY

    recipe = parse_recipe({
        **TINY, "target": {**TINY["target"], "gate": True, "gate_random_pairs": 3,
                           "gate_anchor_simulations": 5, "probation_games": 6},
        "judge": {"kind": "sprt", "elo0": -600, "elo1": -300, "batch": 10, "min_games": 10,
                  "max_games": 40}})
    run_recipe(recipe, tmp_path / "run", max_cycles=2)
    from ratchet.service.status import run_status

    shown = run_status(tmp_path / "run")["target"]
    with Store(tmp_path / "run") as store:  # the cycles whose challenger passed the judge
        gated = [d.cycle for d in store.decisions()
                 if d.decision in (Decision.PROMOTE, Decision.GATED)]
    assert 1 in gated, "cycle 1's challenger, no worse than random weights, passes"
    # v1's probation against v0 (at most 6 games) could revert it: then cycle 2 fails
    # and its challenger never reaches the gate; the judge may also reject it (the games
    # the workers sent before its training differ from run to run)
    reverted = shown["probation"] == "0 passed, 1 reverted"
    assert reverted or shown["probation"] == "1 passed, 0 reverted"
    assert shown["last gate"].startswith(f"cycle {gated[-1]} (")
    assert "passed all 7 checks" in shown["last gate"]
    with dashboard_of(tmp_path / "run", browser) as (page, errors):
        page.wait_for_selector("#target-views canvas[data-points]")
        ratings = page.locator("#target-views canvas")
        # v0 and v1, each rated by its fresh anchor games before its first challenger;
        # v2 has had no challenger yet (after a revert, v0 is drawn again)
        assert ratings.get_attribute("data-points") == ("3" if reverted else "2")
        assert ratings.get_attribute("data-references") == "2"  # random, mcts-5
        assert "Ratings" in page.inner_text("#target-views")
        assert page.is_visible("#gates")
        rows = page.locator("#gates tbody tr")
        assert rows.count() == len(gated)
        text = page.inner_text("#gates tbody")
        assert "vs_random (advisory)" in text and "loads ✓" in text and "legal_moves ✓" in text
        title = page.get_attribute("#gates tbody .gate >> nth=0", "title")
        assert "hash as recorded" in title
        page.screenshot(path=str(tmp_path / "selfplay.png"), full_page=True)
        assert errors == []
