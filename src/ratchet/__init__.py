"""ratchet: an always-on improvement daemon that promotes only what is proven better.

From Python: ``ratchet.run(recipe, run_dir=..., max_cycles=...)`` and
``ratchet.open_run(run_dir)`` (``ratchet.api``); plugin bases ``Target``, ``Strategy``,
``Judge``, ``Executor`` and their ``Spec``.
"""

# the plugin bases first: a plugin package loaded through an entry point while the recipe
# module builds its unions imports them from a ratchet that is still initializing
from ratchet.plugins import BuildContext, Spec  # isort: skip
from ratchet.targets import Target  # isort: skip
from ratchet.strategies import Strategy  # isort: skip
from ratchet.judges import Judge  # isort: skip
from ratchet.executors import Executor  # isort: skip
from ratchet.api import RunView, open_run, run  # isort: skip
from ratchet.errors import RatchetError, RecipeError, SpaceError, StoreError
from ratchet.loop import Loop, Schedule
from ratchet.recipe import Recipe, load_recipe
from ratchet.runner import Session
from ratchet.space import Param, Space
from ratchet.store import Store
from ratchet.types import Candidate, Decision, EvalTask, Evidence, Measurement, Verdict
from ratchet.version import __version__

__all__ = ["BuildContext", "Candidate", "Decision", "EvalTask", "Evidence", "Executor",
           "Judge", "Loop", "Measurement", "Param", "RatchetError", "Recipe", "RecipeError",
           "RunView", "Schedule", "Session", "Space", "SpaceError", "Spec", "Store",
           "StoreError",
           "Strategy", "Target", "Verdict", "__version__", "load_recipe", "open_run", "run"]

