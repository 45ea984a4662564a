"""`ratchet service install`: a systemd unit that keeps a recipe running (Restart=always).

A user mistake exits 2 and is not restarted (RestartPreventExitStatus=2); anything else,
such as a full disk (exit 75), is retried with a growing delay. `--quiet` only drops the
live display: warnings and errors still reach stderr, i.e. the journal."""

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
RestartPreventExitStatus=2
RestartSec=30
RestartSteps=5
RestartMaxDelaySec=600
StandardError=journal
KillSignal=SIGTERM
TimeoutStopSec=60

[Install]
WantedBy=default.target
"""


def unit_path(name: str, user: bool) -> Path:
    base = Path.home() / ".config/systemd/user" if user else Path("/etc/systemd/system")
    return base / f"ratchet-{name}.service"
