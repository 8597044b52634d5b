"""The hardware-in-the-loop loop end to end, through the CLI as a test engineer runs it.

A rig serves a small cluster over Modbus/TCP and BACnet/IP on 127.0.0.1 (see
``conftest.py``). Against it: ``klaster poll``, ``klaster dispatch`` of the
schedule ``klaster schedule`` wrote (dry run, ``--apply``, Ctrl-C while
holding) and ``klaster rig fault``; between them the test steps the plant and
reads the rig's registers, priority arrays and plant state.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from adapters.audit import read_audit_log
from adapters.clients import ClientSettings, DeviceClientFactory
from adapters.rig.control import devices_file
from adapters.rig.rig import Rig
from adapters.site import Protocol, load_site_devices
from adapters.sqlite_store import DATABASE_FILE_NAME
from cluster.config import load_config
from cluster.schedule import Schedule
from cluster.timeseries import Quality
from tests.hil.conftest import (
    BATTERY,
    BUILDING,
    DAY,
    ENV,
    PV,
    ZONE,
    ZONE_SETPOINT_C,
    Plan,
    RigService,
    cli,
    rig_service,
)
from tests.timeouts import ANSWER_TIMEOUT_S

KLASTER = Path(sys.executable).with_name("klaster")
BATTERY_DEVICE, PV_DEVICE, BACNET_DEVICE = (
    "bat-battery-school",
    "inv-pv-school",
    "bacnet-bldg-school",
)
BATTERY_POINT, PV_POINT = f"{BATTERY}/power_setpoint", f"{PV}/power_limit"
ZONE_POINT = f"{BUILDING}/{ZONE}/setpoint"
#: Every command the plan gives for the dispatched step: battery, PV limit, both
#: zones' setpoints and both lighting circuits' switch and dim level.
ALL_POINTS = {
    BATTERY_POINT, PV_POINT, ZONE_POINT, f"{BUILDING}/z2/setpoint",
    *(f"light-{c}/{p}" for c in "ab" for p in ("on_off", "dim_level")),
}  # fmt: skip
#: The allow-list's BACnet priority.
PRIORITY = 12
#: One quarter-hour of simulated time, s.
STEP_S = 900.0
#: What releasing returns the Modbus setpoints to (the allow-list's release values).
RELEASED = {BATTERY_POINT: 0.0, PV_POINT: 100.0}


# --- looking at the rig and the store -----------------------------------------------------


def command_state(rig: Rig) -> dict[str, Any]:
    """Every register of every Modbus device, BACnet writes received, and the plant's commands."""
    state: dict[str, Any] = {"plant": plant_commands(rig)}
    for endpoint in rig.site_devices().devices:
        if endpoint.protocol is Protocol.BACNET:
            controller = rig.building_device(endpoint.id).controller
            state[endpoint.id] = controller.requests_received["WritePropertyRequest"]
        else:
            image = rig.modbus_server(endpoint.id).image
            state[endpoint.id] = [image.read(a, 1)[0] for a in image.addresses]
    return state


def plant_commands(rig: Rig) -> dict[str, float]:
    """The commands the plant follows now."""
    plant = rig.plant
    return {
        BATTERY: plant.batteries[BATTERY].setpoint_kw,
        PV: plant.pv[PV].limit_pct,
        ZONE: plant.zones[(BUILDING, ZONE)].setpoint_c,
    }


def zone_slot(rig: Rig) -> float | None:
    """What klaster's priority holds in the zone's setpoint (None: relinquished)."""
    return rig.building_device(BACNET_DEVICE).controller.priority_slot(f"{ZONE}.setpoint", PRIORITY)


def read_setpoints(plan: Plan, data_dir: Path) -> dict[str, float | None]:
    """The battery setpoint and the PV limit as klaster's own clients read them from the rig."""
    site = load_site_devices(devices_file(data_dir))
    settings = ClientSettings(modbus_timeout_s=ANSWER_TIMEOUT_S, bacnet_timeout_s=ANSWER_TIMEOUT_S)
    factory = DeviceClientFactory(load_config(plan.config_file), settings)

    async def read(device_id: str, point_id: str) -> float | None:
        client = factory.build(site.device(device_id)).client
        try:
            readings = await client.read_points()
        finally:
            await client.close()
        return next(r.value for r in readings if r.point_id == point_id)

    return {
        BATTERY_POINT: asyncio.run(read(BATTERY_DEVICE, "power_setpoint")),
        PV_POINT: asyncio.run(read(PV_DEVICE, "power_limit")),
    }


def latest_readings(data_dir: Path) -> dict[str, tuple[float | None, Quality]]:
    """The latest polled value and quality of every point series in the store."""
    with sqlite3.connect(data_dir / DATABASE_FILE_NAME) as connection:
        rows = connection.execute(
            "SELECT s.name, r.value, r.quality FROM readings r JOIN series s ON s.id = r.series"
            " WHERE s.name LIKE 'point/%' ORDER BY r.ts"
        ).fetchall()
    return {name: (value, Quality(quality)) for name, value, quality in rows}


# --- running the CLI ------------------------------------------------------------------------


def poll_once(plan: Plan, data_dir: Path) -> Result:
    return cli("poll", "--once", "--config", plan.config_file,
               "--devices", devices_file(data_dir), "--data-dir", data_dir)  # fmt: skip


def dispatch_args(plan: Plan, data_dir: Path, audit_log: Path, *extra: str) -> list[str]:
    return ["dispatch", "--config", str(plan.config_file), "--schedule", str(plan.schedule_dir),
            "--devices", str(devices_file(data_dir)), "--at", plan.at,
            "--allow-list", str(plan.allow_list), "--audit-log", str(audit_log),
            "--data-dir", str(data_dir), *extra]  # fmt: skip


def wait_for_lines(
    path: Path, count: int, process: subprocess.Popen[str], timeout_s: float
) -> None:
    """Wait until ``path`` has ``count`` whole lines (a line being appended is not one yet)."""
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_bytes().count(b"\n") >= count):
        assert process.poll() is None, f"dispatch exited early ({process.returncode})"
        assert time.monotonic() < deadline, f"{path} has no {count} lines after {timeout_s} s"
        time.sleep(0.05)


def hold_until_ctrl_c(
    plan: Plan, service: RigService, audit_log: Path, lines_before: int
) -> tuple[dict[str, Any], str, int]:
    """``dispatch --apply`` holding its commands; once they are written, step the plant a
    quarter-hour and press Ctrl-C. What had landed and what the plant followed, the output,
    and the exit code."""
    args = dispatch_args(plan, service.data_dir, audit_log, "--apply", "--hold", "60")
    process = subprocess.Popen(
        [str(KLASTER), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **ENV, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        wait_for_lines(audit_log, lines_before + len(ALL_POINTS), process, timeout_s=30)
        seen: dict[str, Any] = dict(read_setpoints(plan, service.data_dir))
        seen[ZONE_POINT] = service.on_loop(zone_slot)
        service.step(STEP_S)
        seen["plant"] = service.on_loop(plant_commands)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()
        process.wait(10)
    return seen, output, process.returncode


def check_pv_limit(plan: Plan, limit_pct: float | None) -> None:
    """The PV limit lets through the planned output and at most 0.1 % more."""
    share_pct = plan.pv_output_kw / plan.pv_rating_kw * 100.0
    assert limit_pct is not None
    assert share_pct - 1e-6 <= limit_pct <= share_pct + 0.1 + 1e-6, (limit_pct, share_pct)


# --- the tests ----------------------------------------------------------------------------


def test_poll_schedule_dispatch_and_the_plant_follows(plan: Plan, tmp_path: Path) -> None:
    data_dir, audit_log = plan.data_dir, tmp_path / "audit.jsonl"
    battery_kw = round(plan.battery_kw, 3)
    with rig_service(plan, data_dir) as service:
        device_ids = [d.id for d in load_site_devices(devices_file(data_dir)).devices]
        assert len(device_ids) == 6  # inverter, 2 meters, battery, cabinet, building controller

        # Every device answers; every reading lands in the store GOOD.
        result = poll_once(plan, data_dir)
        assert result.exit_code == 0, result.output
        assert f"{len(device_ids)}/{len(device_ids)} devices answered" in result.output
        for device_id in device_ids:
            assert f"ok      {device_id}:" in result.output, device_id
        first = latest_readings(data_dir)
        owners = {name.split("/")[1] for name in first}
        assert {BATTERY, PV, BUILDING, "cp-school", "cp-light", "light-a", "light-b"} <= owners
        assert {quality for _, quality in first.values()} == {Quality.GOOD}
        soc_before = first[f"point/{BATTERY}/soc"][0]
        assert soc_before == pytest.approx(50.0, abs=0.1)  # soc_initial_pct

        # A dry run reads and checks, writes nothing, and audits each command.
        before = service.on_loop(command_state)
        result = cli(*dispatch_args(plan, data_dir, audit_log))
        assert result.exit_code == 0, result.output
        assert "nothing was sent" in result.output
        assert service.on_loop(command_state) == before
        dry = read_audit_log(audit_log)
        assert {line["point"] for line in dry} == ALL_POINTS
        assert all(line["result"] == "dry-run" and line["dry_run"] for line in dry)

        # --apply for one step without holding: written, read back, then released.
        result = cli(*dispatch_args(plan, data_dir, audit_log, "--apply", "--steps", "1",
                                    "--hold", "0"))  # fmt: skip
        assert result.exit_code == 0, result.output
        assert (
            f"{len(ALL_POINTS)} of {len(ALL_POINTS)} command(s) applied and released"
            in result.output
        )
        applied = read_audit_log(audit_log)[len(dry) :]
        writes = {line["point"]: line for line in applied if line["action"] == "write"}
        releases = {line["point"]: line for line in applied if line["action"] == "release"}
        assert len(applied) == 2 * len(ALL_POINTS)
        assert writes.keys() == releases.keys() == ALL_POINTS
        assert writes[BATTERY_POINT]["new"] == pytest.approx(battery_kw)
        check_pv_limit(plan, writes[PV_POINT]["new"])
        assert writes[ZONE_POINT]["new"] == ZONE_SETPOINT_C
        assert writes[ZONE_POINT]["priority"] == PRIORITY
        for line in writes.values():
            assert line["result"] == "applied" and not line["dry_run"], line
            assert line["read_back"] == pytest.approx(line["new"], abs=0.01), line
        assert all(line["result"] == "applied" for line in releases.values()), releases
        assert releases[ZONE_POINT]["new"] is None  # relinquished, not overwritten
        assert read_setpoints(plan, data_dir) == RELEASED
        assert service.on_loop(zone_slot) is None

        # --apply holding the step until Ctrl-C; meanwhile the plant runs under the commands.
        lines_before = len(read_audit_log(audit_log))
        seen, output, exit_code = hold_until_ctrl_c(plan, service, audit_log, lines_before)
        assert exit_code == 130, output
        assert f"interrupted: {len(ALL_POINTS)} command(s) released" in output
        assert seen[BATTERY_POINT] == pytest.approx(battery_kw)
        check_pv_limit(plan, seen[PV_POINT])
        assert seen[ZONE_POINT] == pytest.approx(ZONE_SETPOINT_C)
        followed = {BATTERY: seen[BATTERY_POINT], PV: seen[PV_POINT], ZONE: ZONE_SETPOINT_C}
        assert seen["plant"] == pytest.approx(followed)
        held = read_audit_log(audit_log)[lines_before:]
        assert [(line["action"], line["result"]) for line in held] == (
            [("write", "applied")] * len(ALL_POINTS) + [("release", "applied")] * len(ALL_POINTS)
        )
        assert read_setpoints(plan, data_dir) == RELEASED
        assert service.on_loop(zone_slot) is None

        # The quarter-hour under the held setpoint moved the state of charge its way.
        result = poll_once(plan, data_dir)
        assert result.exit_code == 0, result.output
        after = latest_readings(data_dir)
    soc_after, battery_measured_kw = (
        after[f"point/{BATTERY}/soc"][0],
        after[f"point/{BATTERY}/power"][0],
    )
    pv_kw = after[f"point/{PV}/ac_power"][0]
    assert soc_before is not None and soc_after is not None and pv_kw is not None
    # Through one-way efficiency sqrt(0.9) either way, into 100 kWh: 1 kWh is 1 %.
    one_way = math.sqrt(0.9)
    energy_kwh = -battery_kw * STEP_S / 3600.0
    stored_kwh = energy_kwh * one_way if energy_kwh > 0 else energy_kwh / one_way
    assert soc_after - soc_before == pytest.approx(stored_kwh, abs=0.15)
    assert battery_measured_kw == pytest.approx(battery_kw, abs=0.05)
    assert pv_kw <= seen[PV_POINT] / 100.0 * plan.pv_rating_kw + 0.01


def test_an_offline_battery_fails_alone_and_polls_stale(plan: Plan, tmp_path: Path) -> None:
    data_dir, audit_log = tmp_path / "data", tmp_path / "audit.jsonl"
    with rig_service(plan, data_dir) as service:
        result = cli("rig", "fault", BATTERY_DEVICE, "offline", "--data-dir", data_dir)
        assert result.exit_code == 0, result.output

        result = poll_once(plan, data_dir)
        assert result.exit_code == 0, result.output  # the other devices answered
        assert f"FAILED  {BATTERY_DEVICE}" in result.output
        assert "5/6 devices answered" in result.output
        readings = latest_readings(data_dir)
        battery = {n: q for n, (_, q) in readings.items() if n.startswith(f"point/{BATTERY}/")}
        assert battery and set(battery.values()) == {Quality.STALE}, battery
        others = {q for n, (_, q) in readings.items() if n not in battery}
        assert others == {Quality.GOOD}

        began = time.monotonic()
        result = cli(*dispatch_args(plan, data_dir, audit_log, "--apply", "--steps", "1",
                                    "--hold", "0"))  # fmt: skip
        elapsed_s = time.monotonic() - began
        assert result.exit_code == 1, result.output
        assert "1 command(s) were not applied" in result.output
        assert elapsed_s < 15  # one attempt within the request budget, no retry loop
        lines = read_audit_log(audit_log)
        [battery_line] = [
            line for line in lines if line["point"] == BATTERY_POINT
        ]  # never released
        assert battery_line["action"] == "write" and battery_line["device"] == BATTERY_DEVICE
        assert battery_line["result"] in ("refused", "failed"), battery_line
        assert "unreachable" in battery_line["reason"] and battery_line["read_back"] is None
        rest = sorted((line["point"], line["action"], line["result"])
                      for line in lines if line is not battery_line)  # fmt: skip
        assert rest == sorted((point, action, "applied") for point in ALL_POINTS - {BATTERY_POINT}
                              for action in ("write", "release"))  # fmt: skip

        # Back online, the battery has seen no command and polls GOOD again.
        result = cli("rig", "fault", BATTERY_DEVICE, "clear", "--data-dir", data_dir)
        assert result.exit_code == 0, result.output
        assert read_setpoints(plan, data_dir)[BATTERY_POINT] == 0.0
        assert service.on_loop(plant_commands)[BATTERY] == 0.0
        result = poll_once(plan, data_dir)
        assert result.exit_code == 0, result.output
        assert f"ok      {BATTERY_DEVICE}:" in result.output


def test_a_zone_held_by_an_operator_is_left_out_of_the_plan(plan: Plan, tmp_path: Path) -> None:
    data_dir, out = tmp_path / "data", tmp_path / "plan"
    with rig_service(plan, data_dir):
        result = cli("rig", "fault", BACNET_DEVICE, "hold-priority", "--point", "z2.setpoint",
                     "--value", "25", "--data-dir", data_dir)  # fmt: skip
        assert result.exit_code == 0, result.output
        result = cli("schedule", "--config", plan.config_file, "--synthetic-history",
                     "--history-days", "30", "--day", DAY.isoformat(), "--data-dir", data_dir,
                     "--out", out, "--devices", devices_file(data_dir),
                     "--allow-list", plan.allow_list)  # fmt: skip
        assert result.exit_code == 0, result.output
    assert f"zone {BUILDING}/z2 left out of the flexibility" in result.output
    planned = Schedule.read(out)
    zones = set(planned.assets.loc[planned.assets["quantity"] == "setpoint_c", "asset"])
    assert zones == {f"{BUILDING}/{ZONE}"}  # z1 still planned, z2 not
    assert f"{BUILDING}/z2" in planned.meta["zones_left_out"]
