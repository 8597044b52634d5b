"""How a model's errors carry on into the future: recent levels and a fading deviation.

After a profile model (:mod:`forecasting.regression`) has explained what the
calendar and the weather explain, its residuals :math:`r_t` still wander: a
slow level (a building busier than usual these weeks) and step-to-step
deviations that fade within hours. At a forecast origin :math:`o` a few
numbers summarise them: the mean residual over the last day and over the
last :data:`LONG_LEVEL_DAYS` days (:math:`\\bar r^{1}_o`, :math:`\\bar r^{L}_o`)
and the last step's deviation from the day's mean
(:math:`d_o = r_o - \\bar r^{1}_o`). The forecast of the residual :math:`h`
steps ahead is

.. math::  \\hat r_{o+h} = a_h \\bar r^{1}_o + c_h \\bar r^{L}_o + b_h d_o

with one set of coefficients per lead time, fitted directly by least squares
over many past origins (a *direct* multi-step forecast: no recursion, so no
compounding of a misfitted one-step model). The errors of these forecasts at
the past origins give the intervals.

The summaries are of the residuals relative to the profile's value
:math:`\\hat y_t` (:math:`r_t / \\hat y_t`, with a floor), and the forecast
residual is that share of the step's own :math:`\\hat y`: a building busier
than usual is busier in proportion, by night and by day, on a Saturday as on
a Monday. The past origins are taken near the time of day of the forecast's
own origin (see :func:`_origins_like_last`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.grid import FloatArray, IntArray
from forecasting.intervals import ErrorQuantiles

#: Lead times fitted one by one, days; beyond, the last lead's coefficients fade.
HORIZON_DAYS = 2
#: The longer level window, days.
LONG_LEVEL_DAYS = 5
#: Upper edges of the lead-time buckets of the error quantiles, hours.
BUCKET_EDGES_H = (1.0, 3.0, 6.0, 12.0, 24.0, 48.0)
#: Origins are taken every this many hours of history ...
ORIGIN_STRIDE_H = 1.0
#: ... within this many hours of the time of day of the forecast origin.
ORIGIN_WINDOW_H = 3.0
#: Lead times up to this many steps keep their own coefficients; later ones are smoothed.
_UNSMOOTHED_LEADS = 8
_SMOOTHING_WIDTH = 9
#: Fewest origin-lead pairs for a direct fit; with fewer, residuals stand for errors.
_MIN_PAIRS = 200
#: Share of the mean absolute level below which levels count as that share.
_FLOOR_SHARE = 0.1
#: Relative ridge keeping the per-lead normal equations well posed.
_RIDGE = 1e-6


def _running_mean(values: FloatArray, width: int) -> FloatArray:
    """Running mean along the first axis, edges padded with the edge values."""
    kernel = np.ones(width) / width
    padded = np.pad(values, [(width // 2, width // 2)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    result: FloatArray = np.apply_along_axis(
        lambda column: np.convolve(column, kernel, mode="valid"), 0, padded
    )
    return result


def summaries(residual: FloatArray, slots_per_day: int) -> FloatArray:
    """Per step: mean residual of the last day, of the last few days, and the deviation.

    Returns an array of shape ``(len(residual), 3)``; NaN where not enough is known.
    """
    series = pd.Series(residual)
    day = series.rolling(slots_per_day, min_periods=max(1, slots_per_day // 2)).mean()
    long_window = LONG_LEVEL_DAYS * slots_per_day
    long = series.rolling(long_window, min_periods=max(1, long_window // 2)).mean()
    result: FloatArray = np.column_stack(
        [day.to_numpy(dtype=float), long.to_numpy(dtype=float), residual - day.to_numpy()]
    )
    return result


@dataclass(frozen=True)
class LeadDynamics:
    """Fitted lead-time coefficients of the residual forecast and its error quantiles.

    Attributes
    ----------
    coefficients
        Shape ``(H, 3)``: :math:`(a_h, c_h, b_h)` for :math:`h = 1 \\dots H`.
    errors
        Quantiles of the direct forecasts' errors at past origins.
    bucket_edges
        Upper edges of the lead-time buckets, steps.
    slots_per_day
        Steps in a day.
    level_floor
        Least level deviations are measured against, in the series' unit (keeps
        relative deviations finite where the profile nears zero).
    """

    coefficients: FloatArray
    errors: ErrorQuantiles
    bucket_edges: IntArray
    slots_per_day: int
    level_floor: float

    @classmethod
    def fit(
        cls, residual: FloatArray, expected: FloatArray, slots: IntArray, slots_per_day: int
    ) -> LeadDynamics:
        """Fit the coefficients and collect the errors at past origins.

        Parameters
        ----------
        residual
            The profile model's residuals on a regular grid (NaN where unknown).
        expected
            The profile model's values on the same grid, in the series' unit: the
            levels the residuals are measured against.
        slots
            Local time-of-day slot of each step.
        slots_per_day
            Steps in a day.
        """
        horizon = HORIZON_DAYS * slots_per_day
        edges = np.array(
            [max(1, round(hours * slots_per_day / 24)) for hours in BUCKET_EDGES_H], dtype=np.int64
        )
        floor = level_floor(expected)
        scale = np.maximum(np.nan_to_num(expected), floor)
        summary = summaries(residual / scale, slots_per_day)
        origins = _origins_like_last(summary, slots, slots_per_day)
        leads = np.arange(1, horizon + 1)
        targets = origins[:, None] + leads[None, :]
        inside = targets < len(residual)
        targets = np.where(inside, targets, 0)
        actual = np.where(inside, residual[targets], np.nan)
        known = np.isfinite(actual)
        if known.sum() < _MIN_PAIRS:
            return cls._without_origins(residual, slots, slots_per_day, horizon, edges, floor)
        at_origin = summary[origins]
        target_scale = scale[targets]
        mask = np.where(known, target_scale**2, 0.0)
        # Per lead h: sum over origins of mask * F F^T, as one matrix product per (p, q).
        products = (at_origin[:, :, None] * at_origin[:, None, :]).reshape(len(origins), 9)
        gram = (mask.T @ products).reshape(horizon, 3, 3)
        moment = np.where(known, actual * target_scale, 0.0).T @ at_origin
        scale = np.trace(gram, axis1=1, axis2=2)[:, None, None] / 3.0
        ridge = (_RIDGE * scale + 1e-12) * np.eye(3)[None, :, :]
        coefficients = np.linalg.solve(gram + ridge, moment[:, :, None])[:, :, 0]
        coefficients[_UNSMOOTHED_LEADS:] = _running_mean(coefficients, _SMOOTHING_WIDTH)[
            _UNSMOOTHED_LEADS:
        ]
        error = actual - target_scale * (at_origin @ coefficients.T)
        buckets = np.broadcast_to(_bucket(leads, edges)[None, :], error.shape)
        quantiles = ErrorQuantiles.from_errors(
            error[known], slots[targets][known], buckets[known], slots_per_day, len(edges)
        )
        return cls(coefficients, quantiles, edges, slots_per_day, floor)

    @classmethod
    def _without_origins(
        cls,
        residual: FloatArray,
        slots: IntArray,
        slots_per_day: int,
        horizon: int,
        edges: IntArray,
        floor: float,
    ) -> LeadDynamics:
        """No carry-over; the residuals themselves stand for the errors at every lead."""
        known = np.isfinite(residual)
        if not known.any():
            raise ValueError("no residuals to learn the errors from")
        quantiles = ErrorQuantiles.from_errors(
            residual[known],
            slots[known],
            np.zeros(int(known.sum()), dtype=np.int64),
            slots_per_day,
            1,
        )
        return cls(np.zeros((horizon, 3)), quantiles, edges, slots_per_day, floor)

    def holdout_ratio(
        self,
        residual: FloatArray,
        expected: FloatArray,
        slots: IntArray,
        inflation: FloatArray,
        cut: int,
    ) -> float:
        """Day-ahead absolute errors after ``cut`` over the ones the quantiles expect.

        Forecasts start at every local midnight after position ``cut`` and
        cover the next day; the model behind ``residual`` must have been
        fitted on the steps before ``cut`` only. The ratio of each day's sum
        of absolute errors to its expected sum; the mean over the days but
        the worst (the median of two or fewer).
        """
        scale = self._scale(expected)
        summary = summaries(residual / scale, self.slots_per_day)
        origins = np.flatnonzero(slots[cut:] == 0) + cut - 1
        origins = origins[np.isfinite(summary[origins]).all(axis=1)]
        if len(origins) == 0:
            return 1.0
        leads = np.arange(1, self.slots_per_day + 1)
        inside = origins[:, None] + leads[None, :] < len(residual)
        targets = np.where(inside, origins[:, None] + leads[None, :], 0)
        carried = summary[origins] @ self.coefficients[: len(leads)].T
        error = residual[targets] - scale[targets] * carried
        mean_abs_z = np.mean(np.abs(self.errors.quantiles), axis=1)
        bucket = np.clip(_bucket(leads, self.bucket_edges), 0, len(mean_abs_z) - 1)
        expected = self.errors.slot_scale[slots[targets]] * inflation[targets] * mean_abs_z[bucket]
        known = np.isfinite(error) & inside
        days = known.sum(axis=1) > 0
        if not days.any():
            return 1.0
        # Per day, then the mean without the worst day: one day of a regime change
        # (a school reopening) must not make every interval of the next weeks
        # enormous, but the ordinary bad days must count (a median would not see them).
        actual_abs = np.where(known, np.abs(error), 0.0).sum(axis=1)[days]
        expected_abs = np.where(known, expected, 0.0).sum(axis=1)[days]
        ratios = np.sort(actual_abs / expected_abs)
        return float(np.mean(ratios[:-1]) if len(ratios) > 2 else np.median(ratios))

    def state(
        self, residual: FloatArray, expected: FloatArray, index: pd.DatetimeIndex
    ) -> tuple[pd.Timestamp, FloatArray]:
        """The origin (last step whose summaries are known) and its summaries."""
        summary = summaries(residual / self._scale(expected), self.slots_per_day)
        usable = np.flatnonzero(np.isfinite(summary).all(axis=1))
        if len(usable) == 0:
            return index[-1], np.zeros(3)
        last = int(usable[-1])
        return index[last], summary[last]

    def _scale(self, expected: FloatArray) -> FloatArray:
        result: FloatArray = np.maximum(np.nan_to_num(expected), self.level_floor)
        return result

    def expected_error(
        self, leads: IntArray, at_origin: FloatArray, expected: FloatArray
    ) -> FloatArray:
        """The forecast residual at each lead (steps ahead of the origin).

        ``expected`` is the profile model's value at each of these steps: the
        carried-over deviations are relative to it.
        """
        horizon = len(self.coefficients)
        inside = np.clip(leads, 1, horizon) - 1
        # Beyond the fitted leads the levels' shares halve every day.
        fade = np.where(leads > horizon, 0.5 ** ((leads - horizon) / self.slots_per_day), 1.0)
        relative = (self.coefficients[inside] @ at_origin) * fade
        result: FloatArray = relative * self._scale(expected)
        return result

    def intervals(
        self,
        point: pd.Series,
        leads: IntArray,
        slots: IntArray,
        levels: tuple[float, ...],
        inflation: FloatArray,
    ) -> dict[float, pd.DataFrame]:
        """Empirical intervals around ``point`` by lead bucket and time of day.

        ``inflation`` widens each step's interval for the estimation error of
        the profile it is forecast from (in-sample errors understate it).
        """
        buckets = _bucket(leads, self.bucket_edges)
        return dict(self.errors.intervals(point, slots, buckets, levels, inflation))


def level_floor(expected: FloatArray) -> float:
    """The least level deviations are relative to: a tenth of the mean absolute level."""
    known = np.isfinite(expected)
    mean = float(np.mean(np.abs(expected[known]))) if known.any() else 0.0
    return max(_FLOOR_SHARE * mean, 1e-9)


def _origins_like_last(summary: FloatArray, slots: IntArray, slots_per_day: int) -> IntArray:
    """Past origins at about the time of day of the last usable one (the forecast's origin).

    How much of the last day's level carries into the next hours depends on
    the time of day: from midnight the last 24 hours are yesterday, whose own
    daily ups and downs are over; from noon they include this morning, which
    shares its day with the next hours. Coefficients fitted on origins at all
    times of day would carry too much of yesterday into a day-ahead forecast.
    """
    known = np.flatnonzero(np.isfinite(summary).all(axis=1))
    known = known[(known >= slots_per_day - 1) & (known < len(summary) - 1)]
    if len(known) == 0:
        return known
    last_slot = int(slots[known[-1]])
    half_day = slots_per_day // 2
    distance = np.abs((slots[known] - last_slot + half_day) % slots_per_day - half_day)
    stride = max(1, round(ORIGIN_STRIDE_H * slots_per_day / 24))
    window = round(ORIGIN_WINDOW_H * slots_per_day / 24)
    chosen: IntArray = known[(distance <= window) & (distance % stride == 0)]
    return chosen


def _bucket(leads: IntArray, edges: IntArray) -> IntArray:
    result: IntArray = np.clip(np.searchsorted(edges, leads, side="left"), 0, len(edges) - 1)
    return result
