"""Seasonal-naive forecasts: the value at the same local clock time one season ago.

The season is counted on the local wall clock, not in UTC steps, so that a
building that opens at 07:00 local still opens at 07:00 after a DST change.
A target whose season-ago time is missing (a gap, or the hour the spring DST
change skipped) takes the value one more season back.

Intervals are empirical: the model's own errors on its history (each past
step forecast from one, two, ... seasons before it), standardised by time of
day (:mod:`forecasting.intervals`). They are the baselines every other model
is measured against (MASE uses the weekly one).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from forecasting.base import DEFAULT_LEVELS, FittedForecaster, ForecastError, ForecastResult
from forecasting.grid import (
    horizon_steps,
    infer_step_minutes,
    series_label,
    slot_of_day,
    steps_per_day,
)
from forecasting.intervals import ErrorQuantiles, check_levels

#: How many seasons back a forecast may reach for a value before giving up.
MAX_SEASONS_BACK = 4


@dataclass(frozen=True)
class SeasonalNaive:
    """Seasonal-naive model with a season of ``season_days`` local days (1 or 7)."""

    season_days: int
    timezone: str = "Europe/Warsaw"

    @property
    def name(self) -> str:
        """``naive_daily``, ``naive_weekly`` or ``naive_<n>d``."""
        return {1: "naive_daily", 7: "naive_weekly"}.get(
            self.season_days, f"naive_{self.season_days}d"
        )

    @property
    def min_history_days(self) -> float:
        """A day for the daily model; two seasons (one to learn the errors from) for longer."""
        return 1.0 if self.season_days == 1 else 2.0 * self.season_days

    @property
    def fallback(self) -> str | None:
        """The daily model for longer seasons; nothing below the daily one."""
        return "naive_daily" if self.season_days > 1 else None

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Keep the history by local wall-clock time and learn the errors it would have made."""
        label = series_label(history)
        values = history.dropna()
        if values.empty:
            raise ForecastError(
                f"series {label!r} has no values in its history",
                fix="load or import history for it before forecasting",
            )
        index = pd.DatetimeIndex(values.index)
        if index.tz is None:
            raise ForecastError(f"series {label!r}: history index must be tz-aware")
        step_minutes = infer_step_minutes(index, label) if len(index) > 1 else 60
        zone = ZoneInfo(self.timezone)
        wall_clock = index.tz_convert(zone).tz_localize(None)
        # The repeated autumn hour gives two readings for one wall-clock time: average them.
        by_wall_clock = (
            pd.Series(values.to_numpy(dtype=float), index=wall_clock).groupby(level=0).mean()
        )
        fitted = _FittedSeasonalNaive(
            model=self,
            by_wall_clock=by_wall_clock,
            zone=zone,
            series_id=label,
            last_observed=index.max().tz_convert("UTC"),
            step_minutes=step_minutes,
            errors=None,
        )
        return replace(fitted, errors=fitted.past_errors())


@dataclass(frozen=True)
class _FittedSeasonalNaive:
    model: SeasonalNaive
    by_wall_clock: pd.Series
    zone: ZoneInfo
    series_id: str
    last_observed: pd.Timestamp
    step_minutes: int
    errors: ErrorQuantiles | None
    notes: tuple[str, ...] = ()

    @property
    def model_name(self) -> str:
        return self.model.name

    def _lookup(self, target: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """Values one, two, ... seasons before each wall-clock target, and how far back."""
        values = np.full(len(target), np.nan)
        seasons = np.zeros(len(target), dtype=np.int64)
        for seasons_back in range(1, MAX_SEASONS_BACK + 1):
            missing = np.isnan(values)
            if not missing.any():
                break
            lagged = target[missing] - pd.Timedelta(days=self.model.season_days * seasons_back)
            found = self.by_wall_clock.reindex(lagged).to_numpy()
            values[missing] = found
            seasons[np.flatnonzero(missing)[~np.isnan(found)]] = seasons_back
        return values, seasons

    def past_errors(self) -> ErrorQuantiles | None:
        """Quantiles of the errors of forecasts of past steps, by how many seasons back."""
        wall = pd.DatetimeIndex(self.by_wall_clock.index)
        minutes = (wall - wall.normalize()) // pd.Timedelta(minutes=1)
        slot_by_wall = minutes.to_numpy(dtype=np.int64) // self.step_minutes
        actual = self.by_wall_clock.to_numpy()
        errors, error_slots, buckets = [], [], []
        for seasons_back in range(1, 3):
            lagged = wall - pd.Timedelta(days=self.model.season_days * seasons_back)
            error = actual - self.by_wall_clock.reindex(lagged).to_numpy()
            valid = np.isfinite(error)
            errors.append(error[valid])
            error_slots.append(slot_by_wall[valid])
            buckets.append(np.full(int(valid.sum()), seasons_back - 1, dtype=np.int64))
        all_errors = np.concatenate(errors)
        if len(all_errors) == 0:
            return None
        return ErrorQuantiles.from_errors(
            all_errors,
            np.concatenate(error_slots),
            np.concatenate(buckets),
            steps_per_day(self.step_minutes),
            bucket_count=2,
        )

    def forecast(
        self,
        steps: pd.DatetimeIndex | int,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        regressors: pd.DataFrame | None = None,
    ) -> ForecastResult:
        check_levels(levels, self.series_id)
        if isinstance(steps, int):
            steps = horizon_steps(steps, self.last_observed, self.step_minutes, self.series_id)
        steps = pd.DatetimeIndex(steps)
        target = steps.tz_convert(self.zone).tz_localize(None)
        values, seasons = self._lookup(target)
        notes = list(self.notes)
        if np.isnan(values).any():
            filled = pd.Series(values, index=steps).interpolate(limit_direction="both")
            if filled.isna().any():
                raise ForecastError(
                    f"series {self.series_id!r} has no history within "
                    f"{MAX_SEASONS_BACK * self.model.season_days} days before {steps[0]}",
                    fix="load recent history for it",
                )
            notes.append(f"{int(np.isnan(values).sum())} step(s) interpolated: no season-ago value")
            values = filled.to_numpy()
            seasons = np.where(seasons == 0, MAX_SEASONS_BACK, seasons)
        point = pd.Series(values, index=steps, name=self.series_id)
        intervals = {}
        if self.errors is not None and levels:
            slots = slot_of_day(steps, self.zone, self.step_minutes)
            intervals = dict(self.errors.intervals(point, slots, seasons - 1, levels))
        elif levels:
            notes.append("no intervals: the history is too short to learn the errors from")
        return ForecastResult(
            point=point, model=self.model.name, intervals=intervals, notes=tuple(notes)
        )

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """Refit: a naive model's fit is its history, so this is as cheap as it gets."""
        return self.model.fit(history, regressors)
