"""Keyed state in the run's store: what the loop and the plugins keep between starts (the
race in progress, the time run so far, sysctl's original values, the live file's hash).
Each key is declared once, with the type of its value, where it is used; the store reads
back a value of that type or says the record is damaged."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from ratchet.core.errors import StoreError

T = TypeVar("T")


class StateKey(Generic[T]):
    """``StateKey("sysctl.changed", Changed)``: a key of the store's keyed state and the
    type of its value (any type pydantic validates: a TypedDict, a model, a float)."""

    def __init__(self, name: str, kind: type[T] | Any):
        self.name = name
        self._adapter: TypeAdapter[T] = TypeAdapter(kind)

    def __repr__(self) -> str:
        return f"StateKey({self.name!r})"

    def encode(self, value: T) -> str:
        return json.dumps(self._adapter.dump_python(value, mode="json"))

    def decode(self, text: str, path: object) -> T:
        try:
            return self._adapter.validate_json(text)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(map(str, problem["loc"])) or "the value"
            raise StoreError(f"the store {path} holds a damaged {self.name!r} record "
                             f"({where}: {problem['msg']}); put a checkpoint back with "
                             "'ratchet restore'") from None


def write_state(cur: sqlite3.Cursor, key: StateKey[T], value: T | None) -> None:
    """Set ``key`` in the transaction ``cur``; None deletes it."""
    if value is None:
        cur.execute("DELETE FROM keyed_state WHERE key = ?", (key.name,))
    else:
        cur.execute("INSERT INTO keyed_state (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    (key.name, key.encode(value), time.time()))
