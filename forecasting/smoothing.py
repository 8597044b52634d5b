"""Double-seasonal exponential smoothing: a weekly profile by time of day, then Holt-Winters.

statsmodels' exponential smoothing handles one season. Quarter-hour load has
two, a day and a week, so the weekly part is taken out first as a fixed
profile and the daily part is left to the smoothing, which keeps adapting it:

1. on the local wall-clock grid (:mod:`forecasting.grid`), the *weekly
   deviation* of each (weekday, time of day) is its mean minus the mean of
   that time of day over all days; public holidays count as Sundays, so the
   holiday effect is part of the profile;
2. the series minus its weekly deviations has a daily season only, and is
   fitted by an ETS(A,N,A) model (additive error, no trend, additive daily
   season; statsmodels' ``ETSModel``, heuristic initial states);
3. a forecast is the ETS forecast plus the weekly deviation of the target's
   (effective weekday, time of day).

This is the per-time-of-day treatment of the weekly pattern rather than
Taylor's double-seasonal Holt-Winters (where the weekly season is smoothed
too): it is a single statsmodels fit and the weekly profile, averaged over
the history, is steadier with eight weeks of data. Intervals are Gaussian
from the ETS model's forecast variance, widened by a hold-out check
(:mod:`forecasting.calibration`).
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
from forecasting.grid import (
    FloatArray,
    infer_step_minutes,
    series_label,
    steps_per_day,
)
from forecasting.seasonal import RemainderFit, remainder_outlook, wall_clock_history


def weekly_deviation(
    values: FloatArray, effective_weekday: np.ndarray, slot: np.ndarray, slots_per_day: int
) -> FloatArray:
    """Mean by (weekday, slot) minus mean by slot, as a ``(7, slots_per_day)`` table."""
    cells = effective_weekday * slots_per_day + slot
    cell_sum = np.bincount(cells, weights=values, minlength=7 * slots_per_day)
    cell_count = np.bincount(cells, minlength=7 * slots_per_day)
    slot_sum = np.bincount(slot, weights=values, minlength=slots_per_day)
    slot_count = np.bincount(slot, minlength=slots_per_day)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_mean = (cell_sum / cell_count).reshape(7, slots_per_day)
        slot_mean = slot_sum / slot_count
    result: FloatArray = np.nan_to_num(cell_mean - slot_mean[None, :])
    return result


@dataclass(frozen=True)
class DoubleSeasonalSmoothing:
    """Weekly profile by time of day plus ETS(A,N,A) with a daily season (see module)."""

    timezone: str = "Europe/Warsaw"
    country: str = "PL"
    calibrate: bool = True
    name: str = "double_seasonal_ets"
    min_history_days: float = 14.0
    fallback: str | None = "naive_daily"

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Take out the weekly deviations and fit ETS(A,N,A) to the rest."""
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        label = series_label(history)
        step = infer_step_minutes(pd.DatetimeIndex(history.index), label)
        zone = ZoneInfo(self.timezone)
        per_day = steps_per_day(step)
        wall = wall_clock_history(history, zone, step, self.country, replace_holidays=False)
        if len(wall.values) < 2 * 7 * per_day:
            raise ForecastError(
                f"series {label!r}: {len(wall.values) / per_day:.1f} days of history, "
                f"{self.name} needs 14",
                fix="give more history or use naive_daily",
            )
        values = wall.values.to_numpy()
        deviation = weekly_deviation(values, wall.effective_weekday, wall.slot, per_day)
        daily_only = values - deviation[wall.effective_weekday, wall.slot]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = ETSModel(
                pd.Series(daily_only),
                error="add",
                trend=None,
                seasonal="add",
                seasonal_periods=per_day,
                initialization_method="heuristic",
            ).fit(disp=False)
        spread = 1.0
        if self.calibrate and len(values) >= (14 + HOLDOUT_DAYS) * per_day:
            spread = holdout_spread(replace(self, calibrate=False), history, regressors)
        return _FittedDoubleSeasonal(
            model=self,
            series_id=label,
            step_minutes=step,
            last_observed=pd.DatetimeIndex(history.dropna().index)[-1],
            last_wall=pd.DatetimeIndex(wall.values.index)[-1],
            deviation=deviation,
            results=results,
            history_length=len(values),
            spread=spread,
        )


@dataclass(frozen=True)
class _FittedDoubleSeasonal:
    model: DoubleSeasonalSmoothing
    series_id: str
    step_minutes: int
    last_observed: pd.Timestamp
    last_wall: pd.Timestamp
    deviation: FloatArray
    results: Any
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
            RemainderFit(self.results, self.history_length, self.last_wall),
            series_id=self.series_id,
            last_observed=self.last_observed,
            step_minutes=self.step_minutes,
            timezone=self.model.timezone,
            country=self.model.country,
        )
        features = outlook.features
        values = outlook.mean + self.deviation[features.effective_weekday, features.slot]
        return outlook.result(values, levels, self.spread, self.model.name, self.notes)

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """Refit: the smoothing states are re-estimated from the new data."""
        return self.model.fit(history, regressors)
