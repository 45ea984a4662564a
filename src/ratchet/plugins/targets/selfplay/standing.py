"""A new champion's standing, measured before its first challenger is trained: its rating
games against fixed anchors (the only games ratings are fitted on), and its probation
against the champion it replaced (``probation``), which may send the run back to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ratchet.core.errors import EvaluationError
from ratchet.plugins.targets.selfplay.gamestore import REVERT, GameStore

if TYPE_CHECKING:
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec

PLAYERS = 1_000_000  # probation's seeds for its players: apart from its test's batches


@dataclass(frozen=True)
class Standing:
    spec: SelfPlaySpec
    seed: int
    game: Any
    actions: int
    games: GameStore
    network: Callable[[str], Any]  # a recorded network, checked against its hash
    stopping: Callable[[], bool]

    def version_of(self, champion_id: str) -> int:
        """The champion version of ``champion_id`` (0 when it has none yet)."""
        recorded = self.games.network(champion_id)
        return (recorded[1] or 0) if recorded else 0

    def rate(self, champion_id: str) -> None:
        """``rating_pairs`` fresh pairs against each anchor (uniform random, the MCTS
        anchor), once per champion (``gamestore.RATING_PURPOSES``)."""
        from ratchet.core.seeds import derive
        from ratchet.plugins.targets.selfplay.match import (
            MCTSAnchor,
            NetworkPlayer,
            RandomPlayer,
            play_pairs,
        )

        key = f"rated:{champion_id}"
        if not self.spec.rating_pairs or self.games.meta(key) is not None:
            return
        seeds = derive(self.seed, "rating", self.version_of(champion_id), 0, shards=5)
        champion = NetworkPlayer(champion_id, self.network(champion_id), self.actions,
                                 self.spec.match_search(),
                                 seed=seeds[0], sampled_plies=self.spec.sampled_plies)
        anchors = (RandomPlayer(seeds[1]),
                   MCTSAnchor(self.game, self.spec.gate_anchor_simulations, seeds[2]))
        played = [r for anchor, seed in zip(anchors, seeds[3:], strict=True)
                  for r in play_pairs(self.game, champion, anchor, self.spec.rating_pairs,
                                      seed, self.spec.opening_moves,
                                      stopping=self.stopping)]
        self.games.add_rated(self.spec.game, "anchor", played)
        self.games.set_meta(key, f"{len(played)} games")

    def probation(self, champion_id: str) -> None:
        """A sequential test on fresh games against the predecessor, once per champion.
        A champion shown worse is put back (``take_revert``, asked by the loop at its
        next safe point) and this cycle fails with the reason."""
        from ratchet.core.seeds import derive
        from ratchet.plugins.targets.selfplay.match import NetworkPlayer
        from ratchet.plugins.targets.selfplay.probation import ProbationRule, probation_test

        key = f"probation:{champion_id}"
        if not self.spec.probation_games or self.games.meta(key) is not None:
            return
        predecessor = self.games.champion_before(champion_id)
        if predecessor is None:
            return
        version = self.version_of(champion_id)

        def seed(batch: int) -> int:  # the test's batches from 0; its players' PLAYERS on
            return derive(self.seed, "probation", version, batch)[0]

        search = self.spec.match_search()
        plies = self.spec.sampled_plies
        champion = NetworkPlayer(champion_id, self.network(champion_id), self.actions,
                                 search, seed=seed(PLAYERS), sampled_plies=plies)
        before = NetworkPlayer(predecessor, self.network(predecessor), self.actions,
                               search, seed=seed(PLAYERS + 1), sampled_plies=plies)
        rule = ProbationRule(elo=self.spec.probation_elo, max_games=self.spec.probation_games)
        result = probation_test(self.game, champion, before, rule, seed,
                                self.spec.opening_moves, stopping=self.stopping)
        self.games.add_rated(self.spec.game, "probation", result.games)
        verdict = f"champion {champion_id} {result.reason}"
        if not result.revert:
            self.games.set_meta(key, f"passed: {verdict}")
            return
        self.games.set_meta(key, f"reverted: {verdict}")
        self.games.set_meta(REVERT, json.dumps([predecessor, f"probation failed: {verdict}"]))
        raise EvaluationError(f"probation failed, reverting to {predecessor}: {verdict}")

    def take_revert(self) -> tuple[str, str] | None:
        """The predecessor a failed probation asked for, and why (once)."""
        wanted = self.games.take_meta(REVERT)
        if wanted is None:
            return None
        predecessor, reason = json.loads(wanted)
        return str(predecessor), str(reason)
