"""The forecasting interface: a model is fitted on history and its result forecasts.

A model (:class:`Forecaster`) and what fitting it gives (:class:`FittedForecaster`)
are separate objects, as in statsmodels: the fitted object owns ``forecast``
and ``update``. Every model works on a regular, timezone-aware pandas Series
(missing steps are NaN); :func:`forecasting.models.fit` is the front door that
cleans raw history, picks the model and falls back when history is short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from cluster.errors import KlasterError

if TYPE_CHECKING:
    from forecasting.cleaning import CleaningReport

#: Interval levels a forecast gives unless asked otherwise.
DEFAULT_LEVELS: tuple[float, ...] = (0.8, 0.95)


class ForecastError(KlasterError):
    """A series cannot be forecast; the message names it and says why."""

    exit_code = 3


class SeriesKind(StrEnum):
    """What a series measures; it picks the default model and whether values can be negative."""

    LOAD = "load"
    PV = "pv"
    HEAT = "heat"
    PRICE = "price"
    TRAFFIC = "traffic"
    GENERIC = "generic"

    @classmethod
    def of_series_id(cls, series_id: str) -> SeriesKind:
        """The kind of a series named by :class:`cluster.timeseries.SeriesId`."""
        prefix = series_id.split("/", 1)[0]
        return _KIND_OF_PREFIX.get(prefix, cls.GENERIC)

    @property
    def nonnegative(self) -> bool:
        """Whether the series can never be below zero (prices can)."""
        return self in {SeriesKind.LOAD, SeriesKind.PV, SeriesKind.HEAT, SeriesKind.TRAFFIC}


_KIND_OF_PREFIX = {
    "load": SeriesKind.LOAD,
    "pv": SeriesKind.PV,
    "heat": SeriesKind.HEAT,
    "market": SeriesKind.PRICE,
    "traffic": SeriesKind.TRAFFIC,
}


@dataclass(frozen=True)
class ForecastResult:
    """A forecast of one series over a horizon.

    Attributes
    ----------
    point
        The point forecast, indexed by the UTC step starts asked for.
    model
        The name of the model that made the forecast.
    intervals
        Prediction intervals by level (e.g. ``0.8``): a frame with columns
        ``lower`` and ``upper`` on the same index. Empty when the model has none.
    notes
        What was done to the data and the model (cleaning, fallbacks), for people.
    cleaning
        The cleaning report of the history, when the history went through
        :func:`forecasting.cleaning.clean_history`.
    """

    point: pd.Series
    model: str
    intervals: Mapping[float, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    cleaning: CleaningReport | None = None

    def to_frame(self) -> pd.DataFrame:
        """The point and every interval as one frame: ``point``, ``lower_80``, ``upper_80``, ..."""
        columns: dict[str, pd.Series] = {"point": self.point}
        for level in sorted(self.intervals):
            percent = f"{level * 100:g}"
            columns[f"lower_{percent}"] = self.intervals[level]["lower"]
            columns[f"upper_{percent}"] = self.intervals[level]["upper"]
        return pd.DataFrame(columns, index=self.point.index)


class FittedForecaster(Protocol):
    """A model fitted to one series' history.

    Attributes
    ----------
    model_name
        The registry name of the model.
    series_id
        The series it was fitted to.
    last_observed
        UTC start of the last step of history it has seen; forecasts start after it.
    step_minutes
        The series' step, minutes.
    notes
        What fitting had to do (fallbacks, cleaning), repeated in every forecast.
    """

    @property
    def model_name(self) -> str: ...

    @property
    def series_id(self) -> str: ...

    @property
    def last_observed(self) -> pd.Timestamp: ...

    @property
    def step_minutes(self) -> int: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

    def forecast(
        self,
        steps: pd.DatetimeIndex | int,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        regressors: pd.DataFrame | None = None,
    ) -> ForecastResult:
        """Forecast the given UTC steps (or the next ``steps`` steps).

        Parameters
        ----------
        steps
            UTC step starts after :attr:`last_observed`, on the series' grid;
            or a count of steps right after it.
        levels
            Central prediction-interval levels in (0, 1), e.g. ``(0.8, 0.95)``.
        regressors
            Values of the regressors the model was fitted with, over ``steps``
            (e.g. the temperature forecast).
        """
        ...

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """The same fitted parameters conditioned on newer ``history``, without refitting.

        Cheap: it moves the forecast origin to the end of ``history`` (for
        example to the next day) and refreshes the state the forecast starts
        from. Refit now and then (weekly, say) to learn changed behaviour.
        """
        ...


class Forecaster(Protocol):
    """A forecasting model, chosen by name.

    Attributes
    ----------
    name
        The registry name.
    min_history_days
        Days of valid history the model needs to be fitted.
    fallback
        The registry name of the simpler model to use when history is shorter,
        or None when there is nothing simpler.
    """

    @property
    def name(self) -> str: ...

    @property
    def min_history_days(self) -> float: ...

    @property
    def fallback(self) -> str | None: ...

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Fit to ``history`` (regular, tz-aware index; NaN for missing steps)."""
        ...
