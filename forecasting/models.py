"""The models by name, the default per kind of series, and :func:`fit`, the front door.

::

    from forecasting.models import fit

    fitted = fit(history, regressors, kind="load")      # clean, choose, fit
    result = fitted.forecast(day_steps, levels=(0.8, 0.95), regressors=weather)
    result.point, result.intervals[0.8], result.notes
    tomorrow = fitted.update(newer_history, regressors).forecast(next_day_steps, ...)

:func:`fit` cleans the history (:mod:`forecasting.cleaning`), picks the
model (by name, or the default for the series' kind), falls back to a
simpler model when the history is too short for it or it fails, and returns
a fitted model whose every forecast carries the notes of what was done (and
is clipped at zero for series that cannot be negative).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from forecasting.base import (
    DEFAULT_LEVELS,
    FittedForecaster,
    Forecaster,
    ForecastError,
    ForecastResult,
    SeriesKind,
)
from forecasting.cleaning import CleaningOptions, CleaningReport, clean_history
from forecasting.grid import infer_step_minutes, series_label, steps_per_day
from forecasting.level import RecentLevel
from forecasting.lighting import StreetLightingLoad
from forecasting.naive import SeasonalNaive
from forecasting.pv import PhysicalPv
from forecasting.regression import CalendarRegression
from forecasting.seasonal import Mstl
from forecasting.smoothing import DoubleSeasonalSmoothing

ModelFactory = Callable[..., Forecaster]


@dataclass(frozen=True)
class ModelEntry:
    """A model in the registry: how to build it and what it is."""

    factory: ModelFactory
    description: str


def _naive(season_days: int) -> ModelFactory:
    def build(timezone: str = "Europe/Warsaw", country: str = "PL", **options: Any) -> Forecaster:
        return SeasonalNaive(season_days, timezone, **options)

    return build


def _mstl(remainder: str) -> ModelFactory:
    def build(timezone: str = "Europe/Warsaw", country: str = "PL", **options: Any) -> Forecaster:
        return Mstl(remainder=remainder, timezone=timezone, country=country, **options)

    return build


MODELS: dict[str, ModelEntry] = {
    "naive_daily": ModelEntry(_naive(1), "the same local time yesterday"),
    "naive_weekly": ModelEntry(_naive(7), "the same local time a week ago"),
    "mstl_ets": ModelEntry(
        _mstl("ets"), "MSTL daily+weekly seasons, exponential smoothing of the rest"
    ),
    "mstl_arima": ModelEntry(_mstl("arima"), "MSTL daily+weekly seasons, ARIMA(1,1,1) of the rest"),
    "double_seasonal_ets": ModelEntry(
        DoubleSeasonalSmoothing,
        "weekly profile by time of day plus Holt-Winters with a daily season",
    ),
    "calendar_regression": ModelEntry(
        CalendarRegression,
        "calendar profile × heating/cooling degrees, errors carried by lead time",
    ),
    "pv_physical": ModelEntry(
        PhysicalPv, "pvlib physics from the weather forecast, corrected by the plant's history"
    ),
    "recent_level": ModelEntry(
        RecentLevel, "level of the last hours plus the daily pattern; an outage continues"
    ),
    "street_lighting": ModelEntry(
        StreetLightingLoad, "burning power × share of the step lamps burn (sun and cloud)"
    ),
}

#: The model each kind of series gets unless one is named.
DEFAULT_MODELS: dict[SeriesKind, str] = {
    SeriesKind.LOAD: "calendar_regression",
    SeriesKind.HEAT: "calendar_regression",
    SeriesKind.TRAFFIC: "calendar_regression",
    SeriesKind.PV: "naive_daily",
    SeriesKind.PRICE: "mstl_arima",
    SeriesKind.GENERIC: "mstl_ets",
}


#: Options the default model of a kind gets unless they are given. Building loads
#: count heating degrees from 18 °C, the customary base of heating degree days
#: (rooms are kept near 20 °C and people, lights and sun give the last degrees):
#: the response then starts with the first cool days of autumn, before the
#: heating season proper, and is learned by the time it matters.
DEFAULT_OPTIONS: dict[SeriesKind, dict[str, Any]] = {
    SeriesKind.LOAD: {"heating_base_c": 18.0},
}


def available_models() -> dict[str, str]:
    """Every model name with a one-line description."""
    return {name: entry.description for name, entry in MODELS.items()}


def default_model(kind: SeriesKind | str) -> str:
    """The name of the default model for a kind of series."""
    return DEFAULT_MODELS[SeriesKind(kind)]


def make_model(
    name: str, *, timezone: str = "Europe/Warsaw", country: str = "PL", **options: Any
) -> Forecaster:
    """Build the named model with its options.

    Raises
    ------
    ForecastError
        For an unknown name or options the model does not take.
    """
    entry = MODELS.get(name)
    if entry is None:
        raise ForecastError(
            f"there is no forecasting model called {name!r}",
            fix=f"choose one of {', '.join(sorted(MODELS))}",
        )
    try:
        return entry.factory(timezone=timezone, country=country, **options)
    except TypeError as exc:
        raise ForecastError(
            f"model {name!r} does not take the options {sorted(options)}: {exc}",
            fix="drop the options it does not know",
        ) from exc


@dataclass(frozen=True)
class PreparedForecaster:
    """A fitted model with the cleaning and fallback notes of its history.

    What :func:`fit` returns. Its :meth:`forecast` adds the notes and the
    cleaning report to every result and clips series that cannot be
    negative; its :meth:`update` cleans the newer history the same way.
    """

    inner: FittedForecaster
    report: CleaningReport | None
    fit_notes: tuple[str, ...]
    nonnegative: bool
    timezone: str
    cleaning: CleaningOptions | None

    @property
    def model_name(self) -> str:
        """The name of the model that was fitted (after any fallback)."""
        return self.inner.model_name

    @property
    def series_id(self) -> str:
        """The series."""
        return self.inner.series_id

    @property
    def last_observed(self) -> pd.Timestamp:
        """UTC start of the last step of history seen."""
        return self.inner.last_observed

    @property
    def step_minutes(self) -> int:
        """The series' step, minutes."""
        return self.inner.step_minutes

    @property
    def notes(self) -> tuple[str, ...]:
        """Fallback and cleaning notes, then the model's own."""
        cleaning = self.report.notes() if self.report else ()
        return (*self.fit_notes, *cleaning, *self.inner.notes)

    def forecast(
        self,
        steps: pd.DatetimeIndex | int,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        regressors: pd.DataFrame | None = None,
    ) -> ForecastResult:
        """Forecast (see :meth:`forecasting.base.FittedForecaster.forecast`)."""
        try:
            result = self.inner.forecast(steps, levels, regressors)
        except ForecastError:
            raise
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            raise ForecastError(
                f"series {self.series_id!r}: model {self.model_name} failed to forecast: {exc}",
                fix="check the history and regressors, or choose another model",
            ) from exc
        point, intervals = result.point, dict(result.intervals)
        if self.nonnegative:
            point = pd.Series(np.maximum(point.to_numpy(), 0.0), index=point.index, name=point.name)
            intervals = {
                level: pd.DataFrame(
                    np.maximum(frame.to_numpy(), 0.0), index=frame.index, columns=frame.columns
                )
                for level, frame in intervals.items()
            }
        notes = (*self.fit_notes, *(self.report.notes() if self.report else ()), *result.notes)
        return ForecastResult(point, result.model, intervals, notes, self.report)

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> PreparedForecaster:
        """The fitted model moved to the end of newer ``history`` (cleaned first)."""
        report = None
        if self.cleaning is not None:
            history, report = clean_history(
                history, self.timezone, step_minutes=self.step_minutes, options=self.cleaning
            )
        return replace(self, inner=self.inner.update(history, regressors), report=report)


def _valid_days(history: pd.Series, step_minutes: int) -> float:
    return float(history.notna().sum()) / steps_per_day(step_minutes)


def fit(
    history: pd.Series,
    regressors: pd.DataFrame | None = None,
    *,
    model: str | None = None,
    kind: SeriesKind | str | None = None,
    timezone: str = "Europe/Warsaw",
    country: str = "PL",
    cleaning: CleaningOptions | None = CleaningOptions(),  # noqa: B008 - frozen, shared safely
    **options: Any,
) -> PreparedForecaster:
    """Clean ``history``, choose a model and fit it.

    Parameters
    ----------
    history
        Values indexed by timezone-aware timestamps on a 15-, 30- or 60-minute
        grid (gaps, duplicates and bad values are dealt with); the name names
        the series in messages.
    regressors
        Regressors over the history (and, for convenience, beyond it), one
        column each, e.g. ``"weather/temp_c"`` for the load model.
    model
        A name from :func:`available_models`; the default for ``kind`` when None.
    kind
        What the series is; inferred from a :class:`~cluster.timeseries.SeriesId`
        name when None (``generic`` for other names).
    timezone
        Local time zone of the calendar.
    country
        ISO country code of the public holidays.
    cleaning
        Cleaning thresholds; None to take the history as it is (it must then
        already be regular).
    **options
        Options of the chosen model (e.g. ``school_breaks=True`` for
        ``calendar_regression``); a fallback model is built without them.

    Raises
    ------
    ForecastError
        Naming the series, when it cannot be forecast at all: no usable
        values, no time zone, an unusable step, or too little history even
        for the simplest model.
    """
    label = series_label(history)
    series_kind = SeriesKind(kind) if kind is not None else SeriesKind.of_series_id(label)
    name = model or default_model(series_kind)
    report = None
    if cleaning is not None:
        history, report = clean_history(history, timezone, options=cleaning)
        step = report.step_minutes
    else:
        history = history.rename(label)
        step = infer_step_minutes(pd.DatetimeIndex(history.dropna().index), label)
    if history.notna().sum() == 0:
        raise ForecastError(
            f"series {label!r} has no usable values left after cleaning",
            fix="check the meter: every value was missing, a spike or stuck",
        )
    days = _valid_days(history, step)
    notes: list[str] = []
    if name == default_model(series_kind):
        options = {**DEFAULT_OPTIONS.get(series_kind, {}), **options}
    chosen = make_model(name, timezone=timezone, country=country, **options)
    while True:
        if days < chosen.min_history_days:
            reason = (
                f"{days:.1f} days of valid history, {chosen.name} needs {chosen.min_history_days:g}"
            )
        else:
            try:
                fitted = chosen.fit(history, regressors)
                break
            except ForecastError:
                raise
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                reason = f"{chosen.name} could not be fitted ({type(exc).__name__}: {exc})"
        if chosen.fallback is None:
            raise ForecastError(
                f"series {label!r} cannot be forecast: {reason}",
                fix="give it more history (at least a day of values)",
            )
        notes.append(f"{reason}: fell back to {chosen.fallback}")
        chosen = make_model(chosen.fallback, timezone=timezone, country=country)
    return PreparedForecaster(
        inner=fitted,
        report=report,
        fit_notes=tuple(notes),
        nonnegative=series_kind.nonnegative,
        timezone=timezone,
        cleaning=cleaning,
    )
