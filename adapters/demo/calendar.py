"""The local calendar of each step: clock hour, day type, public holidays and school breaks.

The school-break rule itself lives in :mod:`cluster.calendar`, which forecasting
shares; this module lays it and the rest out as arrays for the generators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from adapters.demo.noise import FloatArray, IntArray
from cluster.calendar import school_break
from cluster.tariffs import working_days

BoolArray = NDArray[np.bool_]

_SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)
# 1970-01-01 was a Thursday; with Monday = 0 its weekday is 3.
_EPOCH_WEEKDAY = 3


@dataclass(frozen=True)
class LocalCalendar:
    """Per-step local calendar features of a run of UTC steps.

    Attributes
    ----------
    seconds
        Step start as Unix epoch seconds, s.
    local_hour
        Local clock time of day in hours, 0 <= h < 24 (the repeated hour of
        the autumn DST day repeats).
    local_day
        Local calendar day as days since 1970-01-01.
    weekday
        Monday = 0 ... Sunday = 6.
    month
        Local calendar month, 1-12.
    holiday
        A public holiday of the cluster's country.
    working
        A working day: Monday-Friday and not a public holiday.
    school_break
        A day of a school break (:func:`school_break`).
    """

    seconds: IntArray
    local_hour: FloatArray
    local_day: IntArray
    weekday: IntArray
    month: IntArray
    holiday: BoolArray
    working: BoolArray
    school_break: BoolArray

    @property
    def sunday_like(self) -> BoolArray:
        """Sundays and public holidays: the days most things close."""
        return (self.weekday == 6) | self.holiday

    @property
    def saturday(self) -> BoolArray:
        """Saturdays that are not public holidays."""
        return (self.weekday == 5) & ~self.holiday


def local_calendar(times: pd.DatetimeIndex, zone: ZoneInfo, country: str) -> LocalCalendar:
    """The local calendar features of every step.

    Parameters
    ----------
    times
        Step start instants, timezone-aware.
    zone
        The cluster's time zone: it fixes local days and clock hours.
    country
        ISO country code whose public holidays apply, e.g. ``"PL"``.
    """
    seconds = times.tz_convert("UTC").as_unit("s").asi8.astype(np.int64)
    local_seconds = times.tz_convert(zone).tz_localize(None).as_unit("s").asi8.astype(np.int64)
    local_day = local_seconds // _SECONDS_PER_DAY
    local_hour = (local_seconds - local_day * _SECONDS_PER_DAY) / 3600.0
    unique_days, day_of_step = np.unique(local_day, return_inverse=True)
    dates = [_EPOCH + timedelta(days=int(d)) for d in unique_days]
    years = sorted({d.year for d in dates})
    public = holidays.country_holidays(country, years=years) if dates else {}
    working = working_days(dates, country)
    holiday_flags = np.array([d in public for d in dates], dtype=bool)
    working_flags = np.array([working[d] for d in dates], dtype=bool)
    break_flags = np.array([school_break(d) for d in dates], dtype=bool)
    months = np.array([d.month for d in dates], dtype=np.int64)
    return LocalCalendar(
        seconds=seconds,
        local_hour=local_hour,
        local_day=local_day,
        weekday=(local_day + _EPOCH_WEEKDAY) % 7,
        month=months[day_of_step],
        holiday=holiday_flags[day_of_step],
        working=working_flags[day_of_step],
        school_break=break_flags[day_of_step],
    )


def hour_bump(local_hour: FloatArray, centre_h: float | FloatArray, width_h: float) -> FloatArray:
    """A Gaussian bump over the clock, 1 at ``centre_h``, wrapping round midnight.

    Parameters
    ----------
    local_hour
        Local clock time, h.
    centre_h
        Where the bump peaks, h.
    width_h
        Its standard deviation, h.
    """
    distance = np.abs(local_hour - centre_h)
    distance = np.minimum(distance, 24.0 - distance)
    result: FloatArray = np.exp(-0.5 * (distance / width_h) ** 2)
    return result


def hour_window(local_hour: FloatArray, open_h: float, close_h: float) -> FloatArray:
    """1 between ``open_h`` and ``close_h``, 0 outside, with one-hour linear ramps.

    The ramps are centred on the opening and closing times, so the window's
    area is ``close_h - open_h`` hours.
    """
    rising = np.clip(local_hour - open_h + 0.5, 0.0, 1.0)
    falling = np.clip(close_h + 0.5 - local_hour, 0.0, 1.0)
    return rising * falling
