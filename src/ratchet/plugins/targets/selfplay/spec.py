"""The `selfplay` target's recipe section (light: torch and OpenSpiel are imported only
to build it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ratchet.core.registry import BuildContext
from ratchet.core.space import Space
from ratchet.plugins.targets._base import MaximizedGamesSpec, Target
from ratchet.plugins.targets.selfplay import TUNABLE


class BandSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: float = Field(70.0, ge=0, le=100)
    low: float = Field(60.0, ge=0, le=100)
    high: float = Field(80.0, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> BandSpec:
        from ratchet.plugins.scaleout.controllers import Band

        Band(self.target, self.low, self.high)  # its rule: low <= target <= high
        return self


class WorkersControlSpec(BaseModel):
    """The number of self-play workers on each node, kept by that node's PID controllers
    (one per resource, each with its own set point; the most constrained resource wins)
    so that the node's CPU, and GPU where there is one, stay in their bands
    (``ratchet.plugins.scaleout.controllers``)."""

    def controller(self, node: str, workers: int, *, at_least: int = 0,
                   saved: dict[str, Any] | None = None) -> Any:
        """``node``'s ``NodeController`` (a band per resource), running ``workers`` or
        carrying on from its ``saved`` state; ``at_least``: a floor on both bounds."""
        from ratchet.plugins.scaleout.controllers import Band, Gains, NodeController

        controller = NodeController(
            node, {name: Band(**getattr(self, name).model_dump())
                   for name in ("cpu", "gpu", "gpu_memory")},
            min_workers=max(self.min_workers, at_least),
            max_workers=max(self.max_workers, at_least),
            gains=Gains(min_interval_s=self.interval_s), workers=workers)
        if saved:
            controller.restore(saved)
        return controller

    model_config = ConfigDict(extra="forbid")

    cpu: BandSpec = BandSpec()
    gpu: BandSpec = Field(BandSpec(target=75, low=60, high=85), description="GPU "
                          "utilization (pynvml), where a GPU answers")
    gpu_memory: BandSpec = Field(BandSpec(target=70, low=0, high=80), description="GPU "
                                 "memory in use, where a GPU answers")
    min_workers: int = Field(1, ge=0, le=256)
    max_workers: int = Field(8, ge=1, le=256)
    interval_s: float = Field(10.0, gt=0, description="between two adjustments")

    @model_validator(mode="after")
    def _bounds(self) -> WorkersControlSpec:
        if self.min_workers > self.max_workers:
            raise ValueError(f"min_workers {self.min_workers} is above max_workers "
                             f"{self.max_workers}")
        return self


class NetworkSpec(BaseModel):
    """The network's kind: ``mlp`` (any game) or ``conv`` (a residual tower over the
    board's planes, for games whose observation is a board)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["mlp", "conv"] = Field("mlp", description="mlp: residual MLP over the "
                                         "flattened observation (width: hidden); conv: "
                                         "residual convolutional tower over the board")
    channels: int = Field(32, ge=2, le=1024, description="conv: channels of the tower")
    blocks: int | None = Field(None, ge=0, le=64, description="residual blocks (default: "
                               "the target's blocks)")


class SelfPlaySpec(MaximizedGamesSpec):
    """A policy-value network with PUCT search, improved by self-play on an OpenSpiel game
    (one game configuration). A challenger is the champion's network trained on the
    latest self-play games with the candidate's training parameters (``lr``,
    ``train_steps`` in the space when tuned); it plays the champion head to head."""

    kind: Literal["selfplay"] = "selfplay"
    game: str = Field(description="an OpenSpiel game with optional parameters: "
                      "\"connect_four\", \"hex(board_size=5)\"; a game written in Python: "
                      "\"my_pkg.my_games:my_game\" (the module registers it with pyspiel)")
    hidden: int = Field(128, ge=4, le=4096, description="the network's width")
    blocks: int = Field(2, ge=0, le=32, description="residual blocks")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$", description="where "
                        "the network runs (training, the gate, matches, the workers): auto "
                        "(a GPU where torch sees one, else the CPU), cpu, cuda (workers "
                        "spread over the GPUs), cuda:N")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="the network's "
                                 "kind: {kind: mlp} or {kind: conv, channels: 32, blocks: 4}")
    simulations: int = Field(64, ge=1, description="PUCT simulations a move in self-play")
    c_puct: float = Field(1.5, gt=0, le=20, description="the PUCT rule's exploration weight, "
                          "in self-play and in every rated game (recipes/selfplay-search.yaml "
                          "tunes it for a trained network)")
    match_simulations: int = Field(32, ge=1, description="PUCT simulations a move in rated "
                                   "games (the promotion test, the gate)")
    trigger_games: int = Field(200, ge=1, description="new self-play games before a "
                               "challenger is trained")
    min_interval_s: float = Field(0.0, ge=0, description="at least this long between two "
                                  "training runs")
    window_games: int = Field(5000, ge=1, description="training reads the last this many "
                              "games")
    window_half_life_games: float | None = Field(
        None, gt=0, description="recency weighting: a position this many games older than "
        "the newest is drawn half as often in training (none: the window uniformly)")
    value_q_weight: float = Field(0.0, ge=0, le=1, description="the value target: "
                                  "(1 - w) * the game's result + w * the search's value of "
                                  "the position (its root q); 0: the result alone, as "
                                  "AlphaZero")
    temperature_moves: int = Field(8, ge=0, description="self-play: the first plies are "
                                   "played in proportion to visits^(1/temperature)")
    temperature: float = Field(1.0, gt=0, description="self-play: the temperature of the "
                               "first temperature_moves plies")
    temperature_end: float = Field(0.0, ge=0, description="self-play: the temperature after "
                                   "them (0: the most visited move)")
    full_search_share: float = Field(1.0, gt=0, le=1, description="playout-cap "
                                     "randomization (KataGo): the share of self-play moves "
                                     "searched with all `simulations` and learned from; the "
                                     "rest get fast_simulations, no noise, and are only "
                                     "played (1: every move in full)")
    fast_simulations: int = Field(16, ge=1, description="simulations of a fast search "
                                  "(full_search_share < 1)")
    resign_value: float | None = Field(None, ge=-1, lt=1, description="self-play: a player "
                                       "whose search values its position below this "
                                       "resigns (-0.9: sure to lose; none: never)")
    resign_check_share: float = Field(0.1, ge=0, le=1, description="the share of self-play "
                                      "games played to the end regardless, in which false "
                                      "resignations are counted (`status`: resignations)")
    workers: int = Field(0, ge=0, le=256, description="self-play worker processes beside "
                         "the loop (0: the loop plays the self-play games itself before "
                         "training a challenger)")
    workers_control: WorkersControlSpec | None = Field(
        None, description="adjust the number of workers on each node (starting at "
        "`workers`) to keep its CPU (and GPU) in a band: {cpu: {target: 70, low: 60, high: "
        "80}, min_workers: 1, max_workers: 8, interval_s: 10}")
    worker_timeout_s: float = Field(600.0, gt=0, description="a challenger waiting for "
                                    "self-play games fails after this long without one")
    games_per_batch: int = Field(16, ge=1, description="self-play games played side by "
                                 "side (one forward pass for all their leaves)")
    train_from: Literal["champion", "latest"] = Field(
        "champion", description="the network a challenger is trained from: champion (a "
        "copy of it; a rejected challenger's training is lost) or latest (the newest "
        "trained network, promoted or not, as AlphaGo Zero's trainer goes on while the "
        "champion plays the self-play games)")
    train_steps: int = Field(300, ge=1, description="minibatch steps training a challenger "
                             "(a space parameter of that name overrides it)")
    lr: float = Field(1e-3, gt=0, description="learning rate (a space parameter overrides)")
    opening_moves: int = Field(2, ge=0, description="random plies shared by both games of "
                               "a rated pair")
    sampled_plies: int = Field(8, ge=0, description="rated games: in the first plies a "
                               "network plays in proportion to its search's visits, from "
                               "its own seeded stream, so that the games of a match are "
                               "independent samples, not replays of a few openings")
    probation_games: int = Field(0, ge=0, description="after a promotion, the most fresh "
                                 "games a sequential test of the new champion against its "
                                 "predecessor plays (0: no probation); it is reverted when "
                                 "the test shows it worse (see probation_elo)")
    rating_pairs: int = Field(10, ge=0, description="pairs of fresh games each champion "
                              "plays against each anchor (uniform random, the MCTS anchor) "
                              "before its first challenger is trained: the games its "
                              "rating is fitted on (0: no ratings)")
    probation_elo: float = Field(50.0, gt=0, description="probation: a champion this much "
                                 "weaker than its predecessor is reverted with probability "
                                 "0.95; an equal one with probability at most 0.05")
    tournament_interval_s: float = Field(0.0, ge=0, description="shadow tournaments: every "
                                         "this many seconds the champion plays fresh games "
                                         "against a fixed ladder, never used to select "
                                         "(0: none)")
    tournament_pairs: int = Field(10, ge=1, le=1000, description="pairs of games against "
                                  "each rung of the ladder")
    ladder: list[int] = Field([100, 1000], description="the ladder's MCTS rungs (random "
                              "rollouts), by simulations; uniform random is always a rung")
    ladder_simulations: int | None = Field(None, ge=1, description="the champion's PUCT "
                                           "simulations a move in the ladder's games "
                                           "(none: match_simulations)")
    ladder_champions: int = Field(2, ge=0, le=20, description="earlier champions on the "
                                  "ladder (the latest ones before the current)")
    gate: bool = Field(True, description="run the regression gate before a promotion")
    gate_random_pairs: int = Field(20, ge=1, description="gate: pairs against uniform "
                                   "random (score's lower 95% bound >= 0.90)")
    gate_anchor_simulations: int = Field(100, ge=1, description="gate: the MCTS anchor's "
                                         "simulations (score > 0.55 by an SPRT)")
    gate_max_ms_per_move: float = Field(200.0, gt=0, description="gate: inference latency "
                                        "limit per move")
    gate_timeout_s: float = Field(600.0, gt=0, description="gate: its process's time limit")
    gate_skill: Literal["regression", "absolute"] = Field(
        "regression", description="gate: \"regression\": a skill bar (vs_random, vs_anchor) "
        "blocks a promotion once a champion has cleared it, and is advisory until then (so "
        "a run from random weights can improve); \"absolute\": always")

    @field_validator("game")
    @classmethod
    def _playable(cls, game: str) -> str:
        """Checked when the recipe is read (OpenSpiel installed; else ``create`` says
        what to install)."""
        from importlib.util import find_spec

        if find_spec("pyspiel") is not None:
            from ratchet.plugins.targets.selfplay.game import load_game

            load_game(game)
        return game

    @model_validator(mode="after")
    def _board_for_conv(self) -> SelfPlaySpec:
        from importlib.util import find_spec

        if self.network.kind == "conv" and find_spec("pyspiel") is not None:
            from ratchet.plugins.targets.selfplay.game import game_info
            from ratchet.plugins.targets.selfplay.network import board_shape

            info = game_info(self.game)
            if board_shape(info) is None:
                raise ValueError(f"network kind conv reads a board; {self.game}'s "
                                 f"observation has shape {list(info.observation_shape)}: "
                                 "use kind mlp")
        return self

    @field_validator("ladder")
    @classmethod
    def _rungs(cls, value: list[int]) -> list[int]:
        if any(n < 1 for n in value) or len(set(value)) != len(value):
            raise ValueError(f"ladder {value}: expected distinct MCTS simulation counts, "
                             "each at least 1, e.g. [100, 1000, 10000]")
        return sorted(value)

    def play_config(self) -> Any:
        """How self-play games are played (``play.SelfPlayConfig``)."""
        from ratchet.plugins.targets.selfplay.mcts import SearchConfig
        from ratchet.plugins.targets.selfplay.play import SelfPlayConfig

        return SelfPlayConfig(SearchConfig(simulations=self.simulations, noise=True,
                                           c_puct=self.c_puct),
                              temperature_moves=self.temperature_moves,
                              temperature=self.temperature,
                              temperature_end=self.temperature_end,
                              full_search_share=self.full_search_share,
                              fast_simulations=self.fast_simulations,
                              resign_value=self.resign_value,
                              resign_check_share=self.resign_check_share)

    def match_search(self) -> Any:
        """The network's search in rated games (``mcts.SearchConfig``, no noise)."""
        from ratchet.plugins.targets.selfplay.mcts import SearchConfig

        return SearchConfig(simulations=self.match_simulations, c_puct=self.c_puct)

    def ladder_search(self) -> Any:
        """The champion's search in the ladder's games (shadow tournaments, benches)."""
        from ratchet.plugins.targets.selfplay.mcts import SearchConfig

        return SearchConfig(simulations=self.ladder_simulations or self.match_simulations,
                            c_puct=self.c_puct)

    def check_space(self, space: Space) -> None:
        unknown = [p.name for p in space if p.name not in TUNABLE]
        if unknown:
            raise ValueError(f"the selfplay target tunes {', '.join(TUNABLE)}; "
                             f"{', '.join(unknown)} is not one of them")

    @classmethod
    def report(cls, run_dir: Path) -> dict[str, Any]:
        from ratchet.plugins.targets.selfplay.report import report

        return report(run_dir)

    @classmethod
    def metrics(cls, run_dir: Path) -> list[tuple[str, str, str, float | None]]:
        from ratchet.plugins.targets.selfplay.report import metrics

        return metrics(run_dir)

    @classmethod
    def views(cls, run_dir: Path) -> list[dict[str, Any]]:
        from ratchet.plugins.targets.selfplay.report import views

        return views(run_dir)

    def create(self, context: BuildContext) -> Target:
        from ratchet.core.extras import require

        require("torch", "safetensors", "pyspiel", feature="the selfplay target")
        from ratchet.plugins.targets.selfplay.target import SelfPlayTarget

        return SelfPlayTarget(self, context.run, seed=context.seed)
