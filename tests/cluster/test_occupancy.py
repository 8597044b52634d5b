"""When a building is occupied: opening hours on the Polish calendar, on the local clock."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from cluster.calendar import public_holidays
from cluster.config import BmsZone, ComfortBand, HourRange, Occupancy
from cluster.occupancy import internal_gains_kw, is_occupied, occupied_steps, opening_hours
from cluster.timegrid import day_steps

WARSAW = ZoneInfo("Europe/Warsaw")
HOLIDAYS = public_holidays([2027])

SCHOOL = Occupancy(working_days=HourRange(start=7, end=16), closed_in_school_breaks=True)
CITY_HALL = Occupancy(working_days=HourRange(start=7, end=17))
POOL = Occupancy(
    working_days=HourRange(start=6, end=22), non_working_days=HourRange(start=8, end=21)
)
CARE_HOME = Occupancy(
    working_days=HourRange(start=0, end=24),
    non_working_days=HourRange(start=0, end=24),
    closed_on_public_holidays=False,
)

WEDNESDAY = date(2027, 3, 10)  # a working day in term time
SATURDAY = date(2027, 3, 13)
CONSTITUTION_DAY = date(2027, 5, 3)  # a Monday, public holiday
SUMMER_BREAK_WEDNESDAY = date(2027, 7, 7)


@pytest.mark.parametrize(
    ("occupancy", "day", "hours"),
    [
        (SCHOOL, WEDNESDAY, (7, 16)),
        (SCHOOL, SATURDAY, None),  # no hours on non-working days
        (SCHOOL, CONSTITUTION_DAY, None),
        (SCHOOL, SUMMER_BREAK_WEDNESDAY, None),  # closed in school breaks
        (CITY_HALL, SUMMER_BREAK_WEDNESDAY, (7, 17)),  # not closed in breaks
        (POOL, WEDNESDAY, (6, 22)),
        (POOL, SATURDAY, (8, 21)),
        (POOL, CONSTITUTION_DAY, None),
        # Open on holidays: a holiday is not a working day, so the non-working hours apply.
        (CARE_HOME, CONSTITUTION_DAY, (0, 24)),
    ],
)
def test_opening_hours_by_kind_of_day(
    occupancy: Occupancy, day: date, hours: tuple[int, int] | None
) -> None:
    opening = opening_hours(occupancy, day, HOLIDAYS)
    if hours is None:
        assert opening is None
    else:
        assert opening is not None and (opening.start, opening.end) == hours


def test_occupied_within_the_hours_only() -> None:
    at = {
        hour: is_occupied(SCHOOL, datetime(2027, 3, 10, hour, 30), HOLIDAYS)
        for hour in (6, 7, 15, 16)
    }
    assert at == {6: False, 7: True, 15: True, 16: False}


def test_steps_follow_the_local_clock_on_both_dst_days() -> None:
    # Both DST days are Sundays (in 2027 the spring one is Easter Sunday, a holiday, so
    # 2026): the pool opens 08:00-21:00 local, 13 h = 52 quarter-hours.
    for day, offset_h in ((date(2026, 3, 29), 2), (date(2026, 10, 25), 1)):
        steps = day_steps(day, WARSAW)
        occupied = occupied_steps(POOL, steps, WARSAW)
        assert occupied.sum() == 52
        first = steps[int(np.argmax(occupied))]
        # 08:00 local is 06:00 UTC in summer time (CEST) and 07:00 UTC in winter time.
        assert first == pd.Timestamp(day.isoformat()).tz_localize("UTC") + pd.Timedelta(
            hours=8 - offset_h
        )


def test_a_school_day_in_quarter_hours() -> None:
    steps = day_steps(WEDNESDAY, WARSAW)
    occupied = occupied_steps(SCHOOL, steps, WARSAW)
    local = steps.tz_convert(WARSAW)
    expected = (local.hour >= 7) & (local.hour < 16)
    np.testing.assert_array_equal(occupied, expected)
    assert occupied.sum() == 36
    assert not occupied_steps(SCHOOL, day_steps(SUMMER_BREAK_WEDNESDAY, WARSAW), WARSAW).any()


def test_internal_gains_only_while_occupied() -> None:
    zone = BmsZone(
        id="z1",
        floor_area_m2=400.0,
        comfort=ComfortBand(
            occupied_min_c=20, occupied_max_c=24, unoccupied_min_c=16, unoccupied_max_c=27
        ),
        thermal_capacitance_kwh_per_k=40.0,
        thermal_resistance_k_per_kw=1.0,
        heating_max_kw=30.0,
        occupied_gains_w_per_m2=6.0,
    )
    assert internal_gains_kw(zone, True) == pytest.approx(2.4)  # 6 W/m² × 400 m²
    assert internal_gains_kw(zone, False) == 0.0


def test_the_rig_uses_the_same_rule() -> None:
    from adapters.rig import plant

    assert plant.is_occupied is is_occupied
    assert plant.internal_gains_kw is internal_gains_kw
