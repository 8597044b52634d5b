"""The forecasting interface: a model is fitted on history and its result forecasts.

A model (:class:`Forecaster`) and what fitting it gives (:class:`FittedForecaster`)
are separate objects, as in statsmodels: the fitted object owns ``forecast``.
Every model works on a regular, timezone-aware pandas Series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from cluster.errors import KlasterError


class ForecastError(KlasterError):
    """A series cannot be forecast; the message names it and says why."""

    exit_code = 3


@dataclass(frozen=True)
class ForecastResult:
    """A forecast of one series over a horizon.

    Attributes
    ----------
    point
        The point forecast, indexed by the UTC step starts asked for.
    intervals
        Prediction intervals by level (e.g. ``0.8``): a frame with columns
        ``lower`` and ``upper`` on the same index. Empty when the model has none.
    model
        The name of the model that made the forecast.
    notes
        What the model had to do to the data (fallbacks, filled gaps), for people.
    """

    point: pd.Series
    model: str
    intervals: Mapping[float, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


class FittedForecaster(Protocol):
    """A model fitted to one series' history."""

    def forecast(self, steps: pd.DatetimeIndex, levels: tuple[float, ...] = ()) -> ForecastResult:
        """Forecast the given UTC steps, with intervals at ``levels`` where the model has them."""
        ...


class Forecaster(Protocol):
    """A forecasting model, chosen by name."""

    name: str

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Fit to ``history`` (regular, tz-aware index; NaN for missing steps)."""
        ...
