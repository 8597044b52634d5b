"""Seasonal-naive forecasts on the local wall clock, across DST and gaps."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from cluster.timegrid import day_steps
from forecasting.base import ForecastError
from forecasting.naive import SeasonalNaive

WARSAW = ZoneInfo("Europe/Warsaw")


def _wall_clock_series(start: date, days: int) -> pd.Series:
    """Value = local hour + minute/60 + 100 × local weekday: the wall clock made visible."""
    index = pd.date_range(
        pd.Timestamp(start, tz=WARSAW), periods=days * 96, freq="15min"
    ).tz_convert("UTC")
    local = index.tz_convert(WARSAW)
    values = local.hour + local.minute / 60 + 100 * local.day_of_week
    return pd.Series(values.to_numpy(dtype=float), index=index, name="load/x/power_kw")


def test_weekly_naive_repeats_last_week_at_the_same_local_time() -> None:
    history = _wall_clock_series(date(2026, 11, 2), 21)
    steps = day_steps(date(2026, 11, 23), WARSAW)
    result = SeasonalNaive(7).fit(history).forecast(steps)
    local = steps.tz_convert(WARSAW)
    expected = local.hour + local.minute / 60 + 100 * local.day_of_week
    np.testing.assert_allclose(result.point.to_numpy(), expected)
    assert result.model == "naive_weekly"
    assert result.point.index.equals(steps)


@pytest.mark.parametrize(
    ("day", "steps_expected"), [(date(2027, 3, 28), 92), (date(2026, 10, 25), 100)]
)
def test_dst_days_keep_the_local_clock(day: date, steps_expected: int) -> None:
    history = _wall_clock_series(day - pd.Timedelta(days=21), 21)
    steps = day_steps(day, WARSAW)
    result = SeasonalNaive(7).fit(history).forecast(steps)
    assert len(result.point) == steps_expected
    local = steps.tz_convert(WARSAW)
    # 07:00 local on the DST day is forecast from 07:00 local a week before, not 06:00 or 08:00.
    seven = (local.hour == 7) & (local.minute == 0)
    assert result.point[seven].iloc[0] == pytest.approx(7 + 100 * day.weekday())
    assert not result.point.isna().any()


def test_a_gap_a_week_ago_is_filled_from_two_weeks_ago() -> None:
    history = _wall_clock_series(date(2026, 11, 2), 21)
    gap_day = day_steps(date(2026, 11, 16), WARSAW)
    history[gap_day[:40]] = np.nan
    steps = day_steps(date(2026, 11, 23), WARSAW)
    result = SeasonalNaive(7).fit(history).forecast(steps)
    assert not result.point.isna().any()
    # Two weeks ago is the same weekday, so the wall-clock value is the same.
    assert result.point.iloc[0] == pytest.approx(100 * steps.tz_convert(WARSAW)[0].weekday())


def test_empty_history_names_the_series() -> None:
    empty = pd.Series(
        [], dtype=float, index=pd.DatetimeIndex([], tz="UTC"), name="pv/roof/power_kw"
    )
    with pytest.raises(ForecastError, match="pv/roof/power_kw"):
        SeasonalNaive(1).fit(empty)


def test_history_too_old_names_the_series() -> None:
    history = _wall_clock_series(date(2026, 1, 5), 7)
    with pytest.raises(ForecastError, match="load/x/power_kw"):
        SeasonalNaive(7).fit(history).forecast(day_steps(date(2026, 11, 23), WARSAW))
