"""Sharing worker slots among configurations by their own measured progress."""

import pytest

from ratchet.plugins.scaleout.curriculum import Progress, allocate, weigh


def p(gain, low, high, trend=None, games=1000, trend_low=None):
    return Progress(gain=gain, low=low, high=high, trend=trend, games=games,
                    trend_low=trend_low)


def test_the_fastest_learner_gets_the_full_multiplier_and_noise_gets_the_base():
    w = weigh({"fast": p(80, 40, 120), "slow": p(40, 10, 70), "noise": p(30, -20, 80),
               "new": None}, min_share=0.05, max_multiplier=1.5)
    assert w["fast"].weight == 1.5 and "learning fastest" in w["fast"].why
    assert w["slow"].weight == pytest.approx(1.25)  # in proportion to its gain
    assert w["noise"].weight == 1.0 and "no clear progress" in w["noise"].why
    assert w["new"].weight == 1.0 and "not measured" in w["new"].why
    assert sum(x.share for x in w.values()) == pytest.approx(1.0, abs=1e-3)
    assert w["fast"].share > w["slow"].share > w["noise"].share


def test_a_configuration_clearly_behind_its_own_trend_is_boosted():
    w = weigh({"stalled": p(0, -10, 10, trend=100, trend_low=60),
               "steady": p(95, -5, 195, trend=100, trend_low=60),
               "unsure": p(0, 0, 0, trend=30, trend_low=-20)},
              min_share=0.1, max_multiplier=1.5)
    assert w["stalled"].weight == 1.5 and "behind its own trend of +100" in w["stalled"].why
    assert w["steady"].weight == 1.0  # its interval reaches its trend: no evidence
    assert w["unsure"].weight == 1.0  # its trend itself is not clear


def test_shares_never_fall_below_min_share_and_slots_add_up():
    w = weigh({"a": p(500, 400, 600), **{f"b{i}": p(0, -1, 1) for i in range(3)}},
              min_share=0.2, max_multiplier=10)
    assert min(x.share for x in w.values()) == pytest.approx(0.2, abs=1e-3)
    counts = allocate(10, {n: x.share for n, x in w.items()})
    assert sum(counts.values()) == 10 and min(counts.values()) >= 1
    assert counts["a"] == max(counts.values())
    assert allocate(2, {"x": 0.5, "y": 0.3, "z": 0.2}) == {"x": 1, "y": 1, "z": 0}
    even = {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}  # a spare slot among equals goes first
    assert allocate(4, even) == {"a": 2, "b": 1, "c": 1}  # to the one named first
    assert allocate(4, even, first=["c", "a", "b"]) == {"a": 1, "b": 1, "c": 2}
    with pytest.raises(ValueError, match="min_share"):
        weigh({"a": None, "b": None, "c": None}, min_share=0.5, max_multiplier=1.5)
