"""The snake engine, rule by rule, against the Battlesnake standard rules."""

import random

import pytest

from examples.snake import engine
from examples.snake.bot import OPPONENTS, choose_move
from examples.snake.engine import Board, Snake, step
from examples.snake.game import play


def board(*snakes: Snake, food=()) -> Board:
    return Board(snakes=list(snakes), food=list(food))


class NoSpawn(random.Random):
    def randrange(self, *args, **kwargs):  # 99 >= FOOD_SPAWN_CHANCE: never spawns extra food
        return 99


def test_start_positions_bodies_and_food():
    for seed in range(20):
        b = engine.new_game(4, random.Random(seed))
        fixed = {(1, 1), (1, 9), (9, 1), (9, 9), (1, 5), (5, 1), (5, 9), (9, 5)}
        for s in b.snakes:
            assert s.head in fixed and s.body == [s.head] * 3 and s.health == 100
        assert len({s.head for s in b.snakes}) == 4
        assert (5, 5) in b.food and len(b.food) == 5
        for s, f in zip(b.snakes, [f for f in b.food if f != (5, 5)], strict=True):
            assert abs(f[0] - s.head[0]) == 1 and abs(f[1] - s.head[1]) == 1


def test_moving_advances_head_and_drops_tail_and_costs_one_health():
    s = Snake(0, [(5, 5), (5, 4), (5, 3)])
    b = board(s, Snake(1, [(0, 0), (0, 1), (0, 2)]), food=[(10, 10)])
    step(b, {0: "up", 1: "right"}, NoSpawn())
    assert s.body == [(5, 6), (5, 5), (5, 4)] and s.health == 99


def test_missing_move_repeats_the_last_move():
    s = Snake(0, [(5, 5), (5, 4), (5, 3)], last_move="left")
    b = board(s, Snake(1, [(0, 0), (0, 1), (0, 2)]), food=[(10, 10)])
    step(b, {1: "right"}, NoSpawn())
    assert s.head == (4, 5)


def test_eating_restores_health_and_grows_by_stacking_the_tail():
    s = Snake(0, [(5, 5), (5, 4), (5, 3)], health=10)
    b = board(s, Snake(1, [(0, 0), (0, 1), (0, 2)]), food=[(5, 6), (10, 10)])
    step(b, {0: "up", 1: "right"}, NoSpawn())
    assert s.health == 100 and s.body == [(5, 6), (5, 5), (5, 4), (5, 4)]
    assert (5, 6) not in b.food


def test_food_spawns_when_below_the_minimum():
    b = board(Snake(0, [(5, 5), (5, 4), (5, 3)]), Snake(1, [(0, 0), (0, 1), (0, 2)]),
              food=[(5, 6)])
    step(b, {0: "up", 1: "right"}, NoSpawn())
    assert len(b.food) == engine.MINIMUM_FOOD


def test_wall_collision_and_starvation():
    a = Snake(0, [(10, 5), (9, 5), (8, 5)])
    b_ = Snake(1, [(3, 3), (3, 2), (3, 1)], health=1)
    c = Snake(2, [(7, 7), (7, 6), (7, 5)])
    b = board(a, b_, c, food=[(0, 10)])
    step(b, {0: "right", 1: "up", 2: "up"}, NoSpawn())
    assert a.eliminated == "wall-collision" and b_.eliminated == "out-of-health"
    assert c.alive and engine.is_over(b)


def test_self_collision():
    s = Snake(0, [(5, 5), (6, 5), (6, 4), (5, 4), (4, 4)])
    b = board(s, Snake(1, [(0, 0), (0, 1), (0, 2)]), food=[(10, 10)])
    step(b, {0: "down", 1: "right"}, NoSpawn())
    assert s.eliminated == "self-collision"


def test_body_collision_and_following_a_moving_tail_is_safe():
    a = Snake(0, [(5, 5), (5, 4), (5, 3)])
    b_ = Snake(1, [(6, 6), (6, 5), (6, 4)])
    b = board(a, b_, food=[(10, 10)])
    step(b, {0: "right", 1: "up"}, NoSpawn())   # a's head enters b's old neck
    assert a.eliminated == "snake-collision" and b_.alive
    a = Snake(0, [(5, 5), (5, 4), (5, 3)])
    b_ = Snake(1, [(4, 6), (4, 5), (5, 6)])     # b's tail at (5, 6) moves away
    b = board(a, b_, food=[(10, 10)])
    step(b, {0: "up", 1: "up"}, NoSpawn())
    assert a.alive and b_.alive


def test_a_tail_that_just_grew_stays_put():
    a = Snake(0, [(5, 5), (5, 4), (5, 3)])
    b_ = Snake(1, [(4, 6), (4, 5), (5, 6), (5, 6)])  # stacked tail: it ate last turn
    b = board(a, b_, food=[(10, 10)])
    step(b, {0: "up", 1: "up"}, NoSpawn())
    assert a.eliminated == "snake-collision"


def test_head_to_head_shorter_loses_equal_both_die():
    long_ = Snake(0, [(4, 5), (3, 5), (2, 5), (1, 5)])
    short = Snake(1, [(6, 5), (7, 5), (8, 5)])
    third = Snake(2, [(0, 10), (0, 9), (0, 8)])
    b = board(long_, short, third, food=[(10, 0)])
    step(b, {0: "right", 1: "left", 2: "right"}, NoSpawn())
    assert long_.alive and short.eliminated == "head-collision"
    a = Snake(0, [(4, 5), (3, 5), (2, 5)])
    c = Snake(1, [(6, 5), (7, 5), (8, 5)])
    b = board(a, c, third, food=[(10, 0)])
    step(b, {0: "right", 1: "left", 2: "right"}, NoSpawn())
    assert a.eliminated == c.eliminated == "head-collision"


def test_mutual_collisions_are_decided_together():
    # the heads swap squares: each lands on the other's neck in the same turn, both die
    a = Snake(0, [(5, 5), (4, 5), (3, 5)])
    b_ = Snake(1, [(6, 5), (7, 5), (8, 5)])
    b = board(a, b_, Snake(2, [(0, 0), (0, 1), (0, 2)]), food=[(10, 10)])
    step(b, {0: "right", 1: "left", 2: "right"}, NoSpawn())
    assert a.eliminated == b_.eliminated == "snake-collision"


def test_bot_never_picks_certain_death_when_a_safe_move_exists():
    s = Snake(0, [(0, 5), (1, 5), (2, 5)])
    b = board(s, Snake(1, [(0, 7), (0, 6), (1, 6)]), food=[(10, 10)])
    for seed in range(10):
        assert choose_move(b, s, OPPONENTS["greedy"], random.Random(seed)) == "down"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_games_are_deterministic_and_end(seed):
    styles = list(OPPONENTS.values())
    first, again = play(styles, seed), play(styles, seed)
    assert first == again
    assert 1 <= first.turns <= 500 and first.score in (0.0, 0.5, 1.0)


def test_the_committed_example_config_holds_the_shipped_defaults():
    """`make demo` tunes examples/snake/config.yaml in place (it is the demo's live file);
    a tuned copy must never be committed: the benches start from these defaults. Reads
    the committed version, so a demo's local edits do not fail this test."""
    import subprocess

    import yaml

    from tests.conftest import ROOT

    shown = subprocess.run(["git", "show", "HEAD:examples/snake/config.yaml"], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    text = shown.stdout if shown.returncode == 0 else \
        (ROOT / "examples" / "snake" / "config.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["weights"] == {"food": 2.5, "space": 0.5, "trap": 1.0, "head_danger": 0.3,
                                 "aggression": 0.5, "centre": 0.3, "edge": 0.0,
                                 "tail": 0.0, "hunt": 0.0}
    assert (config["hunger"], config["hunger_boost"]) == (30, 1.5)
