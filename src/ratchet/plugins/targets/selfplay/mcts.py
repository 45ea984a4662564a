"""PUCT Monte Carlo tree search (AlphaZero's), run for many games at once so that the
network evaluates every game's leaf in one forward pass.

Read top to bottom: one search = ``simulations`` rounds; in each round every game walks
its tree from the root to a leaf by the PUCT rule, the leaves of all games are evaluated
together, and each game's value is backed up along its path.

Values are kept from player 0's point of view, so games where a player moves twice in a
row need no special case: a node's mean value is turned to the mover's point of view
when its parent chooses among its children.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# (observations [B, obs], legal-action masks [B, actions]) -> (priors [B, actions],
# values [B] for the player to move)
Evaluator = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SearchConfig:
    simulations: int = 64
    c_puct: float = 1.5           # exploration weight in the PUCT rule
    dirichlet_alpha: float = 0.3  # root noise (self-play only): P <- (1-eps) P + eps Dir(a)
    dirichlet_epsilon: float = 0.25
    noise: bool = False           # True in self-play, False when rating or gating


@dataclass
class Node:
    prior: float
    visits: int = 0
    value_sum: float = 0.0  # sum of backed-up values, player 0's point of view
    children: dict[int, Node] = field(default_factory=dict)

    @property
    def expanded(self) -> bool:
        return bool(self.children)

    def mean_value(self) -> float:
        return self.value_sum / self.visits if self.visits else 0.0


def observation(state: Any, actions: int) -> tuple[np.ndarray, np.ndarray]:
    """The network's input for the player to move (the engine's observation tensor, then
    who is to move, one-hot), and the mask of its legal actions."""
    player = state.current_player()
    obs = np.asarray(state.observation_tensor(player) + [float(player == 0),
                                                          float(player == 1)],
                     dtype=np.float32)
    legal = np.zeros(actions, dtype=bool)
    legal[state.legal_actions()] = True
    return obs, legal


def select_child(node: Node, player: int, c_puct: float) -> tuple[int, Node]:
    """The PUCT rule: argmax over actions a of Q(s, a) + U(s, a), where
        Q(s, a) = mean value of the child, from the point of view of the player to move
        U(s, a) = c_puct * P(s, a) * sqrt(N(s)) / (1 + N(s, a))
    An unvisited child has Q = 0."""
    sign = 1.0 if player == 0 else -1.0
    sqrt_total = math.sqrt(max(node.visits, 1))
    best, best_score = -1, -math.inf
    for action, child in node.children.items():
        q = sign * child.mean_value()
        u = c_puct * child.prior * sqrt_total / (1 + child.visits)
        if q + u > best_score:
            best, best_score = action, q + u
    return best, node.children[best]


def expand(node: Node, priors: np.ndarray, legal: np.ndarray) -> None:
    for action in np.flatnonzero(legal):
        node.children[int(action)] = Node(prior=float(priors[action]))


def add_root_noise(node: Node, config: SearchConfig, rng: np.random.Generator) -> None:
    """Dirichlet noise on the root's priors, so self-play keeps trying other moves."""
    actions = list(node.children)
    noise = rng.dirichlet([config.dirichlet_alpha] * len(actions))
    eps = config.dirichlet_epsilon
    for action, n in zip(actions, noise, strict=True):
        node.children[action].prior = (1 - eps) * node.children[action].prior + eps * n


def backup(path: Sequence[Node], value_for_player0: float) -> None:
    for node in path:
        node.visits += 1
        node.value_sum += value_for_player0


def evaluate_batch(states: Sequence[Any], actions: int, evaluator: Evaluator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One forward pass for the given states: (priors, values for the player to move,
    legal masks)."""
    pairs = [observation(s, actions) for s in states]
    observations = np.stack([o for o, _ in pairs])
    legal = np.stack([m for _, m in pairs])
    priors, values = evaluator(observations, legal)
    return priors, values, legal


def search(states: Sequence[Any], evaluator: Evaluator, actions: int, config: SearchConfig,
           rng: np.random.Generator, root_values: list[float] | None = None
           ) -> list[np.ndarray]:
    """Visit counts over the actions at each of ``states`` (none terminal) after
    ``config.simulations`` rounds. The evaluator is called once per round with every
    game's leaf that needs it (and once for the roots). ``root_values``, when given,
    receives each root's mean value for the player to move."""
    roots = [Node(prior=1.0) for _ in states]
    priors, _, legal = evaluate_batch(states, actions, evaluator)
    for i, root in enumerate(roots):
        expand(root, priors[i], legal[i])
        if config.noise:
            add_root_noise(root, config, rng)

    for _ in range(config.simulations):
        leaves: list[tuple[Any, list[Node]]] = []
        for root, start in zip(roots, states, strict=True):
            # 1. selection: walk down by the PUCT rule until a leaf or the game's end
            node, state, path = root, start.clone(), [root]
            while node.expanded and not state.is_terminal():
                action, node = select_child(node, state.current_player(), config.c_puct)
                state.apply_action(action)
                path.append(node)
            # 2. a finished game is its own value: the true result, no network needed
            if state.is_terminal():
                backup(path, float(state.returns()[0]))
            else:
                leaves.append((state, path))
        if not leaves:
            continue
        # 3. evaluation: every game's leaf in one forward pass
        priors, values, legal = evaluate_batch([s for s, _ in leaves], actions, evaluator)
        for i, (state, path) in enumerate(leaves):
            # 4. expansion and backup (the value is the mover's: turn it to player 0's)
            expand(path[-1], priors[i], legal[i])
            value = float(values[i]) if state.current_player() == 0 else -float(values[i])
            backup(path, value)

    if root_values is not None:
        root_values.extend(root.mean_value() * (1.0 if state.current_player() == 0 else -1.0)
                           for root, state in zip(roots, states, strict=True))
    counts = []
    for root in roots:
        visits = np.zeros(actions, dtype=np.float64)
        for action, child in root.children.items():
            visits[action] = child.visits
        counts.append(visits)
    return counts


def choose(visits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Play in proportion to visits^(1/T); T = 0: the most visited move."""
    if temperature <= 0:
        return int(np.argmax(visits))
    weights = visits ** (1.0 / temperature)
    return int(rng.choice(len(visits), p=weights / weights.sum()))


def uniform_evaluator(observations: np.ndarray, legal: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Equal priors over legal moves and value 0: plain MCTS guided by terminal results."""
    priors = legal / legal.sum(axis=1, keepdims=True)
    return priors, np.zeros(len(observations))
