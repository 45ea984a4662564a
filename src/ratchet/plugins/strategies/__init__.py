"""Strategies: where challengers come from."""

from ratchet.plugins.strategies._base import Strategy
from ratchet.plugins.strategies.evolve import EvolveStrategy
from ratchet.plugins.strategies.optuna import OptunaStrategy
from ratchet.plugins.strategies.perturb import PerturbStrategy

__all__ = ["EvolveStrategy", "OptunaStrategy", "PerturbStrategy", "Strategy"]
