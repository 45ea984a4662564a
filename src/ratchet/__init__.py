"""ratchet: an always-on improvement daemon that promotes only what is proven better."""

from ratchet.errors import RatchetError, RecipeError, SpaceError, StoreError
from ratchet.loop import Loop, Schedule
from ratchet.recipe import Recipe, load_recipe
from ratchet.space import Param, Space
from ratchet.store import Store
from ratchet.types import Candidate, Decision, Evidence, Measurement, Verdict

__version__ = "0.1.0"

__all__ = ["Candidate", "Decision", "Evidence", "Loop", "Measurement", "Param", "RatchetError",
           "Recipe", "RecipeError", "Schedule", "Space", "SpaceError", "Store", "StoreError",
           "Verdict", "load_recipe"]
