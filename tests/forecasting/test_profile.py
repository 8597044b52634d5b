"""The calendar profile: rare day classes borrow from the working day only where they match it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasting.models import fit
from forecasting.profile import SATURDAY, SUNDAY_HOLIDAY
from tests.forecasting.synthetic import (
    NIGHT_LEVEL,
    SATURDAY_LEVEL,
    WARSAW,
    WORKING_LEVEL,
    local_range,
    planted_pattern,
)

SLOTS = 96


def _day_noise_series(seed: int) -> pd.Series:
    """The planted load with a whole-day level noise of 5 % (busy and quiet days) and step noise."""
    index = local_range(date(2026, 2, 2), 56)
    local = index.tz_convert(WARSAW)
    day = np.asarray((local.normalize().tz_localize(None) - pd.Timestamp(2026, 2, 2)).days)
    rng = np.random.default_rng(seed)
    day_level = 1.0 + 0.05 * rng.standard_normal(day.max() + 1)
    values = planted_pattern(index) * day_level[day] + rng.normal(0.0, 2.0, len(index))
    return pd.Series(values, index=index, name="load/office/power_kw")


def _saturday_raw_mean(series: pd.Series, hours: np.ndarray) -> float:
    local = pd.DatetimeIndex(series.index).tz_convert(WARSAW)
    mine = (local.day_of_week == 5) & np.isin(local.hour, hours)
    return float(series[mine].mean())


def test_saturday_nights_borrow_from_the_working_days_and_saturday_mornings_do_not() -> None:
    night_hours = np.arange(0, 6)
    errors_model, errors_raw, morning = [], [], []
    for seed in range(4):
        series = _day_noise_series(seed)
        inner = fit(series, kind="load", halflife_days=None).inner
        levels = inner.profile.levels.reshape(-1, SLOTS)  # type: ignore[attr-defined]
        errors_model.append(np.mean(levels[SATURDAY, : 6 * 4]) - NIGHT_LEVEL)
        errors_raw.append(_saturday_raw_mean(series, night_hours) - NIGHT_LEVEL)
        morning.append(np.mean(levels[SATURDAY, 9 * 4 : 12 * 4]))
    # Eight Saturdays carry the noise of eight day levels; some forty working nights do not.
    assert np.sqrt(np.mean(np.square(errors_model))) < 0.7 * np.sqrt(np.mean(np.square(errors_raw)))
    # The morning differs from the working day (130 against 160): it keeps its own level.
    assert np.mean(morning) == pytest.approx(SATURDAY_LEVEL, abs=4.0)
    assert abs(np.mean(morning) - WORKING_LEVEL) > 20.0


def test_sunday_keeps_its_own_shape_where_it_differs_from_saturday() -> None:
    series = _day_noise_series(7)
    inner = fit(series, kind="load", halflife_days=None).inner
    levels = inner.profile.levels.reshape(-1, SLOTS)  # type: ignore[attr-defined]
    # 09:00-12:00: Saturday has its morning opening, Sunday only the daytime level.
    sunday_morning = float(np.mean(levels[SUNDAY_HOLIDAY, 9 * 4 : 12 * 4]))
    assert sunday_morning == pytest.approx(110.0, abs=4.0)


def test_a_weekday_seen_on_a_single_day_keeps_that_day() -> None:
    """One Monday in the history, closed (a theatre's first Monday after reopening), is evidence."""
    series = _day_noise_series(3)
    local = pd.DatetimeIndex(series.index).tz_convert(WARSAW)
    monday = np.asarray(local.day_of_week == 0)
    last_monday = max(stamp.date() for stamp in local if stamp.day_of_week == 0)
    only_last = monday & np.asarray([stamp.date() == last_monday for stamp in local])
    series[monday & ~only_last] = np.nan
    working_hours = np.asarray((local.hour >= 7) & (local.hour < 17))
    closed = only_last & working_hours
    series[closed] = 110.0 + np.random.default_rng(5).normal(0.0, 2.0, int(closed.sum()))
    inner = fit(series, kind="load").inner
    levels = inner.profile.levels.reshape(-1, SLOTS)  # type: ignore[attr-defined]
    assert np.mean(levels[0, 9 * 4 : 15 * 4]) == pytest.approx(110.0, abs=8.0)
