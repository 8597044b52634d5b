"""When a public building is occupied, and what kind of day each instant falls on.

The occupancy rule itself is :mod:`cluster.occupancy` (opening hours on the
Polish calendar, shared with the planner and the rig); this module lays it
out as the frame the checks use, with the day closed or not and its kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.assets import Occupancy, PublicBuilding
from cluster.calendar import DayKind, public_holidays, step_calendar
from cluster.occupancy import occupied_steps, opening_hours
from cluster.timegrid import day_steps

#: Columns of :func:`occupancy_frame`.
OCCUPANCY_COLUMNS = ("occupied", "day_closed", "day_label")

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def occupancy_frame(
    building: PublicBuilding | Occupancy,
    steps: pd.DatetimeIndex,
    zone: ZoneInfo,
    country: str = "PL",
) -> pd.DataFrame:
    """Whether a building is occupied at each instant, and what kind of day it is.

    Parameters
    ----------
    building
        The building, or just its occupancy.
    steps
        Instants (timezone-aware; UTC inside klaster), in any spacing.
    zone
        The cluster's time zone: it fixes local days and hours.
    country
        ISO country code whose public holidays apply.

    Returns
    -------
    pandas.DataFrame
        On ``steps``: ``occupied`` (bool, :func:`cluster.occupancy.occupied_steps`),
        ``day_closed`` (bool: the building opens at no hour of that local day)
        and ``day_label`` (``working day``, ``Saturday``, ``Sunday``,
        ``public holiday`` or ``school break``).
    """
    occupancy = building.occupancy if isinstance(building, PublicBuilding) else building
    calendar = step_calendar(steps, zone, country)
    local_days = calendar["local_day"].to_numpy()
    holiday_days = public_holidays({d.year for d in local_days}, country)
    closed = {d: opening_hours(occupancy, d, holiday_days) is None for d in set(local_days)}
    working = calendar["kind"].to_numpy() == int(DayKind.WORKING)
    weekday = calendar["weekday"].to_numpy(dtype=np.int64)
    labels = np.where(working, "working day", np.array(_WEEKDAY_NAMES, dtype=object)[weekday])
    labels = np.where(calendar["school_break"].to_numpy(dtype=bool), "school break", labels)
    labels = np.where(calendar["holiday"].to_numpy(dtype=bool), "public holiday", labels)
    return pd.DataFrame(
        {
            "occupied": occupied_steps(occupancy, steps, zone, country),
            "day_closed": np.array([closed[d] for d in local_days], dtype=bool),
            "day_label": pd.Series(labels, index=steps, dtype=str),
        },
        index=steps,
    )


def occupied_hours(
    building: PublicBuilding | Occupancy,
    days: Sequence[date],
    zone: ZoneInfo,
    country: str = "PL",
    step_minutes: int = 15,
) -> pd.Series:
    """How many hours the building is occupied on each local day, h; index: the days."""
    if not days:
        return pd.Series(dtype=float, index=pd.Index([], name="day"))
    each_day = [day_steps(day, zone, step_minutes) for day in sorted(set(days))]
    steps = pd.DatetimeIndex(each_day[0].append(each_day[1:]))
    frame = occupancy_frame(building, steps, zone, country)
    local_days = pd.Index(steps.tz_convert(zone).date, name="day")
    hours = frame["occupied"].astype(float).groupby(local_days).sum() * step_minutes / 60.0
    return hours.rename("occupied_h")
