"""The Polish calendar of local days and steps: holidays, bridge days, school breaks.

What a building does on a day depends on the kind of day it is: a working
day, a Saturday, or a Sunday or public holiday (most buildings treat the two
alike). Bridge days (*dni pomostowe*, a working day squeezed between two days
off) and school breaks change that further for some buildings. Everything
here is on the local wall clock of the cluster's zone, so that 07:00 stays
07:00 across the DST changes, when a local day has 92 or 100 quarter-hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd

_MINUTES_PER_DAY = 1440


class DayKind(IntEnum):
    """The kind of a local day, as far as people's routines go."""

    WORKING = 0
    SATURDAY = 1
    SUNDAY_HOLIDAY = 2


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


@lru_cache(maxsize=64)
def _holidays_of_years(years: tuple[int, ...], country: str) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=list(years)).keys())


def public_holidays(years: Iterable[int], country: str = "PL") -> frozenset[date]:
    """The public holidays (statutory days off) of ``country`` in the given years.

    Parameters
    ----------
    years
        Calendar years.
    country
        ISO 3166 country code understood by the ``holidays`` package.
    """
    return _holidays_of_years(tuple(sorted(set(years))), country)


def _day_off(day: date, holiday_days: frozenset[date]) -> bool:
    return day.weekday() >= 5 or day in holiday_days


def is_bridge_day(day: date, holiday_days: frozenset[date]) -> bool:
    """Whether ``day`` is a bridge day: a working day with a day off on both sides.

    The Friday after a Thursday holiday (Corpus Christi), the Monday before a
    Tuesday holiday, 2 May between 1 and 3 May: many people take it off, and
    schools and offices often close.

    Parameters
    ----------
    day
        A local calendar day.
    holiday_days
        Public holidays covering ``day`` and its neighbours (:func:`public_holidays`).
    """
    if _day_off(day, holiday_days):
        return False
    one_day = timedelta(days=1)
    return _day_off(day - one_day, holiday_days) and _day_off(day + one_day, holiday_days)


def day_kind(day: date, holiday_days: frozenset[date]) -> DayKind:
    """Working day, Saturday, or Sunday/public holiday (a holiday on a Saturday counts as one)."""
    if day in holiday_days or day.weekday() == 6:
        return DayKind.SUNDAY_HOLIDAY
    if day.weekday() == 5:
        return DayKind.SATURDAY
    return DayKind.WORKING


def day_calendar(days: Iterable[date], country: str = "PL") -> pd.DataFrame:
    """Calendar features of local days, one row per day.

    Parameters
    ----------
    days
        Local calendar days, in any order; duplicates give one row.
    country
        ISO country code whose public holidays apply.

    Returns
    -------
    pandas.DataFrame
        Indexed by day (sorted), with columns ``weekday`` (Monday = 0),
        ``kind`` (:class:`DayKind` value), ``holiday``, ``bridge``,
        ``school_break`` and ``weekend``.
    """
    unique = sorted(set(days))
    years = {d.year for d in unique} | {(d + timedelta(days=1)).year for d in unique}
    years |= {(d - timedelta(days=1)).year for d in unique}
    holiday_days = public_holidays(years, country)
    return pd.DataFrame(
        {
            "weekday": np.array([d.weekday() for d in unique], dtype=np.int64),
            "kind": np.array([int(day_kind(d, holiday_days)) for d in unique], dtype=np.int64),
            "holiday": np.array([d in holiday_days for d in unique], dtype=bool),
            "bridge": np.array([is_bridge_day(d, holiday_days) for d in unique], dtype=bool),
            "school_break": np.array([school_break(d) for d in unique], dtype=bool),
            "weekend": np.array([d.weekday() >= 5 for d in unique], dtype=bool),
        },
        index=pd.Index(unique, name="day", dtype=object),
    )


@dataclass(frozen=True)
class LocalSteps:
    """Steps on the local wall clock of the cluster's zone.

    Attributes
    ----------
    days
        The distinct local days the steps fall on, in order.
    day_of_step
        Each step's local day, as an index into ``days``.
    minute_of_day
        Each step's minutes after local midnight on the wall clock, 0-1439:
        the repeated hour of the autumn DST day repeats its minutes, the
        skipped spring hour never appears.
    """

    days: list[date]
    day_of_step: np.ndarray
    minute_of_day: np.ndarray


def local_steps(steps: pd.DatetimeIndex, zone: ZoneInfo | str) -> LocalSteps:
    """Where steps fall on the local wall clock of ``zone``.

    Parameters
    ----------
    steps
        Step start instants, timezone-aware (any zone; UTC inside klaster).
    zone
        The cluster's time zone.
    """
    if steps.tz is None:
        raise ValueError("steps must be timezone-aware")
    wall = steps.tz_convert(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)).tz_localize(
        None
    )
    day_starts = wall.normalize()
    minute = ((wall - day_starts) // pd.Timedelta(minutes=1)).to_numpy(dtype=np.int64)
    unique_starts, day_of_step = np.unique(day_starts.to_numpy(), return_inverse=True)
    days = [pd.Timestamp(value).date() for value in unique_starts]
    return LocalSteps(days, day_of_step, np.mod(minute, _MINUTES_PER_DAY))


def step_calendar(
    steps: pd.DatetimeIndex, zone: ZoneInfo | str, country: str = "PL"
) -> pd.DataFrame:
    """Calendar features of every step, on the local wall clock.

    Parameters
    ----------
    steps
        Step start instants, timezone-aware (any zone; UTC inside klaster).
    zone
        The cluster's time zone: it fixes local days and clock times.
    country
        ISO country code whose public holidays apply.

    Returns
    -------
    pandas.DataFrame
        On ``steps``, with the columns of :func:`day_calendar` for the step's
        local day, plus ``local_day`` (the local date) and ``local_minute``
        (minutes after local midnight on the wall clock, 0-1439: the repeated
        hour of the autumn DST day repeats its minutes, the skipped spring
        hour never appears).
    """
    local = local_steps(steps, zone)
    days = day_calendar(local.days, country).reindex(local.days)
    frame = pd.DataFrame(
        {column: days[column].to_numpy()[local.day_of_step] for column in days.columns},
        index=steps,
    )
    frame.insert(0, "local_day", np.array(local.days, dtype=object)[local.day_of_step])
    frame.insert(1, "local_minute", local.minute_of_day)
    return frame
