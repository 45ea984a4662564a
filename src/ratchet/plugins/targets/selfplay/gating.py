"""The regression gate as the self-play target's promotion check: the gate's settings
from the spec, its results kept per challenger, and the skill bars that bind once some
champion has cleared them (``gate_skill: regression``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ratchet.core.types import GateResult
from ratchet.plugins.targets.selfplay.gamestore import GATE, GameStore

if TYPE_CHECKING:
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec


def gate_checks(spec: SelfPlaySpec, games: GameStore, candidate_id: str, stem: Path,
                seed: int, registry: Path) -> list[GateResult]:
    """Run the gate on ``candidate_id``'s network (saved at ``stem``, recorded in
    ``games``) in its own process. A skill bar no champion has cleared yet is reported but
    does not bind under ``gate_skill: regression`` (a run from random weights must be
    able to start)."""
    from ratchet.plugins.targets.selfplay.gate import SKILL_CHECKS, GateConfig, run_gate

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
    checks = []
    for r in results:
        advisory = (spec.gate_skill == "regression" and r.check in SKILL_CHECKS
                    and r.check not in required and not r.passed)
        checks.append(GateResult(f"gate.{r.check}", r.passed or advisory,
                                 f"advisory, no champion has cleared this bar yet: "
                                 f"{r.reason}" if advisory else r.reason,
                                 advisory=advisory))
    return checks


def bars_cleared(games: GameStore) -> set[str]:
    """The skill bars some champion cleared at its gate: each binds every later one."""
    from ratchet.plugins.targets.selfplay.gate import SKILL_CHECKS

    return {r["check"] for champion in games.champions()
            for r in json.loads(games.meta(f"{GATE}{champion}", "[]") or "[]")
            if r["check"] in SKILL_CHECKS and r["passed"]}
