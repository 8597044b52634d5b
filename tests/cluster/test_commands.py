"""Planning commands from a schedule: the maths per asset kind, the step, DST days."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from cluster.commands import (
    CommandPlanError,
    configured_point,
    dispatch_steps,
    plan_commands,
    power_limit_pct,
    split_point_id,
    step_start_of,
)
from cluster.points import PointKind
from cluster.schedule import ASSET_COLUMNS, Schedule
from cluster.timegrid import day_steps
from tests.adapters.dispatch_support import AT, DAY, ZONE, make_schedule, small_config

CONFIG = small_config()


def commands_at(values: dict[tuple[str, str], float], at: pd.Timestamp = AT) -> dict[str, float]:
    return {c.point_id: c.value for c in plan_commands(make_schedule(values), CONFIG, at)}


def per_step_schedule(day: date, asset: str, quantity: str) -> Schedule:
    """A schedule whose value in step n is n, so a command tells which step it came from."""
    steps = day_steps(day, ZONE)
    assets = pd.DataFrame(
        {"ts": steps, "asset": asset, "quantity": quantity,
         "value": [float(n) for n in range(len(steps))], "unit": "kW"},
        columns=list(ASSET_COLUMNS),
    )  # fmt: skip
    return Schedule(day, "Europe/Warsaw", 15, pd.DataFrame(), assets, pd.DataFrame(),
                    pd.DataFrame({"component": [], "cost_pln": []}))  # fmt: skip


@pytest.mark.parametrize(
    ("output_kw", "curtailed_kw", "limit_kw", "expected_pct"),
    [
        (40.0, 0.0, 45.0, 100.0),  # not curtailed: no limit at all
        (40.0, 1e-9, 45.0, 100.0),  # solver noise is not curtailment
        (30.0, 10.0, 45.0, 66.7),  # 66.666... rounded up, never down
        (36.0, 4.0, 45.0, 80.0),  # exactly 80 % stays 80 %, despite float noise
        (10.01, 1.0, 45.0, 22.3),  # 22.244... → 22.3
        (0.0, 40.0, 45.0, 0.0),  # fully curtailed
    ],
)
def test_power_limit_is_the_planned_output_share_rounded_up(
    output_kw: float, curtailed_kw: float, limit_kw: float, expected_pct: float
) -> None:
    assert power_limit_pct(output_kw, curtailed_kw, limit_kw) == pytest.approx(expected_pct)
    # Rounded up: the limit never holds the plant below its planned output.
    assert power_limit_pct(output_kw, curtailed_kw, limit_kw) * limit_kw / 100 >= output_kw - 1e-9


def test_power_limit_of_a_missing_value_is_nan() -> None:
    assert math.isnan(power_limit_pct(math.nan, 1.0, 45.0))
    assert math.isnan(power_limit_pct(30.0, math.nan, 45.0))


def test_every_kind_of_asset_gets_its_command_in_configuration_order() -> None:
    values = {
        ("bldg-school/z2", "setpoint_c"): 19.0,
        ("bldg-school/z1", "setpoint_c"): 21.5,
        ("light-1", "dim_pct"): 70.0,
        ("light-1", "on"): 1.0,
        ("biogas", "output_kw"): 450.0,
        ("wte", "output_kw"): 6000.0,
        ("battery", "charge_kw"): 120.0,
        ("battery", "discharge_kw"): 0.0,
        ("battery", "soc_kwh"): 300.0,
        ("pv-school", "available_kw"): 40.0,
        ("pv-school", "output_kw"): 30.0,
        ("pv-school", "curtailed_kw"): 10.0,
    }
    commands = plan_commands(make_schedule(values), CONFIG, AT)
    assert [(c.point_id, c.value, c.unit) for c in commands] == [
        ("pv-school/power_limit", 66.7, "%"),
        ("battery/power_setpoint", -120.0, "kW"),  # charging is negative
        ("wte/output_setpoint", 6000.0, "kW"),
        ("biogas/output_setpoint", 450.0, "kW"),
        ("light-1/on_off", 1.0, "bool"),
        ("light-1/dim_level", 70.0, "%"),
        ("bldg-school/z1/setpoint", 21.5, "degC"),
        ("bldg-school/z2/setpoint", 19.0, "degC"),
    ]
    assert {c.step_start for c in commands} == {pd.Timestamp("2027-01-13 09:00", tz="UTC")}
    assert "curtailed 10.0 kW" in commands[0].reason
    assert commands[1].reason == "charge 120.0 kW"


@pytest.mark.parametrize(
    ("values", "expected_kw"),
    [
        ({("battery", "discharge_kw"): 200.0, ("battery", "charge_kw"): 0.0}, 200.0),
        ({("battery", "charge_kw"): 75.5}, -75.5),  # a missing side counts as 0
        ({("battery", "discharge_kw"): 150.0000000003}, 150.0),  # solver noise off
        ({("battery", "discharge_kw"): 0.0, ("battery", "charge_kw"): 0.0}, 0.0),
    ],
)
def test_battery_setpoint_is_discharge_minus_charge(
    values: dict[tuple[str, str], float], expected_kw: float
) -> None:
    assert commands_at(values) == {"battery/power_setpoint": expected_kw}


def test_pv_curtailment_is_derived_from_available_output_when_not_given() -> None:
    values = {("pv-school", "available_kw"): 44.0, ("pv-school", "output_kw"): 22.5}
    assert commands_at(values) == {"pv-school/power_limit": 50.0}
    uncurtailed = {("pv-school", "available_kw"): 20.0, ("pv-school", "output_kw"): 20.0}
    assert commands_at(uncurtailed) == {"pv-school/power_limit": 100.0}


def test_lighting_off_and_noise_in_on_off() -> None:
    assert commands_at({("light-1", "on"): 0.0}) == {"light-1/on_off": 0.0}
    assert commands_at({("light-1", "on"): 0.9999999}) == {"light-1/on_off": 1.0}
    # A state that is neither on nor off is planned as it stands; the safety check refuses it.
    assert commands_at({("light-1", "on"): 0.5}) == {"light-1/on_off": 0.5}


def test_nan_is_planned_as_nan_for_the_safety_check_to_refuse() -> None:
    planned = commands_at({("battery", "discharge_kw"): math.nan, ("wte", "output_kw"): math.nan})
    assert math.isnan(planned["battery/power_setpoint"])
    assert math.isnan(planned["wte/output_setpoint"])


def test_assets_without_values_in_the_schedule_get_no_command() -> None:
    assert commands_at({("battery", "soc_kwh"): 300.0}) == {}


def test_the_step_containing_at_is_used() -> None:
    schedule = per_step_schedule(DAY, "wte", "output_kw")
    # 10:14 local (CET) is in the 10:00 step, the 40th of the day (09:00 UTC).
    commands = plan_commands(schedule, CONFIG, pd.Timestamp("2027-01-13 10:14:59", tz=ZONE))
    assert [(c.value, c.step_start) for c in commands] == [
        (40.0, pd.Timestamp("2027-01-13 09:00", tz="UTC"))
    ]
    assert plan_commands(schedule, CONFIG, pd.Timestamp("2027-01-13 10:15", tz=ZONE))[0].value == 41


def test_autumn_dst_day_tells_the_two_half_past_twos_apart() -> None:
    day = date(2026, 10, 25)
    schedule = per_step_schedule(day, "wte", "output_kw")
    assert len(day_steps(day, ZONE)) == 100
    summer = plan_commands(schedule, CONFIG, pd.Timestamp("2026-10-25T02:30+02:00"))
    winter = plan_commands(schedule, CONFIG, pd.Timestamp("2026-10-25T02:30+01:00"))
    # Local midnight is 22:00 UTC; 02:30 CEST is 00:30 UTC (step 10), 02:30 CET 01:30 UTC (14).
    assert (summer[0].value, summer[0].step_start) == (10.0, pd.Timestamp("2026-10-25 00:30Z"))
    assert (winter[0].value, winter[0].step_start) == (14.0, pd.Timestamp("2026-10-25 01:30Z"))
    last = plan_commands(schedule, CONFIG, pd.Timestamp("2026-10-25T23:59+01:00"))
    assert last[0].value == 99.0


def test_spring_dst_day_has_92_steps_and_steps_stop_at_its_end() -> None:
    day = date(2027, 3, 28)
    schedule = per_step_schedule(day, "biogas", "output_kw")
    late = pd.Timestamp("2027-03-28T23:50+02:00")
    assert dispatch_steps(schedule, late, 1) == [pd.Timestamp("2027-03-28 21:45Z")]
    assert plan_commands(schedule, CONFIG, late)[0].value == 91.0
    with pytest.raises(CommandPlanError, match="1 remain"):
        dispatch_steps(schedule, late, 2)
    # 01:45 CET then 03:00 CEST: the clock skips 02:00-03:00.
    assert dispatch_steps(schedule, pd.Timestamp("2027-03-28T01:45+01:00"), 2) == [
        pd.Timestamp("2027-03-28 00:45Z"),
        pd.Timestamp("2027-03-28 01:00Z"),
    ]


@pytest.mark.parametrize(
    "at",
    [
        pd.Timestamp("2027-01-12 23:59", tz=ZONE),
        pd.Timestamp("2027-01-14 00:00", tz=ZONE),
        pd.Timestamp("2027-01-13 09:00", tz="UTC") + pd.Timedelta(days=3),
    ],
)
def test_a_time_outside_the_schedules_day_is_refused(at: pd.Timestamp) -> None:
    with pytest.raises(CommandPlanError, match=r"outside the schedule's day 2027-01-13") as caught:
        plan_commands(make_schedule({("wte", "output_kw"): 5000.0}), CONFIG, at)
    assert caught.value.fix is not None and "2027-01-13" in caught.value.fix


def test_a_time_without_zone_is_refused() -> None:
    with pytest.raises(CommandPlanError, match="no time zone"):
        step_start_of(make_schedule({}), pd.Timestamp("2027-01-13 10:00"))


def test_a_schedule_for_another_cluster_is_refused() -> None:
    with pytest.raises(CommandPlanError, match="pv-elsewhere") as caught:
        commands_at({("pv-elsewhere", "output_kw"): 5.0, ("wte", "output_kw"): 5000.0})
    assert caught.value.fix is not None and "--config" in caught.value.fix


def test_point_ids_name_configured_points() -> None:
    assert split_point_id("battery/power_setpoint") == ("battery", None, "power_setpoint")
    assert split_point_id("bldg-school/z1/setpoint") == ("bldg-school", "z1", "setpoint")
    with pytest.raises(ValueError, match="not a point id"):
        split_point_id("battery")
    setpoint = configured_point(CONFIG, "bldg-school/z1/setpoint")
    assert setpoint is not None and setpoint.kind is PointKind.TEMPERATURE_SETPOINT
    # The zone setpoint may range over the comfort band: unoccupied min .. occupied max.
    assert (setpoint.min_value, setpoint.max_value) == (16.0, 24.0)
    limit = configured_point(CONFIG, "pv-school/power_limit")
    assert limit is not None and limit.writable
    for unknown in ("bldg-school/z9/setpoint", "battery/nothing", "ghost/power_limit", "x"):
        assert configured_point(CONFIG, unknown) is None
