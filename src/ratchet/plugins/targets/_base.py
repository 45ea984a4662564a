"""The Target protocol: what is being improved, and how one candidate is measured."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ratchet.core.registry import BuildContext, Spec
from ratchet.core.space import Space
from ratchet.core.types import Candidate, EvalTask, GateResult, Measurement, OutcomeKind
from ratchet.plugins.scaleout.workers import WorkerGroup, WorkerPlan
from ratchet.plugins.targets import _interleave

if TYPE_CHECKING:
    from ratchet.core.store import Store
    from ratchet.plugins.scaleout.curriculum import Progress


class Target(ABC):
    """Measures candidates. ``apply`` makes a promoted champion live (a config file, a
    kernel setting); it must be idempotent, because a restart re-applies the champion.
    ``interleaved``: challenger and champion cannot be measured at once (timing runs), so
    the loop measures them through ``evaluate_interleaved``. ``batch_is_unit``: the scores
    of one measurement share a term computed over all its runs, so judges pair batches,
    not runs. ``games_in_pairs`` (head to head): a measurement's games come in pairs from
    one opening with the sides swapped, in order, so judges score pairs (pentanomial)."""

    name: ClassVar[str]
    outcome: OutcomeKind = "games"
    head_to_head: bool = False
    interleaved: bool = False
    batch_is_unit: bool = False
    games_in_pairs: bool = False

    @abstractmethod
    def baseline(self, space: Space) -> dict[str, Any]:
        """The starting champion's parameters (what is live now)."""

    @abstractmethod
    def evaluate(self, task: EvalTask) -> Measurement:
        """Measure ``task.candidate``; raise EvaluationError with a reason on failure."""

    def evaluate_interleaved(self, first: EvalTask,
                             second: EvalTask) -> tuple[Measurement, Measurement]:
        """Both tasks' runs one at a time, alternating which goes first (ABBA); run i of
        one pairs with run i of the other. Raises ``PairedRunFailed`` naming the side.
        This default measures single runs through ``evaluate``."""
        runs = _interleave.alternate(first, second, self.evaluate)
        return _interleave.merge(runs[0]), _interleave.merge(runs[1])

    def apply(self, champion: Candidate) -> None:  # noqa: B027 - optional hook
        """Make ``champion`` the live configuration."""

    def discard(self, candidate: Candidate) -> None:  # noqa: B027 - optional hook
        """Forget files made for a candidate that will not be measured again."""

    def take_revert(self) -> tuple[str, str] | None:
        """A former champion this target wants back, and why (a champion that failed its
        probation): asked by the loop at every safe point; each request is given once,
        and kept by the target until then (a restart in between still sees it)."""
        return None

    def open(self, store: Store) -> None:  # noqa: B027 - optional hook
        """Called in the loop's process before anything is applied or measured: a target
        that changes a live system records what it will change (in ``store``, committed)
        and repairs what a crashed run left behind."""

    def hand_edit(self) -> str | None:
        """After ``open``: what was changed by hand in the live system since ratchet last
        applied a champion (one sentence), or None."""
        return None

    def live_params(self, space: Space) -> dict[str, Any]:
        """The parameters the live system holds now (for adopting a hand edit)."""
        return self.baseline(space)

    def promotion_checks(self, candidate: Candidate) -> list[GateResult]:
        """Checks of the target's own that a challenger the judge passed must also pass
        before it is promoted, one result each (an exception fails them closed)."""
        return []

    def workers(self) -> WorkerPlan | None:
        """Long-running workers this target wants beside the loop (self-play games), or
        None. The executor starts them before the champion is first applied."""
        return None

    def attach_workers(self, group: WorkerGroup) -> None:  # noqa: B027 - optional hook
        """The workers ``workers`` asked for, started: publish to them, receive from
        them (in the loop's process, the one writer of the store)."""

    def progress(self, window_games: int) -> Progress | None:
        """How fast this target is improving in its own terms (a self-play target: its
        champions' rating gain per game over its last ``window_games`` games), for a
        curriculum sharing workers among configurations; None: not measured."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Called when the loop ends for any reason (completion, stop, error)."""

    # -- named by import path in a recipe (``kind: "package.module:MyTarget"``) --------
    @classmethod
    def spec_fields(cls) -> dict[str, Any]:
        """The section's keys every target has: ``outcome`` and ``direction``."""
        return {"outcome": (Literal["games", "samples"], cls.outcome),
                "direction": (Literal["maximize", "minimize"], "maximize")}

    @classmethod
    def from_options(cls, options: dict[str, Any], context: BuildContext) -> Target:
        """The target from its recipe section's other keys: the constructor's."""
        return cls(**options)


def starting_values(space: Space, start: dict[str, Any]) -> dict[str, Any]:
    """``start`` completed with the middle of each numeric range (geometric for a
    logfloat; the first option of a categorical), validated."""
    values = dict(start)
    for p in space:
        if p.name not in values:
            values[p.name] = p.middle if p.is_numeric else p.options[0]
    return space.validate(values)


class _MaximizedSpec(Spec):
    @property
    def direction(self) -> Literal["maximize"]:
        return "maximize"


class MaximizedSamplesSpec(_MaximizedSpec):
    """The section of a target whose measurements are samples of a score to maximize."""

    @property
    def outcome(self) -> Literal["samples"]:
        return "samples"


class MaximizedGamesSpec(_MaximizedSpec):
    """The section of a target whose measurements are games (scores to maximize)."""

    @property
    def outcome(self) -> Literal["games"]:
        return "games"
