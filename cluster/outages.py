"""Planned outages and derates of a plant: when it is out, and how much of it is left.

A plant's operator knows some outages in advance: a boiler inspection, a
turbine overhaul, the cleaning of a digester. The configuration lists them
per plant as :class:`PlannedOutage` entries in the cluster's local time::

    planned_outages = [
      { start = "2027-02-01T06:00", end = "2027-02-03T18:00", available_fraction = 0.0,
        reason = "boiler inspection" },
    ]

``available_fraction`` is the share of the plant's normal capability left
during the outage: 0 for a full outage, 0.5 for a derate to half. The
forecasts scale the plant's expected output by it, and the history inside
a past planned outage is not taken as the plant's normal behaviour.

:func:`outage_windows` turns the entries into UTC :class:`OutageWindow`
values once the zone is known; :func:`available_fraction` gives the share
left in each step of a UTC step grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from cluster.errors import ConfigValueError
from cluster.fields import FrozenModel

#: How a local time is written in a planned outage.
TIME_FORMAT_HINT = 'write a local time such as "2027-02-01T06:00"'


class PlannedOutage(FrozenModel):
    """A planned outage or derate of a plant, in the cluster's local time.

    Attributes
    ----------
    start, end
        Local wall-clock times the outage starts and ends, ``[start, end)``;
        no UTC offset (the cluster's time zone applies).
    available_fraction
        Share of the plant's normal capability left during the outage, 0-1:
        0 is a full outage, 0.5 a derate to half.
    reason
        What the outage is for, for people.
    """

    start: datetime
    end: datetime
    available_fraction: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    reason: str = ""

    @field_validator("start", "end", mode="before")
    @classmethod
    def _local_time(cls, value: Any) -> datetime:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ConfigValueError(
                    f"{value!r} is not a date and time",
                    fix=f"{TIME_FORMAT_HINT} (year-month-day, a T, hours:minutes)",
                ) from None
        else:
            raise ConfigValueError(
                f"{value!r} is not a date and time",
                fix=f"{TIME_FORMAT_HINT}, in double quotes",
            )
        if parsed.tzinfo is not None:
            raise ConfigValueError(
                f"{value!r} has a UTC offset; planned outages are in the cluster's local time",
                fix=f"leave the offset out: {TIME_FORMAT_HINT}",
            )
        return parsed

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end <= self.start:
            raise ConfigValueError(
                f"end {self.end:%Y-%m-%dT%H:%M} is not after start {self.start:%Y-%m-%dT%H:%M}",
                fix="give the end of the outage, a later local time than its start",
                field="end",
            )
        return self

    def describe(self) -> str:
        """The outage in a few words, e.g. ``boiler inspection 2027-02-01 06:00-02-03 18:00``."""
        what = self.reason or "planned outage"
        share = "out" if self.available_fraction == 0 else f"at {self.available_fraction:.0%}"
        return f"{what} ({share}, {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} local)"


def outages_apart(outages: Sequence[PlannedOutage]) -> list[PlannedOutage]:
    """The outages in order of start, refusing two that overlap.

    For a ``planned_outages`` validator: overlapping entries would leave the
    share available in their common hours undefined.

    Raises
    ------
    ConfigValueError
        Naming the two entries (by their place in the list) that overlap.
    """
    ordered = sorted(enumerate(outages), key=lambda item: item[1].start)
    for (i, first), (j, second) in itertools.pairwise(ordered):
        if second.start < first.end:
            raise ConfigValueError(
                f"planned_outages[{i}] ({first.describe()}) and planned_outages[{j}] "
                f"({second.describe()}) overlap",
                fix="merge them into one entry, or end the earlier one before the later starts",
            )
    return [outage for _, outage in ordered]


@dataclass(frozen=True)
class OutageWindow:
    """A planned outage placed on the UTC time line.

    Attributes
    ----------
    start, end
        UTC instants of ``[start, end)``.
    available_fraction
        Share of the plant's capability left, 0-1.
    description
        The outage in words (:meth:`PlannedOutage.describe`).
    """

    start: pd.Timestamp
    end: pd.Timestamp
    available_fraction: float
    description: str


def _to_utc(local: datetime, zone: ZoneInfo) -> pd.Timestamp:
    # The repeated autumn hour is read as its first occurrence; a time in the
    # skipped spring hour as the first instant after it.
    stamp = pd.Timestamp(local).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC")


def outage_windows(outages: Iterable[PlannedOutage], zone: ZoneInfo) -> tuple[OutageWindow, ...]:
    """The outages on the UTC time line, in order of start.

    Parameters
    ----------
    outages
        A plant's planned outages (local times).
    zone
        The cluster's time zone.
    """
    windows = [
        OutageWindow(
            _to_utc(o.start, zone), _to_utc(o.end, zone), o.available_fraction, o.describe()
        )
        for o in outages
    ]
    return tuple(sorted(windows, key=lambda w: w.start))


def steps_in_windows(
    steps: pd.DatetimeIndex, step_minutes: int, windows: Iterable[OutageWindow]
) -> tuple[np.ndarray, np.ndarray]:
    """Which steps a planned outage touches, and the share available in each.

    A step ``[t, t + step)`` belongs to an outage when the two overlap at all,
    so a step only partly inside an outage is planned with the outage's share.

    Parameters
    ----------
    steps
        UTC step starts (time-zone aware).
    step_minutes
        Step length, minutes.
    windows
        The plant's outages on the UTC time line.

    Returns
    -------
    tuple
        A boolean array (the step is in a planned outage) and a float array
        (share available, 0-1; 1 outside every outage), one value per step.
    """
    starts = pd.DatetimeIndex(steps).tz_convert("UTC")
    ends = starts + pd.Timedelta(minutes=step_minutes)
    inside = np.zeros(len(starts), dtype=bool)
    fraction = np.ones(len(starts))
    for window in windows:
        touched = np.asarray((starts < window.end) & (ends > window.start), dtype=bool)
        inside |= touched
        fraction = np.where(touched, np.minimum(fraction, window.available_fraction), fraction)
    return inside, fraction


def available_fraction(
    steps: pd.DatetimeIndex, step_minutes: int, windows: Iterable[OutageWindow]
) -> np.ndarray:
    """The share of the plant's capability left in each step, 0-1 (see :func:`steps_in_windows`)."""
    return steps_in_windows(steps, step_minutes, windows)[1]


class WithPlannedOutages(FrozenModel):
    """A plant whose configuration may list planned outages and derates."""

    planned_outages: list[PlannedOutage] = Field(
        default_factory=list,
        description="planned outages and derates in local time; none by default",
    )

    @field_validator("planned_outages")
    @classmethod
    def _apart(cls, value: list[PlannedOutage]) -> list[PlannedOutage]:
        return outages_apart(value)
