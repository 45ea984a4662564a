"""Targets: what ratchet improves."""

from ratchet.targets._base import Target
from ratchet.targets.command import CommandTarget

__all__ = ["CommandTarget", "Target"]
