"""A heuristic snake whose behaviour is set by named weights.

Each of the four moves gets a score; the best safe one is played:

* certain death (wall, a body segment that will still be there) is never chosen if
  anything else is possible;
* ``space``: free area reachable from the new head (flood fill), up to 3x our length;
  ``trap``: penalty when that area is smaller than our length;
* ``head_danger``: penalty for a square an equal or longer enemy head can also reach;
  ``aggression``: bonus for one a shorter enemy head can reach (we would win the collision);
* ``food``: attraction to the nearest food, times ``hunger_boost`` when health is below
  ``hunger``;
* ``centre``, ``edge``, ``tail``, ``hunt``: stay central, avoid walls, stay near our tail,
  chase the heads of shorter snakes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from examples.snake.engine import MOVES, Board, Point, Snake

WEIGHTS = ("food", "space", "trap", "head_danger", "aggression", "centre", "edge", "tail",
           "hunt")


@dataclass(frozen=True)
class Style:
    weights: dict[str, float]
    hunger: int = 30
    hunger_boost: float = 2.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Style:
        weights = {k: float(config.get("weights", {}).get(k, 0.0)) for k in WEIGHTS}
        return cls(weights, int(config.get("hunger", 30)),
                   float(config.get("hunger_boost", 2.0)))


# Fixed opponents of different styles, for tournament mode.
OPPONENTS: dict[str, Style] = {
    "greedy": Style({"food": 4.0, "space": 1.0, "trap": 4.0, "head_danger": 1.5,
                     "aggression": 0.5, "centre": 0.2, "edge": 0.3, "tail": 0.0, "hunt": 0.0},
                    hunger=60, hunger_boost=1.5),
    "cautious": Style({"food": 0.8, "space": 3.0, "trap": 8.0, "head_danger": 4.0,
                       "aggression": 0.0, "centre": 0.5, "edge": 0.8, "tail": 1.0, "hunt": 0.0},
                      hunger=25, hunger_boost=4.0),
    "aggressive": Style({"food": 1.5, "space": 1.5, "trap": 5.0, "head_danger": 1.0,
                         "aggression": 3.0, "centre": 0.5, "edge": 0.5, "tail": 0.0,
                         "hunt": 2.0}, hunger=35, hunger_boost=2.5),
    "balanced": Style({"food": 2.0, "space": 2.0, "trap": 6.0, "head_danger": 3.0,
                       "aggression": 1.0, "centre": 0.8, "edge": 0.5, "tail": 0.3, "hunt": 0.5},
                      hunger=40, hunger_boost=2.0),
}


def choose_move(board: Board, me: Snake, style: Style, rng: random.Random) -> str:
    blocked = _blocked(board)
    free = ~blocked
    labels, _ = ndimage.label(free)
    sizes = np.bincount(labels.ravel())
    enemies = [s for s in board.alive if s is not me]
    w = style.weights
    centre = ((board.width - 1) / 2, (board.height - 1) / 2)
    food_weight = w["food"] * (style.hunger_boost if me.health < style.hunger else 1.0)
    best, best_score = None, -np.inf
    moves = list(MOVES.items())
    rng.shuffle(moves)  # ties are broken at random, not by a fixed direction
    for name, (dx, dy) in moves:
        p = (me.head[0] + dx, me.head[1] + dy)
        if not board.in_bounds(p) or blocked[p]:
            score = -1e6
        else:
            score = _score(board, me, p, enemies, labels, sizes, w, food_weight, centre)
        if score > best_score:
            best, best_score = name, score
    return best or me.last_move


def _score(board: Board, me: Snake, p: Point, enemies: list[Snake], labels: np.ndarray,
           sizes: np.ndarray, w: dict[str, float], food_weight: float,
           centre: tuple[float, float]) -> float:
    n = len(me)
    area = int(sizes[labels[p]])
    score = w["space"] * min(area, 3 * n) / (3 * n)
    if area < n:
        score -= w["trap"] * (1.0 - area / n)
    for e in enemies:
        if abs(e.head[0] - p[0]) + abs(e.head[1] - p[1]) == 1:
            score += -w["head_danger"] if len(e) >= n else w["aggression"]
    if board.food:
        d = min(abs(f[0] - p[0]) + abs(f[1] - p[1]) for f in board.food)
        score += food_weight / (1.0 + d)
    score -= w["centre"] * (abs(p[0] - centre[0]) + abs(p[1] - centre[1])) / board.width
    if p[0] in (0, board.width - 1) or p[1] in (0, board.height - 1):
        score -= w["edge"]
    tail = me.body[-1]
    score -= w["tail"] * (abs(tail[0] - p[0]) + abs(tail[1] - p[1])) / board.width
    shorter = [e.head for e in enemies if len(e) < n]
    if shorter:
        d = min(abs(h[0] - p[0]) + abs(h[1] - p[1]) for h in shorter)
        score -= w["hunt"] * d / board.width
    return score


def _blocked(board: Board) -> np.ndarray:
    """Cells that will hold a body segment next turn: every segment except a tail that is
    about to move (a snake that just ate keeps its tail for one turn)."""
    blocked = np.zeros((board.width, board.height), dtype=bool)
    for s in board.alive:
        keep = s.body if len(s.body) > 1 and s.body[-1] == s.body[-2] else s.body[:-1]
        for x, y in keep:
            blocked[x, y] = True
    return blocked
