"""The tutorial (docs/tutorial.md, the README's short form) as a newcomer follows it: its
recipe is the shipped file, and the commands it shows tune the example benchmark."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "queue.yaml"


def _yaml_blocks(page: Path) -> list[dict]:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", page.read_text(),
                                                  flags=re.S)]


def test_the_tutorial_shows_the_shipped_recipe_and_the_readme_a_part_of_it():
    shipped = yaml.safe_load(RECIPE.read_text())
    assert shipped in _yaml_blocks(ROOT / "docs" / "tutorial.md")
    short = next(b for b in _yaml_blocks(ROOT / "README.md") if b.get("name") == "queue")
    for key, value in short.items():
        if isinstance(value, dict) and key != "space":
            assert value.items() <= shipped[key].items(), key
        else:
            assert value == shipped[key], key


def test_the_tutorials_commands_tune_the_example(tmp_path):
    shutil.copytree(ROOT / "examples" / "queue", tmp_path / "examples" / "queue")
    (tmp_path / "recipes").mkdir()
    shutil.copy(RECIPE, tmp_path / "recipes")
    first = (tmp_path / "examples" / "queue" / "config.yaml").read_text()

    def ratchet(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ratchet", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)

    bench = subprocess.run([sys.executable, "examples/queue/bench.py", "--config",
                            "examples/queue/config.yaml", "--seed", "1"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert re.fullmatch(r"latency_ms: \d+\.\d+\n", bench.stdout), bench.stderr
    run = ratchet("run", "recipes/queue.yaml", "--max-cycles", "3", "-q")
    assert run.returncode == 0, run.stderr
    best = ratchet("best", "--json")
    assert best.returncode == 0, best.stderr
    champion = json.loads(best.stdout)
    assert set(champion["params"]) == {"workers", "batch", "wait_ms"}
    history = json.loads(ratchet("history", "--json").stdout)
    assert len(history) == 3 and all(h["decision"] in ("promote", "reject") for h in history)
    live = yaml.safe_load((tmp_path / "examples" / "queue" / "config.yaml").read_text())
    if champion["version"] == 0:  # nothing proven better: the live file is as it was
        assert (tmp_path / "examples" / "queue" / "config.yaml").read_text() == first
    else:
        assert live == champion["params"]
