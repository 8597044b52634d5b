"""Forecasting many series at once: in worker processes, reusing fitted models between days.

:func:`forecast_many` fits and forecasts every series it is given and
returns, per series, either its :class:`~forecasting.base.ForecastResult` or
the :class:`~forecasting.base.ForecastError` that says why it could not be
forecast; one bad series never stops the others.

The fits are split into chunks of series, each chunk one task for a
``ProcessPoolExecutor`` (so the per-task cost of starting and pickling is
paid once per chunk, not per series); ``workers=1`` runs in this process.
Updates of reused models (below) run in this process while the workers fit:
they cost less than the trip to a worker and back.

Reuse: a :class:`FitCache` keeps each series' fitted model with the local
day it was fitted on. On a later day, a model younger than
``refit_days`` is not refitted but *updated* with the new history
(:meth:`~forecasting.base.FittedForecaster.update`: same parameters, new
forecast origin), which for the load model costs a small part of a fit.

Plans: a series given planned outages (``plans``) is fitted on its history
with the outages masked and forecast scaled by them (:mod:`forecasting.plans`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from cluster.outages import OutageWindow, steps_in_windows
from forecasting.base import DEFAULT_LEVELS, ForecastError, ForecastResult, SeriesKind
from forecasting.grid import horizon_steps, infer_step_minutes
from forecasting.models import PreparedForecaster, fit
from forecasting.plans import PlanReport, apply_plan, mask_planned_outages, planned_off_result

#: Most series in one task for a worker process.
MAX_CHUNK = 64


@dataclass(frozen=True)
class CacheEntry:
    """A fitted model, the model name asked for (None: the default), and its fit day."""

    fitted: PreparedForecaster
    requested_model: str | None
    fitted_on: date


@dataclass
class FitCache:
    """Fitted models by series id, reused (updated) until they are ``refit_days`` old."""

    refit_days: int = 7
    entries: dict[str, CacheEntry] = field(default_factory=dict)

    def usable(self, series_id: str, requested_model: str | None, day: date) -> CacheEntry | None:
        """The entry for a series when it may serve a forecast of local ``day``."""
        entry = self.entries.get(series_id)
        if entry is None or entry.requested_model != requested_model:
            return None
        age_days = (day - entry.fitted_on).days
        return entry if 0 <= age_days < self.refit_days else None

    def store(
        self, series_id: str, fitted: PreparedForecaster, requested_model: str | None, day: date
    ) -> None:
        """Keep a model fitted for local ``day``; an updated model keeps its fit day."""
        previous = self.entries.get(series_id)
        if (
            previous is not None
            and previous.fitted.model_name == fitted.model_name
            and previous.requested_model == requested_model
            and 0 <= (day - previous.fitted_on).days < self.refit_days
        ):
            self.entries[series_id] = CacheEntry(fitted, requested_model, previous.fitted_on)
            return
        self.entries[series_id] = CacheEntry(fitted, requested_model, day)


@dataclass(frozen=True)
class _Task:
    series_id: str
    history: pd.Series
    regressors: pd.DataFrame | None
    model: str | None
    kind: SeriesKind | None
    options: Mapping[str, Any]
    previous: PreparedForecaster | None
    plan: tuple[OutageWindow, ...] = ()


@dataclass(frozen=True)
class _Chunk:
    tasks: Sequence[_Task]
    shared_regressors: pd.DataFrame | None
    steps: pd.DatetimeIndex | int
    levels: tuple[float, ...]
    timezone: str
    country: str
    return_fitted: bool


_Outcome = tuple[str, ForecastResult | ForecastError, PreparedForecaster | None]


def _planned_steps(task: _Task, steps: pd.DatetimeIndex | int) -> pd.DatetimeIndex | int:
    """The steps to forecast, fixed to the history's end before a plan may cut it short."""
    if isinstance(steps, pd.DatetimeIndex) or not task.plan:
        return steps
    index = pd.DatetimeIndex(task.history.dropna().index).tz_convert("UTC").sort_values()
    step = infer_step_minutes(index, task.series_id)
    return horizon_steps(steps, index[-1], step, task.series_id)


def _run_one(task: _Task, chunk: _Chunk) -> _Outcome:
    regressors = task.regressors if task.regressors is not None else chunk.shared_regressors
    history = task.history.rename(task.series_id)
    try:
        steps = _planned_steps(task, chunk.steps)
        report: PlanReport | None = None
        if task.plan:
            history, report = mask_planned_outages(history, task.plan)
            if isinstance(steps, pd.DatetimeIndex) and report.step_minutes:
                _, fraction = steps_in_windows(steps, report.step_minutes, task.plan)
                if not fraction.any():
                    off = planned_off_result(steps, task.series_id, chunk.levels, report)
                    return task.series_id, off, None
        if task.previous is not None:
            fitted = task.previous.update(history, regressors)
        else:
            fitted = fit(
                history,
                regressors,
                model=task.model,
                kind=task.kind,
                timezone=chunk.timezone,
                country=chunk.country,
                **task.options,
            )
        result = fitted.forecast(steps, chunk.levels, regressors)
        if report is not None:
            result = apply_plan(result, task.plan, fitted.step_minutes)
            result = replace(result, notes=(*report.notes(), *result.notes))
    except ForecastError as exc:
        return task.series_id, exc, None
    except Exception as exc:  # one broken series must not stop the batch
        error = ForecastError(
            f"series {task.series_id!r} could not be forecast: {type(exc).__name__}: {exc}",
            fix="check its history; report it if the history looks sound",
        )
        return task.series_id, error, None
    return task.series_id, result, fitted if chunk.return_fitted else None


def _run_chunk(chunk: _Chunk) -> list[_Outcome]:
    return [_run_one(task, chunk) for task in chunk.tasks]


def forecast_many(
    series: Mapping[str, pd.Series],
    steps: pd.DatetimeIndex | int,
    regressors: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
    *,
    workers: int = 2,
    models: str | Mapping[str, str] | None = None,
    kinds: Mapping[str, SeriesKind] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    cache: FitCache | None = None,
    timezone: str = "Europe/Warsaw",
    country: str = "PL",
    chunk_size: int | None = None,
    plans: Mapping[str, Sequence[OutageWindow]] | None = None,
) -> dict[str, ForecastResult | ForecastError]:
    """Fit and forecast many series, in ``workers`` processes.

    Parameters
    ----------
    series
        History per series id (raw: it is cleaned per series).
    steps
        UTC steps to forecast (the same for every series), or a count of
        steps after each series' history.
    regressors
        One frame for every series (e.g. the weather, over history and
        steps), or a frame per series id; None for none.
    workers
        Processes to use; 1 runs in this process.
    models
        A model name for every series, or per series id; the default for
        each series' kind where not given.
    kinds
        Kind per series id; inferred from the id where not given.
    options
        Model options per series id (e.g. ``{"school_breaks": True}``).
    levels
        Interval levels.
    cache
        Fitted models to reuse and to keep for later days (see module).
    timezone, country
        Local time zone and country of the calendar.
    chunk_size
        Series per worker task; chosen from the count when None.
    plans
        Planned outages per series id (a plant's, on the UTC time line):
        masked in its history and applied to its forecast (see module).

    Returns
    -------
    dict
        Per series id, in the order given: its forecast or why it has none.
    """
    ids = list(series)
    day = _forecast_day(steps, timezone)
    per_series = regressors if isinstance(regressors, Mapping) else {}
    shared = regressors if isinstance(regressors, pd.DataFrame) else None
    tasks = []
    for series_id in ids:
        requested = models if isinstance(models, str) or models is None else models.get(series_id)
        entry = cache.usable(series_id, requested, day) if cache and day else None
        tasks.append(
            _Task(
                series_id=series_id,
                history=series[series_id],
                regressors=per_series.get(series_id),
                model=requested,
                kind=(kinds or {}).get(series_id),
                options=(options or {}).get(series_id, {}),
                previous=entry.fitted if entry else None,
                plan=tuple((plans or {}).get(series_id, ())),
            )
        )
    # Only fits go to worker processes: updating a reused model costs less than
    # sending it to a worker and back, so updates run here, while the workers fit.
    to_fit = [task for task in tasks if task.previous is None]
    to_update = [task for task in tasks if task.previous is not None]
    size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(to_fit) / max(1, 4 * workers))))

    def chunked(group: list[_Task], size: int) -> list[_Chunk]:
        return [
            _Chunk(group[i : i + size], shared, steps, levels, timezone, country, cache is not None)
            for i in range(0, len(group), size)
        ]

    fit_chunks = chunked(to_fit, size)
    update_chunks = chunked(to_update, chunk_size or MAX_CHUNK)
    by_series: dict[str, _Outcome] = {}
    if workers <= 1 or len(fit_chunks) <= 1:
        for chunk in fit_chunks + update_chunks:
            by_series.update((outcome[0], outcome) for outcome in _run_chunk(chunk))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            fitted_chunks = pool.map(_run_chunk, fit_chunks)
            for chunk in update_chunks:
                by_series.update((outcome[0], outcome) for outcome in _run_chunk(chunk))
            for chunk_outcomes in fitted_chunks:
                by_series.update((outcome[0], outcome) for outcome in chunk_outcomes)
    outcomes = [by_series[task.series_id] for task in tasks]
    results: dict[str, ForecastResult | ForecastError] = {}
    for (series_id, result, fitted), task in zip(outcomes, tasks, strict=True):
        results[series_id] = result
        if cache is not None and fitted is not None and day is not None:
            cache.store(series_id, fitted, task.model, day)
    return results


def _forecast_day(steps: pd.DatetimeIndex | int, timezone: str) -> date | None:
    """The local day of the first step, which keys the cache (None for a step count)."""
    if isinstance(steps, int) or len(steps) == 0:
        return None
    first: pd.Timestamp = pd.DatetimeIndex(steps)[0]
    return first.tz_convert(ZoneInfo(timezone)).date()
