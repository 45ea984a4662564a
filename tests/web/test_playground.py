"""The CartPole playground driven once in a real browser; mounted by the daemon's cartpole
dashboard, never by the read-only one; every button needs the token."""

import re

import pytest

from tests.web.test_browser import browser  # noqa: F401  (fixture)

pytest.importorskip("gradio")


@pytest.fixture
def playground_url():
    from ratchet.apps.cartpole.playground import standalone
    from ratchet.apps.web.server import WebServer

    server = WebServer(standalone([], "s3cret-token"), "127.0.0.1", 0)
    url = server.start()
    yield url + "playground/"
    server.stop()


def call(base: str, api: str, data: list) -> str:
    """Calls one of the playground's functions through Gradio's HTTP API; the event that
    ends the stream ('complete' or 'error') and its data."""
    import httpx

    started = httpx.post(f"{base}gradio_api/call/{api}", json={"data": data}, timeout=30)
    started.raise_for_status()
    event_id = started.json()["event_id"]
    with httpx.stream("GET", f"{base}gradio_api/call/{api}/{event_id}", timeout=120) as r:
        lines = [line for line in r.iter_lines() if line]
    return "\n".join(lines)


@pytest.mark.slow
def test_the_playground_runs_episodes_and_adapts_in_a_browser(playground_url, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(playground_url, wait_until="domcontentloaded")
    page.wait_for_selector("#run-episodes", timeout=60_000)
    page.click("#run-episodes")  # no token yet: refused, nothing runs
    page.get_by_text("this needs the token").first.wait_for(timeout=30_000)
    assert page.evaluate("document.querySelector('#episodes-result textarea').value") == ""
    page.fill("#token input", "s3cret-token")
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


def test_training_and_rsi_need_the_token_through_the_http_api(playground_url):
    refused = call(playground_url, "rsi", ["", "shipped model", 1])
    assert "event: error" in refused and "this needs the token" in refused, refused
    refused = call(playground_url, "adapt", ["wrong", "shipped model", "nominal", "standard", 1])
    assert "event: error" in refused, refused
    played = call(playground_url, "play", ["s3cret-token", "shipped model", "nominal", 1])
    assert "event: complete" in played and "mean return" in played, played


def test_the_daemons_cartpole_dashboard_mounts_it_and_the_read_only_one_does_not(tmp_path):
    import httpx

    from ratchet.apps.dashboard import create_dashboard
    from ratchet.apps.web import create_app
    from ratchet.apps.web.server import WebServer
    from ratchet.core.store import Store
    from ratchet.core.types import Candidate
    from ratchet.service.token import ensure_token

    run_dir = tmp_path / "run"
    with Store(run_dir, create=True) as store:
        store.init_run("cp", {"target": {"kind": "cartpole"}},
                       Candidate({"state_dim": 32}, origin="baseline"))
    token = ensure_token(run_dir)
    for read_only in (True, False):
        app = create_app([run_dir], read_only=True) if read_only else create_dashboard([run_dir])
        server = WebServer(app, "127.0.0.1", 0)
        url = server.start()
        try:
            assert httpx.get(url + "api/runs", timeout=30).status_code == 200
            config = httpx.get(url + "playground/config", timeout=30)
            if read_only:
                assert config.status_code == 404
                continue
            assert config.json()["mode"] == "blocks"
            refused = call(url + "playground/", "rsi", ["", "shipped model", 1])
            assert "this needs the token" in refused, refused
            played = call(url + "playground/", "play", [token, "shipped model", "nominal", 1])
            assert "event: complete" in played, played
        finally:
            server.stop()
