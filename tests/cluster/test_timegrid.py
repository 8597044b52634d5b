"""The time grid: UTC steps inside, local calendar days of 92, 96 or 100 quarter-hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cluster.timegrid import (
    day_bounds_utc,
    day_steps,
    local_hour_groups,
    range_steps,
    step_hours,
    tomorrow,
)

WARSAW = ZoneInfo("Europe/Warsaw")
SPRING_DST_DAY = date(2027, 3, 28)  # last Sunday of March: 02:00 CET jumps to 03:00 CEST
AUTUMN_DST_DAY = date(2026, 10, 25)  # last Sunday of October: 03:00 CEST falls back to 02:00
ORDINARY_DAY = date(2026, 6, 17)


@pytest.mark.parametrize(
    ("day", "step_minutes", "count"),
    [
        (SPRING_DST_DAY, 15, 92),  # 23 hours
        (AUTUMN_DST_DAY, 15, 100),  # 25 hours
        (ORDINARY_DAY, 15, 96),
        (date(2026, 12, 31), 15, 96),
        (SPRING_DST_DAY, 30, 46),
        (AUTUMN_DST_DAY, 30, 50),
        (ORDINARY_DAY, 30, 48),
        (SPRING_DST_DAY, 60, 23),
        (AUTUMN_DST_DAY, 60, 25),
        (ORDINARY_DAY, 60, 24),
    ],
)
def test_day_has_one_step_per_period_of_its_local_length(
    day: date, step_minutes: int, count: int
) -> None:
    steps = day_steps(day, WARSAW, step_minutes)
    assert len(steps) == count
    assert str(steps.tz) == "UTC"
    assert steps.name == "ts"
    # Contiguous: every step starts one step length after the one before.
    assert (steps[1:] - steps[:-1] == pd.Timedelta(minutes=step_minutes)).all()
    first_local = steps[0].tz_convert(WARSAW)
    assert (first_local.date(), first_local.hour, first_local.minute) == (day, 0, 0)
    after_last = (steps[-1] + pd.Timedelta(minutes=step_minutes)).tz_convert(WARSAW)
    assert (after_last.date(), after_last.hour, after_last.minute) == (
        day + timedelta(days=1),
        0,
        0,
    )


def test_dst_day_bounds_in_utc() -> None:
    # Spring: the day starts in CET (UTC+1) and ends in CEST (UTC+2).
    start, end = day_bounds_utc(SPRING_DST_DAY, WARSAW)
    assert start == pd.Timestamp("2027-03-27 23:00", tz="UTC")
    assert end == pd.Timestamp("2027-03-28 22:00", tz="UTC")
    # Autumn: the other way round.
    start, end = day_bounds_utc(AUTUMN_DST_DAY, WARSAW)
    assert start == pd.Timestamp("2026-10-24 22:00", tz="UTC")
    assert end == pd.Timestamp("2026-10-25 23:00", tz="UTC")


def test_spring_day_skips_the_local_hour_from_two_to_three() -> None:
    local_hours = day_steps(SPRING_DST_DAY, WARSAW).tz_convert(WARSAW).hour
    assert 2 not in set(local_hours)
    assert list(local_hours).count(3) == 4


def test_autumn_day_repeats_the_local_hour_from_two_to_three() -> None:
    local_hours = day_steps(AUTUMN_DST_DAY, WARSAW).tz_convert(WARSAW).hour
    assert list(local_hours).count(2) == 8


def test_local_hour_groups_keep_the_repeated_autumn_hour_apart() -> None:
    steps = day_steps(AUTUMN_DST_DAY, WARSAW)
    sizes = pd.Series(1, index=steps).groupby(local_hour_groups(steps, WARSAW)).size()
    assert len(sizes) == 25
    assert (sizes == 4).all()


@pytest.mark.parametrize("step_minutes", [0, -15, 7, 45])
def test_step_length_must_divide_an_hour(step_minutes: int) -> None:
    with pytest.raises(ValueError, match="divisor of 60"):
        day_steps(ORDINARY_DAY, WARSAW, step_minutes)


def test_range_steps_are_utc_and_half_open() -> None:
    start = pd.Timestamp("2026-06-17 00:00", tz=WARSAW)
    steps = range_steps(start, start + pd.Timedelta(hours=1))
    assert list(steps) == [
        pd.Timestamp("2026-06-16 22:00", tz="UTC") + pd.Timedelta(minutes=15 * i) for i in range(4)
    ]
    assert str(steps.tz) == "UTC"


def test_range_steps_refuse_naive_timestamps() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        range_steps(pd.Timestamp("2026-06-17"), pd.Timestamp("2026-06-18", tz="UTC"))


def test_step_hours_turns_kw_into_kwh() -> None:
    assert 40.0 * step_hours(15) == 10.0
    assert step_hours(60) == 1.0


def test_tomorrow_across_a_year_end() -> None:
    late_new_years_eve = datetime(2026, 12, 31, 23, 30, tzinfo=WARSAW)
    assert tomorrow(WARSAW, late_new_years_eve) == date(2027, 1, 1)
    # 23:30 UTC on 31 December is already 00:30 on 1 January in Warsaw (UTC+1).
    same_instant_in_utc = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert tomorrow(WARSAW, same_instant_in_utc) == date(2027, 1, 2)


def test_tomorrow_without_now_is_the_day_after_today_in_the_zone() -> None:
    before = datetime.now(WARSAW).date()
    result = tomorrow(WARSAW)
    after = datetime.now(WARSAW).date()
    assert result in {before + timedelta(days=1), after + timedelta(days=1)}
