"""The time grid: UTC quarter-hours inside, local calendar days at the edges.

A schedule day is a local calendar day in the cluster's zone, so in
Europe/Warsaw it has 92 quarter-hours on the spring DST day, 100 on the
autumn one and 96 on every other.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd


def day_bounds_utc(day: date, zone: ZoneInfo) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC instants at which local ``day`` starts and the next day starts."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")


def day_steps(day: date, zone: ZoneInfo, step_minutes: int = 15) -> pd.DatetimeIndex:
    """The UTC start instants of every step of local ``day``.

    Parameters
    ----------
    day
        A local calendar day.
    zone
        The cluster's time zone.
    step_minutes
        Step length in minutes; must divide 60.
    """
    if step_minutes <= 0 or 60 % step_minutes:
        raise ValueError(f"step_minutes must be a positive divisor of 60, got {step_minutes}")
    start, end = day_bounds_utc(day, zone)
    return pd.date_range(start, end, freq=f"{step_minutes}min", inclusive="left", name="ts")


def range_steps(start: pd.Timestamp, end: pd.Timestamp, step_minutes: int = 15) -> pd.DatetimeIndex:
    """UTC steps in ``[start, end)``; both ends must be timezone-aware."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    return pd.date_range(
        start.tz_convert("UTC"),
        end.tz_convert("UTC"),
        freq=f"{step_minutes}min",
        inclusive="left",
        name="ts",
    )


def month_bounds_utc(month: date, zone: ZoneInfo) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC instants at which the local month of ``month`` starts and the next one starts."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return day_bounds_utc(first, zone)[0], day_bounds_utc(following, zone)[0]


def month_steps(month: date, zone: ZoneInfo, step_minutes: int = 15) -> pd.DatetimeIndex:
    """The UTC start instants of every step of the local month of ``month``."""
    start, end = month_bounds_utc(month, zone)
    return range_steps(start, end, step_minutes)


def step_hours(step_minutes: int) -> float:
    """A step's length in hours: kW × step_hours = kWh."""
    return step_minutes / 60.0


def local_hour_groups(steps: pd.DatetimeIndex, zone: ZoneInfo) -> pd.Index:
    """A label per step naming the local clock hour it lies in.

    The label is the UTC start of the hour, so the repeated 02:00 hour of the
    autumn DST day gives two distinct groups.
    """
    return pd.Index(steps.floor("h"), name="hour")


def tomorrow(zone: ZoneInfo, now: datetime | None = None) -> date:
    """The next local calendar day in ``zone``."""
    current = now.astimezone(zone) if now else datetime.now(zone)
    return current.date() + timedelta(days=1)
