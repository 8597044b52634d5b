"""Carried-over errors: relative to the profile, and fitted for the forecast's time of day."""

from __future__ import annotations

import numpy as np

from forecasting.dynamics import LeadDynamics

SLOTS = 96
DAYS = 56


def _profile() -> np.ndarray:
    """A building at 200 by day (07:00-19:00) and 50 at night, every day."""
    slot = np.arange(DAYS * SLOTS) % SLOTS
    return np.where((slot >= 28) & (slot < 76), 200.0, 50.0)


def _slots(length: int) -> np.ndarray:
    return (np.arange(length) % SLOTS).astype(np.int64)


def test_independent_busy_days_do_not_carry_into_tomorrow_from_midnight() -> None:
    """Each day's level is its own (no persistence): from midnight nothing carries over.

    Within a day the level does carry (a busy morning means a busy afternoon),
    so origins at all times of day would teach the model that the last 24 hours
    matter; from midnight they are yesterday's, which says nothing of today.
    """
    rng = np.random.default_rng(1)
    expected = _profile()
    day_level = 0.08 * rng.standard_normal(DAYS)
    residual = expected * (
        day_level[np.arange(DAYS * SLOTS) // SLOTS] + 0.01 * rng.standard_normal(DAYS * SLOTS)
    )
    dynamics = LeadDynamics.fit(residual, expected, _slots(len(residual)), SLOTS)
    # Yesterday 8 % busier than its profile, the last four days too, no last-step deviation.
    carried = dynamics.expected_error(np.arange(1, SLOTS + 1), np.array([0.08, 0.08, 0.0]),
                                      expected[:SLOTS])  # fmt: skip
    from_midnight = float(np.mean(np.abs(carried / expected[:SLOTS])))
    assert from_midnight < 0.03
    # From noon the last 24 hours include this morning: the rest of today does carry it.
    at_noon = len(residual) - SLOTS // 2
    noon = LeadDynamics.fit(residual[:at_noon], expected[:at_noon], _slots(at_noon), SLOTS)
    rest_of_day = noon.expected_error(np.arange(1, SLOTS // 2 + 1), np.array([0.08, 0.08, 0.0]),
                                      expected[SLOTS // 2 : SLOTS])  # fmt: skip
    assert float(np.mean(rest_of_day / expected[SLOTS // 2 : SLOTS])) > 2 * from_midnight


def test_a_persistent_level_carries_over_in_proportion_to_the_profile() -> None:
    """A slow level (weeks) carries into tomorrow as a share of each step's expected load."""
    rng = np.random.default_rng(2)
    expected = _profile()
    level = np.zeros(DAYS)
    for day in range(1, DAYS):
        level[day] = 0.95 * level[day - 1] + 0.03 * rng.standard_normal()
    steps = np.arange(DAYS * SLOTS)
    residual = expected * (level[steps // SLOTS] + 0.01 * rng.standard_normal(len(steps)))
    dynamics = LeadDynamics.fit(residual, expected, _slots(len(residual)), SLOTS)
    carried = dynamics.expected_error(np.arange(1, SLOTS + 1), np.array([0.1, 0.1, 0.0]),
                                      expected[:SLOTS])  # fmt: skip
    night, day = carried[:28] / expected[:28], carried[28:76] / expected[28:76]
    # Most of a persistent 10 % carries, and as the same share by night and by day.
    assert 0.05 < np.mean(day) < 0.12
    assert abs(np.mean(night) / np.mean(day) - 1.0) < 0.25


def test_the_hold_out_check_sees_worse_days_but_not_one_extreme_day() -> None:
    rng = np.random.default_rng(3)
    expected = _profile()
    residual = expected * 0.05 * rng.standard_normal(len(expected))
    cut = len(residual) - 14 * SLOTS
    slots = _slots(len(residual))
    inflation = np.ones(len(residual))
    dynamics = LeadDynamics.fit(np.where(np.arange(len(residual)) < cut, residual, np.nan),
                                expected, slots, SLOTS)  # fmt: skip
    calm = dynamics.holdout_ratio(residual, expected, slots, inflation, cut)
    worse = residual.copy()
    worse[cut:] *= 1.5
    one_bad_day = residual.copy()
    one_bad_day[cut + 3 * SLOTS : cut + 4 * SLOTS] *= 20.0
    assert 0.8 < calm < 1.25
    assert dynamics.holdout_ratio(worse, expected, slots, inflation, cut) > 1.3 * calm
    assert dynamics.holdout_ratio(one_bad_day, expected, slots, inflation, cut) < 1.15 * calm
    # Six bad days of fourteen are the model's real errors, though not the median day's.
    some_bad_days = residual.copy()
    some_bad_days[cut : cut + 6 * SLOTS] *= 2.5
    assert dynamics.holdout_ratio(some_bad_days, expected, slots, inflation, cut) > 1.3 * calm
