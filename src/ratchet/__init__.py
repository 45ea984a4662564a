"""ratchet: an always-on improvement daemon that promotes only what is proven better.

From Python: ``ratchet.run(objective=f, space={...}, max_cycles=...)`` (or a recipe),
which returns the champion with its score and interval, and ``ratchet.open_run(run_dir)``
(``ratchet.apps.api``); plugin bases ``Target``, ``Strategy``,
``Judge``, ``Executor`` and their ``Spec``.

The public names are imported when first used, so that a process which needs one small
module (a benchmark importing a workload, a pool worker) does not pay for the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ratchet.core.lazy import lazy_exports
from ratchet.core.version import __version__

_EXPORTS = {
    "BuildContext": "ratchet.core.registry", "Spec": "ratchet.core.registry",
    "Target": "ratchet.plugins.targets", "Strategy": "ratchet.plugins.strategies",
    "Judge": "ratchet.plugins.judges", "Executor": "ratchet.plugins.executors",
    "Gate": "ratchet.plugins.gates",
    "RunView": "ratchet.apps.api", "open_run": "ratchet.apps.api", "run": "ratchet.apps.api",
    "RunResult": "ratchet.apps.api",
    "RatchetError": "ratchet.core.errors", "RecipeError": "ratchet.core.errors",
    "SpaceError": "ratchet.core.errors", "StoreError": "ratchet.core.errors",
    "Loop": "ratchet.engine.loop", "Schedule": "ratchet.engine.recipe",
    "Recipe": "ratchet.engine.recipe", "load_recipe": "ratchet.engine.recipe",
    "Session": "ratchet.engine.runner",
    "Param": "ratchet.core.space", "Space": "ratchet.core.space",
    "Store": "ratchet.core.store",
    **{name: "ratchet.core.types" for name in ("Candidate", "Decision", "EvalTask", "Evidence",
                                               "GateResult", "Measurement", "Trial",
                                               "Verdict")},
}

__all__ = ["BuildContext", "Candidate", "Decision", "EvalTask", "Evidence", "Executor",
           "Gate", "GateResult", "Judge", "Loop", "Measurement", "Param", "RatchetError",
           "Recipe", "RecipeError", "RunResult", "RunView", "Schedule", "Session", "Space",
           "SpaceError", "Spec", "Store", "StoreError", "Strategy", "Target", "Trial", "Verdict",
           "__version__", "load_recipe", "open_run", "run"]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from ratchet.apps.api import RunResult, RunView, open_run, run
    from ratchet.core.errors import RatchetError, RecipeError, SpaceError, StoreError
    from ratchet.core.registry import BuildContext, Spec
    from ratchet.core.space import Param, Space
    from ratchet.core.store import Store
    from ratchet.core.types import Candidate, Decision, EvalTask, Evidence, Measurement, Verdict
    from ratchet.engine.loop import Loop
    from ratchet.engine.recipe import Recipe, Schedule, load_recipe
    from ratchet.engine.runner import Session
    from ratchet.plugins.executors import Executor
    from ratchet.plugins.judges import Judge
    from ratchet.plugins.strategies import Strategy
    from ratchet.plugins.targets import Target
