"""`ratchet service install`: a systemd unit that keeps a recipe running (Restart=always).

A user mistake exits 2 and is not restarted (RestartPreventExitStatus=2); anything else,
such as a full disk (exit 75), is retried with a growing delay. `--quiet` only drops the
live display: warnings and errors still reach stderr, i.e. the journal."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ratchet.core.errors import RatchetError


def _value(what: str, text: str) -> str:
    """``text`` as a unit file value: refused with a line break or another control
    character (it would start a line of its own: ``\nExecStartPre=...``), and systemd's
    specifiers (``%``) escaped so that it means what it says."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise RatchetError(f"{what} {text!r} holds a line break or another control "
                           "character; a systemd unit cannot carry it")
    return text.replace("%", "%%")


def unit_text(recipe: Path, run_dir: Path, workdir: Path, name: str) -> str:
    command = [sys.executable, "-m", "ratchet", "run", str(recipe), "--run-dir", str(run_dir),
               "--quiet"]
    for what, value in (("the recipe path", str(recipe)), ("the run directory", str(run_dir)),
                        ("the working directory", str(workdir)), ("the name", name)):
        _value(what, value)
    exec_start = _value("the command", shlex.join(command)).replace("$", "$$")
    return f"""[Unit]
Description=ratchet improvement loop: {_value("the name", name)}
After=network.target

[Service]
Type=simple
WorkingDirectory={_value("the working directory", str(workdir))}
ExecStart={exec_start}
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
