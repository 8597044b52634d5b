"""When a public building is occupied: its opening hours on the Polish calendar.

One rule, used by the planner and by the hardware-in-the-loop rig alike:

- a building that closes on public holidays is empty all day on one;
- a building that closes in school breaks is empty all day in one
  (:func:`cluster.calendar.school_break`);
- on a working day (Monday to Friday, not a public holiday) it is occupied in
  its ``working_days`` hours, on any other day in its ``non_working_days``
  hours; a day without hours is a day closed.

Hours are local wall-clock hours of the cluster's zone, so a school opening
at 07:00 opens at 07:00 on the DST days too. People and equipment warm an
occupied zone: :func:`internal_gains_kw`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from cluster.assets import BmsZone, Occupancy
from cluster.calendar import local_steps, public_holidays, school_break
from cluster.fields import HourRange


def opening_hours(
    occupancy: Occupancy, day: date, holiday_days: frozenset[date]
) -> HourRange | None:
    """The local hours a building is occupied on a day; ``None`` when it stays closed.

    Parameters
    ----------
    occupancy
        The building's occupancy.
    day
        A local calendar day.
    holiday_days
        Public holidays covering ``day`` (:func:`cluster.calendar.public_holidays`).
    """
    holiday = day in holiday_days
    if holiday and occupancy.closed_on_public_holidays:
        return None
    if occupancy.closed_in_school_breaks and school_break(day):
        return None
    working_day = day.weekday() < 5 and not holiday
    return occupancy.working_days if working_day else occupancy.non_working_days


def is_occupied(occupancy: Occupancy, local_time: datetime, holiday_days: frozenset[date]) -> bool:
    """Whether a building is occupied at a local wall-clock time.

    Parameters
    ----------
    occupancy
        The building's occupancy.
    local_time
        Local wall-clock time (naive, or aware in the cluster's zone).
    holiday_days
        Public holidays covering the day (:func:`cluster.calendar.public_holidays`).
    """
    hours = opening_hours(occupancy, local_time.date(), holiday_days)
    return hours is not None and hours.contains(local_time.hour)


def occupied_steps(
    occupancy: Occupancy, steps: pd.DatetimeIndex, zone: ZoneInfo | str, country: str = "PL"
) -> npt.NDArray[np.bool_]:
    """Whether a building is occupied in each step, judged at the step's start.

    Parameters
    ----------
    occupancy
        The building's occupancy.
    steps
        Step start instants, timezone-aware (UTC inside klaster).
    zone
        The cluster's time zone: it fixes local days and clock hours.
    country
        ISO country code whose public holidays apply.
    """
    # Only the local day and wall-clock hour are needed, not the whole step calendar.
    local = local_steps(steps, zone)
    holiday_days = public_holidays({d.year for d in local.days}, country)
    open_by_day = [opening_hours(occupancy, d, holiday_days) for d in local.days]
    hours = (local.minute_of_day // 60).tolist()
    occupied = [
        (opening := open_by_day[d]) is not None and opening.contains(h)
        for d, h in zip(local.day_of_step.tolist(), hours, strict=True)
    ]
    return np.asarray(occupied, dtype=bool)


def internal_gains_kw(zone: BmsZone, occupied: bool) -> float:
    """Heat people and equipment give off in a zone, kW: only while it is occupied.

    ``occupied_gains_w_per_m2`` × ``floor_area_m2``, or 0 when empty.
    """
    return zone.occupied_gains_w_per_m2 * zone.floor_area_m2 / 1000.0 if occupied else 0.0
