"""Targets: what ratchet improves. ``Target`` and ``CommandTarget`` are imported when first
used, so that a benchmark importing one workload module stays quick to start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ratchet.core.lazy import lazy_exports

__all__ = ["CommandTarget", "Target"]
_EXPORTS = {"Target": "ratchet.plugins.targets._base",
            "CommandTarget": "ratchet.plugins.targets.command"}
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from ratchet.plugins.targets._base import Target
    from ratchet.plugins.targets.command import CommandTarget
