"""Dispatch against real loopback devices: dry run, apply, refusals, faults, release, audit."""

from __future__ import annotations

import asyncio
import json
import math
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.audit import read_audit_log
from adapters.dispatch import Dispatcher
from adapters.dispatch_links import device_point_id, resolve_target
from adapters.site import DeviceEndpoint, Protocol, SiteDevices
from bms.safety import AllowedWrite, WritePolicy
from cluster.commands import PlannedCommand, dispatch_steps, plan_commands
from tests.adapters.bacnet.support import run
from tests.adapters.dispatch_support import (
    AT,
    DISPATCHED,
    PRIORITY,
    PV_LIMIT_PCT,
    Site,
    battery_registers,
    make_schedule,
    policy,
    running_site,
    small_config,
)
from tests.adapters.modbus.sim import Fault, SimServer, registers
from tests.timeouts import ANSWER_TIMEOUT_S

CONFIG = small_config()
SETPOINT = "z1.setpoint"
#: Every field of an audit line.
AUDIT_FIELDS = {
    "time", "user", "point", "device", "action", "old", "new", "unit", "priority",
    "dry_run", "result", "reason", "read_back", "step_start", "plan",
}  # fmt: skip


def dispatcher(
    site: Site, log: Path, *, apply: bool, write_policy: WritePolicy | None = None, **kwargs: Any
) -> Dispatcher:
    return Dispatcher(
        site.devices, CONFIG, write_policy or policy(), log, "operator-anna",
        apply=apply, timeout_s=ANSWER_TIMEOUT_S, **kwargs,
    )  # fmt: skip


def commands(values: dict[tuple[str, str], float]) -> list[PlannedCommand]:
    return plan_commands(make_schedule(values), CONFIG, AT)


def by_point(lines: list[dict[str, Any]], action: str = "write") -> dict[str, dict[str, Any]]:
    return {line["point"]: line for line in lines if line["action"] == action}


def test_dry_run_reads_and_checks_but_sends_nothing_and_audits_every_command(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            async with dispatcher(site, log, apply=False) as d:
                entries = await d.dispatch(commands(DISPATCHED))
            assert [e.result for e in entries] == ["dry-run"] * 3
            assert site.battery.writes == [] and site.inverter.writes == []
            assert site.bacnet_writes == 0
            assert site.battery.reads and site.inverter.reads  # current values were read
            assert d.releases == []

    run(scenario())
    lines = by_point(read_audit_log(log))
    # Current values: limit not enabled (100 %), setpoint register 0, the simulated
    # controller starts a zone setpoint mid comfort band (20-24 °C).
    assert {p: (e["old"], e["new"]) for p, e in lines.items()} == {
        "pv-school/power_limit": (100.0, PV_LIMIT_PCT),
        "battery/power_setpoint": (0.0, 150.0),
        "bldg-school/z1/setpoint": (22.0, 21.0),
    }
    assert all(e["dry_run"] is True and e["read_back"] is None for e in lines.values())
    assert lines["bldg-school/z1/setpoint"]["priority"] == PRIORITY
    assert lines["battery/power_setpoint"]["priority"] is None


def test_apply_writes_reads_back_audits_and_releases_on_exit(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            async with dispatcher(site, log, apply=True) as d:
                entries = await d.dispatch(commands(DISPATCHED))
                assert [e.result for e in entries] == ["applied"] * 3
                assert await site.battery_setpoint_kw() == pytest.approx(150.0)
                assert await site.inverter_limit_pct() == pytest.approx(PV_LIMIT_PCT)
                assert site.controller.priority_slot(SETPOINT, PRIORITY) == pytest.approx(21.0)
                assert site.controller.present_value(SETPOINT) == pytest.approx(21.0)
                assert d.holding
            # Released: Modbus setpoints back at release_value, our BACnet slot empty.
            assert await site.battery_setpoint_kw() == 0.0
            assert await site.inverter_limit_pct() == 100.0
            assert site.controller.priority_slot(SETPOINT, PRIORITY) is None
            # 150 kW at 0.01 kW per count (scale factor 1, 0.001 kW/W), then 0.
            assert [(w.address, w.values) for w in site.battery.writes] == [
                (10, (15000,)),
                (10, (0,)),
            ]

    run(scenario())
    raw_lines = log.read_text(encoding="utf-8").splitlines()
    lines = [json.loads(line) for line in raw_lines]
    assert len(lines) == 6
    assert all(set(line) == AUDIT_FIELDS for line in lines)
    for line in lines:
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
        assert line["user"] == "operator-anna" and line["dry_run"] is False
        assert line["result"] == "applied"
    writes, releases = by_point(lines), by_point(lines, "release")
    for point, expected in [("pv-school/power_limit", PV_LIMIT_PCT),
                            ("battery/power_setpoint", 150.0),
                            ("bldg-school/z1/setpoint", 21.0)]:  # fmt: skip
        assert writes[point]["new"] == writes[point]["read_back"] == pytest.approx(expected)
        assert writes[point]["step_start"] == "2027-01-13T09:00:00+00:00"
    assert writes["bldg-school/z1/setpoint"]["unit"] == "degC"
    assert (
        releases["battery/power_setpoint"]["new"],
        releases["battery/power_setpoint"]["old"],
    ) == (
        0.0,
        150.0,
    )
    assert releases["pv-school/power_limit"]["read_back"] == 100.0
    bacnet_release = releases["bldg-school/z1/setpoint"]
    assert bacnet_release["new"] is None and bacnet_release["priority"] == PRIORITY
    assert bacnet_release["read_back"] == 22.0  # back to the relinquish default


def test_a_point_not_on_the_allow_list_is_refused_and_never_sent(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    without_battery = WritePolicy(
        bacnet_priority=PRIORITY,
        points=[e for e in policy().points if not e.point.startswith("battery/")],
    )

    async def scenario() -> None:
        async with running_site() as site:
            async with dispatcher(site, log, apply=True, write_policy=without_battery) as d:
                entries = await d.dispatch(commands(DISPATCHED))
            verdicts = {e.point: e.result for e in entries}
            assert verdicts["battery/power_setpoint"] == "refused"
            assert verdicts["pv-school/power_limit"] == "applied"
            assert site.battery.requests == []  # not written, not even read

    run(scenario())
    battery = by_point(read_audit_log(log))["battery/power_setpoint"]
    assert battery["result"] == "refused" and "not on the allow-list" in battery["reason"]
    assert "battery/power_setpoint" not in by_point(read_audit_log(log), "release")


@pytest.mark.parametrize("priority", [1, 5, 7])
def test_a_reserved_bacnet_priority_is_refused_and_never_sent(
    tmp_path: Path, priority: int
) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            async with dispatcher(site, log, apply=True, priority=priority) as d:
                entries = await d.dispatch(commands({("bldg-school/z1", "setpoint_c"): 21.0}))
            assert [e.result for e in entries] == ["refused"]
            assert site.bacnet_writes == 0
            assert site.controller.priority_slot(SETPOINT, priority) is None

    run(scenario())
    [line] = read_audit_log(log)
    assert line["priority"] == priority and f"priority {priority} is reserved" in line["reason"]


@pytest.mark.parametrize(
    ("discharge_kw", "reason"),
    [
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (280.0, "outside the allow-list bounds [-250, 250]"),  # the point allows ±300
        (-400.0, "outside the allow-list bounds"),
        (220.0, "step +220 kW from 0 exceeds max_step 200"),
    ],
)
def test_unsafe_values_are_refused_never_clamped_and_audited(
    tmp_path: Path, discharge_kw: float, reason: str
) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            async with dispatcher(site, log, apply=True) as d:
                entries = await d.dispatch(commands({("battery", "discharge_kw"): discharge_kw}))
            assert [e.result for e in entries] == ["refused"]
            assert site.battery.writes == []
            assert await site.battery_setpoint_kw() == 0.0

    run(scenario())
    [line] = read_audit_log(log)
    assert reason in line["reason"]
    # The audit records the value asked for, not a clamped one.
    if math.isnan(discharge_kw):
        assert math.isnan(line["new"]) and '"new": "NaN"' in log.read_text()
    else:
        assert line["new"] == discharge_kw


def test_an_operator_hold_at_priority_6_is_reported_and_never_escalated(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            controller = site.controller
            controller.hold_at_priority(SETPOINT, 6, 18.0)
            async with dispatcher(site, log, apply=True) as d:
                [entry] = await d.dispatch(commands({("bldg-school/z1", "setpoint_c"): 21.0}))
                assert entry.result == "overridden"
                assert "overridden by priority 6" in entry.reason
                assert entry.old == 18.0 and entry.read_back == 18.0
                assert site.bacnet_writes == 1  # ours, at 12; nothing above it
                occupied = [p for p in range(1, 17) if controller.priority_slot(SETPOINT, p)]
                assert occupied == [6, PRIORITY]
                assert controller.priority_slot(SETPOINT, 6) == 18.0
            assert controller.priority_slot(SETPOINT, PRIORITY) is None
            assert controller.priority_slot(SETPOINT, 6) == 18.0  # the operator's, untouched
            assert controller.present_value(SETPOINT) == 18.0

    run(scenario())
    results = [(line["action"], line["result"]) for line in read_audit_log(log)]
    assert results == [("write", "overridden"), ("release", "applied")]


def test_a_bacnet_read_back_mismatch_fails_after_exactly_one_write(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            site.controller.ignore_writes(SETPOINT)
            async with dispatcher(site, log, apply=True) as d:
                [entry] = await d.dispatch(commands({("bldg-school/z1", "setpoint_c"): 21.0}))
                assert entry.result == "failed" and "read-back mismatch" in entry.reason
                assert site.bacnet_writes == 1

    run(scenario())
    assert read_audit_log(log)[0]["result"] == "failed"


def test_a_modbus_read_back_mismatch_fails_after_exactly_one_write(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            # A faulty controller stores 50 kW whatever it is told.
            site.battery.fault = Fault("rewrite", addresses=range(10, 11), value=5000)
            async with dispatcher(site, log, apply=True) as d:
                [entry] = await d.dispatch(commands({("battery", "discharge_kw"): 150.0}))
                assert entry.result == "failed" and entry.read_back == pytest.approx(50.0)
                assert [w.values for w in site.battery.writes] == [(15000,)]
            # The release is tried once too, and its failure is reported, not retried.
            assert [w.values for w in site.battery.writes] == [(15000,), (0,)]

    run(scenario())
    [write, release] = read_audit_log(log)
    assert (write["result"], release["result"]) == ("failed", "failed")
    assert release["read_back"] == pytest.approx(50.0)
    assert "not returned to release_value 0" in release["reason"]


def test_a_restarted_device_is_read_again_before_the_next_write(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site, dispatcher(site, log, apply=True) as d:
            [first] = await d.dispatch(commands({("battery", "discharge_kw"): 150.0}))
            assert first.result == "applied"
            # The controller restarts on the same port and comes back at -100 kW.
            port = site.battery.port
            await site.battery.stop()
            restarted = SimServer(battery_registers(setpoint_raw=-10000), port=port)
            async with restarted:
                # 120 kW is 30 kW from what was written, but 220 kW from what is there.
                [second] = await d.dispatch(commands({("battery", "discharge_kw"): 120.0}))
                assert second.result == "refused" and second.old == -100.0
                assert "exceeds max_step" in second.reason
                assert restarted.writes == [] and restarted.reads
                [third] = await d.dispatch(commands({("battery", "discharge_kw"): 50.0}))
                assert third.result == "applied" and third.old == -100.0
                assert restarted.requests[0].function_code == 3  # a read came first
                await d.close()  # release while the restarted device is up
                assert restarted.writes[-1].values == (0,)

    run(scenario())


def test_cancel_while_holding_releases_everything_and_audits_it(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    schedule = make_schedule(DISPATCHED)
    steps = dispatch_steps(schedule, AT, 1)

    async def scenario() -> None:
        async with running_site() as site:
            holding = asyncio.Event()

            async def dispatching() -> None:
                async with dispatcher(site, log, apply=True) as d:
                    await d.run(schedule, steps, hold_s=60, on_hold=lambda _s: holding.set())

            task = asyncio.create_task(dispatching())
            await asyncio.wait_for(holding.wait(), 5)
            assert site.controller.priority_slot(SETPOINT, PRIORITY) == pytest.approx(21.0)
            assert await site.battery_setpoint_kw() == pytest.approx(150.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert site.controller.priority_slot(SETPOINT, PRIORITY) is None
            assert await site.battery_setpoint_kw() == 0.0
            assert await site.inverter_limit_pct() == 100.0

    run(scenario())
    releases = by_point(read_audit_log(log), "release")
    assert set(releases) == {
        "battery/power_setpoint", "pv-school/power_limit", "bldg-school/z1/setpoint",
    }  # fmt: skip
    assert all(line["result"] == "applied" for line in releases.values())


def test_each_later_step_is_applied_when_the_clock_reaches_its_start(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    schedule = make_schedule({("battery", "discharge_kw"): 100.0})
    steps = dispatch_steps(schedule, AT, 2)
    frame = schedule.assets
    frame.loc[frame["ts"] >= steps[1], "value"] = 150.0  # the second step discharges more
    # A clock that reads lead_s before the second step starts when dispatch begins: long
    # enough for the first step's read, write and read-back on a loaded machine.
    lead_s = 1.0
    began = [time.monotonic()]  # set again when dispatch begins

    def clock() -> datetime:
        elapsed = timedelta(seconds=time.monotonic() - began[0])
        return (steps[1] - timedelta(seconds=lead_s) + elapsed).to_pydatetime()

    applied_at: list[tuple[float, float | None]] = []

    def on_step(_start: Any, entries: list[Any]) -> None:
        applied_at.append((time.monotonic() - began[0], entries[0].read_back))

    async def scenario() -> None:
        async with running_site() as site:
            async with dispatcher(site, log, apply=True, clock=clock) as d:
                began[0] = time.monotonic()
                await d.run(schedule, steps, hold_s=0, on_step=on_step)
            assert [w.values for w in site.battery.writes] == [(10000,), (15000,), (0,)]

    run(scenario())
    (first_s, first_kw), (second_s, second_kw) = applied_at
    assert (first_kw, second_kw) == (100.0, 150.0)
    # The first at once, the second on time.
    assert first_s < lead_s - 0.01 <= second_s < lead_s + 2.5


def test_an_unreachable_device_is_refused_without_sending(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"

    async def scenario() -> None:
        async with running_site() as site:
            await site.battery.stop()  # the port is closed: connect is refused
            async with dispatcher(site, log, apply=True) as d:
                [entry] = await d.dispatch(commands({("battery", "discharge_kw"): 100.0}))
            assert entry.result == "refused" and entry.old is None
            assert "could not be read" in entry.reason and "unreachable" in entry.reason
            assert d.releases == []

    run(scenario())


def test_lighting_commands_reach_a_cabinet_through_its_aliases(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lighting_policy = WritePolicy(
        points=[
            AllowedWrite(point="light-1/on_off", min_value=0, max_value=1, max_step=1),
            AllowedWrite(point="light-1/dim_level", min_value=30, max_value=100, max_step=100,
                         release_value=100),
        ]
    )  # fmt: skip

    async def scenario() -> None:
        # Cabinet registers 0..17, circuit n at 1000 + 8 (n - 1): on_off, dim_level, ...
        cabinet = SimServer([registers(0, [0] * 18), registers(1000, [0] * 96)])
        async with cabinet:
            aliases = {
                "circuit02.on_off": "light-1/on_off",
                "circuit02.dim_level": "light-1/dim_level",
            }
            devices = SiteDevices(devices=[DeviceEndpoint(
                id="cabinet-7", owner="cp-a", protocol=Protocol.MODBUS, port=cabinet.port,
                map="lighting_cabinet", point_aliases=aliases)])  # fmt: skip
            values = {("light-1", "on"): 1.0, ("light-1", "dim_pct"): 70.0}
            dispatching = Dispatcher(
                devices, CONFIG, lighting_policy, log, "op", apply=True, timeout_s=ANSWER_TIMEOUT_S
            )
            async with dispatching as d:
                entries = await d.dispatch(commands(values))
                assert [(e.point, e.result) for e in entries] == [
                    ("light-1/on_off", "applied"),
                    ("light-1/dim_level", "applied"),
                ]
            assert [(w.address, w.values) for w in cabinet.writes] == [
                (1008, (1,)),  # circuit 2 on
                (1009, (70,)),  # dimmed to 70 %
                (1009, (100,)),  # released to full output
            ]

    run(scenario())


def test_device_point_ids_are_translated_in_one_place() -> None:
    bms = DeviceEndpoint(id="bms", owner="bldg-school", protocol=Protocol.BACNET, port=47808,
                         device_instance=7)  # fmt: skip
    battery = DeviceEndpoint(id="bat", owner="battery", protocol=Protocol.MODBUS, port=502,
                             map="battery", point_aliases={"soc": "battery/state"})  # fmt: skip
    assert device_point_id(bms, "bldg-school/z2/setpoint") == "z2.setpoint"
    assert device_point_id(bms, "bldg-school/meter_power") == "meter_power"
    assert device_point_id(bms, "bldg-other/z2/setpoint") is None
    assert device_point_id(battery, "battery/power_setpoint") == "power_setpoint"
    assert device_point_id(battery, "battery/state") == "soc"  # alias
    meter = DeviceEndpoint(id="meter", owner="battery", protocol=Protocol.MODBUS, port=503,
                           map="energy_meter")  # fmt: skip
    # Two devices of one owner: the one whose map holds the point serves it.
    target = resolve_target(SiteDevices(devices=[meter, battery]), "battery/power_setpoint")
    assert target is not None and target.endpoint.id == "bat"
    assert resolve_target(SiteDevices(devices=[meter]), "wte/output_setpoint") is None
