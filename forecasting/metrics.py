"""Accuracy of forecasts: errors, skill against a baseline, interval coverage, pinball loss.

Every function takes aligned arrays or Series (actual first) and ignores
steps where either side is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ArrayLike = pd.Series | np.ndarray | Sequence[float]


def _pair(actual: ArrayLike, forecast: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    if a.shape != f.shape:
        raise ValueError(f"actual and forecast differ in shape: {a.shape} vs {f.shape}")
    known = np.isfinite(a) & np.isfinite(f)
    return a[known], f[known]


def mae(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Mean absolute error, in the series' unit."""
    a, f = _pair(actual, forecast)
    return float(np.mean(np.abs(a - f))) if len(a) else float("nan")


def rmse(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Root mean squared error, in the series' unit."""
    a, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2))) if len(a) else float("nan")


def relative_mae(actual: ArrayLike, forecast: ArrayLike, baseline: ArrayLike) -> float:
    """MAE of ``forecast`` over the MAE of ``baseline`` on the same steps.

    With the weekly seasonal-naive forecast as the baseline this is the MASE
    the issue's targets speak of: below 1 the model beats the baseline. Steps
    where any of the three is missing are left out of both.
    """
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    b = np.asarray(baseline, dtype=float)
    known = np.isfinite(a) & np.isfinite(f) & np.isfinite(b)
    baseline_error = float(np.mean(np.abs(a[known] - b[known]))) if known.any() else 0.0
    if baseline_error == 0.0:
        return float("nan")
    return float(np.mean(np.abs(a[known] - f[known]))) / baseline_error


def coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of steps whose actual value lies within ``[lower, upper]``."""
    a = np.asarray(actual, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    known = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
    if not known.any():
        return float("nan")
    return float(np.mean((a[known] >= lo[known]) & (a[known] <= hi[known])))


def pinball_loss(actual: ArrayLike, quantile_forecast: ArrayLike, probability: float) -> float:
    """Mean pinball (quantile) loss of a forecast of the ``probability`` quantile."""
    a, q = _pair(actual, quantile_forecast)
    if not len(a):
        return float("nan")
    difference = a - q
    return float(np.mean(np.maximum(probability * difference, (probability - 1) * difference)))
