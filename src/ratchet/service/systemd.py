"""`ratchet service install`: a systemd unit that keeps a recipe running (Restart=always)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def unit_text(recipe: Path, run_dir: Path, workdir: Path, name: str) -> str:
    command = [sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir", str(run_dir),
               "--quiet"]
    return f"""[Unit]
Description=ratchet improvement loop: {name}
After=network.target

[Service]
Type=simple
WorkingDirectory={workdir}
ExecStart={shlex.join(command)}
Restart=always
RestartSec=30
KillSignal=SIGTERM
TimeoutStopSec=60

[Install]
WantedBy=default.target
"""


def unit_path(name: str, user: bool) -> Path:
    base = Path.home() / ".config/systemd/user" if user else Path("/etc/systemd/system")
    return base / f"ratchet-{name}.service"
