"""Run one external command with a timeout, no shell unless asked, output captured."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratchet.core import children
from ratchet.core.errors import EvaluationError

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.\-]*)\}")


def placeholders(template: str | Sequence[str]) -> set[str]:
    parts = [template] if isinstance(template, str) else list(template)
    return {m.group(1) for part in parts for m in _PLACEHOLDER.finditer(part)}


def fill(text: str, values: Mapping[str, Any], quote: bool = False) -> str:
    def sub(m: re.Match[str]) -> str:
        value = str(values[m.group(1)])
        return shlex.quote(value) if quote else value

    return _PLACEHOLDER.sub(sub, text)


def fill_command(command: str | Sequence[str], values: Mapping[str, Any]) -> str | list[str]:
    if isinstance(command, str):  # only with shell: true; values are shell-quoted
        return fill(command, values, quote=True)
    return [fill(arg, values) for arg in command]


@dataclass(frozen=True)
class Completed:
    stdout: str
    stderr: str
    seconds: float


def run(command: str | list[str], *, env: Mapping[str, str], cwd: str | None,
        timeout_s: float, what: str = "benchmark", registry: Path | None = None) -> Completed:
    """Run ``command``; its pid is kept in ``registry`` while it runs (see
    ratchet.core.children) so that a stop can terminate it."""
    start = time.monotonic()
    if registry is not None and children.stopping(registry):
        raise EvaluationError(f"{what} not started: ratchet is stopping")
    try:
        proc = subprocess.Popen(command, shell=isinstance(command, str), env=dict(env), cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    except FileNotFoundError:
        raise EvaluationError(f"{what} command not found: {command}") from None
    except PermissionError:
        raise EvaluationError(f"{what} command is not executable: {command}") from None
    entry = children.register(registry, proc.pid) if registry is not None else None
    if registry is not None and children.stopping(registry):  # stop began meanwhile
        _kill_group(proc)
        children.unregister(entry)  # type: ignore[arg-type]
        raise EvaluationError(f"{what} stopped: ratchet is stopping")
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise EvaluationError(f"{what} timed out after {timeout_s:g} s") from None
    except BaseException:  # interrupted: never leave the child running
        _kill_group(proc)
        raise
    finally:
        if entry is not None:
            children.unregister(entry)
    if proc.returncode < 0:
        raise EvaluationError(f"{what} was killed by signal "
                              f"{signal.Signals(-proc.returncode).name}")
    if proc.returncode != 0:
        tail = " | ".join(err.strip().splitlines()[-3:]) or "no output on stderr"
        raise EvaluationError(f"{what} exited with code {proc.returncode}: {tail}")
    return Completed(out, err, time.monotonic() - start)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
