"""`pip install` of a built wheel, as a user without the repository gets it: in a fresh
virtual environment, the dashboard serves its page and its chart library."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, write_recipe

CLEAN = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the venv's own path only
SKIP = shutil.ignore_patterns(".venv", ".git", "runs", "build", "dist", "*.egg-info",
                              "__pycache__", ".pytest_cache", ".ruff_cache", "bench")


def build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=SKIP)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "dist"), str(source)], check=True, timeout=600,
                   capture_output=True)
    (wheel,) = (tmp / "dist").glob("ratchet-*.whl")
    return wheel


def fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new environment with the wheel installed; its dependencies are this one's (no
    network here), reached by a path entry that runs none of this environment's hooks."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True,
                          env=CLEAN).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "-q", str(wheel)], check=True, timeout=300,
                   capture_output=True)
    return python


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_serves_the_dashboard_with_its_charts(tmp_path):
    wheel = build_wheel(tmp_path)
    assert any(name.endswith("static/vendor/uPlot.iife.min.js")
               for name in zipfile.ZipFile(wheel).namelist())
    python = fresh_venv(tmp_path, wheel)
    where = subprocess.run([str(python), "-c", "import ratchet; print(ratchet.__file__)"],
                           capture_output=True, text=True, check=True, env=CLEAN).stdout
    assert where.startswith(str(tmp_path / "venv")), where  # the wheel's, not the checkout's
    recipe = write_recipe(tmp_path)
    ratchet = [str(python), "-m", "ratchet"]
    subprocess.run([*ratchet, "run", str(recipe), "--max-cycles", "1", "-q", "--run-dir",
                    str(tmp_path / "run")], check=True, timeout=300, cwd=tmp_path, env=CLEAN)
    server = subprocess.Popen([*ratchet, "dashboard", str(tmp_path / "run"), "--port", "0"],
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=CLEAN)
    try:
        line = server.stderr.readline()
        url = re.search(r"(http://\S+)", line)
        assert url, line
        page = httpx.get(url[1], timeout=30).text
        scripts = re.findall(r'src="([^"]*uPlot[^"]*)"', page)
        assert scripts, "the page loads no chart library"
        assert httpx.get(url[1] + "api/parameters", timeout=60).status_code == 200
        for script in scripts:
            body = httpx.get(url[1].rstrip("/") + "/" + script.lstrip("/"), timeout=30)
            assert body.status_code == 200 and len(body.content) > 40_000, script
    finally:
        server.terminate()
        server.wait(timeout=30)
    said = server.stderr.read() or ""
    assert "not vendored" not in said and "A new study" not in said, said  # no chatter
