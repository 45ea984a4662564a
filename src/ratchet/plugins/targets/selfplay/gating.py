"""The regression gate as the self-play target's promotion check: the gate's settings
from the spec, its results kept per challenger, and the skill bars that bind once some
champion has cleared them (``gate_skill: regression``).

A bar an earlier champion cleared is a regression check: a challenger fails it when its
games show it under the bar (against random: the upper 95% bound below it; against the
anchor: the SPRT accepts H0), not when they fall short of proving it over the bar again.
A challenger that already beat the champion head to head and sits near the bar (0.95
against random, where clearing takes 0.96 over 100 games) would otherwise be refused on a
coin's throw: 7 of 31 decisions in a 45-minute connect_four run, each +54 to +110 Elo.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ratchet.core.types import GateResult
from ratchet.plugins.targets.selfplay.gamestore import GATE, GameStore

if TYPE_CHECKING:
    from ratchet.plugins.targets.selfplay.gate import CheckResult
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec


def gate_checks(spec: SelfPlaySpec, games: GameStore, candidate_id: str, stem: Path,
                seed: int, registry: Path) -> list[GateResult]:
    """Run the gate on ``candidate_id``'s network (saved at ``stem``, recorded in
    ``games``) in its own process. A skill bar no champion has cleared yet is reported but
    does not bind under ``gate_skill: regression`` (a run from random weights must be
    able to start)."""
    from ratchet.plugins.targets.selfplay.gate import GateConfig, run_gate

    recorded = games.network(candidate_id)
    config = GateConfig(max_ms_per_move=spec.gate_max_ms_per_move,
                        simulations=spec.match_simulations, c_puct=spec.c_puct,
                        random_pairs=spec.gate_random_pairs,
                        anchor_simulations=spec.gate_anchor_simulations,
                        timeout_s=spec.gate_timeout_s, sampled_plies=spec.sampled_plies,
                        device=spec.device)
    results = run_gate(stem, spec.game, recorded[0] if recorded else None, config,
                       seed=seed, registry=registry)
    games.set_meta(f"{GATE}{candidate_id}", json.dumps([asdict(r) for r in results]))
    required = bars_cleared(games)
    return [skill_verdict(r, required, spec.gate_skill) for r in results]


def skill_verdict(result: CheckResult, required: set[str], gate_skill: str) -> GateResult:
    """How one of the gate's checks binds: soundness checks, and every check under
    ``gate_skill: absolute``, as measured; a skill bar no champion has cleared, advisory;
    one some champion cleared, failed only when the challenger is shown under it."""
    from ratchet.plugins.targets.selfplay.gate import SKILL_CHECKS

    name = f"gate.{result.check}"
    if result.passed or gate_skill != "regression" or result.check not in SKILL_CHECKS:
        return GateResult(name, result.passed, result.reason)
    if result.check not in required:
        return GateResult(name, True, f"advisory, no champion has cleared this bar yet: "
                          f"{result.reason}", advisory=True)
    shown = "shown under it" if result.below else "not shown under it"
    return GateResult(name, not result.below, f"an earlier champion cleared this bar; this "
                      f"challenger is {shown}: {result.reason}")


def bars_cleared(games: GameStore) -> set[str]:
    """The skill bars some champion cleared at its gate: each binds every later one."""
    from ratchet.plugins.targets.selfplay.gate import SKILL_CHECKS

    return {r["check"] for champion in games.champions()
            for r in json.loads(games.meta(f"{GATE}{champion}", "[]") or "[]")
            if r["check"] in SKILL_CHECKS and r["passed"]}
