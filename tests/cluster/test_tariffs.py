"""Tariff arithmetic: energy rate per step, take-or-pay block power, working days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cluster.config import HourRange, SupplyBlock, Tariff
from cluster.tariffs import block_power_kw, days_in_month, energy_rate_pln_per_mwh, working_days
from cluster.timegrid import day_steps

WARSAW = ZoneInfo("Europe/Warsaw")
MORNING_PEAK, WINTER_PEAK, SUMMER_PEAK, REST = 58.0, 96.0, 90.0, 27.0

# A B23-like tariff: three zones on working days, the rest of the time one rate.
# Distinct winter and summer afternoon rates show which zone was chosen.
B23: dict[str, Any] = {
    "id": "b23",
    "group": "B23",
    "capacity_rate_pln_per_kw_month": 14.2,
    "zones": [
        {"name": "morning peak", "rate_pln_per_mwh": MORNING_PEAK, "days": "working_days",
         "hours": [{"start": 7, "end": 13}]},
        {"name": "afternoon peak (winter)", "rate_pln_per_mwh": WINTER_PEAK,
         "days": "working_days", "months": [1, 2, 3, 10, 11, 12],
         "hours": [{"start": 16, "end": 21}]},
        {"name": "afternoon peak (summer)", "rate_pln_per_mwh": SUMMER_PEAK,
         "days": "working_days", "months": [4, 5, 6, 7, 8, 9],
         "hours": [{"start": 19, "end": 22}]},
        {"name": "rest of day", "rate_pln_per_mwh": REST},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def b23() -> Tariff:
    return Tariff.model_validate(B23)


def rates_by_local_time(tariff: Tariff, day: date) -> dict[str, float]:
    """The rate of each step of local ``day``, keyed by local clock time "HH:MM"."""
    rates = energy_rate_pln_per_mwh(tariff, day_steps(day, WARSAW), WARSAW)
    local = pd.DatetimeIndex(rates.index).tz_convert(WARSAW)
    return dict(zip(local.strftime("%H:%M"), rates, strict=True))


def expected_rates(peaks: dict[tuple[int, int], float]) -> dict[str, float]:
    """Every quarter-hour of a 96-step day at REST, except ``[start, end)`` hours given."""
    expected = {}
    for quarter in range(96):
        hour, minute = divmod(quarter * 15, 60)
        rate = next((r for (a, b), r in peaks.items() if a <= hour < b), REST)
        expected[f"{hour:02d}:{minute:02d}"] = rate
    return expected


def test_winter_working_day_has_morning_and_winter_afternoon_peaks(b23: Tariff) -> None:
    tuesday_in_january = date(2027, 1, 12)
    assert rates_by_local_time(b23, tuesday_in_january) == expected_rates(
        {(7, 13): MORNING_PEAK, (16, 21): WINTER_PEAK}
    )


def test_summer_working_day_has_the_later_afternoon_peak(b23: Tariff) -> None:
    wednesday_in_july = date(2027, 7, 14)
    assert rates_by_local_time(b23, wednesday_in_july) == expected_rates(
        {(7, 13): MORNING_PEAK, (19, 22): SUMMER_PEAK}
    )


@pytest.mark.parametrize(
    "day",
    [
        date(2027, 1, 16),  # Saturday
        date(2027, 1, 17),  # Sunday
        date(2026, 11, 11),  # Wednesday, National Independence Day
        date(2027, 3, 29),  # Easter Monday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 12, 24),  # Thursday, Christmas Eve (a public holiday from 2025)
    ],
)
def test_non_working_days_have_one_rate_all_day(b23: Tariff, day: date) -> None:
    assert set(rates_by_local_time(b23, day).values()) == {REST}


def test_day_after_independence_day_is_working_again(b23: Tariff) -> None:
    rates = rates_by_local_time(b23, date(2026, 11, 12))
    assert (rates["08:00"], rates["17:00"], rates["22:00"]) == (MORNING_PEAK, WINTER_PEAK, REST)


def test_rates_follow_local_time_on_the_autumn_dst_day(b23: Tariff) -> None:
    # 2026-10-26 is a Monday; the day before (25 hours) is a Sunday: all REST.
    sunday = energy_rate_pln_per_mwh(b23, day_steps(date(2026, 10, 25), WARSAW), WARSAW)
    assert len(sunday) == 100
    assert set(sunday) == {REST}
    monday = energy_rate_pln_per_mwh(b23, day_steps(date(2026, 10, 26), WARSAW), WARSAW)
    # 07:00 local on Monday 26 October (CET, UTC+1) is 06:00 UTC.
    assert monday[pd.Timestamp("2026-10-26 05:45", tz="UTC")] == REST
    assert monday[pd.Timestamp("2026-10-26 06:00", tz="UTC")] == MORNING_PEAK


def test_first_matching_zone_wins() -> None:
    tariff = Tariff.model_validate(
        {
            "id": "overlap",
            "group": "C22a",
            "capacity_rate_pln_per_kw_month": 10.0,
            "zones": [
                {"name": "first", "rate_pln_per_mwh": 1.0, "hours": [{"start": 7, "end": 13}]},
                {"name": "second", "rate_pln_per_mwh": 2.0, "hours": [{"start": 10, "end": 16}]},
                {"name": "night", "rate_pln_per_mwh": 3.0, "hours": [{"start": 22, "end": 6}]},
                {"name": "rest", "rate_pln_per_mwh": 4.0},
            ],
        }
    )
    rates = rates_by_local_time(tariff, date(2026, 6, 20))
    assert (rates["11:00"], rates["14:00"], rates["23:00"], rates["05:45"], rates["06:00"]) == (
        1.0,
        2.0,
        3.0,
        3.0,
        4.0,
    )


def test_rate_series_is_indexed_by_the_steps(b23: Tariff) -> None:
    steps = day_steps(date(2027, 1, 12), WARSAW)
    rates = energy_rate_pln_per_mwh(b23, steps, WARSAW)
    assert rates.index.equals(steps)
    assert rates.dtype == float
    assert rates.name == "b23_rate_pln_per_mwh"


def test_wrapping_hour_range() -> None:
    night = HourRange(start=22, end=6)
    assert [h for h in range(24) if night.contains(h)] == [0, 1, 2, 3, 4, 5, 22, 23]


PEAK_BLOCK = SupplyBlock(
    name="peak 2027",
    power_kw=800.0,
    price_pln_per_mwh=540.0,
    hours=HourRange(start=7, end=22),
    days="working_days",
)


def test_peak_block_delivers_in_its_hours_on_working_days() -> None:
    steps = day_steps(date(2027, 1, 12), WARSAW)
    power = block_power_kw(PEAK_BLOCK, steps, WARSAW)
    local = pd.DatetimeIndex(power.index).tz_convert(WARSAW)
    in_block = (local.hour >= 7) & (local.hour < 22)
    assert (power[in_block] == 800.0).all()
    assert (power[~in_block] == 0.0).all()
    # 15 hours of 800 kW.
    assert power.sum() * 0.25 == 12_000.0
    assert power.name == "peak 2027"


@pytest.mark.parametrize("holiday", [date(2026, 11, 11), date(2027, 3, 29)])
def test_peak_block_is_idle_on_public_holidays(holiday: date) -> None:
    power = block_power_kw(PEAK_BLOCK, day_steps(holiday, WARSAW), WARSAW)
    assert (power == 0.0).all()


def test_base_block_on_the_autumn_dst_day_delivers_25_hours() -> None:
    base = SupplyBlock(name="base", power_kw=1500.0, price_pln_per_mwh=465.0)
    power = block_power_kw(base, day_steps(date(2026, 10, 25), WARSAW), WARSAW)
    assert power.sum() * 0.25 == 1500.0 * 25


def test_non_working_days_block() -> None:
    weekend = SupplyBlock(
        name="weekend",
        power_kw=100.0,
        price_pln_per_mwh=300.0,
        days="non_working_days",
    )
    saturday = block_power_kw(weekend, day_steps(date(2027, 1, 16), WARSAW), WARSAW)
    monday = block_power_kw(weekend, day_steps(date(2027, 1, 18), WARSAW), WARSAW)
    assert (saturday == 100.0).all()
    assert (monday == 0.0).all()


def test_working_days_in_a_week_with_a_holiday() -> None:
    monday = date(2026, 11, 9)
    week = [monday + timedelta(days=i) for i in range(7)]
    assert working_days(week) == dict(
        zip(week, [True, True, False, True, True, False, False], strict=True)
    )


def test_working_days_across_a_year_end() -> None:
    days = [date(2026, 12, 24), date(2026, 12, 28), date(2027, 1, 1), date(2027, 1, 4)]
    assert working_days(days) == {
        date(2026, 12, 24): False,  # Christmas Eve
        date(2026, 12, 28): True,
        date(2027, 1, 1): False,  # New Year's Day
        date(2027, 1, 4): True,
    }


@pytest.mark.parametrize(
    ("day", "count"), [(date(2028, 2, 10), 29), (date(2027, 2, 1), 28), (date(2026, 10, 25), 31)]
)
def test_days_in_month(day: date, count: int) -> None:
    assert days_in_month(day) == count
