"""Targets: what ratchet improves. ``Target`` and ``CommandTarget`` are imported when first
used, so that a benchmark importing one workload module stays quick to start."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["CommandTarget", "Target"]
_EXPORTS = {"Target": "ratchet.targets._base", "CommandTarget": "ratchet.targets.command"}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ratchet.targets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ratchet.targets._base import Target
    from ratchet.targets.command import CommandTarget
