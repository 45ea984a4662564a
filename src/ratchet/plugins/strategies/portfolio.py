"""A portfolio of proposers, chosen among by a bandit on promotions per game spent.

Each proposal comes from one member (tpe, cmaes, perturb, random, ...). The member is
chosen by Thompson sampling: for each member, a draw from Beta(1 + its promotions,
1 + its other decided challengers), divided by the games (or runs) its challengers cost on
average; the highest draw proposes. Every member hears every trial, so a model-based
member learns from what the others found. The bandit's counts are rebuilt from the run's
history on resume (a candidate's ``origin`` is the member that proposed it), so nothing
but the members' own state is saved. The choice and its odds are in the candidate's note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ratchet.core.registry import STRATEGIES, BuildContext, Spec
from ratchet.core.space import Space
from ratchet.core.types import Candidate, Decision, Trial
from ratchet.plugins.strategies._base import Direction, Strategy


class PortfolioSpec(Spec):
    """Several proposers; a bandit on promotions per game spent picks one each time."""

    kind: Literal["portfolio"] = "portfolio"
    members: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"kind": "tpe"}, {"kind": "cmaes"}, {"kind": "perturb"},
                                 {"kind": "random"}],
        description="the proposers, each a strategy section ({kind: tpe, ...}); no "
                    "portfolio inside a portfolio")

    @model_validator(mode="after")
    def _check(self) -> PortfolioSpec:
        if len(self.members) < 2:
            raise ValueError("a portfolio needs at least two members")
        kinds = []
        for i, member in enumerate(self.members):
            kind = member.get("kind")
            if kind == "portfolio":
                raise ValueError(f"members[{i}]: no portfolio inside a portfolio")
            try:
                STRATEGIES.spec(str(kind)).model_validate(member)
            except KeyError as exc:
                raise ValueError(f"members[{i}]: {exc.args[0]}") from None
            kinds.append(kind)
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"members: each kind once (got {kinds})")
        return self

    def member_specs(self) -> list[Spec]:
        return [STRATEGIES.spec(str(m["kind"])).model_validate(m) for m in self.members]

    def check_space(self, space: Space) -> None:
        for spec in self.member_specs():
            spec.check_space(space)

    def create(self, context: BuildContext) -> PortfolioStrategy:
        return PortfolioStrategy.from_spec(self, context)  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True)
class _MemberContext:
    """What a member strategy is built from: the space, its own seed, the direction."""

    space: Space
    seed: int
    direction: Direction
    run_dir: None = None


class PortfolioStrategy(Strategy):
    name = "portfolio"
    options_spec = PortfolioSpec

    def __init__(self, space: Space, *, seed: int = 0, direction: Direction = "maximize",
                 **options: Any):
        super().__init__(space, seed=seed, direction=direction, **options)
        self.members: list[Strategy] = [
            spec.create(_MemberContext(space, seed * 31 + i, direction))  # type: ignore[arg-type]
            for i, spec in enumerate(self.options.member_specs())]
        self.proposes_several = all(m.proposes_several for m in self.members)  # type: ignore[misc]
        self.proposals = 0
        self._wins = [0] * len(self.members)
        self._tries = [0] * len(self.members)
        self._cost = [0] * len(self.members)

    def propose(self, champion: Candidate, history: Sequence[Trial]) -> Candidate:
        rng = np.random.default_rng([self.seed, self.proposals])
        self.proposals += 1
        draws = []
        for wins, tries, cost in zip(self._wins, self._tries, self._cost, strict=True):
            per_game = (cost / tries) if tries else 1.0
            draws.append(rng.beta(1 + wins, 1 + tries - wins) / max(per_game, 1e-9))
        chosen = int(np.argmax(draws))
        member = self.members[chosen]
        candidate = member.propose(champion, history)
        odds = ", ".join(f"{m.name} {w}/{t}" for m, w, t in
                         zip(self.members, self._wins, self._tries, strict=True))
        return dataclasses.replace(candidate, origin=member.name,
                                   note=f"portfolio chose {member.name} (promoted/tried: "
                                        f"{odds}); {candidate.note}")

    def observe(self, trial: Trial) -> None:
        self._count(trial)
        for member in self.members:
            member.observe(trial)

    def restore(self, history: Sequence[Trial]) -> None:
        for trial in history:
            self._count(trial)
        for member in self.members:
            member.restore(history)

    def _count(self, trial: Trial) -> None:
        names = [m.name for m in self.members]
        if trial.candidate.origin not in names or trial.decision is Decision.FAILED:
            return
        i = names.index(trial.candidate.origin)
        self._tries[i] += 1
        self._wins[i] += trial.decision is Decision.PROMOTE
        self._cost[i] += max(trial.n, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"proposals": self.proposals,
                "members": {m.name: m.state_dict() for m in self.members}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.proposals = int(state.get("proposals", 0))
        for member in self.members:
            member.load_state_dict(state.get("members", {}).get(member.name, {}))

    def close(self) -> None:
        for member in self.members:
            member.close()

    def choices(self) -> list[dict[str, Any]]:
        """Each member's promotions, tries and games spent (for reports)."""
        return [{"member": m.name, "promoted": w, "tried": t, "games": c}
                for m, w, t, c in zip(self.members, self._wins, self._tries, self._cost,
                                      strict=True)]

