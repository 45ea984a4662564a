"""Battlesnake standard rules on an 11x11 board, in a small engine of our own.

Follows the official ruleset (BattlesnakeOfficial/rules, ``standard`` pipeline) step by step:
move snakes, reduce health, feed snakes, spawn food, eliminate snakes. Coordinates are
(x, y) with y growing upwards, as in the API. Hazards (not in standard) are not modelled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

Point = tuple[int, int]
MOVES: dict[str, Point] = {"up": (0, 1), "down": (0, -1), "left": (-1, 0), "right": (1, 0)}
MAX_HEALTH = 100
START_LENGTH = 3
MINIMUM_FOOD = 1
FOOD_SPAWN_CHANCE = 15  # percent per turn when food >= MINIMUM_FOOD


@dataclass
class Snake:
    id: int
    body: list[Point]
    health: int = MAX_HEALTH
    eliminated: str = ""          # cause; "" while alive
    eliminated_turn: int = -1
    last_move: str = "up"

    @property
    def head(self) -> Point:
        return self.body[0]

    @property
    def alive(self) -> bool:
        return not self.eliminated

    def __len__(self) -> int:
        return len(self.body)


@dataclass
class Board:
    width: int = 11
    height: int = 11
    snakes: list[Snake] = field(default_factory=list)
    food: list[Point] = field(default_factory=list)
    turn: int = 0

    def in_bounds(self, p: Point) -> bool:
        return 0 <= p[0] < self.width and 0 <= p[1] < self.height

    @property
    def alive(self) -> list[Snake]:
        return [s for s in self.snakes if s.alive]

    def occupancy(self) -> np.ndarray:
        """A (width, height) grid: -1 free, else the index of the snake on that cell."""
        grid = np.full((self.width, self.height), -1, dtype=np.int8)
        for s in self.alive:
            for x, y in s.body:
                grid[x, y] = s.id
        return grid


def new_game(n_snakes: int, rng: random.Random, width: int = 11, height: int = 11) -> Board:
    """Fixed start positions (corners and mid-edges, shuffled), 3 stacked segments each,
    one food diagonal to each snake away from the centre, one food in the centre."""
    board = Board(width, height)
    lo, mid, hi = 1, (width - 1) // 2, width - 2
    corners = [(lo, lo), (lo, hi), (hi, lo), (hi, hi)]
    cardinals = [(lo, mid), (mid, lo), (mid, hi), (hi, mid)]
    rng.shuffle(corners)
    rng.shuffle(cardinals)
    starts = cardinals + corners if rng.random() < 0.5 else corners + cardinals
    if n_snakes > len(starts):
        raise ValueError(f"at most {len(starts)} snakes on an {width}x{height} board")
    board.snakes = [Snake(i, [starts[i]] * START_LENGTH) for i in range(n_snakes)]
    _place_start_food(board, rng)
    return board


def _place_start_food(board: Board, rng: random.Random) -> None:
    centre = ((board.width - 1) // 2, (board.height - 1) // 2)
    for snake in board.snakes:
        hx, hy = snake.head
        options = []
        for p in ((hx - 1, hy - 1), (hx - 1, hy + 1), (hx + 1, hy - 1), (hx + 1, hy + 1)):
            if p == centre or p in board.food or _on_snake(board, p):
                continue
            away = ((p[0] < hx < centre[0]) or (centre[0] < hx < p[0])
                    or (p[1] < hy < centre[1]) or (centre[1] < hy < p[1]))
            corner = p[0] in (0, board.width - 1) and p[1] in (0, board.height - 1)
            if away and not corner:
                options.append(p)
        if options:
            board.food.append(rng.choice(options))
    if centre not in board.food and not _on_snake(board, centre):
        board.food.append(centre)


def _on_snake(board: Board, p: Point) -> bool:
    return any(p in s.body for s in board.alive)


def step(board: Board, moves: dict[int, str], rng: random.Random) -> None:
    """Advance one turn. ``moves`` maps snake id to a move; a missing or unknown move
    repeats the snake's last move, as the official engine does."""
    board.turn += 1
    _move_snakes(board, moves)
    for s in board.alive:
        s.health -= 1
    _feed_snakes(board)
    _spawn_food(board, rng)
    _eliminate_snakes(board)


def _move_snakes(board: Board, moves: dict[int, str]) -> None:
    for s in board.alive:
        move = moves.get(s.id)
        if move not in MOVES:
            move = s.last_move
        dx, dy = MOVES[move]
        s.body = [(s.head[0] + dx, s.head[1] + dy)] + s.body[:-1]
        s.last_move = move


def _feed_snakes(board: Board) -> None:
    eaten = []
    for food in board.food:
        for s in board.alive:
            if s.head == food:
                s.health = MAX_HEALTH
                s.body.append(s.body[-1])
                eaten.append(food)
    board.food = [f for f in board.food if f not in eaten]


def _spawn_food(board: Board, rng: random.Random) -> None:
    if len(board.food) < MINIMUM_FOOD:
        count = MINIMUM_FOOD - len(board.food)
    elif rng.randrange(100) < FOOD_SPAWN_CHANCE:
        count = 1
    else:
        return
    taken = set(board.food) | {p for s in board.alive for p in s.body}
    free = [(x, y) for x in range(board.width) for y in range(board.height)
            if (x, y) not in taken]
    for p in rng.sample(free, min(count, len(free))):
        board.food.append(p)


def _eliminate_snakes(board: Board) -> None:
    for s in board.alive:
        if s.health <= 0:
            _eliminate(board, s, "out-of-health")
        elif not board.in_bounds(s.head):
            _eliminate(board, s, "wall-collision")
    # Collisions are decided together, then applied, so two snakes can take each other out.
    by_length = sorted(board.alive, key=len, reverse=True)
    causes: list[tuple[Snake, str]] = []
    for s in board.alive:
        if s.head in s.body[1:]:
            causes.append((s, "self-collision"))
        elif any(o is not s and s.head in o.body[1:] for o in by_length):
            causes.append((s, "snake-collision"))
        elif any(o is not s and o.head == s.head and len(s) <= len(o) for o in by_length):
            causes.append((s, "head-collision"))
    for s, cause in causes:
        _eliminate(board, s, cause)


def _eliminate(board: Board, s: Snake, cause: str) -> None:
    s.eliminated = cause
    s.eliminated_turn = board.turn


def is_over(board: Board) -> bool:
    return len(board.alive) <= 1
