"""The Polish calendar: day kinds, holidays, bridge days, school breaks, the DST wall clock."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cluster.calendar import (
    DayKind,
    day_calendar,
    day_kind,
    easter_sunday,
    is_bridge_day,
    public_holidays,
    school_break,
    step_calendar,
)
from cluster.timegrid import day_steps

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2027, date(2027, 3, 28))],
)
def test_easter_sunday_matches_the_church_calendar(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2026, 11, 10), DayKind.WORKING),  # Tuesday
        (date(2026, 11, 14), DayKind.SATURDAY),
        (date(2026, 11, 15), DayKind.SUNDAY_HOLIDAY),
        (date(2026, 11, 11), DayKind.SUNDAY_HOLIDAY),  # Independence Day, a Wednesday
        (date(2026, 8, 15), DayKind.SUNDAY_HOLIDAY),  # Assumption on a Saturday
        (date(2025, 12, 24), DayKind.SUNDAY_HOLIDAY),  # Christmas Eve, a holiday from 2025
        (date(2027, 3, 29), DayKind.SUNDAY_HOLIDAY),  # Easter Monday
    ],
)
def test_day_kinds(day: date, kind: DayKind) -> None:
    holidays = public_holidays({day.year})
    assert day_kind(day, holidays) is kind


@pytest.mark.parametrize(
    ("day", "bridge"),
    [
        (date(2026, 6, 5), True),  # Friday after Corpus Christi
        (date(2027, 5, 28), True),  # Friday after Corpus Christi
        (date(2025, 5, 2), True),  # Friday between 1 May and the weekend
        (date(2026, 11, 10), False),  # Tuesday before a Wednesday holiday: Monday works
        (date(2026, 5, 2), False),  # a Saturday is not a working day to bridge
        (date(2026, 6, 4), False),  # the holiday itself
    ],
)
def test_bridge_days_are_working_days_between_days_off(day: date, bridge: bool) -> None:
    holidays = public_holidays({day.year})
    assert is_bridge_day(day, holidays) is bridge


def test_a_bridge_before_new_year_sees_the_next_years_holiday() -> None:
    # Monday 31 December 2029 lies between a Sunday and New Year's Day 2030.
    frame = day_calendar([date(2029, 12, 31)])
    assert frame.loc[date(2029, 12, 31), "bridge"]
    assert frame.loc[date(2029, 12, 31), "kind"] == DayKind.WORKING


@pytest.mark.parametrize(
    ("day", "in_break"),
    [
        (date(2026, 1, 19), True),  # winter break from the third Monday of January
        (date(2026, 2, 1), True),
        (date(2026, 2, 2), False),
        (date(2026, 4, 2), True),  # Maundy Thursday
        (date(2026, 6, 27), True),  # summer break
        (date(2026, 9, 1), False),
        (date(2026, 12, 23), True),
        (date(2026, 11, 10), False),
    ],
)
def test_school_breaks(day: date, in_break: bool) -> None:
    assert school_break(day) is in_break
    assert bool(day_calendar([day]).loc[day, "school_break"]) is in_break


def test_the_demo_generator_uses_the_same_school_break_rule() -> None:
    from adapters.demo import calendar as demo_calendar

    assert demo_calendar.school_break is school_break


def test_autumn_dst_day_repeats_the_wall_clock_hour() -> None:
    steps = day_steps(date(2026, 10, 25), WARSAW)
    frame = step_calendar(steps, WARSAW)
    assert len(frame) == 100
    minutes = frame["local_minute"].to_numpy()
    # 02:00-02:45 local happens twice; every other quarter-hour once.
    assert (minutes == 120).sum() == 2
    assert (minutes == 180).sum() == 1
    assert set(frame["local_day"]) == {date(2026, 10, 25)}
    assert (frame["kind"] == DayKind.SUNDAY_HOLIDAY).all()


def test_spring_dst_day_skips_the_wall_clock_hour() -> None:
    steps = day_steps(date(2027, 3, 28), WARSAW)
    frame = step_calendar(steps, WARSAW)
    assert len(frame) == 92
    minutes = set(frame["local_minute"])
    assert 120 not in minutes and 165 not in minutes
    assert 180 in minutes and 105 in minutes


def test_step_calendar_uses_local_days_not_utc_days() -> None:
    # 23:30 UTC on 10 November is 00:30 local on 11 November, a holiday.
    steps = pd.DatetimeIndex([pd.Timestamp("2026-11-10 23:30", tz="UTC")])
    frame = step_calendar(steps, WARSAW)
    assert frame["local_day"].iloc[0] == date(2026, 11, 11)
    assert frame["local_minute"].iloc[0] == 30
    assert frame["holiday"].iloc[0]


def test_naive_steps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        step_calendar(pd.DatetimeIndex([pd.Timestamp("2026-11-10 12:00")]), WARSAW)
