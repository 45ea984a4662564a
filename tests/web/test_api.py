"""The web app over a real store: API, OpenAPI, metrics, health, tokens, SSE replay."""

import json
import os
import threading

import httpx
import pytest

from ratchet.apps.web import create_app
from ratchet.apps.web.server import WebServer
from ratchet.engine.recipe import parse_recipe
from ratchet.engine.runner import run_recipe
from ratchet.service.token import ensure_token
from tests.conftest import toy_recipe


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    run_recipe(parse_recipe(toy_recipe(tmp)), tmp / "run", max_cycles=6)
    ensure_token(tmp / "run")
    return tmp / "run"


@pytest.fixture
def server(finished):
    srv = WebServer(create_app([finished]), port=0)
    url = srv.start()
    yield url, finished
    srv.stop()


def _replayed_wins(run_dir, cycle):
    """The challenger's wins in ``cycle``, played again by the toy benchmark itself on the
    recorded seeds (it is deterministic per seed): a figure the API did not compute."""
    import subprocess
    import sys

    from ratchet.core.store import Store
    from tests.conftest import TOY

    wins = 0
    with Store(run_dir) as store:
        rows = store.evaluations(cycle=cycle, roles=("challenger",))
        for row in rows:
            config = run_dir / f"replay-{row.batch}-{row.shard}.json"
            params = store.candidate(row.candidate_id).params
            config.write_text(json.dumps(params))
            done = subprocess.run([sys.executable, str(TOY), "--config", str(config),
                                   "--games", str(row.size), "--seed", str(row.seed)],
                                  capture_output=True, text=True, check=True)
            wins += int(done.stdout.split("wins:")[1].split()[0])
    assert rows and wins > 0
    return wins


def test_read_endpoints_and_openapi(server):
    url, run_dir = server
    with httpx.Client(base_url=url) as http:
        assert http.get("/api/runs").json() == [{"name": "toy", "run_dir": str(run_dir)}]
        status = http.get("/api/status").json()
        assert status["cycle"] == 6 and not status["running"]
        history = http.get("/api/history").json()
        assert history["cycles"]["cycle"] == [1, 2, 3, 4, 5, 6]
        assert history["last_event_id"] > 0
        champion = http.get("/api/champion").json()
        assert champion["history"][0]["version"] == 0
        promoted = http.get("/api/candidates", params={"decision": "promote"}).json()
        assert all(c["decision"] == "promote" for c in promoted)
        assert len(promoted) == champion["promotions"]
        detail = http.get("/api/cycles/1").json()
        assert detail["roles"]["challenger"]["wins"] == _replayed_wins(run_dir, 1)
        assert http.get("/api/status", params={"run": "nope"}).status_code == 404
        assert http.get("/api/cycles/99999999999999999999999").status_code == 422
        assert http.get("/api/candidates", params={"decision": "bogus"}).status_code == 422
        paths = http.get("/openapi.json").json()["paths"]
        assert {"/api/status", "/api/history", "/api/candidates", "/api/champion",
                "/api/events", "/metrics", "/health"} <= set(paths)
        page = http.get("/")
        assert page.status_code == 200 and "/static/vendor/uPlot.iife.min.js" in page.text
        js = http.get("/static/vendor/uPlot.iife.min.js")
        assert js.status_code == 200 and "uPlot" in js.text  # served locally, no CDN


def test_metrics_follow_prometheus_conventions(server):
    url, _ = server
    text = httpx.get(url + "metrics").text
    for name in ("ratchet_cycles_total", "ratchet_promotions_total", "ratchet_best_score",
                 "ratchet_evaluation_duration_seconds_bucket", "ratchet_games_total",
                 "ratchet_champion_version", "ratchet_paused", "ratchet_up"):
        assert f"{name}{{" in text, name
    assert 'ratchet_cycles_total{run="toy"} 6.0' in text
    assert "candidate" not in text  # no candidate ids as labels


def test_health_is_503_with_a_reason_when_the_loop_is_not_running(server):
    url, _ = server
    res = httpx.get(url + "health")
    assert res.status_code == 503 and res.json()["reason"] == "the loop is not running"


def test_control_needs_the_token(server):
    url, run_dir = server
    token = (run_dir / "token").read_text().strip()
    assert oct(os.stat(run_dir / "token").st_mode & 0o777) == "0o600"
    with httpx.Client(base_url=url) as http:
        assert http.post("/api/control/pause").status_code == 401
        assert http.post("/api/control/pause",
                         headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert not (run_dir / "pause").exists()
        ok = http.post("/api/control/pause", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and (run_dir / "pause").exists()
        http.post("/api/control/resume", headers={"X-Ratchet-Token": token})
        assert not (run_dir / "pause").exists()
        assert http.post("/api/control/explode",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 422
        res = http.post("/api/promote", json={"candidate": "nope"},
                        headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 404


def test_read_only_dashboard_refuses_control(finished):
    srv = WebServer(create_app([finished], read_only=True), port=0)
    url = srv.start()
    try:
        token = (finished / "token").read_text().strip()
        res = httpx.post(url + "api/control/stop", headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 403
    finally:
        srv.stop()


def _sse(url, headers=None, want=3, timeout=10):
    events, current = [], {}
    with httpx.stream("GET", url, headers=headers or {}, timeout=timeout) as res:
        for line in res.iter_lines():
            if line.startswith("id:"):
                current["id"] = int(line[3:].strip())
            elif line.startswith("event:"):
                current["event"] = line[6:].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
            elif not line and current:
                if "id" in current:
                    events.append(current)
                current = {}
                if len(events) >= want:
                    break
    return events


def test_sse_replays_what_a_reconnecting_client_missed(server):
    url, _ = server
    first = _sse(url + "api/events?after=0", want=3)
    assert [e["id"] for e in first] == sorted(e["id"] for e in first)
    # reconnect with Last-Event-ID: the stream continues right after it
    again = _sse(url + "api/events", headers={"Last-Event-ID": str(first[1]["id"])}, want=2)
    assert again[0]["id"] == first[2]["id"]


@pytest.mark.slow
def test_manual_promotion_over_http_is_done_by_the_loop(tmp_path):
    run_dir = tmp_path / "run"
    recipe = parse_recipe(toy_recipe(tmp_path, dashboard={"port": 0}))
    from ratchet.core.store import Store

    run_recipe(recipe, run_dir, max_cycles=8)
    with Store(run_dir) as store:
        rejected = [d.candidate.id for d in store.decisions() if d.decision.value == "reject"]
        before = store.champion().version
    assert rejected, "the toy run is seeded: some of its 8 challengers are rejected"
    ensure_token(run_dir)
    srv = WebServer(create_app([run_dir]), port=0)
    url = srv.start()
    token = (run_dir / "token").read_text().strip()
    res = httpx.post(url + "api/promote", json={"candidate": rejected[0]},
                     headers={"Authorization": f"Bearer {token}"})
    srv.stop()
    assert res.status_code == 200
    stop = threading.Event()
    run_recipe(recipe, run_dir, max_cycles=1, stop=stop)
    with Store(run_dir) as store:
        champ = store.champion()
        assert champ.candidate.id == rejected[0] and champ.version == before + 1
        assert store.promotions()[-1]["stats"] == {"manual": True}
    assert json.loads((tmp_path / "toy.json").read_text())["x"] == champ.candidate.params["x"]
