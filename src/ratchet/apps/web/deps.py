"""What the app and its routes share: the run a request names, the Host header's name."""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException, Query, Request


def host_name(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:80" -> "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header



def run_dir_of(request: Request, run: str | None = Query(None, description="run name "
                                                         "(default: the first)")) -> Path:
    runs: dict[str, Path] = request.app.state.runs
    if run is None:
        return next(iter(runs.values()))
    if run not in runs:
        raise HTTPException(404, f"no run named {run!r}; runs: {list(runs)}")
    return runs[run]
