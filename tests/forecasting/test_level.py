"""Plant output from its recent level: the level, the daily pattern, an ongoing outage."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from cluster.timegrid import day_steps
from forecasting.models import fit
from forecasting.series import ON_OFF_CLEANING
from tests.forecasting.synthetic import WARSAW, local_range

DAY = date(2027, 2, 10)


def _plant(days: int, level_kw: float, seed: int = 0) -> pd.Series:
    """A plant at ``level_kw`` with a 100 kW afternoon rise and 1 % noise."""
    index = local_range(DAY - timedelta(days=days), days + 1)
    hours = index.tz_convert(WARSAW).hour + index.tz_convert(WARSAW).minute / 60
    rise = 100.0 * np.exp(-0.5 * ((hours - 15.0) / 2.0) ** 2)
    noise = np.random.default_rng(seed).normal(0.0, 0.01 * level_kw, len(index))
    return pd.Series(level_kw + rise + noise, index=index, name="biogas/test/inflow_kw")


def test_the_level_and_the_daily_pattern_are_carried_into_tomorrow() -> None:
    series = _plant(21, 1500.0)
    # The level moved up 10 % two days ago: the forecast follows it.
    series[series.index >= series.index[-1] - pd.Timedelta(days=3)] += 150.0
    steps = day_steps(DAY, WARSAW)
    result = fit(series[series.index < steps[0]], model="recent_level").forecast(steps)
    hours = steps.tz_convert(WARSAW).hour
    night = result.point[(hours >= 1) & (hours < 5)].mean()
    afternoon = result.point[hours == 15].mean()
    assert night == pytest.approx(1650.0, rel=0.02)
    assert afternoon - night == pytest.approx(100.0, abs=25.0)
    band = result.intervals[0.8]
    actual = series.reindex(steps)
    inside = ((actual >= band["lower"]) & (actual <= band["upper"])).mean()
    assert 0.6 <= inside <= 1.0


def test_a_plant_off_at_the_origin_is_forecast_to_stay_off() -> None:
    series = _plant(21, 6000.0)
    # A planned outage began at midnight two days ago and is still on.
    series[series.index >= series.index[-1] - pd.Timedelta(hours=47)] = 0.0
    steps = day_steps(DAY, WARSAW)
    history = series[series.index < steps[0]]
    result = fit(history, model="recent_level", cleaning=ON_OFF_CLEANING).forecast(steps)
    assert np.all(result.point == 0.0)
    assert np.all(result.intervals[0.8].to_numpy() == 0.0)
    assert any("forecast to stay off" in note for note in result.notes)


def test_a_short_history_falls_back_with_a_reason() -> None:
    series = _plant(2, 800.0)
    steps = day_steps(DAY, WARSAW)
    result = fit(series[series.index < steps[0]], model="recent_level").forecast(steps)
    assert result.model == "naive_daily"
    assert any("recent_level needs 3" in note for note in result.notes)
