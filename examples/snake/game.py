"""Play one seeded game: our snake (id 0) against three opponents."""

from __future__ import annotations

import random
from dataclasses import dataclass

from examples.snake.bot import Style, choose_move
from examples.snake.engine import is_over, new_game, step

MAX_TURNS = 500


@dataclass(frozen=True)
class GameResult:
    score: float        # for snake 0: 1 win, 0.5 draw, 0 loss
    turns: int
    versus: float | None = None  # snake 0 against snake 1 (head-to-head games)


def play(styles: list[Style], seed: int, max_turns: int = MAX_TURNS) -> GameResult:
    """A win is being the last snake alive; dying on the same turn as the last others, or
    being alive at ``max_turns``, is a draw."""
    rng = random.Random(seed)
    board = new_game(len(styles), rng)
    bot_rngs = [random.Random(seed * 31 + i + 1) for i in range(len(styles))]
    while not is_over(board) and board.turn < max_turns:
        moves = {s.id: choose_move(board, s, styles[s.id], bot_rngs[s.id]) for s in board.alive}
        step(board, moves, rng)
    return GameResult(_score(board, 0), board.turn, _versus(board))


def _score(board, sid: int) -> float:
    me = board.snakes[sid]
    if me.alive:
        return 1.0 if len(board.alive) == 1 else 0.5
    last_turn = max(s.eliminated_turn for s in board.snakes)
    if not board.alive and me.eliminated_turn == last_turn:
        return 0.5
    return 0.0


def _versus(board) -> float:
    a, b = board.snakes[0], board.snakes[1]
    ta = board.turn + 1 if a.alive else a.eliminated_turn
    tb = board.turn + 1 if b.alive else b.eliminated_turn
    return 1.0 if ta > tb else 0.0 if ta < tb else 0.5
