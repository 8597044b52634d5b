"""Against the HIL rig's BACnet controllers over real sockets on 127.0.0.1.

Live reads with priority arrays; a person's change through the write-safety
path (overridden zones never written, read-back, release to the relinquish
default, audit); the optimiser's exclusion of held zones; and each fault
rule on a rig scenario that injects its fault, silent on the same run clean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapters.audit import read_audit_log
from adapters.bacnet.device_sim import SimulatedBuildingController
from adapters.bms_live import PointHold, read_live, setpoint_holds
from adapters.manual_changes import ManualChanges
from adapters.rig.rig import Rig, RigOptions
from bms.checks import check_buildings
from bms.flexibility import zone_flexibility
from bms.policies import BmsPolicy
from bms.safety import AllowedWrite, WritePolicy
from cluster.timegrid import day_steps
from tests.bms.support import (
    CLUSTER,
    SCHOOL,
    SCHOOL_DEVICE,
    ZONE,
    Injection,
    record_scenario,
    run,
)
from tests.timeouts import ANSWER_TIMEOUT_S

#: A school day, 11:00 local: the school is open.
DAY = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
PRIORITY = 12
#: Where a person's `klaster bms set` writes: stronger than dispatch's priority.
MANUAL = 10
SETPOINT = "z1.setpoint"
POINT = "bldg-school/z1/setpoint"
POLICY = WritePolicy(
    bacnet_priority=PRIORITY,
    points=[AllowedWrite(point=POINT, min_value=17, max_value=23, max_step=3)],
)


def changes(rig: Rig, log: Path) -> ManualChanges:
    return ManualChanges(rig.site_devices(), CLUSTER, POLICY, log, "anna", apply=True,
                         timeout_s=ANSWER_TIMEOUT_S)  # fmt: skip


def writes(controller: SimulatedBuildingController) -> int:
    return controller.requests_received["WritePropertyRequest"]


def test_live_reads_show_values_and_who_holds_each_command() -> None:
    async def scenario() -> None:
        async with Rig(CLUSTER, RigOptions(start=DAY, ticking=False)) as rig:
            controller = rig.building_device(SCHOOL_DEVICE).controller
            controller.hold_at_priority("z2.setpoint", 8, 22.5)
            [school] = await read_live(rig.site_devices(), CLUSTER, buildings=[SCHOOL.id],
                                       timeout_s=ANSWER_TIMEOUT_S)  # fmt: skip
            assert school.error == "" and [z.zone_id for z in school.zones] == ["z1", "z2"]
            z1, z2 = school.zones
            for point in ("room_temp", "setpoint", "heat_output"):
                assert z1.readings[point].value == pytest.approx(
                    controller.present_value(f"z1.{point}"), abs=1e-4
                )
            assert z1.readings["occupancy"].value == 1.0  # 11:00 on a school day
            program = z1.holds["setpoint"]
            assert isinstance(program, PointHold) and program.active_priority == 16
            held = z2.holds["setpoint"]
            assert isinstance(held, PointHold)
            assert held.active_priority == 8 and held.present_value == 22.5
            assert [p for p, _ in held.occupied] == [8, 16]
            power = school.readings["meter_power"].value
            assert power == pytest.approx(controller.present_value("meter_power"), abs=1e-3)

    run(scenario())


def test_a_zone_overridden_at_priority_5_is_reported_never_written_and_not_planned(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with Rig(CLUSTER, RigOptions(start=DAY, ticking=False)) as rig:
            controller = rig.building_device(SCHOOL_DEVICE).controller
            controller.hold_at_priority(SETPOINT, 5, 23.0)  # another party
            before = writes(controller)
            async with changes(rig, log) as person:
                entry = await person.set(POINT, 21.5, "too cold in class 3b")
            assert entry.result == "overridden"
            assert "overridden by priority 5" in entry.reason and "not written" in entry.reason
            assert writes(controller) == before  # nothing was sent
            assert controller.priority_slot(SETPOINT, MANUAL) is None
            assert controller.present_value(SETPOINT) == 23.0
            live = await read_live(rig.site_devices(), CLUSTER, timeout_s=ANSWER_TIMEOUT_S)
            plan = zone_flexibility(CLUSTER, day_steps(DAY.date(), ZONE), own_priority=PRIORITY,
                                    holds=setpoint_holds(live))  # fmt: skip
            [excluded] = plan.excluded
            assert (excluded.building_id, excluded.zone_id) == ("bldg-school", "z1")
            assert excluded.reason.startswith("priority 5 holds the setpoint at 23 °C")
            assert len(plan.zones) == 3

    run(scenario())
    [line] = read_audit_log(log)
    assert (line["user"], line["result"], line["priority"]) == ("anna", "overridden", MANUAL)
    assert line["plan"] == "too cold in class 3b" and line["read_back"] is None


def test_a_change_reads_back_stays_and_its_release_restores_the_relinquish_default(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with Rig(CLUSTER, RigOptions(start=DAY, ticking=False)) as rig:
            controller = rig.building_device(SCHOOL_DEVICE).controller
            # A controller whose time program does not drive this setpoint: only the
            # relinquish default lies beneath klaster's slot.
            controller.release_priority(SETPOINT, 16)
            default = controller.relinquish_default(SETPOINT)
            async with changes(rig, log) as person:
                written = await person.set(POINT, default - 1.5, "night test")
            assert written.result == "applied"
            assert written.read_back == pytest.approx(default - 1.5)
            # Still in force after the command ended: a person's change is not released.
            assert controller.priority_slot(SETPOINT, MANUAL) == pytest.approx(default - 1.5)
            rig.step(900)
            assert rig.plant.zones[("bldg-school", "z1")].setpoint_c == pytest.approx(default - 1.5)
            async with changes(rig, log) as person:
                released = await person.release(POINT, "night test over")
            assert released.result == "applied" and released.new is None
            assert controller.priority_slot(SETPOINT, MANUAL) is None
            assert controller.present_value(SETPOINT) == pytest.approx(default)
            assert released.read_back == pytest.approx(default)
            assert "relinquish-default" in released.reason

    run(scenario())
    lines = read_audit_log(log)
    assert [(x["action"], x["result"], x["user"]) for x in lines] == [
        ("write", "applied", "anna"),
        ("release", "applied", "anna"),
    ]


def test_a_step_beyond_the_allow_list_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Rig(CLUSTER, RigOptions(start=DAY, ticking=False)) as rig:
            controller = rig.building_device(SCHOOL_DEVICE).controller
            before = writes(controller)
            async with changes(rig, tmp_path / "audit.jsonl") as person:
                too_far = await person.set(POINT, 17.0, "x")  # 21 → 17: a step of 4 K
                reserved = await person.release("bldg-school/z1/room_temp", "x")
            assert too_far.result == "refused" and "exceeds max_step 3" in too_far.reason
            assert reserved.result == "refused" and "not a writable point" in reserved.reason
            assert writes(controller) == before

    run(scenario())


# --- fault rules on rig scenarios -------------------------------------------------------------


class FrozenSensor:
    """Holds the room temperature at its first reading, whatever the room does."""

    def __init__(self, point: str = "z1.room_temp") -> None:
        self.point = point
        self.value: float | None = None

    def __call__(self, controller: SimulatedBuildingController) -> None:
        if self.value is None:
            self.value = controller.present_value(self.point)
        controller.set_value(self.point, self.value)


def stuck_valve(controller: SimulatedBuildingController) -> None:
    """The valve stays fully open above the zone controller's output."""
    controller.hold_at_priority("z1.heat_output", 8, 100.0)


def holiday_program(controller: SimulatedBuildingController) -> None:
    """The BMS time program runs a working day: the comfort setpoint on a public holiday."""
    controller.set_value(SETPOINT, 21.0)


def broken_sensor(controller: SimulatedBuildingController) -> None:
    """The sensor reads 85 °C (beyond the point's range of -10-50 °C)."""
    controller.set_value("z1.room_temp", 85.0)


@dataclass(frozen=True)
class Scenario:
    start: datetime
    hours: float
    expected: tuple[str, str]
    at_start: Injection | None = None
    after_step: Callable[[], Injection] | None = None


SCENARIOS = {
    # 12:00-18:00 local: the setpoint drops at 16:00, the frozen reading does not follow.
    "frozen-sensor": Scenario(datetime(2027, 3, 10, 11, tzinfo=UTC), 6.0,
                              ("sensor-frozen", "bldg-school/z1/room_temp"),
                              after_step=FrozenSensor),
    # 15:00-20:00 local: after closing the open valve overheats the room.
    "stuck-valve": Scenario(datetime(2027, 3, 10, 14, tzinfo=UTC), 5.0,
                            ("control-loop", "bldg-school/z1/heat_output"),
                            at_start=stuck_valve),
    # 6 January 2027 (Epiphany), 06:00-10:00 local.
    "holiday-heating": Scenario(datetime(2027, 1, 6, 5, tzinfo=UTC), 4.0,
                                ("heating-on-closed-day", "bldg-school/z1/setpoint"),
                                at_start=holiday_program),
    "sensor-out-of-range": Scenario(DAY, 1.5, ("sensor-out-of-range", "bldg-school/z1/room_temp"),
                                    after_step=lambda: broken_sensor),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_fault_rule_fires_on_its_rig_scenario_and_stays_silent_on_the_clean_run(
    name: str,
) -> None:
    scenario = SCENARIOS[name]

    def findings(injected: bool) -> set[tuple[str, str]]:
        after = scenario.after_step() if injected and scenario.after_step else None
        readings = run(record_scenario(
            scenario.start, scenario.hours,
            at_start=scenario.at_start if injected else None, after_step=after,
        ))  # fmt: skip
        result = check_buildings(readings, [SCHOOL], BmsPolicy(), ZONE)
        assert set(result.frames) == {("bldg-school", "z1"), ("bldg-school", "z2")}
        return {(f.rule, f.point_id) for f in result.findings}

    assert findings(injected=False) == set()
    assert scenario.expected in findings(injected=True)


def test_the_holiday_scenario_is_a_public_holiday_in_the_rig_too() -> None:
    # The rig's own controller program sets the school back on 6 January: the clean
    # run is clean because the calendar is right, not because nothing was checked.
    readings = run(record_scenario(SCENARIOS["holiday-heating"].start, 1.0))
    setpoints = readings[readings["series_id"] == "point/bldg-school/z1/setpoint"]["value"]
    assert (setpoints == 17.0).all()
    assert date(2027, 1, 6).weekday() == 2  # a Wednesday: a school day but for the holiday
