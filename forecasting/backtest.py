"""Rolling-origin day-ahead backtests: every series, every model, scored as the plan would use them.

From every local midnight of a range of days (the *origins*), each series
is forecast for the day that starts there, from the ``history_days`` before
it, exactly as the daily job does (:func:`forecasting.batch.forecast_many`
in worker processes, fitted models reused for ``refit_days`` and updated
in between). The forecasts are compared with what happened:

- MAE and RMSE, in the series' unit;
- MAPE, only for series that never near zero (no step below
  :data:`NEAR_ZERO_SHARE` of the mean absolute value): elsewhere it says
  nothing and is left out;
- MASE against the weekly seasonal-naive forecast (the same local time a
  week before): the model's MAE over the naive forecast's on the same steps,
  below 1 the model beats it;
- pinball loss, averaged over the quantiles the intervals give (2.5, 10, 90
  and 97.5 % for 80 and 95 % intervals);
- the coverage of the 80 % and 95 % intervals: for PV over daylight steps
  and for street lighting over the night (the rest of their day is known to
  be zero, and counting it would flatter the intervals), elsewhere over all
  steps;
- for PV, the skill in RMSE against persistence of yesterday, on daylight
  steps only (``1 - RMSE / RMSE_persistence``).

The load of a connection point with public buildings behind it gets their
occupancy as a regressor, as in the daily forecast, when the setup names
the buildings (``BacktestSetup.buildings``, from
:func:`forecasting.occupancy_regressor.buildings_by_load`).

Weather: the demo's stored weather is what happened. Fed to the models as
it is, it would be a perfect forecast and would flatter every
weather-driven model, so by default it is replaced by a simulated day-ahead
forecast of it (:func:`forecasting.weather.with_forecast_error`), over the
history as well as the day forecast: the models learn from past forecasts,
errors included, as they do from an archive of a weather service's
forecasts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.assets import PublicBuilding
from cluster.timegrid import day_steps
from forecasting.base import ForecastResult
from forecasting.batch import FitCache, forecast_many
from forecasting.grid import to_wall_clock
from forecasting.irradiance import Site, sky_at
from forecasting.metrics import coverage, mae, pinball_loss, relative_mae, rmse
from forecasting.occupancy_regressor import OCCUPANCY_REGRESSOR, occupancy_inputs
from forecasting.series import SeriesGroup, SeriesSpec
from forecasting.weather import (
    WEATHER_SERIES,
    WeatherForecastError,
    complete_irradiance,
    with_forecast_error,
)

#: A series whose absolute value drops below this share of its mean gets no MAPE.
NEAR_ZERO_SHARE = 0.05
#: The interval levels scored.
LEVELS: tuple[float, float] = (0.8, 0.95)
#: The model name that stands for each series' own model.
DEFAULT = "default"
#: The columns of :attr:`BacktestReport.metrics`.
METRIC_COLUMNS = ("series_id", "group", "model", "steps", "mae", "rmse", "mape", "mase",
                  "pinball", "coverage_80", "coverage_95", "pv_skill", "failed_origins",
                  "fallbacks")  # fmt: skip


@dataclass(frozen=True)
class BacktestSetup:
    """What a backtest runs.

    Attributes
    ----------
    specs
        The series, each with its own model and options.
    models
        Models to score on every series; :data:`DEFAULT` is each series' own.
    history_days
        Days of history before each origin, days.
    weather_error
        The simulated weather-forecast error; None feeds the stored weather as it is.
    refit_days
        A fitted model is reused (updated) for this many days, then refitted.
    workers
        Worker processes.
    buildings
        The public buildings behind each load series, by series id
        (:func:`forecasting.occupancy_regressor.buildings_by_load`); their
        occupancy is a regressor of that load.
    occupancy
        Whether the occupancy of ``buildings`` is used.
    """

    specs: Sequence[SeriesSpec]
    models: tuple[str, ...] = (DEFAULT,)
    history_days: int = 56
    weather_error: WeatherForecastError | None = field(default_factory=WeatherForecastError)
    refit_days: int = 7
    workers: int = 2
    buildings: Mapping[str, Sequence[PublicBuilding]] = field(default_factory=dict)
    occupancy: bool = OCCUPANCY_REGRESSOR


@dataclass(frozen=True)
class BacktestReport:
    """What a backtest found.

    Attributes
    ----------
    metrics
        One row per series and model: ``series_id``, ``group``, ``model``,
        ``steps``, ``mae``, ``rmse``, ``mape``, ``mase``, ``pinball``,
        ``coverage_80``, ``coverage_95``, ``pv_skill``, ``failed_origins``,
        ``fallbacks``.
    forecasts
        Every forecast step: ``origin``, ``series_id``, ``group``, ``model``,
        ``ts``, ``lead_h``, ``actual``, ``point``, the interval bounds
        (``lower_80`` ...), ``naive_weekly``, ``persistence`` and ``daylight``.
    origins
        The local days forecast.
    errors
        Per series and model, the first error message of a failed origin.
    """

    metrics: pd.DataFrame
    forecasts: pd.DataFrame
    origins: tuple[date, ...]
    errors: Mapping[tuple[str, str], str]

    def summary(self) -> pd.DataFrame:
        """Per group and model: series, mean and median MASE, share ≤ 0.7, coverage, PV skill."""
        grouped = self.metrics.groupby(["group", "model"], sort=False)
        return pd.DataFrame(
            {
                "series": grouped.size(),
                "mase_mean": grouped["mase"].mean(),
                "mase_median": grouped["mase"].median(),
                "mase_le_0_7": grouped["mase"].apply(lambda s: float((s <= 0.7).mean())),
                "coverage_80": grouped["coverage_80"].mean(),
                "coverage_95": grouped["coverage_95"].mean(),
                "pv_skill": grouped["pv_skill"].mean(),
                "failed_origins": grouped["failed_origins"].sum(),
            }
        ).reset_index()

    def error_by_lead(self) -> pd.DataFrame:
        """Mean absolute error by whole lead hour, relative to the mean absolute actual.

        One row per group, model and lead hour (0 = the first hour of the
        day forecast): each series' MAE at that lead over its mean absolute
        value, averaged over the group's series.
        """
        frame = self.forecasts.assign(
            abs_error=(self.forecasts["actual"] - self.forecasts["point"]).abs(),
            abs_actual=self.forecasts["actual"].abs(),
            lead_hour=np.floor(self.forecasts["lead_h"]).astype(int),
        )
        scale = frame.groupby(["series_id", "model"])["abs_actual"].transform("mean")
        frame["relative"] = frame["abs_error"] / scale.where(scale > 0)
        per_series = frame.groupby(["group", "model", "series_id", "lead_hour"])["relative"].mean()
        return (
            per_series.groupby(["group", "model", "lead_hour"])
            .mean()
            .rename("relative_mae")
            .reset_index()
        )


def origin_days(first: date, last: date) -> list[date]:
    """Every local day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def backtest_weather(
    data: pd.DataFrame,
    setup: BacktestSetup,
    zone: ZoneInfo,
    site: Site,
    step_minutes: int,
) -> pd.DataFrame:
    """The weather regressors of a backtest: stored, or its simulated forecast; GHI completed."""
    weather = data.reindex(columns=[c for c in WEATHER_SERIES if c in data.columns])
    if setup.weather_error is not None:
        weather = with_forecast_error(weather, setup.weather_error, zone, step_minutes)
    return complete_irradiance(weather, site, step_minutes)


def _seasonal_naive(actual: pd.Series, days: int, zone: ZoneInfo, step_minutes: int) -> pd.Series:
    """The value at the same local clock time ``days`` before, on the actual's UTC steps."""
    wall = to_wall_clock(actual, zone, step_minutes)
    lagged = wall.copy()
    lagged.index = pd.DatetimeIndex(lagged.index) + pd.Timedelta(days=days)
    targets = pd.DatetimeIndex(actual.index).tz_convert(zone).tz_localize(None)
    return pd.Series(lagged.reindex(targets).to_numpy(), index=actual.index)


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error, %; NaN when the actual nears zero anywhere.

    Parameters
    ----------
    actual, forecast
        Aligned values; steps missing on either side are left out.
    """
    known = np.isfinite(actual) & np.isfinite(forecast)
    a, f = actual[known], forecast[known]
    if len(a) == 0:
        return float("nan")
    scale = float(np.mean(np.abs(a)))
    if scale == 0.0 or float(np.min(np.abs(a))) < NEAR_ZERO_SHARE * scale:
        return float("nan")
    return float(100.0 * np.mean(np.abs(a - f) / np.abs(a)))


def _score(rows: pd.DataFrame) -> dict[str, float]:
    actual, point = rows["actual"].to_numpy(), rows["point"].to_numpy()
    pinballs = []
    for level in LEVELS:
        name = f"{level * 100:g}"
        pinballs.append(pinball_loss(actual, rows[f"lower_{name}"], 0.5 - level / 2.0))
        pinballs.append(pinball_loss(actual, rows[f"upper_{name}"], 0.5 + level / 2.0))
    daylight = rows["daylight"].to_numpy(dtype=bool)
    group = rows["group"].iloc[0]
    informative = {SeriesGroup.PV: daylight, SeriesGroup.STREET_LIGHTING: ~daylight}.get(
        SeriesGroup(group), np.ones(len(rows), dtype=bool)
    )
    skill = float("nan")
    if group == SeriesGroup.PV and daylight.any():
        model_rmse = rmse(actual[daylight], point[daylight])
        persistence_rmse = rmse(actual[daylight], rows["persistence"].to_numpy()[daylight])
        skill = 1.0 - model_rmse / persistence_rmse if persistence_rmse > 0 else float("nan")
    return {
        "steps": float(np.isfinite(actual).sum()),
        "mae": mae(actual, point),
        "rmse": rmse(actual, point),
        "mape": mape(actual, point),
        "mase": relative_mae(actual, point, rows["naive_weekly"].to_numpy()),
        "pinball": float(np.nanmean(pinballs)),
        **{
            f"coverage_{name}": coverage(
                actual[informative],
                rows[f"lower_{name}"].to_numpy()[informative],
                rows[f"upper_{name}"].to_numpy()[informative],
            )
            for name in ("80", "95")
        },
        "pv_skill": skill,
    }


def _result_rows(
    result: ForecastResult, actual: pd.Series, origin: date, origin_ts: pd.Timestamp
) -> pd.DataFrame:
    steps = pd.DatetimeIndex(result.point.index)
    columns: dict[str, object] = {
        "ts": steps,
        "lead_h": np.asarray((steps - origin_ts) / pd.Timedelta(hours=1), dtype=float),
        "actual": actual.reindex(steps).to_numpy(dtype=float),
        "point": result.point.to_numpy(dtype=float),
    }
    for level in LEVELS:
        name = f"{level * 100:g}"
        band = result.intervals.get(level)
        for side in ("lower", "upper"):
            missing = np.full(len(steps), np.nan)
            columns[f"{side}_{name}"] = missing if band is None else band[side].to_numpy(float)
    columns["origin"] = np.full(len(steps), origin, dtype=object)
    return pd.DataFrame(columns)


def _model_plan(setup: BacktestSetup) -> dict[str, dict[str, str]]:
    """Per model asked for, the model each series runs (a name asked twice runs once)."""
    plan: dict[str, dict[str, str]] = {}
    seen: set[tuple[str, str]] = set()
    for asked in setup.models:
        chosen = {}
        for spec in setup.specs:
            name = spec.model if asked == DEFAULT else asked
            if (spec.series_id, name) not in seen:
                seen.add((spec.series_id, name))
                chosen[spec.series_id] = name
        plan[asked] = chosen
    return plan


def run_backtest(
    data: pd.DataFrame,
    origins: Sequence[date],
    setup: BacktestSetup,
    *,
    zone: ZoneInfo,
    site: Site,
    step_minutes: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> BacktestReport:
    """Forecast every series from every origin with every model, and score the forecasts.

    Parameters
    ----------
    data
        Stored values on a UTC index, one column per series of ``setup.specs``
        and per weather series, covering ``history_days`` before the first
        origin to the end of the last day.
    origins
        Local days to forecast, each from its midnight.
    setup
        Series, models and options.
    zone
        Local time zone.
    site
        The cluster's site (daylight, irradiance from cloud).
    step_minutes
        The step, minutes.
    on_progress
        Called with (done, total) after each origin and model.
    """
    weather = backtest_weather(data, setup, zone, site, step_minutes)
    ids = [spec.series_id for spec in setup.specs]
    specs = {spec.series_id: spec for spec in setup.specs}
    plan = _model_plan(setup)
    caches = {asked: FitCache(refit_days=setup.refit_days) for asked in plan}
    collected: list[pd.DataFrame] = []
    failures: dict[tuple[str, str], list[str]] = {}
    fallbacks: dict[tuple[str, str], int] = {}
    total, done = len(origins) * len(plan), 0
    buildings = setup.buildings if setup.occupancy else {}
    # The occupancy is known in advance: one regressor frame per series serves every origin.
    inputs = {
        asked: occupancy_inputs(
            {
                sid: specs[sid].options if name == specs[sid].model else {}
                for sid, name in chosen.items()
            },
            chosen,
            weather,
            buildings,
            pd.DatetimeIndex(data.index),
            zone,
        )
        for asked, chosen in plan.items()
    }
    for origin in origins:
        steps = day_steps(origin, zone, step_minutes)
        since = steps[0] - pd.Timedelta(days=setup.history_days)
        window = data[(data.index >= since) & (data.index < steps[0])]
        for asked, chosen in plan.items():
            histories = {sid: window[sid] for sid in chosen if sid in window}
            regressors, options = inputs[asked]
            results = forecast_many(
                histories,
                steps,
                regressors,
                workers=setup.workers,
                models=chosen,
                kinds={sid: specs[sid].kind for sid in chosen},
                options=options,
                levels=LEVELS,
                cache=caches[asked],
                timezone=str(zone),
            )
            for series_id, result in results.items():
                key = (series_id, chosen[series_id])
                if not isinstance(result, ForecastResult):
                    failures.setdefault(key, []).append(result.message)
                    continue
                if result.model != chosen[series_id]:
                    fallbacks[key] = fallbacks.get(key, 0) + 1
                rows = _result_rows(result, data[series_id], origin, steps[0])
                rows["series_id"] = series_id
                rows["group"] = str(specs[series_id].group)
                rows["model"] = chosen[series_id]
                collected.append(rows)
            done += 1
            if on_progress:
                on_progress(done, total)
    forecasts = _with_baselines(collected, data, ids, zone, site, step_minutes)
    metrics = _metrics(forecasts, setup, plan, failures, fallbacks)
    errors = {key: messages[0] for key, messages in failures.items()}
    return BacktestReport(metrics, forecasts, tuple(origins), errors)


def _with_baselines(
    collected: list[pd.DataFrame],
    data: pd.DataFrame,
    ids: list[str],
    zone: ZoneInfo,
    site: Site,
    step_minutes: int,
) -> pd.DataFrame:
    columns = ["origin", "series_id", "group", "model", "ts", "lead_h", "actual", "point",
               "lower_80", "upper_80", "lower_95", "upper_95"]  # fmt: skip
    if not collected:
        empty = pd.DataFrame(columns=[*columns, "naive_weekly", "persistence", "daylight"])
        return empty.astype({"daylight": bool})
    forecasts = pd.concat(collected, ignore_index=True)[columns]
    weekly, persistence = [], []
    for series_id in ids:
        if series_id not in data:
            continue
        actual = data[series_id]
        weekly.append(_seasonal_naive(actual, 7, zone, step_minutes).rename(series_id))
        persistence.append(_seasonal_naive(actual, 1, zone, step_minutes).rename(series_id))
    for name, baselines in (("naive_weekly", weekly), ("persistence", persistence)):
        wide = pd.concat(baselines, axis=1)
        rows = wide.index.get_indexer(pd.DatetimeIndex(forecasts["ts"]))
        series = wide.columns.get_indexer(pd.Index(forecasts["series_id"]))
        values = wide.to_numpy(dtype=float)[np.maximum(rows, 0), np.maximum(series, 0)]
        forecasts[name] = np.where((rows >= 0) & (series >= 0), values, np.nan)
    unique_steps = pd.DatetimeIndex(forecasts["ts"].unique()).sort_values()
    sun_up = pd.Series(sky_at(unique_steps, site, step_minutes).sun_up, index=unique_steps)
    forecasts["daylight"] = sun_up.reindex(pd.DatetimeIndex(forecasts["ts"])).to_numpy(dtype=bool)
    return forecasts


def _metrics(
    forecasts: pd.DataFrame,
    setup: BacktestSetup,
    plan: Mapping[str, Mapping[str, str]],
    failures: Mapping[tuple[str, str], list[str]],
    fallbacks: Mapping[tuple[str, str], int],
) -> pd.DataFrame:
    rows = []
    scored = {key: part for key, part in forecasts.groupby(["series_id", "model"], sort=False)}
    for spec in setup.specs:
        for chosen in plan.values():
            if spec.series_id not in chosen:
                continue
            key = (spec.series_id, chosen[spec.series_id])
            part = scored.get(key)
            scores = _score(part) if part is not None and len(part) else {}
            rows.append(
                {
                    "series_id": spec.series_id,
                    "group": str(spec.group),
                    "model": key[1],
                    **scores,
                    "failed_origins": len(failures.get(key, [])),
                    "fallbacks": fallbacks.get(key, 0),
                }
            )
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
