"""Plant output from its recent level: waste-to-energy availability and biogas inflow.

A plant that runs steadily (a waste-to-energy turbine set, a digester
feeding a gas holder) is best forecast from where it is now: its level over
the last few hours, plus the daily pattern it keeps (the afternoon rise of
gas after the day's sludge feeding), learned from the last weeks as each
local time of day's mean deviation from its day's mean. The forecast is
made on the level with the pattern taken out, so that the time of day of
the origin does not leak into the level.

A plant that is off at the origin (its last hours near zero: a planned
outage, a trip) is forecast to stay off for the horizon: without a plan
saying when it returns, an ongoing outage is the best guess for the next
day, and the note says so.

Intervals are empirical: the same rule is run from every past local
midnight of the history, and the errors of its day-ahead forecasts, by
lead time and time of day, give the quantiles (:mod:`forecasting.intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from forecasting.base import DEFAULT_LEVELS, FittedForecaster, ForecastError, ForecastResult
from forecasting.features import day_mean, step_features
from forecasting.grid import (
    FloatArray,
    horizon_steps,
    infer_step_minutes,
    lead_steps,
    series_label,
    slot_of_day,
    steps_per_day,
)
from forecasting.intervals import ErrorQuantiles, check_levels

#: Upper edges of the lead-time buckets of the error quantiles, hours.
BUCKET_EDGES_H = (6.0, 12.0, 24.0)


@dataclass(frozen=True)
class RecentLevel:
    """The ``recent_level`` model (see module).

    Parameters
    ----------
    timezone, country
        Local time zone of the daily pattern, and holiday country.
    level_hours
        Hours before the origin whose mean (pattern taken out) is the level, h.
    pattern_days
        Days of history the daily pattern is learned from, days.
    off_share
        Below this share of the plant's typical running output it counts as off.
    off_hours
        A plant off for this long before the origin is forecast to stay off, h.
    nonnegative
        Whether the forecast and its intervals are kept at or above zero.
    """

    timezone: str = "Europe/Warsaw"
    country: str = "PL"
    level_hours: float = 6.0
    pattern_days: int = 14
    off_share: float = 0.05
    off_hours: float = 2.0
    nonnegative: bool = True
    name: str = "recent_level"
    min_history_days: float = 3.0
    fallback: str | None = "naive_daily"

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Learn the running level, the daily pattern and the day-ahead errors."""
        label = series_label(history)
        index = pd.DatetimeIndex(history.index).tz_convert("UTC")
        step = infer_step_minutes(index, label)
        values = history.to_numpy(dtype=float)
        zone = ZoneInfo(self.timezone)
        per_day = steps_per_day(step)
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            raise ValueError("no values in the history")
        running_level = float(np.quantile(finite, 0.9))
        threshold = self.off_share * running_level
        features = step_features(index, zone, step, self.country)
        slots = features.slot
        recent = index >= index[-1] - pd.Timedelta(days=self.pattern_days)
        running_day = day_mean(np.where(values > threshold, 1.0, 0.0), features.day_number)
        deviation = values - day_mean(values, features.day_number)
        usable = recent & np.isfinite(deviation) & (running_day == 1.0)
        sums = np.bincount(slots[usable], weights=deviation[usable], minlength=per_day)
        counts = np.bincount(slots[usable], minlength=per_day)
        with np.errstate(invalid="ignore", divide="ignore"):
            pattern = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        # A running mean over the hour round each time of day: the pattern is a
        # plant's habit, not the noise of the days it was learned from.
        width = max(1, 60 // step)
        padded = np.concatenate([pattern[-width:], pattern, pattern[:width]])
        pattern = np.convolve(padded, np.ones(2 * width + 1) / (2 * width + 1), mode="valid")
        pattern = pattern - pattern.mean()
        fitted = _FittedRecentLevel(
            model=self,
            series_id=label,
            step_minutes=step,
            zone=zone,
            pattern=pattern,
            threshold=threshold,
            recent=history.iloc[-self._tail_steps(step) :],
            last_observed=index[-1],
            errors=None,
        )
        return replace(fitted, errors=fitted.past_errors(history, slots))

    def _tail_steps(self, step_minutes: int) -> int:
        return int(np.ceil(max(self.level_hours, self.off_hours) * 60 / step_minutes))


@dataclass(frozen=True)
class _FittedRecentLevel:
    model: RecentLevel
    series_id: str
    step_minutes: int
    zone: ZoneInfo
    pattern: FloatArray
    threshold: float
    recent: pd.Series
    last_observed: pd.Timestamp
    errors: ErrorQuantiles | None
    notes: tuple[str, ...] = field(default=())

    @property
    def model_name(self) -> str:
        return self.model.name

    def _origin_state(
        self, values: FloatArray, slots: np.ndarray, end: int
    ) -> tuple[float, bool] | None:
        """The level (pattern taken out) and whether the plant is off, at position ``end``."""
        step_h = self.step_minutes / 60.0
        level_steps = max(1, round(self.model.level_hours / step_h))
        off_steps = max(1, round(self.model.off_hours / step_h))
        window = (
            values[max(0, end - level_steps) : end]
            - self.pattern[slots[max(0, end - level_steps) : end]]
        )
        last = values[max(0, end - off_steps) : end]
        if not np.isfinite(window).any():
            return None
        off = bool(np.isfinite(last).any() and np.nanmax(last) <= self.threshold)
        return float(np.nanmean(window)), off

    def past_errors(self, history: pd.Series, slots: np.ndarray) -> ErrorQuantiles | None:
        """Errors of the rule's day-ahead forecasts from each past local midnight."""
        values = history.to_numpy(dtype=float)
        per_day = steps_per_day(self.step_minutes)
        midnights = np.flatnonzero(slots == 0)
        errors, error_slots, buckets = [], [], []
        edges = np.array(BUCKET_EDGES_H) * 60 / self.step_minutes
        for origin in midnights.tolist():
            if origin < per_day:
                continue
            state = self._origin_state(values, slots, origin)
            if state is None:
                continue
            level, off = state
            target = np.arange(origin, min(origin + per_day, len(values)))
            forecast = np.zeros(len(target)) if off else level + self.pattern[slots[target]]
            errors.append(values[target] - forecast)
            error_slots.append(slots[target])
            buckets.append(np.searchsorted(edges, np.arange(1, len(target) + 1)))
        if not errors:
            return None
        all_errors = np.concatenate(errors)
        if not np.isfinite(all_errors).any():
            return None
        return ErrorQuantiles.from_errors(
            all_errors,
            np.concatenate(error_slots),
            np.concatenate(buckets).astype(np.int64),
            per_day,
            bucket_count=len(BUCKET_EDGES_H) + 1,
        )

    def forecast(
        self,
        steps: pd.DatetimeIndex | int,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        regressors: pd.DataFrame | None = None,
    ) -> ForecastResult:
        check_levels(levels, self.series_id)
        steps = horizon_steps(steps, self.last_observed, self.step_minutes, self.series_id)
        recent_index = pd.DatetimeIndex(self.recent.index).tz_convert("UTC")
        recent_slots = slot_of_day(recent_index, self.zone, self.step_minutes)
        state = self._origin_state(
            self.recent.to_numpy(dtype=float), recent_slots, len(self.recent)
        )
        if state is None:
            raise ForecastError(
                f"series {self.series_id!r} has no values in the "
                f"{self.model.level_hours:g} h before {steps[0]}",
                fix="load its recent history",
            )
        level, off = state
        notes = list(self.notes)
        slots = slot_of_day(steps, self.zone, self.step_minutes)
        if off:
            notes.append(
                f"off at {self.last_observed:%Y-%m-%d %H:%M} UTC (below {self.threshold:.4g} "
                f"for {self.model.off_hours:g} h): forecast to stay off"
            )
            values = np.zeros(len(steps))
        else:
            values = level + self.pattern[slots]
        if self.model.nonnegative:
            values = np.maximum(values, 0.0)
        point = pd.Series(values, index=steps, name=self.series_id)
        intervals: dict[float, pd.DataFrame] = {}
        if levels and (off or self.errors is None):
            intervals = {
                level_: pd.DataFrame({"lower": values, "upper": values}, index=steps)
                for level_ in levels
            }
            if not off:
                notes.append("no intervals: the history is too short to learn the errors from")
        elif levels and self.errors is not None:
            edges = np.array(BUCKET_EDGES_H) * 60 / self.step_minutes
            leads = lead_steps(steps, self.last_observed, self.step_minutes)
            buckets = np.searchsorted(edges, leads).astype(np.int64)
            intervals = dict(self.errors.intervals(point, slots, buckets, levels))
            if self.model.nonnegative:
                intervals = {k: frame.clip(lower=0.0) for k, frame in intervals.items()}
        return ForecastResult(point, self.model.name, intervals, tuple(notes))

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """Move the origin to the end of ``history``, keeping the pattern and the errors."""
        tail = history.iloc[-self.model._tail_steps(self.step_minutes) :]
        last = pd.DatetimeIndex(tail.index).tz_convert("UTC")[-1]
        return replace(self, recent=tail, last_observed=last)
