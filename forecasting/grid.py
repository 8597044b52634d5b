"""The step grid of a series: its step length, forecast horizons and the local wall clock.

Series live on a regular UTC grid. People live on the local wall clock, so
seasonal models (a daily or weekly pattern) work on a *wall-clock grid*: the
series re-indexed by local clock time, where every local day has the same
number of steps. The autumn DST day's repeated hour is averaged into one, the
spring day's skipped hour is a gap, and a forecast made on the wall clock is
read back onto the UTC steps asked for (both copies of the repeated hour get
the same value).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forecasting.base import ForecastError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MINUTES_PER_DAY = 1440


def series_label(series: pd.Series) -> str:
    """The name a series is called by in messages."""
    return str(series.name) if series.name is not None else "<unnamed series>"


def infer_step_minutes(index: pd.DatetimeIndex, label: str) -> int:
    """The step length of a (possibly gappy) timestamp index, minutes.

    The most common spacing between consecutive distinct timestamps; it must
    be a whole number of minutes dividing 60 (5, 10, 15, 20, 30 or 60).

    Raises
    ------
    ForecastError
        When fewer than two timestamps are given or the spacing is not usable.
    """
    unique = index.unique().sort_values()
    if len(unique) < 2:
        raise ForecastError(
            f"series {label!r} has fewer than two timestamps: its step cannot be told",
            fix="give at least a day of history",
        )
    spacing = np.diff(unique.as_unit("s").asi8)
    values, counts = np.unique(spacing, return_counts=True)
    seconds = int(values[np.argmax(counts)])
    if seconds % 60 or seconds <= 0 or 3600 % seconds:
        raise ForecastError(
            f"series {label!r} has a step of {seconds} s; forecasting needs a step of "
            "a whole number of minutes dividing 60 (15, 30 or 60 min usually)",
            fix="resample the series to 15, 30 or 60 minutes before forecasting",
        )
    return seconds // 60


def step_delta(step_minutes: int) -> pd.Timedelta:
    """One step as a Timedelta."""
    return pd.Timedelta(minutes=step_minutes)


def steps_per_day(step_minutes: int) -> int:
    """Steps in a 24-hour wall-clock day."""
    return MINUTES_PER_DAY // step_minutes


def horizon_steps(
    steps: pd.DatetimeIndex | int, last_observed: pd.Timestamp, step_minutes: int, label: str
) -> pd.DatetimeIndex:
    """The UTC steps to forecast: the ones given, or the next ``steps`` after the history.

    Raises
    ------
    ForecastError
        When the steps are not timezone-aware, not on the series' grid, or not
        after the end of the history the model was fitted or updated with.
    """
    delta = step_delta(step_minutes)
    if isinstance(steps, int):
        if steps <= 0:
            raise ForecastError(f"series {label!r}: asked for {steps} steps; ask for at least one")
        return pd.date_range(last_observed + delta, periods=steps, freq=delta, name="ts")
    index = pd.DatetimeIndex(steps)
    if index.tz is None:
        raise ForecastError(
            f"series {label!r}: the steps to forecast have no time zone",
            fix="give UTC steps, e.g. cluster.timegrid.day_steps(day, zone)",
        )
    index = index.tz_convert("UTC")
    if len(index) == 0:
        raise ForecastError(f"series {label!r}: no steps to forecast were given")
    if not (index == index.floor(delta)).all():
        raise ForecastError(
            f"series {label!r}: the steps to forecast are not on its {step_minutes}-min grid",
            fix=f"ask for steps that start on whole {step_minutes}-min marks",
        )
    if index[0] <= last_observed:
        raise ForecastError(
            f"series {label!r}: the first step to forecast, {index[0]}, is not after "
            f"the end of its history, {last_observed}",
            fix="forecast steps after the history, or update the model with newer history",
        )
    return index


def lead_steps(steps: pd.DatetimeIndex, last_observed: pd.Timestamp, step_minutes: int) -> IntArray:
    """How many steps ahead of the last observation each step lies (1 = the next step)."""
    delta_ns = step_delta(step_minutes).as_unit("ns").value
    leads: IntArray = (steps.as_unit("ns").asi8 - last_observed.as_unit("ns").value) // delta_ns
    return leads


def wall_clock(steps: pd.DatetimeIndex, zone: ZoneInfo) -> pd.DatetimeIndex:
    """The local wall-clock time of UTC steps, as naive timestamps."""
    return steps.tz_convert(zone).tz_localize(None)


def slot_of_day(steps: pd.DatetimeIndex, zone: ZoneInfo, step_minutes: int) -> IntArray:
    """The local time-of-day slot of each step: 0 at local midnight, one per step."""
    wall = wall_clock(steps, zone)
    minutes = (wall - wall.normalize()) // pd.Timedelta(minutes=1)
    slots: IntArray = (minutes.to_numpy(dtype=np.int64) // step_minutes).astype(np.int64)
    return slots


def to_wall_clock(series: pd.Series, zone: ZoneInfo, step_minutes: int) -> pd.Series:
    """A UTC series re-indexed onto a regular local wall-clock grid (naive timestamps).

    The repeated autumn hour is averaged; the skipped spring hour and any gap
    become NaN steps.
    """
    wall = wall_clock(pd.DatetimeIndex(series.index), zone)
    by_wall = pd.Series(series.to_numpy(dtype=float), index=wall).groupby(level=0).mean()
    if by_wall.empty:
        return by_wall
    grid = pd.date_range(by_wall.index[0], by_wall.index[-1], freq=step_delta(step_minutes))
    return by_wall.reindex(grid)


def wall_clock_leads(
    steps: pd.DatetimeIndex, last_wall: pd.Timestamp, zone: ZoneInfo, step_minutes: int
) -> IntArray:
    """Steps ahead on the wall-clock grid of each UTC step, counted from ``last_wall``."""
    wall = wall_clock(steps, zone)
    leads: IntArray = (wall.as_unit("ns").asi8 - last_wall.as_unit("ns").value) // step_delta(
        step_minutes
    ).as_unit("ns").value
    return leads.astype(np.int64)
