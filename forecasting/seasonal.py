"""MSTL decomposition (daily and weekly seasons) with an ETS or ARIMA model of what remains.

The series is put on the local wall-clock grid (:mod:`forecasting.grid`),
so each day has the same number of steps and the seasons are whole numbers
of steps. statsmodels' MSTL splits it into a daily and a weekly seasonal
component, a trend and a remainder; the trend plus remainder (the
*deseasonalised* series) is forecast by simple exponential smoothing
(``mstl_ets``) or an ARIMA(1,1,1) (``mstl_arima``), and each seasonal
component is carried forward from its last season.

Public holidays: a periodic decomposition cannot know them, so before it a
holiday that is not a Sunday is replaced by the same day a week earlier
(or later), and a holiday to forecast takes the weekly component of a
Sunday. Gaps are filled the same way (a week or a day away), then linearly.

Intervals are Gaussian, from the remainder model's forecast variance (which
grows with the horizon), widened by a hold-out check of the model on the last
days of its history (:mod:`forecasting.calibration`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from forecasting.base import DEFAULT_LEVELS, FittedForecaster, ForecastError, ForecastResult
from forecasting.calibration import HOLDOUT_DAYS, holdout_spread
from forecasting.features import StepFeatures, step_features
from forecasting.grid import (
    FloatArray,
    IntArray,
    infer_step_minutes,
    series_label,
    steps_per_day,
    to_wall_clock,
    wall_clock_leads,
)
from forecasting.intervals import forecast_steps, gaussian_intervals

#: STL's trend and low-pass LOESS are evaluated every quarter of a day and interpolated
#: between: ten times faster on quarter-hours, and the components move by well under
#: a thousandth of the daily amplitude.
_TREND_JUMP_SHARE = 0.25
#: Seasons a seasonal component is averaged over when carried forward.
DAILY_CYCLES = 7
WEEKLY_CYCLES = 2


@dataclass(frozen=True)
class WallClockHistory:
    """A history on the wall-clock grid, gaps filled and holidays replaced.

    Attributes
    ----------
    values
        Filled values on the regular wall-clock grid (naive local timestamps).
    effective_weekday
        Per step: the weekday, 6 (Sunday) on public holidays.
    slot
        Per step: the time-of-day slot.
    slots_per_day
        Steps in a day.
    """

    values: pd.Series
    effective_weekday: IntArray
    slot: IntArray
    slots_per_day: int


def _wall_features(
    wall_index: pd.DatetimeIndex, zone: ZoneInfo, step_minutes: int, country: str
) -> tuple[IntArray, IntArray, np.ndarray]:
    """Effective weekday, slot and holiday flag of naive wall-clock steps."""
    days = wall_index.normalize()
    unique_days = days.unique()
    # Noon is a wall-clock time every day has, so it localises without DST ambiguity.
    noon = (unique_days + pd.Timedelta(hours=12)).tz_localize(zone).tz_convert("UTC")
    by_day = step_features(pd.DatetimeIndex(noon), zone, step_minutes, country)
    position = unique_days.get_indexer(days)
    minutes = (wall_index - days) // pd.Timedelta(minutes=1)
    slot = minutes.to_numpy(dtype=np.int64) // step_minutes
    return by_day.effective_weekday[position], slot, by_day.holiday[position]


def wall_clock_history(
    history: pd.Series,
    zone: ZoneInfo,
    step_minutes: int,
    country: str,
    replace_holidays: bool,
) -> WallClockHistory:
    """The history on the wall-clock grid with gaps (and optionally holidays) filled."""
    wall = to_wall_clock(history, zone, step_minutes)
    index = pd.DatetimeIndex(wall.index)
    effective_weekday, slot, holiday = _wall_features(index, zone, step_minutes, country)
    values = wall.to_numpy(dtype=float).copy()
    if replace_holidays:
        values[holiday & (effective_weekday != pd.DatetimeIndex(index).day_of_week)] = np.nan
    per_day = steps_per_day(step_minutes)
    for lag_days in (7, -7, 14, -14, 1, -1):
        missing = np.flatnonzero(np.isnan(values))
        if len(missing) == 0:
            break
        source = missing - lag_days * per_day
        inside = (source >= 0) & (source < len(values))
        values[missing[inside]] = values[source[inside]]
    filled = pd.Series(values, index=index).interpolate(limit_direction="both")
    return WallClockHistory(filled, effective_weekday, slot, per_day)


def carried_season(
    component: FloatArray,
    history: WallClockHistory,
    target_weekday: IntArray,
    target_slot: IntArray,
    period_days: int,
) -> FloatArray:
    """A seasonal component's value for targets, carried forward from its last seasons.

    For a daily season the mean of the last :data:`DAILY_CYCLES` values at
    the target's slot; for a weekly one the mean of the last
    :data:`WEEKLY_CYCLES` values at the target's (effective weekday, slot).
    Averaging a few seasons matters: the decomposition's last season is
    fitted from one side only and is the noisiest.
    """
    per_day = history.slots_per_day
    weekly = period_days > 1
    cycles = WEEKLY_CYCLES if weekly else DAILY_CYCLES
    last = slice(-cycles * period_days * per_day, None)
    keys = history.slot[last] + (history.effective_weekday[last] * per_day if weekly else 0)
    table = pd.Series(component[last], index=keys).groupby(level=0).mean()
    wanted = target_slot + (target_weekday * per_day if weekly else 0)
    found = table.reindex(wanted).to_numpy(dtype=float)
    result: FloatArray = np.nan_to_num(found, nan=float(np.nanmean(component[last])))
    return result


@dataclass(frozen=True)
class Mstl:
    """MSTL with an ``"ets"`` or ``"arima"`` remainder model (see module).

    Parameters
    ----------
    remainder
        ``"ets"`` (simple exponential smoothing) or ``"arima"`` (ARIMA(1,1,1)).
    period_days
        Seasons in local days: ``(1, 7)`` for daily and weekly, ``(1,)`` for daily only.
    timezone, country
        Local time zone and the country of the public holidays.
    calibrate
        Whether to widen the intervals by a hold-out check
        (:func:`forecasting.calibration.holdout_spread`).
    """

    remainder: str = "ets"
    period_days: tuple[int, ...] = (1, 7)
    timezone: str = "Europe/Warsaw"
    country: str = "PL"
    calibrate: bool = True

    @property
    def name(self) -> str:
        """``mstl_ets`` or ``mstl_arima``."""
        return f"mstl_{self.remainder}"

    @property
    def min_history_days(self) -> float:
        """Two of the longest season."""
        return 2.0 * max(self.period_days)

    @property
    def fallback(self) -> str | None:
        """The daily seasonal-naive model."""
        return "naive_daily"

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Decompose the wall-clock history and fit the remainder model."""
        from statsmodels.tsa.seasonal import MSTL

        label = series_label(history)
        step = infer_step_minutes(pd.DatetimeIndex(history.index), label)
        zone = ZoneInfo(self.timezone)
        per_day = steps_per_day(step)
        wall = wall_clock_history(history, zone, step, self.country, max(self.period_days) > 1)
        periods = tuple(days * per_day for days in self.period_days)
        if len(wall.values) < 2 * max(periods):
            raise ForecastError(
                f"series {label!r}: {len(wall.values) / per_day:.1f} days of history, "
                f"{self.name} needs {2 * max(self.period_days)}",
                fix="give more history or choose a model with a shorter season",
            )
        jump = max(1, int(_TREND_JUMP_SHARE * per_day))
        decomposition = MSTL(
            wall.values.to_numpy(),
            periods=periods if len(periods) > 1 else periods[0],
            stl_kwargs={"trend_jump": jump, "low_pass_jump": jump},
        ).fit()
        seasonal = np.asarray(decomposition.seasonal, dtype=float).reshape(len(wall.values), -1)
        deseasonalised = wall.values.to_numpy() - seasonal.sum(axis=1)
        remainder_fit = _fit_remainder(self.remainder, deseasonalised)
        spread = 1.0
        if self.calibrate and len(wall.values) >= (2 * max(periods) + HOLDOUT_DAYS * per_day):
            spread = holdout_spread(replace(self, calibrate=False), history, regressors)
        return _FittedMstl(
            model=self,
            series_id=label,
            step_minutes=step,
            last_observed=pd.DatetimeIndex(history.dropna().index)[-1],
            last_wall=pd.DatetimeIndex(wall.values.index)[-1],
            history=wall,
            seasonal=seasonal,
            remainder_fit=remainder_fit,
            history_length=len(deseasonalised),
            spread=spread,
        )


def _fit_remainder(kind: str, values: FloatArray) -> Any:
    """The fitted statsmodels results of the remainder model."""
    series = pd.Series(values)
    with warnings.catch_warnings():
        # Convergence chatter on near-constant remainders is not the user's business.
        warnings.simplefilter("ignore")
        if kind == "arima":
            from statsmodels.tsa.arima.model import ARIMA

            return ARIMA(series, order=(1, 1, 1), trend="n").fit()
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        return ETSModel(series, error="add", trend=None).fit(disp=False)


def remainder_forecast(results: Any, start: int, horizon: int) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of a statsmodels results' forecast over ``horizon`` steps."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if hasattr(results, "get_forecast"):
            forecast = results.get_forecast(horizon)
            mean = np.asarray(forecast.predicted_mean, dtype=float)
            std = np.asarray(forecast.se_mean, dtype=float)
        else:
            prediction = results.get_prediction(start=start, end=start + horizon - 1)
            mean = np.asarray(prediction.predicted_mean, dtype=float)
            std = np.sqrt(np.asarray(prediction.var_pred_mean, dtype=float))
    return mean, std


@dataclass(frozen=True)
class RemainderFit:
    """A fitted statsmodels remainder model and where its history ended.

    Attributes
    ----------
    results
        The statsmodels results object of the fit.
    history_length
        Number of steps the model was fitted on (the index its forecast starts at).
    last_wall
        Last step of the fitted history on the local wall-clock grid.
    """

    results: Any
    history_length: int
    last_wall: pd.Timestamp


@dataclass(frozen=True)
class RemainderOutlook:
    """The remainder model's forecast laid on the requested steps.

    Attributes
    ----------
    steps
        The UTC steps forecast.
    features
        Calendar features of the steps (local weekday, time-of-day slot).
    mean
        Forecast mean of the remainder at each step, in the series' unit.
    std
        Forecast standard deviation at each step, in the series' unit.
    series_id
        The series forecast, the name of the point forecast.
    """

    steps: pd.DatetimeIndex
    features: StepFeatures
    mean: FloatArray
    std: FloatArray
    series_id: str

    def result(
        self,
        values: FloatArray,
        levels: tuple[float, ...],
        spread: float,
        model_name: str,
        notes: tuple[str, ...],
    ) -> ForecastResult:
        """The forecast of ``values`` with Gaussian intervals from the remainder's spread.

        Parameters
        ----------
        values
            Point forecast at each step, in the series' unit.
        levels
            Central interval levels, as fractions in (0, 1).
        spread
            Factor (dimensionless) the remainder's standard deviation is widened by.
        model_name
            Name of the forecasting model, reported with the result.
        notes
            Remarks on the fit, reported with the result.
        """
        point = pd.Series(values, index=self.steps, name=self.series_id)
        intervals = gaussian_intervals(point, self.std * spread, levels)
        return ForecastResult(point, model_name, intervals, notes)


def remainder_outlook(
    steps: pd.DatetimeIndex | int,
    levels: tuple[float, ...],
    fit: RemainderFit,
    *,
    series_id: str,
    last_observed: pd.Timestamp,
    step_minutes: int,
    timezone: str,
    country: str,
) -> RemainderOutlook:
    """Check a forecast request and forecast the remainder model over its steps.

    Parameters
    ----------
    steps
        The UTC steps to forecast, or their number after ``last_observed``.
    levels
        Central interval levels, as fractions in (0, 1).
    fit
        The fitted remainder model.
    series_id
        The series forecast, named in errors.
    last_observed
        Last observed UTC step of the history.
    step_minutes
        Length of a step, in minutes.
    timezone
        IANA time zone of the local wall clock.
    country
        Country whose public holidays shape the calendar features.
    """
    steps = forecast_steps(steps, levels, last_observed, step_minutes, series_id)
    zone = ZoneInfo(timezone)
    leads = np.maximum(wall_clock_leads(steps, fit.last_wall, zone, step_minutes), 1)
    mean, std = remainder_forecast(fit.results, fit.history_length, int(leads.max()))
    features = step_features(steps, zone, step_minutes, country)
    return RemainderOutlook(steps, features, mean[leads - 1], std[leads - 1], series_id)


@dataclass(frozen=True)
class _FittedMstl:
    model: Mstl
    series_id: str
    step_minutes: int
    last_observed: pd.Timestamp
    last_wall: pd.Timestamp
    history: WallClockHistory
    seasonal: FloatArray
    remainder_fit: Any
    history_length: int
    spread: float = 1.0
    notes: tuple[str, ...] = ()

    @property
    def model_name(self) -> str:
        return self.model.name

    def forecast(
        self,
        steps: pd.DatetimeIndex | int,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        regressors: pd.DataFrame | None = None,
    ) -> ForecastResult:
        outlook = remainder_outlook(
            steps,
            levels,
            RemainderFit(self.remainder_fit, self.history_length, self.last_wall),
            series_id=self.series_id,
            last_observed=self.last_observed,
            step_minutes=self.step_minutes,
            timezone=self.model.timezone,
            country=self.model.country,
        )
        values = outlook.mean.copy()
        for column, days in enumerate(self.model.period_days):
            values += carried_season(
                self.seasonal[:, column],
                self.history,
                outlook.features.effective_weekday,
                outlook.features.slot,
                days,
            )
        return outlook.result(values, levels, self.spread, self.model.name, self.notes)

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """Refit: the decomposition depends on the new data throughout."""
        return self.model.fit(history, regressors)
