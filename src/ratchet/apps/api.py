"""ratchet from Python, the way an Optuna user would expect it::

    import ratchet

    def objective(params):                       # one run: a number (or a dict of them)
        return -(params["x"] - 0.3) ** 2

    result = ratchet.run(objective=objective, space={"x": (-2.0, 2.0)}, max_cycles=20)
    result.params, result.score, result.interval  # the champion, its score and 95% interval

``objective`` may also take ``(params, seed)`` or ``(params, seed, size)``; ``space`` maps a
name to ``(low, high)`` (floats or ints), a list of choices, or a recipe's parameter dict
(``{"type": "logfloat", "low": 1e-4, "high": 1}``). ``recipe`` (a dict, a YAML path or a
``Recipe``) gives everything else a recipe can say: judge, strategy, constraints, ...;
with no objective it is the whole run (``ratchet.run("recipes/queue.yaml")``).

``run`` prints a line a decision on stderr (``quiet=True``: nothing), takes the run's lock
(a second process on the same run is refused), resumes a run that exists, and ends after
``max_cycles`` candidates or when stopped (Ctrl+C). It raises only ``ratchet.RatchetError``
(a bad recipe, a run it cannot use); a benchmark that fails is a failed cycle, and
``result.all_failed`` says when every cycle failed. ``ratchet.open_run(run_dir)`` reads a
run, running or not.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ratchet.core.errors import RatchetError, RecipeError
from ratchet.core.store import DecisionRow, Store
from ratchet.core.types import Candidate, Trial
from ratchet.engine.recipe import Recipe, load_recipe, parse_recipe

RecipeLike = Recipe | Mapping[str, Any] | str | os.PathLike[str]
SpaceLike = Mapping[str, Any]


def as_recipe(recipe: RecipeLike) -> Recipe:
    """A ``Recipe`` from a recipe, a dict (as the YAML would hold) or a YAML file's path."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, Mapping):
        return parse_recipe(dict(recipe), source="recipe dict")
    return load_recipe(recipe)


def space_dict(space: SpaceLike) -> dict[str, dict[str, Any]]:
    """A recipe's ``space`` from the short forms: ``(low, high)``, a list of choices, or a
    parameter's dict as a recipe writes it."""
    parsed: dict[str, dict[str, Any]] = {}
    for name, value in space.items():
        if isinstance(value, Mapping):
            parsed[name] = dict(value)
        elif isinstance(value, tuple) and len(value) == 2 and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            kind = "int" if all(isinstance(v, int) for v in value) else "float"
            parsed[name] = {"type": kind, "low": value[0], "high": value[1]}
        elif isinstance(value, list) and value:
            parsed[name] = {"type": "categorical", "choices": list(value)}
        else:
            raise RecipeError(f"space.{name}: {value!r}; expected (low, high), a list of "
                              "choices, or a dict such as {'type': 'logfloat', 'low': 1e-4, "
                              "'high': 1}")
    return parsed


def objective_recipe(objective: Callable[..., Any], space: SpaceLike | None,
                     recipe: Mapping[str, Any] | None, direction: str,
                     name: str | None) -> dict[str, Any]:
    """The recipe of ``run(objective=...)``: the function as a python target, the space,
    welch (the judge for numbers), and whatever ``recipe`` adds."""
    base = dict(recipe or {})
    target = {"kind": "python", "function": objective, "direction": direction,
              **base.pop("target", {})}
    if space is None and "space" not in base:
        raise RecipeError("run(objective=...) needs space: the parameters to tune, e.g. "
                          "space={'x': (-2.0, 2.0)}")
    chosen = space_dict(space) if space is not None else base.pop("space")
    base.pop("space", None)
    default_name = "".join(c if c.isalnum() or c in "-_" else "-"
                           for c in getattr(objective, "__name__", "objective")).strip("-_")
    named = base.pop("name", None)
    return {"name": name or named or default_name or "objective",
            "target": target, "space": chosen, "judge": base.pop("judge", {"kind": "welch"}),
            **base}


@dataclass(frozen=True)
class ChampionView:
    """The champion with its score: the mean of its runs (or games) measured while it was
    champion, and that mean's 95% interval; ``provisional`` right after a promotion, when
    the score still comes from the evidence that promoted it."""

    candidate: Candidate
    version: int
    cycle: int
    promoted_at: float
    score: float | None
    interval: tuple[float, float] | None
    n: int
    provisional: bool

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.candidate.params)


@dataclass(frozen=True)
class RunResult:
    """What ``run`` returns: this start's counts, the champion it ended with (its
    parameters, score and interval) and every decision of the run."""

    run_dir: Path
    champion: ChampionView
    history: list[DecisionRow] = field(repr=False)
    cycles: int = 0
    promotions: int = 0
    failures: int = 0
    stopped: bool = False
    budget_spent: str | None = None

    @property
    def params(self) -> dict[str, Any]:
        return self.champion.params

    @property
    def score(self) -> float | None:
        return self.champion.score

    @property
    def interval(self) -> tuple[float, float] | None:
        return self.champion.interval

    @property
    def all_failed(self) -> bool:
        """Every cycle of this start failed (a benchmark that cannot run, say)."""
        return self.cycles > 0 and self.failures == self.cycles

    def __str__(self) -> str:
        c = self.champion
        score = "score not measured yet" if c.score is None else f"score {c.score:.4g}" + (
            f" [{c.interval[0]:.4g}, {c.interval[1]:.4g}] (95%)" if c.interval else "") + \
            f" over {c.n} runs"
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in c.params.items())
        return (f"champion v{c.version}: {params}; {score}. This start: {self.cycles} "
                f"cycles, {self.promotions} promotions, {self.failures} failed "
                f"({self.run_dir})")


def run(recipe: RecipeLike | None = None, run_dir: str | os.PathLike[str] | None = None, *,
        objective: Callable[..., Any] | None = None, space: SpaceLike | None = None,
        direction: Literal["maximize", "minimize"] = "maximize", name: str | None = None,
        max_cycles: int | None = None, quiet: bool = False) -> RunResult:
    """Run (or resume) a loop in ``run_dir`` (default ``runs/<name>``) and return its
    champion with its score, interval and history."""
    from ratchet.apps.dashboard import serve_run
    from ratchet.apps.display import RunDisplay, with_champion
    from ratchet.core import terminal
    from ratchet.service.daemon import serve

    if max_cycles is not None and (isinstance(max_cycles, bool) or not isinstance(
            max_cycles, int) or max_cycles < 1):
        raise RatchetError(f"max_cycles={max_cycles!r}: expected a whole number of cycles, "
                           "at least 1 (or None: until stopped)")
    if objective is not None:
        if not callable(objective):
            raise RatchetError(f"objective={objective!r}: expected a function")
        if recipe is not None and not isinstance(recipe, Mapping):
            raise RatchetError("with objective=..., recipe may only be a dict of the other "
                               "sections (judge, strategy, constraints, ...)")
        parsed = as_recipe(objective_recipe(objective, space, recipe, direction, name))
    elif recipe is None:
        raise RatchetError("run() needs objective=... (with space=...) or a recipe")
    else:
        if space is not None:
            raise RatchetError("space=... goes with objective=...; a recipe has its own "
                               "space section")
        parsed = as_recipe(recipe)
        if name:
            from ratchet.core.rundir import check_name

            parsed = parsed.model_copy(update={"name": check_name(name)})
    directory = Path(run_dir) if run_dir is not None else Path("runs") / parsed.name
    display = RunDisplay(parsed.name, parsed.judge.kind,
                         console=terminal.console(stderr=True, quiet=quiet))
    with display:
        summary = serve(parsed, directory, max_cycles=max_cycles,
                        reporter=with_champion(display, directory), web_process=serve_run)
    view = RunView(directory)
    return RunResult(directory, view.champion(), view.history(), summary.cycles,
                     summary.promotions, summary.failures, summary.stopped,
                     summary.budget_spent)


@dataclass(frozen=True)
class RunView:
    """A read-only view of a run directory; each call reads the store afresh, so it may
    be used while the run goes on in another process."""

    run_dir: Path

    def _store(self) -> Store:
        return Store(self.run_dir)

    def champion(self) -> ChampionView:
        """The champion, with its score and 95% interval."""
        from ratchet.engine.summary import champion_summary

        with self._store() as store:
            champ = store.champion()
            summary = champion_summary(store)
        score = summary["score"]
        interval = (score["low"], score["high"]) if score.get("low") is not None \
            and score.get("high") is not None else None
        return ChampionView(champ.candidate, champ.version, champ.cycle, champ.promoted_at,
                            score.get("mean") if score.get("n") else None, interval,
                            int(score.get("n") or 0), bool(summary["provisional"]))

    def history(self) -> list[DecisionRow]:
        """Every decided cycle, oldest first."""
        with self._store() as store:
            return store.decisions()

    def trials(self) -> list[Trial]:
        with self._store() as store:
            return store.trials()

    def promotions(self) -> list[dict[str, Any]]:
        with self._store() as store:
            return store.promotions()


def open_run(run_dir: str | os.PathLike[str]) -> RunView:
    """A read-only view of an existing run (``StoreError`` when there is none)."""
    view = RunView(Path(run_dir))
    view._store().close()  # fails now, with the store's message, if there is no run
    return view
