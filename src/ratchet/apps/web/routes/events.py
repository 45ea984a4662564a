"""`/api/events`: the run's events as Server-Sent Events.

Each stored event carries its id; a client that reconnects sends Last-Event-ID (browsers do
it by themselves) and gets everything it missed. Live progress inside a cycle (state.json)
is sent as `state` events without ids. The server polls the store twice a second: one
cheap indexed query, however many cycles the run holds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from ratchet.apps.web.deps import run_dir_of
from ratchet.core.rundir import RunDir
from ratchet.core.store import Store

router = APIRouter(prefix="/api", tags=["read"])
POLL_S = 0.5


@router.get("/events", summary="Live stream of the run's events (SSE)")
async def events(request: Request, run_dir: Path = Depends(run_dir_of),
                 after: int | None = Query(None, description="start after this event id "
                                           "(default: now)"),
                 last_event_id: str | None = Header(None)) -> EventSourceResponse:
    if last_event_id and last_event_id.isdigit():
        start = int(last_event_id)
    elif after is not None:
        start = after
    else:
        with Store(run_dir) as store:
            start = store.last_event_id()
    return EventSourceResponse(_stream(request, run_dir, start), ping=15)


async def _stream(request: Request, run_dir: Path, last: int) -> AsyncIterator[dict]:
    state_path = RunDir(run_dir).state
    state_seen = 0.0
    while not await request.is_disconnected():
        fresh = await asyncio.to_thread(_read, run_dir, last)
        for event in fresh:
            last = event["id"]
            yield {"id": str(event["id"]), "event": event["kind"],
                   "data": json.dumps(event, default=str)}
        try:
            mtime = state_path.stat().st_mtime
        except OSError:
            mtime = 0.0
        if mtime > state_seen:
            state_seen = mtime
            text = _read_state(state_path)
            if text:
                yield {"event": "state", "data": text}
        await asyncio.sleep(POLL_S)


def _read(run_dir: Path, after: int) -> list[dict]:
    with Store(run_dir) as store:
        return store.events(limit=500, after=after)


def _read_state(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None
