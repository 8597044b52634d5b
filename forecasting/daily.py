"""The day-ahead forecast of every series the optimiser needs.

:func:`forecast_day` forecasts one local day for a cluster: each series of
:func:`forecasting.series.series_specs` with its model (loads and heat by
the calendar regression with the temperature forecast, PV by the corrected
physical model, plants by their recent level, street-lighting loads by
their burning power and the sun), in worker processes
(:func:`forecasting.batch.forecast_many`), reusing fitted models when a
:class:`~forecasting.batch.FitCache` is given. Besides the series, it
gives the share of each step the street lamps burn
(``SeriesId.LAMPS_ON_FRACTION``) and each circuit's dusk and dawn, and it
passes the day's weather forecast on (the buildings' thermal model needs
the outdoor temperature).

The load of a connection point with public buildings behind it also gets
their occupancy, known in advance from their opening hours, as a regressor
(:mod:`forecasting.occupancy_regressor`); ``occupancy=False`` leaves it out.

Planned outages of the waste-to-energy plants and of the biogas production
(``planned_outages`` in the configuration) are forecast input: they are kept
out of the plants' fits and scale their forecasts (:mod:`forecasting.plans`).

The weather of the day forecast is the weather forecast the store holds for
it (:mod:`forecasting.weather`). Day-ahead prices are taken as published when
the store holds them for every step of the day (the auction has cleared);
before that they are forecast from their history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cluster.config import ClusterConfig
from cluster.outages import OutageWindow, outage_windows
from cluster.timeseries import SeriesId
from forecasting.base import DEFAULT_LEVELS, ForecastResult
from forecasting.batch import FitCache, forecast_many
from forecasting.irradiance import Site
from forecasting.lighting import lamps_on_fraction, lighting_hours
from forecasting.occupancy_regressor import (
    OCCUPANCY_REGRESSOR,
    buildings_by_load,
    occupancy_inputs,
)
from forecasting.series import SeriesSpec, series_specs
from forecasting.weather import WEATHER_SERIES, weather_regressors

#: Days of history a day-ahead forecast reads.
HISTORY_DAYS = 56

ReadHistory = Callable[[list[str], pd.Timestamp, pd.Timestamp], pd.DataFrame]


@dataclass(frozen=True)
class DayForecast:
    """Forecasts of every needed series for one day's steps.

    Attributes
    ----------
    values
        Point forecasts (published prices where known) on the day's UTC
        steps, one column per series id; the weather forecast of the day
        (``SeriesId.TEMPERATURE_C``, and cloud and irradiance where known);
        and ``SeriesId.LAMPS_ON_FRACTION`` when the cluster has street lighting.
    results
        Each forecast series' result: point, intervals, model and notes.
    published
        Series taken as published rather than forecast (the day-ahead price).
    failed
        Series that could not be forecast, with the reason.
    lighting
        Dawn and dusk of each lighting circuit (:func:`forecasting.lighting.lighting_hours`).
    notes
        What was done about the weather forecast (gaps filled).
    specs
        How each series was forecast, by series id.
    """

    values: pd.DataFrame
    results: dict[str, ForecastResult]
    published: frozenset[str]
    failed: dict[str, str]
    lighting: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()
    specs: Mapping[str, SeriesSpec] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Every forecast as one long frame, to store and to write.

        Columns ``series_id``, ``group``, ``model``, ``ts`` (UTC), ``point``
        and the interval bounds (``lower_80``, ``upper_80``, ...); published
        series have the model ``published`` and no intervals.
        """
        parts = []
        for series_id, result in self.results.items():
            frame = result.to_frame().rename_axis("ts").reset_index()
            frame.insert(0, "model", result.model)
            parts.append(frame.assign(series_id=series_id))
        for series_id in sorted(self.published):
            frame = pd.DataFrame({"ts": self.values.index, "point": self.values[series_id]})
            parts.append(frame.assign(series_id=series_id, model="published"))
        if not parts:
            return pd.DataFrame(columns=["series_id", "group", "model", "ts", "point"])
        table = pd.concat(parts, ignore_index=True)
        table["group"] = [
            str(self.specs[s].group) if s in self.specs else "" for s in table["series_id"]
        ]
        first = ["series_id", "group", "model", "ts", "point"]
        return table[first + [c for c in table.columns if c not in first]]


def planned_outages(config: ClusterConfig) -> dict[str, tuple[OutageWindow, ...]]:
    """The planned outages of every plant series that has some, on the UTC time line.

    A waste-to-energy plant's outages apply to its output
    (``SeriesId.wte``), a biogas plant's to its gas production
    (``SeriesId.biogas_inflow``).
    """
    zone = config.cluster.zone
    plans = {
        SeriesId.wte(c.id): outage_windows(c.planned_outages, zone) for c in config.assets.wte_chps
    }
    plans |= {
        SeriesId.biogas_inflow(c.id): outage_windows(c.planned_outages, zone)
        for c in config.assets.biogas_chps
    }
    return {series_id: windows for series_id, windows in plans.items() if windows}


def fit_fingerprints(
    config: ClusterConfig,
    history_days: int = HISTORY_DAYS,
    occupancy: bool = OCCUPANCY_REGRESSOR,
) -> dict[str, str]:
    """Per series id, a short hash of everything in the configuration its fit depends on.

    The model, the series' kind and options, the calendar (time zone,
    country), the step, the days of history read, the series' planned
    outages and, with ``occupancy``, the occupancy and zones of the buildings
    behind it: a fitted model kept from an earlier run may serve a series
    only while its fingerprint is unchanged.
    """
    info = config.cluster
    plans = planned_outages(config)
    buildings = buildings_by_load(config) if occupancy else {}
    fingerprints: dict[str, str] = {}
    for spec in series_specs(config):
        occupancies = [
            (b.occupancy.model_dump_json(), len(b.zones)) for b in buildings.get(spec.series_id, ())
        ]
        parts = (
            spec.model, str(spec.kind), sorted(spec.options.items()), info.timezone,
            info.country, info.step_minutes, history_days, plans.get(spec.series_id, ()),
            occupancies,
        )  # fmt: skip
        fingerprints[spec.series_id] = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return fingerprints


def _published(
    config: ClusterConfig, steps: pd.DatetimeIndex, read_history: ReadHistory
) -> pd.Series | None:
    """The day-ahead prices of the day when the store has them for every step."""
    end = steps[-1] + pd.Timedelta(minutes=config.cluster.step_minutes)
    frame = read_history([SeriesId.DAY_AHEAD_PRICE], steps[0], end)
    if SeriesId.DAY_AHEAD_PRICE not in frame:
        return None
    price = frame[SeriesId.DAY_AHEAD_PRICE].reindex(steps)
    return price.rename(SeriesId.DAY_AHEAD_PRICE) if price.notna().all() else None


def forecast_day(
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
    read_history: ReadHistory,
    *,
    history_days: int = HISTORY_DAYS,
    workers: int = 2,
    cache: FitCache | None = None,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    occupancy: bool = OCCUPANCY_REGRESSOR,
) -> DayForecast:
    """Forecast every needed series over ``steps``.

    Parameters
    ----------
    config
        The cluster.
    steps
        UTC step starts of the local day to forecast.
    read_history
        ``(series_ids, start, end) -> wide frame`` of stored values in
        ``[start, end)``; the store's ``read_series``.
    history_days
        Days of history read before the day, days.
    workers
        Worker processes for the forecasts.
    cache
        Fitted models to reuse and to keep (see :class:`~forecasting.batch.FitCache`).
    levels
        Prediction-interval levels.
    occupancy
        Whether the loads of connection points with public buildings get the
        buildings' occupancy as a regressor (:mod:`forecasting.occupancy_regressor`).

    A series that cannot be forecast is reported in ``failed``; the others
    still run.
    """
    info = config.cluster
    zone, site, step = info.zone, Site.of_cluster(info), info.step_minutes
    specs = {spec.series_id: spec for spec in series_specs(config)}
    start = steps[0] - pd.Timedelta(days=history_days)
    end = steps[-1] + pd.Timedelta(minutes=step)
    published_price = _published(config, steps, read_history)
    columns: dict[str, pd.Series] = {}
    if published_price is not None:
        columns[SeriesId.DAY_AHEAD_PRICE] = published_price
    wanted = [sid for sid in specs if sid not in columns]
    history = read_history(wanted, start, steps[0])
    weather, notes = weather_regressors(
        read_history(list(WEATHER_SERIES), start, end), steps, zone, site, step
    )
    empty = pd.Series(dtype=float)
    models = {sid: specs[sid].model for sid in wanted}
    regressors, options = occupancy_inputs(
        {sid: specs[sid].options for sid in wanted},
        models,
        weather,
        buildings_by_load(config) if occupancy else {},
        pd.date_range(start, end, freq=pd.Timedelta(minutes=step), inclusive="left"),
        zone,
        info.country,
    )
    outcomes = forecast_many(
        {sid: history.get(sid, empty) for sid in wanted},
        steps,
        regressors,
        workers=workers,
        models=models,
        kinds={sid: specs[sid].kind for sid in wanted},
        options=options,
        levels=levels,
        cache=cache,
        timezone=info.timezone,
        country=info.country,
        plans=planned_outages(config),
    )
    results: dict[str, ForecastResult] = {}
    failed: dict[str, str] = {}
    for series_id, outcome in outcomes.items():
        if isinstance(outcome, ForecastResult):
            results[series_id] = outcome
            columns[series_id] = outcome.point
        else:
            failed[series_id] = outcome.message
    for column in WEATHER_SERIES:
        forecast = weather[column].reindex(steps) if column in weather else None
        if forecast is not None and forecast.notna().all():
            columns[column] = forecast.rename(column)
        elif column == SeriesId.TEMPERATURE_C:
            missing = len(steps) if forecast is None else int(forecast.isna().sum())
            failed[column] = (
                f"series {column!r}: the weather forecast is missing for {missing} step(s) "
                "of the day and of the day before"
            )
    cloud = weather[SeriesId.CLOUD_PCT].reindex(steps) if SeriesId.CLOUD_PCT in weather else None
    lighting = pd.DataFrame()
    if config.assets.lighting_circuits:
        cloud_values = None if cloud is None else cloud.to_numpy(dtype=float)
        fraction = lamps_on_fraction(steps, site, step, cloud_values)
        columns[SeriesId.LAMPS_ON_FRACTION] = pd.Series(fraction, index=steps)
        day = steps[0].tz_convert(zone).date()
        known_cloud = None if cloud is None or cloud.isna().all() else cloud
        lighting = lighting_hours(config, day, known_cloud)
    ordered = [sid for sid in specs if sid in columns] + [
        sid for sid in columns if sid not in specs
    ]
    values = pd.DataFrame({sid: columns[sid].reindex(steps) for sid in ordered}, index=steps)
    if values.isna().any().any() and not failed:
        bad = [str(c) for c in values.columns[values.isna().any()]]
        notes.append(f"forecasts with missing steps: {', '.join(bad)}")
    return DayForecast(
        values=values.astype(np.float64),
        results=results,
        published=frozenset([SeriesId.DAY_AHEAD_PRICE] if published_price is not None else []),
        failed=failed,
        lighting=lighting,
        notes=tuple(notes),
        specs=specs,
    )
