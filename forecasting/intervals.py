"""Prediction intervals: Gaussian from a model's variance, or empirical from its own errors.

Empirical intervals use the errors a model made on its own history (for a
seasonal-naive model, its forecasts of each past step from one season
before; for the regression, its day-ahead forecasts from many past origins).
Errors are larger at busy times of day, so each error is divided by a scale
for its local time of day, the quantiles of these standardised errors are
taken per *bucket* (a range of lead times, or how many seasons back a naive
forecast reached), and an interval is the point plus the quantiles times
the scale of the target's time of day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from forecasting.base import ForecastError
from forecasting.grid import FloatArray, IntArray, horizon_steps

#: Probabilities at which standardised-error quantiles are kept.
PROBABILITIES: FloatArray = np.linspace(0.0025, 0.9975, 399)
#: Fewest errors a bucket needs for its own quantiles; smaller ones borrow from all.
MIN_BUCKET_ERRORS = 50
#: Most errors a bucket's quantiles are taken from (an even subsample beyond).
MAX_BUCKET_ERRORS = 4000
#: Half-width of the circular running mean that smooths the time-of-day scale, slots.
_SCALE_SMOOTHING = 2


def check_levels(levels: tuple[float, ...], label: str) -> None:
    """Raise :class:`ForecastError` unless every level lies strictly between 0 and 1."""
    for level in levels:
        if not 0.0 < level < 1.0:
            raise ForecastError(
                f"series {label!r}: interval level {level} is not between 0 and 1",
                fix="give levels as fractions, e.g. (0.8, 0.95)",
            )


def forecast_steps(
    steps: pd.DatetimeIndex | int,
    levels: tuple[float, ...],
    last_observed: pd.Timestamp,
    step_minutes: int,
    label: str,
) -> pd.DatetimeIndex:
    """Check a forecast request's interval levels and resolve its UTC steps.

    Parameters
    ----------
    steps
        The UTC steps to forecast, or their number after ``last_observed``.
    levels
        Central interval levels, as fractions in (0, 1).
    last_observed
        Last observed UTC step of the history.
    step_minutes
        Length of a step, in minutes.
    label
        The series forecast, named in errors.
    """
    check_levels(levels, label)
    return horizon_steps(steps, last_observed, step_minutes, label)


def quantile_intervals(
    steps: pd.DatetimeIndex,
    levels: tuple[float, ...],
    quantile: Callable[[float], FloatArray],
) -> dict[float, pd.DataFrame]:
    """Central intervals bounded by the forecast's quantiles ``0.5 ∓ level / 2``.

    Parameters
    ----------
    steps
        The UTC steps forecast, the index of every interval.
    levels
        Central interval levels, as fractions in (0, 1).
    quantile
        The forecast's quantile at a probability, per step, in the series' unit.
    """
    return {
        level: pd.DataFrame(
            {"lower": quantile(0.5 - level / 2.0), "upper": quantile(0.5 + level / 2.0)},
            index=steps,
        )
        for level in levels
    }


def gaussian_intervals(
    point: pd.Series, std: FloatArray, levels: tuple[float, ...]
) -> dict[float, pd.DataFrame]:
    """Central intervals ``point ± z · std`` for normally distributed errors."""
    result: dict[float, pd.DataFrame] = {}
    for level in levels:
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        result[level] = pd.DataFrame(
            {"lower": point.to_numpy() - z * std, "upper": point.to_numpy() + z * std},
            index=point.index,
        )
    return result


def _circular_smooth(values: FloatArray, half_width: int) -> FloatArray:
    if half_width <= 0 or len(values) < 2 * half_width + 1:
        return values
    padded = np.concatenate([values[-half_width:], values, values[:half_width]])
    kernel = np.ones(2 * half_width + 1) / (2 * half_width + 1)
    smoothed: FloatArray = np.convolve(padded, kernel, mode="valid")
    return smoothed


def _quantiles(values: FloatArray) -> FloatArray:
    """Quantiles at :data:`PROBABILITIES` (linear interpolation), by one sort.

    Beyond :data:`MAX_BUCKET_ERRORS` values an evenly spaced subsample is used:
    the quantiles hardly move and the sort is what costs.
    """
    if len(values) > MAX_BUCKET_ERRORS:
        values = values[:: -(-len(values) // MAX_BUCKET_ERRORS)]
    ordered = np.sort(values)
    positions = PROBABILITIES * (len(ordered) - 1)
    result: FloatArray = np.interp(positions, np.arange(len(ordered)), ordered)
    return result


@dataclass(frozen=True)
class ErrorQuantiles:
    """Quantiles of a model's standardised past errors, by bucket, and a scale by time of day.

    Attributes
    ----------
    slot_scale
        Mean absolute error at each local time-of-day slot, in the series' unit.
    quantiles
        Standardised-error quantiles at :data:`PROBABILITIES`, one row per bucket.
    """

    slot_scale: FloatArray
    quantiles: FloatArray

    @classmethod
    def from_errors(
        cls,
        errors: FloatArray,
        slots: IntArray,
        buckets: IntArray,
        slots_per_day: int,
        bucket_count: int,
    ) -> ErrorQuantiles:
        """Quantiles from past errors with the slot and bucket of each.

        Parameters
        ----------
        errors
            Past forecast errors (actual minus forecast), in the series' unit.
        slots
            Local time-of-day slot of each error's target step.
        buckets
            Bucket of each error, ``0 <= bucket < bucket_count``.
        slots_per_day
            Slots in a day.
        bucket_count
            Number of buckets.
        """
        valid = np.isfinite(errors)
        errors, slots, buckets = errors[valid], slots[valid], buckets[valid]
        if len(errors) == 0:
            raise ValueError("no finite errors to take quantiles of")
        sums = np.bincount(slots, weights=np.abs(errors), minlength=slots_per_day)
        counts = np.bincount(slots, minlength=slots_per_day)
        overall = float(np.mean(np.abs(errors)))
        with np.errstate(invalid="ignore", divide="ignore"):
            by_slot = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
        scale = _circular_smooth(by_slot, _SCALE_SMOOTHING)
        scale = np.maximum(scale, max(overall * 0.05, 1e-9))
        standardised = errors / scale[slots]
        rows = []
        for bucket in range(bucket_count):
            mine = standardised[buckets == bucket]
            rows.append(_quantiles(mine if len(mine) >= MIN_BUCKET_ERRORS else standardised))
        return cls(slot_scale=scale, quantiles=np.vstack(rows))

    def intervals(
        self,
        point: pd.Series,
        slots: IntArray,
        buckets: IntArray,
        levels: tuple[float, ...],
        inflation: FloatArray | float = 1.0,
    ) -> Mapping[float, pd.DataFrame]:
        """Intervals around ``point`` for targets at ``slots`` in ``buckets``.

        ``inflation`` multiplies the scale (per step or overall), for a model
        that knows its in-sample errors understate out-of-sample ones.
        """
        buckets = np.clip(buckets, 0, len(self.quantiles) - 1)
        scale = self.slot_scale[slots] * inflation
        result: dict[float, pd.DataFrame] = {}
        for level in levels:
            low_p, high_p = 0.5 - level / 2.0, 0.5 + level / 2.0
            low = np.array([np.interp(low_p, PROBABILITIES, row) for row in self.quantiles])
            high = np.array([np.interp(high_p, PROBABILITIES, row) for row in self.quantiles])
            result[level] = pd.DataFrame(
                {
                    "lower": point.to_numpy() + low[buckets] * scale,
                    "upper": point.to_numpy() + high[buckets] * scale,
                },
                index=point.index,
            )
        return result
