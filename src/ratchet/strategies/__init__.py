"""Strategies: where challengers come from."""

from ratchet.strategies._base import Strategy
from ratchet.strategies.optuna import OptunaStrategy
from ratchet.strategies.perturb import PerturbStrategy

__all__ = ["OptunaStrategy", "PerturbStrategy", "Strategy"]
