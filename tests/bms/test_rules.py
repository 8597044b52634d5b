"""Each rule on readings that show its fault, and on readings that do not.

Frames are built by hand on the test cluster's school (open 07:00-16:00 on
working days; comfort 20-24 °C occupied, 16-27 °C unoccupied; pre-heat 2 h,
setback 0.5 h after closing), with the policy columns joined on as a check does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms import equipment_rules, rules
from bms.checks import RULES, check_zone
from bms.findings import Severity
from bms.frames import episodes
from bms.rules import RuleContext
from cluster.timeseries import Quality
from tests.bms.support import ZONE, zone_frame_with_context

CONTEXT = RuleContext(time_zone=ZONE)
#: Wednesday 10 March 2027, an ordinary school day.
WEDNESDAY = "2027-03-10"


def frame(start: str, freq: str = "15min", **columns: list[float]) -> pd.DataFrame:
    return zone_frame_with_context(columns, start, freq=freq)


def constant(value: float, count: int) -> list[float]:
    return [value] * count


# --- setpoint outside its band -----------------------------------------------------------


def test_a_setback_setpoint_during_lessons_is_outside_the_occupied_band() -> None:
    readings = frame(f"{WEDNESDAY} 10:00", setpoint_c=constant(17.0, 9))
    [hit] = rules.setpoint_outside_band(readings, CONTEXT)
    assert hit.point == "setpoint" and hit.severity is Severity.WARNING
    assert "17.0 °C lies below the occupied band 20-24 °C" in hit.evidence
    assert hit.since == readings.index[0] and hit.until == readings.index[-1]
    assert "(2.0 h)" in hit.evidence


def test_setpoints_inside_their_bands_by_day_and_night_are_silent() -> None:
    day = frame(f"{WEDNESDAY} 10:00", setpoint_c=constant(21.0, 8))
    night = frame(f"{WEDNESDAY} 20:00", setpoint_c=constant(17.0, 8))
    assert rules.setpoint_outside_band(day, CONTEXT) == []
    assert rules.setpoint_outside_band(night, CONTEXT) == []


def test_a_night_setpoint_above_the_unoccupied_band_is_reported() -> None:
    [hit] = rules.setpoint_outside_band(frame(f"{WEDNESDAY} 22:00", setpoint_c=[28.0]), CONTEXT)
    assert "above the unoccupied band 16-27 °C" in hit.evidence


# --- overrides ---------------------------------------------------------------------------


def test_another_partys_priority_held_six_hours_is_reported_since_it_began() -> None:
    # Three hours of the program at 21 °C, then priority 5 holds 23 °C for six hours.
    readings = frame(
        f"{WEDNESDAY} 05:00",
        setpoint_c=constant(21.0, 12) + constant(23.0, 25),
        setpoint_priority=constant(16, 12) + constant(5, 25),
    )
    [hit] = rules.override_held_too_long(readings, CONTEXT)
    assert hit.point == "setpoint"
    assert hit.since == readings.index[12] and hit.until == readings.index[-1]
    assert "priority 5 (critical equipment control) holds 23 °C since 2027-03-10 08:00" in (
        hit.evidence
    )
    assert "(6.0 h)" in hit.evidence and "ask whoever commands priority 5" in hit.fix


def test_an_override_shorter_than_the_limit_or_by_the_program_is_silent() -> None:
    short = frame(f"{WEDNESDAY} 05:00", setpoint_c=constant(23.0, 9),
                  setpoint_priority=constant(8, 9))  # fmt: skip
    program = frame(f"{WEDNESDAY} 05:00", setpoint_c=constant(21.0, 40),
                    setpoint_priority=constant(16, 40))  # fmt: skip
    released = frame(f"{WEDNESDAY} 05:00", setpoint_c=constant(21.0, 40),
                     setpoint_priority=constant(17, 40))  # fmt: skip
    unknown = frame(f"{WEDNESDAY} 05:00", setpoint_c=constant(23.0, 40))
    for readings in (short, program, released, unknown):
        assert rules.override_held_too_long(readings, CONTEXT) == []


def test_a_person_s_change_left_in_klaster_s_slot_says_how_to_release_it() -> None:
    readings = frame(f"{WEDNESDAY} 05:00", setpoint_c=constant(22.0, 21),
                     setpoint_priority=constant(12, 21))  # fmt: skip
    [finding] = check_zone(readings, "bldg-school", "z1", CONTEXT,
                           {"override": rules.override_held_too_long})  # fmt: skip
    assert "klaster's own priority 12 holds 22 °C" in finding.evidence
    assert finding.fix.endswith("klaster bms release bldg-school/z1/setpoint")


def test_a_valve_held_open_by_an_operator_is_an_override_too() -> None:
    readings = frame(f"{WEDNESDAY} 17:00", heat_output_pct=constant(100.0, 21),
                     heat_output_priority=constant(8, 21))  # fmt: skip
    [hit] = rules.override_held_too_long(readings, CONTEXT)
    assert hit.point == "heat_output" and "priority 8 (manual operator) holds 100 %" in hit.evidence


# --- heating while closed ------------------------------------------------------------------


def test_heating_to_a_comfort_setpoint_in_the_evening_is_reported() -> None:
    readings = frame(f"{WEDNESDAY} 18:00", setpoint_c=constant(21.0, 9),
                     heat_output_pct=constant(40.0, 9))  # fmt: skip
    [hit] = rules.heating_while_unoccupied(readings, CONTEXT)
    assert hit.point == "heat_output"
    assert "heating at 40 % (median) to a setpoint of 21.0 °C" in hit.evidence
    assert "the setback is 16 °C" in hit.evidence


def test_setback_heating_and_the_grace_after_closing_are_silent() -> None:
    setback = frame(f"{WEDNESDAY} 18:00", setpoint_c=constant(17.0, 9),
                    heat_output_pct=constant(40.0, 9))  # fmt: skip
    # 16:00-16:29 is the setback grace: the zone may still hold its comfort setpoint.
    grace = frame(f"{WEDNESDAY} 16:00", setpoint_c=constant(21.0, 2),
                  heat_output_pct=constant(40.0, 2))  # fmt: skip
    assert rules.heating_while_unoccupied(setback, CONTEXT) == []
    assert rules.heating_while_unoccupied(grace, CONTEXT) == []


def test_heating_on_a_public_holiday_names_the_day() -> None:
    readings = frame("2027-01-06 08:00", setpoint_c=constant(21.0, 9),
                     heat_output_pct=constant(60.0, 9))  # fmt: skip
    [hit] = rules.heating_on_closed_day(readings, CONTEXT)
    assert hit.evidence.startswith("2027-01-06 is a public holiday and the building is closed")
    assert "heats at 60 % to 21.0 °C" in hit.evidence
    # The same evening heating on an open day is not this rule's business.
    assert rules.heating_while_unoccupied(readings, CONTEXT) == []


def test_a_set_back_saturday_and_an_ordinary_school_day_are_silent() -> None:
    saturday = frame("2027-03-13 08:00", setpoint_c=constant(17.0, 9),
                     heat_output_pct=constant(50.0, 9))  # fmt: skip
    school_day = frame(f"{WEDNESDAY} 08:00", setpoint_c=constant(21.0, 9),
                       heat_output_pct=constant(60.0, 9))  # fmt: skip
    assert rules.heating_on_closed_day(saturday, CONTEXT) == []
    assert rules.heating_on_closed_day(school_day, CONTEXT) == []


# --- equipment ---------------------------------------------------------------------------------


def test_simultaneous_heating_and_cooling() -> None:
    both = frame(f"{WEDNESDAY} 10:00", heat_output_pct=constant(40.0, 5),
                 cool_output_pct=constant(30.0, 5))  # fmt: skip
    [hit] = equipment_rules.simultaneous_heating_cooling(both, CONTEXT)
    assert "heating at 40 % and cooling at 30 %" in hit.evidence
    taking_turns = frame(f"{WEDNESDAY} 10:00", heat_output_pct=[40.0, 40.0, 0.0, 0.0, 0.0],
                         cool_output_pct=[0.0, 0.0, 0.0, 30.0, 30.0])  # fmt: skip
    heating_only = frame(f"{WEDNESDAY} 10:00", heat_output_pct=constant(40.0, 5))
    assert equipment_rules.simultaneous_heating_cooling(taking_turns, CONTEXT) == []
    assert equipment_rules.simultaneous_heating_cooling(heating_only, CONTEXT) == []


def test_a_sensor_flat_while_the_setpoint_drops_is_frozen() -> None:
    # 12:00-18:00: the setpoint drops from 21 to 17 °C at 16:00; the reading never moves.
    readings = frame(f"{WEDNESDAY} 12:00", room_temp_c=constant(21.3, 25),
                     setpoint_c=constant(21.0, 16) + constant(17.0, 9))  # fmt: skip
    [hit] = equipment_rules.sensor_frozen(readings, CONTEXT)
    assert hit.point == "room_temp" and hit.severity is Severity.CRITICAL
    assert "reads 21.30 °C unchanged" in hit.evidence and "(6.0 h)" in hit.evidence
    assert "setpoint moved by 4.0 K" in hit.evidence


def test_a_sensor_that_freezes_between_noisy_readings_is_found_where_it_froze() -> None:
    noise = np.random.default_rng(3).normal(0.0, 0.2, 40)
    temperature = list(20.5 + noise[:8]) + constant(20.7, 20) + list(19.0 + noise[8:20])
    setpoint = constant(21.0, 16) + constant(17.0, 24)  # 12:00-16:00 open, then closed
    readings = frame(f"{WEDNESDAY} 12:00", room_temp_c=temperature, setpoint_c=setpoint)
    [hit] = equipment_rules.sensor_frozen(readings, CONTEXT)
    assert (hit.since, hit.until) == (readings.index[8], readings.index[27])
    assert "reads 20.70 °C unchanged" in hit.evidence


def test_a_room_held_exactly_at_its_setpoint_or_moving_is_not_frozen() -> None:
    at_setpoint = frame(f"{WEDNESDAY} 00:00", room_temp_c=constant(17.0, 25),
                        setpoint_c=constant(17.0, 25))  # fmt: skip
    moving = frame(f"{WEDNESDAY} 12:00", room_temp_c=list(np.linspace(21.0, 19.0, 25)),
                   setpoint_c=constant(21.0, 16) + constant(17.0, 9))  # fmt: skip
    assert equipment_rules.sensor_frozen(at_setpoint, CONTEXT) == []
    assert equipment_rules.sensor_frozen(moving, CONTEXT) == []


def test_an_implausible_or_flagged_room_temperature_is_out_of_range() -> None:
    hot = frame(f"{WEDNESDAY} 10:00", room_temp_c=[21.0, 85.0, 21.1])
    [hit] = equipment_rules.sensor_out_of_range(hot, CONTEXT)
    assert "reads 85.0 °C, outside the plausible 0-40 °C: 1 reading(s)" in hit.evidence
    flagged = frame(f"{WEDNESDAY} 10:00", room_temp_c=[21.0, np.nan],
                    room_temp_quality=[int(Quality.GOOD), int(Quality.OUT_OF_RANGE)])  # fmt: skip
    [hit] = equipment_rules.sensor_out_of_range(flagged, CONTEXT)
    assert "the controller reports the room temperature outside the point's range" in hit.evidence
    fine = frame(f"{WEDNESDAY} 10:00", room_temp_c=[21.0, 21.2, 20.9])
    assert equipment_rules.sensor_out_of_range(fine, CONTEXT) == []


def test_a_room_cooling_below_its_setpoint_with_the_valve_open_is_a_loop_fault() -> None:
    readings = frame(f"{WEDNESDAY} 09:00", room_temp_c=list(np.linspace(19.5, 18.3, 13)),
                     setpoint_c=constant(21.0, 13),
                     heat_output_pct=constant(100.0, 13))  # fmt: skip
    [hit] = equipment_rules.control_loop_fault(readings, CONTEXT)
    assert "the heat does not arrive" in hit.evidence and hit.severity is Severity.WARNING
    assert "valve 100 %" in hit.evidence


def test_a_room_warming_up_to_its_setpoint_is_no_loop_fault() -> None:
    readings = frame(f"{WEDNESDAY} 07:00", room_temp_c=list(np.linspace(17.0, 19.0, 13)),
                     setpoint_c=constant(21.0, 13),
                     heat_output_pct=constant(100.0, 13))  # fmt: skip
    assert equipment_rules.control_loop_fault(readings, CONTEXT) == []


def test_a_room_warming_above_its_setpoint_with_the_valve_closed_is_worth_a_look() -> None:
    readings = frame(f"{WEDNESDAY} 11:00", room_temp_c=list(np.linspace(23.5, 25.0, 13)),
                     setpoint_c=constant(21.0, 13), heat_output_pct=constant(0.0, 13))  # fmt: skip
    [hit] = equipment_rules.control_loop_fault(readings, CONTEXT)
    assert hit.severity is Severity.INFO and "passing valve" in hit.evidence


def test_heating_that_starts_every_ten_minutes_is_short_cycling() -> None:
    on_off = ([60.0] * 5 + [0.0] * 5) * 12  # minute readings: a start every 10 minutes
    [hit] = equipment_rules.short_cycling(
        frame(f"{WEDNESDAY} 10:00", freq="1min", heat_output_pct=on_off), CONTEXT
    )
    assert "started 6 times within the hour" in hit.evidence
    slow = ([60.0] * 30 + [0.0] * 30) * 2  # a start every hour
    assert (
        equipment_rules.short_cycling(
            frame(f"{WEDNESDAY} 10:00", freq="1min", heat_output_pct=slow), CONTEXT
        )
        == []
    )


# --- plumbing --------------------------------------------------------------------------------


def test_a_gap_in_the_readings_breaks_a_run() -> None:
    index = pd.DatetimeIndex(
        ["2027-03-10 10:00", "2027-03-10 10:15", "2027-03-10 13:00", "2027-03-10 13:15"], tz="UTC"
    )
    runs = episodes(pd.Series([True, True, True, True], index=index), pd.Timedelta(hours=1))
    assert [(str(a.time()), str(b.time()), str(c.time())) for a, b, c in runs] == [
        ("10:00:00", "10:15:00", "10:15:00"),
        ("13:00:00", "13:15:00", "13:15:00"),
    ]
    # A run that ends because the condition does lasts until the next reading.
    quarters = pd.date_range("2027-03-10 10:00", periods=4, freq="15min", tz="UTC")
    mask = pd.Series([False, True, True, False], index=quarters)
    [(first, last, end)] = episodes(mask, pd.Timedelta(hours=1))
    assert (first, last, end) == (quarters[1], quarters[2], quarters[3])


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_is_silent_on_a_frame_without_readings(name: str) -> None:
    empty = frame(f"{WEDNESDAY} 10:00", room_temp_c=constant(np.nan, 4))
    assert RULES[name](empty, CONTEXT) == []
