"""The local calendar of each step: clock hour, day type, public holidays and school breaks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from adapters.demo.noise import FloatArray, IntArray
from cluster.tariffs import working_days

BoolArray = NDArray[np.bool_]

_SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)
# 1970-01-01 was a Thursday; with Monday = 0 its weekday is 3.
_EPOCH_WEEKDAY = 3


def easter_sunday(year: int) -> date:
    """Western Easter Sunday of a Gregorian year (the anonymous Gregorian computus)."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_century, century_rest = divmod(century, 4)
    moon_correction = (century + 8) // 25
    solar_correction = (century - moon_correction + 1) // 3
    epact = (19 * golden + century - leap_century - solar_correction + 15) % 30
    leap_year_of_century, year_rest = divmod(year_of_century, 4)
    weekday_offset = (32 + 2 * century_rest + 2 * leap_year_of_century - epact - year_rest) % 7
    correction = (golden + 11 * epact + 22 * weekday_offset) // 451
    month, day = divmod(epact + weekday_offset - 7 * correction + 114, 31)
    return date(year, month, day + 1)


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def school_break(day: date) -> bool:
    """Whether a local day falls in a school break of the Świętokrzyskie voivodeship.

    The breaks follow the Polish school-year rules:

    - winter break (*ferie zimowe*): two weeks from the third Monday of
      January. The ministry rotates the voivodeships' slots from year to year;
      this slot is Świętokrzyskie's in 2025 and 2026, and is used for every year;
    - spring break: Maundy Thursday to Easter Tuesday;
    - summer break: from the Saturday after the Friday following 20 June up to
      the day before the school year starts on 1 September (or on the Monday
      after it when 1 September is a Friday, Saturday or Sunday);
    - Christmas break: 23-31 December.

    Public holidays and weekends inside or outside a break are a separate
    matter: this says only whether the day is in a break.
    """
    year = day.year
    winter_start = _monday_on_or_after(date(year, 1, 15))
    if winter_start <= day < winter_start + timedelta(days=14):
        return True
    easter = easter_sunday(year)
    if easter - timedelta(days=3) <= day <= easter + timedelta(days=2):
        return True
    last_lesson = date(year, 6, 21) + timedelta(days=(4 - date(year, 6, 21).weekday()) % 7)
    first_of_september = date(year, 9, 1)
    school_start = (
        first_of_september
        if first_of_september.weekday() < 4
        else _monday_on_or_after(first_of_september)
    )
    if last_lesson < day < school_start:
        return True
    return day >= date(year, 12, 23)


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
