"""Every metric the Grafana dashboard and the alert rules use is one the server exposes."""

import json
import re
import shutil
import subprocess

import httpx
import pytest
import yaml

from ratchet.apps.web import create_app
from ratchet.apps.web.server import WebServer
from ratchet.engine.recipe import parse_recipe
from ratchet.engine.runner import run_recipe
from tests.conftest import ROOT, toy_recipe

METRIC = re.compile(r"\bratchet_[a-z_]+")


def used(board: str = "ratchet.json", rules: str = "alerts.yml") -> set[str]:
    """The metric names a Grafana board and an alert rules file query."""
    exprs = [t["expr"] for p in json.loads((ROOT / "deploy/grafana" / board).read_text())
             ["panels"] for t in p["targets"]]
    groups = yaml.safe_load((ROOT / "deploy/prometheus" / rules).read_text())["groups"]
    exprs += [r["expr"] for g in groups for r in g["rules"]]
    return {m for e in exprs for m in METRIC.findall(e)}


def test_promtool_accepts_every_rules_file():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make test` installs it (Debian's prometheus)"
    files = sorted((ROOT / "deploy/prometheus").glob("*.yml"))
    assert len(files) >= 2
    checked = subprocess.run([promtool, "check", "rules", *map(str, files)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("SUCCESS") == len(files)


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


@pytest.mark.slow
def test_every_metric_used_in_deploy_files_is_exposed(tmp_path):
    names = used()
    assert len(names) >= 12
    (tmp_path / "g").mkdir()
    (tmp_path / "s").mkdir()
    exposed = _exposed(tmp_path / "g") | _exposed(
        tmp_path / "s", target={"outcome": "samples", "metric": "ops",
                                "env": {"TOY_MODE": "samples"}},
        judge={"kind": "welch", "batch": 3, "min_samples": 6, "max_samples": 6})
    missing = {m for m in names if m not in exposed}
    assert not missing, f"used in deploy/ but not exposed: {sorted(missing)}"


def test_alert_rules_are_well_formed():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"RatchetLoopDown", "RatchetNoPromotion24h", "RatchetFailureRate",
            "RatchetStagnation", "RatchetScoreDeclining"} <= names
    for g in rules["groups"]:
        for r in g["rules"]:
            assert r["expr"] and r["labels"]["severity"] and r["annotations"]["summary"]


def test_the_ray_cluster_recipe_hangs_together():
    """deploy/ray: the launcher's cluster file, the coordinator's recipe and its unit."""
    from ratchet.engine.recipe import load_recipe

    cluster = yaml.safe_load((ROOT / "deploy/ray/cluster.yaml").read_text())
    assert cluster["provider"]["type"] == "local" and cluster["provider"]["worker_ips"]
    assert {"cluster_name", "auth", "setup_commands", "head_start_ray_commands",
            "worker_start_ray_commands"} <= set(cluster)
    assert not any("rsync" in c or "scp" in c for c in cluster["setup_commands"])
    recipe = load_recipe(ROOT / "deploy/ray/selfplay-cluster.yaml")
    assert recipe.executor.kind == "ray" and recipe.executor.address == "auto"
    assert len(recipe.configurations) == 3 and recipe.curriculum is not None
    head = " ".join(cluster["head_start_ray_commands"])
    assert all(f'"{r}"' in head for r in recipe.executor.task_resources)
    unit = (ROOT / "deploy/ray/ratchet-coordinator.service").read_text()
    start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert " run /home/ratchet/deploy/ray/selfplay-cluster.yaml " in start
    assert "RestartPreventExitStatus=2" in unit and "KillSignal=SIGTERM" in unit
