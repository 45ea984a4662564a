"""The CartPole playground driven once in a real browser; mounted by a cartpole dashboard."""

import re

import pytest

from tests.web.test_browser import browser  # noqa: F401  (fixture)

pytest.importorskip("gradio")


@pytest.fixture
def playground_url():
    from ratchet.targets.cartpole.playground import standalone
    from ratchet.web.server import WebServer

    server = WebServer(standalone([]), "127.0.0.1", 0)
    url = server.start()
    yield url + "playground/"
    server.stop()


def test_the_playground_runs_episodes_and_adapts_in_a_browser(playground_url, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(playground_url, wait_until="domcontentloaded")
    page.wait_for_selector("#run-episodes", timeout=60_000)
    page.click("#run-episodes")
    result = "document.querySelector('#episodes-result textarea')"
    page.wait_for_function(f"{result} && {result}.value.includes('mean return')",
                           timeout=60_000)
    text = page.evaluate(f"{result}.value")
    assert re.match(r"nominal: mean return \d+\.\d over 5 episodes", text), text
    page.get_by_role("tab", name="adapt").click()
    page.click("#adapt")
    after = "document.querySelector('#adapt-result textarea')"
    page.wait_for_function(f"{after} && {after}.value.includes('after')", timeout=60_000)
    text = page.evaluate(f"{after}.value")
    assert "before" in text and "of identify adaptation" in text, text


def test_a_cartpole_dashboard_mounts_the_playground(tmp_path):
    import httpx

    from ratchet.store import Store
    from ratchet.types import Candidate
    from ratchet.web import create_app
    from ratchet.web.server import WebServer

    with Store(tmp_path / "run", create=True) as store:
        store.init_run("cp", {"target": {"kind": "cartpole"}},
                       Candidate({"state_dim": 32}, origin="baseline"))
    server = WebServer(create_app([tmp_path / "run"], read_only=True), "127.0.0.1", 0)
    url = server.start()
    try:
        assert httpx.get(url + "playground/config", timeout=30).json()["mode"] == "blocks"
        assert httpx.get(url + "api/runs", timeout=30).status_code == 200
    finally:
        server.stop()
