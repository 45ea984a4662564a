"""Two-player zero-sum games from OpenSpiel, named as OpenSpiel names them.

``load_game("connect_four")``, ``load_game("hex(board_size=5)")``: any game registered
with ``pyspiel`` (a game written in Python and registered by the user's module too) that
two players play in turns, with perfect information, no chance and zero-sum results. The
game engine is the referee: only its legal actions are ever played.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ratchet.core.errors import RecipeError


class GameError(RecipeError):
    """The game cannot be played by the self-play target."""


@dataclass(frozen=True)
class GameInfo:
    """What the network needs to fit a game."""

    name: str
    observation_shape: tuple[int, ...]
    actions: int
    max_length: int

    @property
    def observation_size(self) -> int:
        """The engine's observation tensor, then who is to move (one-hot over the two
        players): some games' tensors (Connect Four's) read the same for both players,
        and the value is the player to move's."""
        size = 1
        for d in self.observation_shape:
            size *= d
        return size + 2


def load_game(spec: str) -> Any:
    """The pyspiel game for ``spec``, checked; a GameError says what is wrong.

    ``"my_pkg.my_games:my_game(size=5)"``: a game written in Python, registered with
    ``pyspiel.register_game`` when ``my_pkg.my_games`` is imported (every process that
    plays it imports the module: the loop, the workers, training, the gate)."""
    import importlib

    import pyspiel

    module, _, spec = spec.rpartition(":") if ":" in spec.split("(", 1)[0] else ("", "", spec)
    if module:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - the user's module: say what went wrong
            raise GameError(f"the game module {module!r} could not be imported: "
                            f"{type(exc).__name__}: {exc}; expected an importable module "
                            "that registers its game with pyspiel.register_game") from None
    name = spec.split("(", 1)[0].strip()
    if name not in pyspiel.registered_names():
        raise GameError(f"unknown game {name!r}; expected an OpenSpiel game name with "
                        "optional parameters, e.g. connect_four, tic_tac_toe, "
                        "\"hex(board_size=5)\" or \"breakthrough(rows=6,columns=6)\"")
    try:
        with _stderr_to(io.BytesIO()) as said:  # OpenSpiel prints its error there too
            game = pyspiel.load_game(spec)
    except pyspiel.SpielError as exc:
        raise GameError(f"game {spec!r}: {_first_line(exc, said)}; expected the game's own "
                        "parameters, e.g. \"hex(board_size=5)\"") from None
    kind = game.get_type()
    problems = []
    if game.num_players() != 2:
        problems.append(f"{game.num_players()} players (expected 2)")
    if kind.utility not in (pyspiel.GameType.Utility.ZERO_SUM,
                            pyspiel.GameType.Utility.CONSTANT_SUM):
        problems.append(f"utility {kind.utility.name} (expected zero-sum)")
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        problems.append(f"{kind.dynamics.name} moves (expected players taking turns)")
    if kind.chance_mode != pyspiel.GameType.ChanceMode.DETERMINISTIC:
        problems.append("chance events (expected a deterministic game)")
    if kind.information != pyspiel.GameType.Information.PERFECT_INFORMATION:
        problems.append("hidden information (expected perfect information)")
    if not kind.provides_observation_tensor:
        problems.append("no observation tensor (the network's input)")
    if problems:
        raise GameError(f"game {spec!r} cannot be played by self-play: "
                        f"{'; '.join(problems)}")
    return game


def game_info(spec: str, game: Any | None = None) -> GameInfo:
    game = game or load_game(spec)
    return GameInfo(spec, tuple(game.observation_tensor_shape()), game.num_distinct_actions(),
                    game.max_game_length())


def _first_line(exc: Exception, said: io.BytesIO) -> str:
    text = str(exc).strip() or said.getvalue().decode(errors="replace").strip()
    return (text.splitlines() or ["unknown error"])[0].removeprefix("OpenSpiel exception: ")


@contextmanager
def _stderr_to(sink: io.BytesIO) -> Iterator[io.BytesIO]:
    """File descriptor 2 into ``sink`` for the block (C++ writes there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            sink.write(tmp.read())
