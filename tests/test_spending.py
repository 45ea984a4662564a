"""The budget's arithmetic on a real run's store: a step larger than a test batch (a race
round) must fit what is left and one batch, in games and in seconds."""

import time

from ratchet.core.store import Store
from ratchet.engine.recipe import Budget, parse_recipe
from ratchet.engine.runner import run_recipe
from ratchet.engine.spending import Spending
from tests.conftest import toy_recipe


def _store(tmp_path):
    run_recipe(parse_recipe(toy_recipe(tmp_path, schedule={"baseline": 40})),
               tmp_path / "run", max_cycles=1)
    return Store(tmp_path / "run")


def test_a_round_must_fit_what_is_left_and_one_batch(tmp_path):
    store = _store(tmp_path)
    used = store.measured()
    fits = Spending(store, Budget(games=used + 100), batch_cost=40)
    assert fits.allows(100 + 40) and fits.spent is None
    too_big = Spending(store, Budget(games=used + 100), batch_cost=40)
    assert not too_big.allows(100 + 41) and "does not fit" in too_big.spent
    assert not Spending(store, Budget(games=used), batch_cost=40).allows()  # spent


def test_in_seconds_a_round_is_estimated_at_this_starts_rate(tmp_path):
    store = _store(tmp_path)
    spending = Spending(store, Budget(seconds=100.0), batch_cost=10)
    spending._measured_before = store.measured() - 50  # 50 games measured this start
    spending._started = time.monotonic() - 50.0         # in 50 s: 1 s a game
    assert spending.allows(10) and spending.allows(55)  # 50 + 55 <= 100 + 10
    assert not spending.allows(70) and "about 70 s" in spending.spent
