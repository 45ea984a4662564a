"""ratchet: an always-on improvement daemon that promotes only what is proven better.

From Python: ``ratchet.run(recipe, run_dir=..., max_cycles=...)`` and
``ratchet.open_run(run_dir)`` (``ratchet.api``); plugin bases ``Target``, ``Strategy``,
``Judge``, ``Executor`` and their ``Spec``.

The public names are imported when first used, so that a process which needs one small
module (a benchmark importing a workload, a pool worker) does not pay for the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ratchet.lazy import lazy_exports
from ratchet.version import __version__

_EXPORTS = {
    "BuildContext": "ratchet.plugins", "Spec": "ratchet.plugins",
    "Target": "ratchet.targets", "Strategy": "ratchet.strategies",
    "Judge": "ratchet.judges", "Executor": "ratchet.executors",
    "RunView": "ratchet.api", "open_run": "ratchet.api", "run": "ratchet.api",
    "RatchetError": "ratchet.errors", "RecipeError": "ratchet.errors",
    "SpaceError": "ratchet.errors", "StoreError": "ratchet.errors",
    "Loop": "ratchet.loop", "Schedule": "ratchet.loop",
    "Recipe": "ratchet.recipe", "load_recipe": "ratchet.recipe",
    "Session": "ratchet.runner",
    "Param": "ratchet.space", "Space": "ratchet.space",
    "Store": "ratchet.store",
    "Candidate": "ratchet.types", "Decision": "ratchet.types", "EvalTask": "ratchet.types",
    "Evidence": "ratchet.types", "Measurement": "ratchet.types", "Verdict": "ratchet.types",
}

__all__ = ["BuildContext", "Candidate", "Decision", "EvalTask", "Evidence", "Executor",
           "Judge", "Loop", "Measurement", "Param", "RatchetError", "Recipe", "RecipeError",
           "RunView", "Schedule", "Session", "Space", "SpaceError", "Spec", "Store",
           "StoreError", "Strategy", "Target", "Verdict", "__version__", "load_recipe",
           "open_run", "run"]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from ratchet.api import RunView, open_run, run
    from ratchet.errors import RatchetError, RecipeError, SpaceError, StoreError
    from ratchet.executors import Executor
    from ratchet.judges import Judge
    from ratchet.loop import Loop, Schedule
    from ratchet.plugins import BuildContext, Spec
    from ratchet.recipe import Recipe, load_recipe
    from ratchet.runner import Session
    from ratchet.space import Param, Space
    from ratchet.store import Store
    from ratchet.strategies import Strategy
    from ratchet.targets import Target
    from ratchet.types import Candidate, Decision, EvalTask, Evidence, Measurement, Verdict
