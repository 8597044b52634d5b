"""Dim levels are planned on a high bound of the traffic, never below its point."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster.config import load_demo_config
from cluster.timeseries import SeriesId
from forecasting.base import ForecastResult
from forecasting.daily import DayForecast
from forecasting.lighting_traffic import (
    TRAFFIC_LEVEL,
    TRAFFIC_MARGIN,
    traffic_planned_for_lighting,
)

CONFIG = load_demo_config()
STEPS = pd.date_range("2027-01-15 20:00", periods=3, freq="15min", tz="UTC", name="ts")


def traffic_forecast(point: list[float], upper_99: list[float] | None) -> ForecastResult:
    series = pd.Series(point, index=STEPS)
    intervals = {}
    if upper_99 is not None:
        intervals[TRAFFIC_LEVEL] = pd.DataFrame(
            {"lower": [0.0] * len(point), "upper": upper_99}, index=STEPS
        )
    return ForecastResult(point=series, model="test", intervals=intervals)


def test_each_lit_road_is_planned_on_the_margin_above_its_99_percent_bound() -> None:
    busy, quiet = (SeriesId.traffic(c.id) for c in CONFIG.assets.lighting_circuits[:2])
    temperature = [-2.0, -2.5, -3.0]
    values = pd.DataFrame(
        {busy: [400.0, 300.0, 200.0], quiet: [40.0, 30.0, 20.0],
         SeriesId.TEMPERATURE_C: temperature},
        index=STEPS,
    )  # fmt: skip
    forecast = DayForecast(
        values=values,
        results={
            busy: traffic_forecast([400.0, 300.0, 200.0], [600.0, 500.0, 100.0]),
            quiet: traffic_forecast([40.0, 30.0, 20.0], None),  # a model without intervals
        },
        published=frozenset(),
        failed={},
    )
    planned = traffic_planned_for_lighting(forecast, CONFIG)
    # 1.25 × 600 and 1.25 × 500; where 1.25 × the bound lies below the point, the point.
    assert TRAFFIC_MARGIN == 1.25
    assert planned[busy].tolist() == pytest.approx([750.0, 625.0, 200.0])
    assert planned[quiet].tolist() == [40.0, 30.0, 20.0]
    assert planned[SeriesId.TEMPERATURE_C].tolist() == temperature
    assert forecast.values[busy].tolist() == [400.0, 300.0, 200.0]  # the forecast is kept as made
