"""Every metric the Grafana dashboard and the alert rules use is one the server exposes."""

import json
import re

import httpx
import yaml

from ratchet.recipe import parse_recipe
from ratchet.runner import run_recipe
from ratchet.web import create_app
from ratchet.web.server import WebServer
from tests.conftest import ROOT, toy_recipe

METRIC = re.compile(r"\bratchet_[a-z_]+")


def _used() -> set[str]:
    exprs = [t["expr"] for p in json.loads((ROOT / "deploy/grafana/ratchet.json").read_text())
             ["panels"] for t in p["targets"]]
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return {m for e in exprs for m in METRIC.findall(e)}


def _exposed(tmp_path, **overrides) -> set[str]:
    run_recipe(parse_recipe(toy_recipe(tmp_path, **overrides)), tmp_path / "run",
               max_cycles=2)
    srv = WebServer(create_app([tmp_path / "run"]), port=0)
    try:
        text = httpx.get(srv.start() + "metrics").text
    finally:
        srv.stop()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line.startswith("ratchet_")}


def test_every_metric_used_in_deploy_files_is_exposed(tmp_path):
    used = _used()
    assert len(used) >= 12
    (tmp_path / "g").mkdir()
    (tmp_path / "s").mkdir()
    exposed = _exposed(tmp_path / "g") | _exposed(
        tmp_path / "s", target={"outcome": "samples", "metric": "ops",
                                "env": {"TOY_MODE": "samples"}},
        judge={"kind": "welch", "batch": 3, "min_samples": 6, "max_samples": 6})
    missing = {m for m in used if m not in exposed}
    assert not missing, f"used in deploy/ but not exposed: {sorted(missing)}"


def test_alert_rules_are_well_formed():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"RatchetLoopDown", "RatchetNoPromotion24h", "RatchetFailureRate",
            "RatchetStagnation", "RatchetScoreDeclining"} <= names
    for g in rules["groups"]:
        for r in g["rules"]:
            assert r["expr"] and r["labels"]["severity"] and r["annotations"]["summary"]
