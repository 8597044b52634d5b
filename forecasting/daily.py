"""The day-ahead forecast of every series the optimiser needs.

Version 0 uses seasonal-naive models: weekly for series driven by people
(loads, traffic), daily for weather-driven and plant series. Published
day-ahead prices are used as they are when the store has them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from cluster.config import ClusterConfig
from cluster.timeseries import SeriesId
from forecasting.base import ForecastError, ForecastResult
from forecasting.naive import SeasonalNaive

#: Days of history a day-ahead forecast reads.
HISTORY_DAYS = 28


@dataclass(frozen=True)
class SeriesNeed:
    """A series the optimiser needs, and the model that forecasts it by default."""

    series_id: str
    season_days: int


def needed_series(config: ClusterConfig) -> list[SeriesNeed]:
    """Every series a day's plan needs, with its default seasonal model."""
    needs = [
        SeriesNeed(SeriesId.load(cp.id), 7)
        for cp in config.connection_points
        if cp.annual_consumption_mwh > 0 or config.assets_at(cp.id)
    ]
    needs += [SeriesNeed(SeriesId.pv(p.id), 1) for p in config.assets.pv_plants]
    needs += [SeriesNeed(SeriesId.wte(c.id), 1) for c in config.assets.wte_chps]
    needs += [SeriesNeed(SeriesId.biogas_inflow(c.id), 1) for c in config.assets.biogas_chps]
    needs += [SeriesNeed(SeriesId.heat_demand(d.id), 1) for d in config.assets.district_heating]
    needs += [SeriesNeed(SeriesId.traffic(c.id), 7) for c in config.assets.lighting_circuits]
    needs.append(SeriesNeed(SeriesId.DAY_AHEAD_PRICE, 7))
    return needs


@dataclass(frozen=True)
class DayForecast:
    """Forecasts of every needed series for one day's steps."""

    values: pd.DataFrame
    results: dict[str, ForecastResult]
    published: frozenset[str]
    failed: dict[str, str]


def forecast_day(
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
    read_history: Callable[[list[str], pd.Timestamp, pd.Timestamp], pd.DataFrame],
) -> DayForecast:
    """Forecast every needed series over ``steps``.

    Parameters
    ----------
    config
        The cluster.
    steps
        UTC step starts of the day to forecast.
    read_history
        ``(series_ids, start, end) -> wide frame`` of stored values; the
        store's ``read_series``.

    A series whose values for ``steps`` are already all stored and that is
    published ahead (the day-ahead price) is taken as published. A series
    that cannot be forecast is reported in ``failed``; the others still run.
    """
    needs = needed_series(config)
    ids = [n.series_id for n in needs]
    start = steps[0] - pd.Timedelta(days=HISTORY_DAYS)
    history = read_history(ids, start, steps[0])
    end = steps[-1] + pd.Timedelta(minutes=config.cluster.step_minutes)
    published_frame = read_history([SeriesId.DAY_AHEAD_PRICE], steps[0], end)
    published: set[str] = set()
    results: dict[str, ForecastResult] = {}
    failed: dict[str, str] = {}
    columns: dict[str, pd.Series] = {}
    price = published_frame.reindex(steps)[SeriesId.DAY_AHEAD_PRICE]
    if price.notna().all():
        columns[SeriesId.DAY_AHEAD_PRICE] = price.rename(SeriesId.DAY_AHEAD_PRICE)
        published.add(SeriesId.DAY_AHEAD_PRICE)
    for need in needs:
        if need.series_id in columns:
            continue
        model = SeasonalNaive(need.season_days, config.cluster.timezone)
        series = history[need.series_id] if need.series_id in history else pd.Series(dtype=float)
        series = series.rename(need.series_id)
        try:
            result = model.fit(series).forecast(steps)
        except ForecastError as exc:
            failed[need.series_id] = exc.message
            continue
        results[need.series_id] = result
        columns[need.series_id] = result.point
    values = pd.DataFrame(columns, index=steps)
    return DayForecast(values, results, frozenset(published), failed)
