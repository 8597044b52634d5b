"""The rig over real sockets: klaster's own clients (and mbpoll) read and command its devices."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import socket
from datetime import datetime, timedelta

import pandas as pd
import pytest

from adapters.demo_history import generate_wide
from adapters.rig.errors import RigError
from adapters.rig.rig import Rig
from cluster.config import ClusterConfig
from cluster.timeseries import Quality, SeriesId
from tests.adapters.rig.support import (
    DAY,
    NIGHT,
    bacnet_client,
    bacnet_device,
    by_id,
    free_port_run,
    inverter_client,
    modbus_client,
    run,
    small_rig,
    tcp_port_free,
)

# SunSpec W with scale factor 0 (the 45 kW inverter) reads in 1 W steps; 720 kW in 10 W steps.
W_STEP_KW = 0.001
FARM_W_STEP_KW = 0.01


def history_at(config: ClusterConfig, instant: datetime, series_id: str) -> float:
    """A series of the demo history at a quarter-hour, generated independently of the rig."""
    start = pd.Timestamp(instant)
    frame = generate_wide(config, start, start + pd.Timedelta(minutes=15))
    return float(frame[series_id].iloc[0])


def test_inverter_is_discovered_and_reads_the_available_pv_power() -> None:
    async def body() -> None:
        async with small_rig(DAY) as rig:
            client = inverter_client(rig, "inv-pv-school")
            await client.connect()
            readings = by_id(await client.read_points())
            await client.close()
            layout = client.layout
            available = history_at(rig.config, DAY, SeriesId.pv("pv-school"))
        assert layout is not None
        assert layout.model_ids == (1, 103, 120, 123, 160)
        assert client.rated_power_kw == pytest.approx(45.0)
        assert all(r.quality is Quality.GOOD for r in readings.values())
        power, energy = readings["ac_power"].value, readings["energy_total"].value
        assert power is not None and energy is not None
        assert power == pytest.approx(min(available, 45.0), abs=W_STEP_KW)
        assert power > 5.0  # a sunny March noon
        assert readings["power_limit"].value == pytest.approx(100.0)
        assert energy > 0

    run(body())


def test_inverter_reads_zero_at_night() -> None:
    async def body() -> None:
        async with small_rig(NIGHT) as rig:
            client = inverter_client(rig, "inv-pv-farm")
            readings = by_id(await client.read_points())
            await client.close()
        assert readings["ac_power"].value == 0.0
        assert readings["status"].detail == "SLEEPING"

    run(body())


def test_power_limit_of_30_pct_caps_the_output_from_the_next_step() -> None:
    async def body() -> None:
        async with small_rig(DAY) as rig:
            client = inverter_client(rig, "inv-pv-farm")
            before = by_id(await client.read_points())["ac_power"].value
            written = await client.set_power_limit_pct(30.0)
            rig.step(60.0)
            after = by_id(await client.read_points())
            await client.close()
        assert before is not None
        assert before > 0.3 * 720.0, "the test needs more sun than the limit lets through"
        assert written.ok, written.detail
        assert after["power_limit"].value == pytest.approx(30.0)
        assert after["ac_power"].value is not None
        assert after["ac_power"].value <= 0.3 * 720.0 + FARM_W_STEP_KW
        assert after["ac_power"].value == pytest.approx(216.0, abs=FARM_W_STEP_KW)
        assert after["status"].detail == "THROTTLED"

    run(body())


def test_battery_setpoint_moves_the_state_of_charge_the_right_way() -> None:
    # 100 kW for a quarter-hour moves 25 kWh through one-way efficiency sqrt(0.9),
    # on 400 kWh: 25 × 0.9487 / 400 = 5.93 % charging, 25 / 0.9487 / 400 = 6.59 % discharging.
    one_way = 0.9**0.5

    async def body() -> list[dict[str, float | None]]:
        states = []
        async with small_rig(DAY) as rig:
            client = modbus_client(rig, "bat-battery-farm")
            for setpoint in (-100.0, 100.0):
                result = await client.write_point("power_setpoint", setpoint)
                assert result.ok, result.detail
                rig.step(900.0)
                states.append({r.point_id: r.value for r in await client.read_points()})
            await client.close()
        return states

    charged, discharged = run(body())
    assert charged["power"] == pytest.approx(-100.0, abs=0.1)
    assert charged["soc"] == pytest.approx(50.0 + 25 * one_way / 400 * 100, abs=0.1)
    assert discharged["power"] == pytest.approx(100.0, abs=0.1)
    assert discharged["soc"] == pytest.approx(
        50.0 + 25 * one_way / 400 * 100 - 25 / one_way / 400 * 100, abs=0.1
    )


def test_wte_output_ramps_to_its_setpoint_no_faster_than_its_ramp_rate() -> None:
    async def body() -> list[float]:
        async with small_rig(DAY) as rig:
            client = modbus_client(rig, "plc-wte-1")
            start = by_id(await client.read_points())["electric_power"].value
            assert start is not None
            target = 3000.0 if start < 2250 else 1500.0
            result = await client.write_point("output_setpoint", target)
            assert result.ok, result.detail
            outputs = [start]
            for _ in range(8):
                rig.step(600.0)  # 10 min: at most 1200 kW/h / 6 = 200 kW
                value = by_id(await client.read_points())["electric_power"].value
                assert value is not None
                outputs.append(value)
            await client.close()
        return [*outputs, target]

    *outputs, target = run(body())
    steps = [b - a for a, b in itertools.pairwise(outputs)]
    assert all(abs(step) <= 200.0 + 0.1 for step in steps), steps
    assert abs(steps[0]) == pytest.approx(200.0, abs=0.1)  # far from target: full ramp
    assert outputs[-1] == pytest.approx(target, abs=0.1)  # |3000 - 1500| / 200 < 8 steps


def test_dimming_a_circuit_scales_its_power_and_the_meter_adds_the_circuits() -> None:
    async def body() -> tuple[dict[str, float | None], dict[str, float | None], float]:
        async with small_rig(NIGHT) as rig:
            cabinet = modbus_client(rig, "cab-cp-light")
            meter = modbus_client(rig, "meter-cp-light")
            full = {r.point_id: r.value for r in await cabinet.read_points()}
            for point, value in (("circuit01.dim_level", 50.0), ("circuit02.on_off", 0.0)):
                result = await cabinet.write_point(point, value)
                assert result.ok, result.detail
            rig.step(60.0)
            dimmed = {r.point_id: r.value for r in await cabinet.read_points()}
            meter_power = by_id(await meter.read_points())["meter_power"].value
            for client in (cabinet, meter):
                await client.close()
        assert meter_power is not None
        return full, dimmed, meter_power

    full, dimmed, meter_kw = run(body())
    # light-a: 120 luminaires of 100 W, 2 % (2) failed.
    full_kw = full["circuit01.power"]
    assert full_kw is not None
    assert full_kw == pytest.approx(118 * 0.1, abs=0.001)
    assert dimmed["circuit01.power"] == pytest.approx(full_kw / 2, abs=0.001)
    assert dimmed["circuit02.power"] == 0.0
    assert dimmed["circuit03.power"] == pytest.approx(full["circuit03.power"], abs=0.001)
    parts = sum(dimmed[f"circuit0{i}.power"] or 0.0 for i in (1, 2, 3))
    assert meter_kw > 0  # consumption is import: positive
    assert meter_kw == pytest.approx(parts, abs=0.003)


def test_meter_reads_load_less_pv_less_battery_import_positive() -> None:
    async def body() -> tuple[float, float, float, float, datetime, Rig]:
        async with small_rig(DAY) as rig:
            battery = modbus_client(rig, "bat-battery-farm")
            inverter = inverter_client(rig, "inv-pv-farm")
            meter = modbus_client(rig, "meter-cp-farm")
            assert (await battery.write_point("power_setpoint", -150.0)).ok
            rig.step(900.0)  # onto the next quarter-hour of the history
            pv = by_id(await inverter.read_points())["ac_power"].value
            stored = by_id(await battery.read_points())["power"].value
            metered = by_id(await meter.read_points())
            for client in (battery, inverter, meter):
                await client.close()
        assert pv is not None and stored is not None
        power, energy = metered["meter_power"].value, metered["meter_energy_export"].value
        assert power is not None and energy is not None
        return pv, stored, power, energy, rig.sim_time, rig

    pv, battery_kw, meter_kw, exported_kwh, when, rig = run(body())
    load = history_at(rig.config, when, SeriesId.load("cp-farm"))
    assert battery_kw == pytest.approx(-150.0, abs=0.1)
    assert meter_kw == pytest.approx(load - pv - battery_kw, abs=0.05)
    assert meter_kw < 0  # a sunny noon: the PV farm exports despite the charging battery
    assert exported_kwh > 0


def test_building_controller_reads_over_bacnet_and_agrees_with_the_meter() -> None:
    async def body() -> tuple[dict[str, float | None], float | None]:
        async with small_rig(DAY) as rig, bacnet_client() as client:
            device = bacnet_device(rig, "bacnet-bldg-school")
            readings = {r.point_id: r.value for r in await client.read_points(device)}
            meter = modbus_client(rig, "meter-cp-school")
            metered = by_id(await meter.read_points())["meter_power"].value
            await meter.close()
        return readings, metered

    readings, metered = run(body())
    # Occupied on a Wednesday at 11:00: the schedule's setpoint is 20 + 1 °C.
    assert readings["z1.occupancy"] == 1.0
    assert readings["z1.setpoint"] == pytest.approx(21.0)
    assert readings["z1.room_temp"] == pytest.approx(21.0, abs=0.05)
    assert readings["meter_power"] == pytest.approx(metered, rel=1e-5)


def test_zone_warms_after_a_higher_setpoint() -> None:
    async def body() -> tuple[dict[str, float | None], dict[str, float | None]]:
        async with small_rig(DAY) as rig, bacnet_client() as client:
            device = bacnet_device(rig, "bacnet-bldg-school")
            before = {r.point_id: r.value for r in await client.read_points(device)}
            result = await client.write_setpoint(device, "z1.setpoint", 24.0, priority=12)
            assert result.ok, result.detail
            for _ in range(8):
                rig.step(900.0)  # two simulated hours
            after = {r.point_id: r.value for r in await client.read_points(device)}
        return before, after

    before, after = run(body())
    assert before["z1.room_temp"] is not None and after["z1.room_temp"] is not None
    # Flat out (54 kW against ~28 kW of losses into 81 kWh/K): about +0.3 K per hour.
    assert after["z1.heat_output"] == pytest.approx(100.0)
    assert after["z1.room_temp"] > before["z1.room_temp"] + 0.4
    assert after["z1.room_temp"] < 24.0
    # The zone left on its schedule stays at it.
    assert after["z2.room_temp"] == pytest.approx(21.0, abs=0.05)


def test_mbpoll_reads_the_meter() -> None:
    mbpoll = shutil.which("mbpoll")
    if mbpoll is None:
        pytest.fail(
            "mbpoll is not installed: install it with apt-get install mbpoll (.ci/run does)"
        )

    async def poll(port: int, address: int, count: int) -> list[float]:
        process = await asyncio.create_subprocess_exec(
            mbpoll, "-m", "tcp", "-p", str(port), "-a", "1", "-t", "3:float", "-B", "-0",
            "-r", str(address), "-c", str(count), "-1", "127.0.0.1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 10)
        assert process.returncode == 0, (out + err).decode()
        return [float(v) for v in re.findall(r"^\[\d+\]:\s+(\S+)", out.decode(), re.M)]

    async def body() -> tuple[list[float], list[float], dict[str, float | None]]:
        async with small_rig(NIGHT) as rig:
            port = rig.site_devices().device("meter-cp-light").port
            power = await poll(port, 52, 1)
            frequency_and_energy = await poll(port, 70, 3)
            client = modbus_client(rig, "meter-cp-light")
            readings = {r.point_id: r.value for r in await client.read_points()}
            await client.close()
        return power, frequency_and_energy, readings

    power, frequency_and_energy, readings = run(body())
    assert readings["meter_power"] is not None and readings["meter_power"] > 0
    assert power == [pytest.approx(readings["meter_power"] * 1000.0, rel=1e-6)]  # W
    assert frequency_and_energy == [
        pytest.approx(50.0),
        pytest.approx(readings["meter_energy"], rel=1e-6),
        pytest.approx(readings["meter_energy_export"], abs=1e-6),
    ]


def test_fixed_base_port_gives_consecutive_ports() -> None:
    async def ports(base: int) -> list[int]:
        async with small_rig(DAY, base_port=base) as rig:
            return [d.port for d in rig.site_devices().devices]

    base = free_port_run(12)
    assert run(ports(base)) == list(range(base, base + 12))
    with pytest.raises(RigError, match="base-port"):
        run(ports(65530))
    # A port in use: the rig says which device could not bind, and frees what it bound.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 3))
        squatter.listen()
        with pytest.raises(RigError, match="meter-cp-hall: cannot listen") as caught:
            run(ports(base))
    assert "--base-port" in str(caught.value)
    assert tcp_port_free(base) and tcp_port_free(base + 9)


def test_ticking_rig_moves_on_by_itself() -> None:
    async def body() -> tuple[datetime, datetime]:
        async with small_rig(DAY, ticking=True, speed=3600.0, tick_s=0.05) as rig:
            first = rig.sim_time
            await rig.wait_ticks(3, timeout_s=5.0)
            return first, rig.sim_time

    first, later = run(body())
    assert later - first >= timedelta(minutes=3 * 0.05 * 60 * 0.9)
