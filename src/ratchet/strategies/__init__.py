"""Strategies: where challengers come from."""

from ratchet.strategies._base import Strategy
from ratchet.strategies.evolve import EvolveStrategy
from ratchet.strategies.optuna import OptunaStrategy
from ratchet.strategies.perturb import PerturbStrategy

__all__ = ["EvolveStrategy", "OptunaStrategy", "PerturbStrategy", "Strategy"]
