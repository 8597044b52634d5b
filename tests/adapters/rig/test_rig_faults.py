"""Faults injected into the rig's devices, as klaster's clients see them, and their clearing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from adapters.errors import DeviceUnreachable
from adapters.rig.errors import RigError
from adapters.rig.rig import Rig
from cluster.timeseries import Quality
from tests.adapters.rig.support import (
    FAST_RETRY,
    bacnet_client,
    bacnet_device,
    by_id,
    inverter_client,
    modbus_client,
    run,
    small_rig,
    tcp_port_free,
)
from tests.timeouts import ANSWER_TIMEOUT_S, SILENCE_TIMEOUT_S

METER = "meter-cp-school"
METER_POINTS = {"voltage_l1", "meter_power", "frequency", "meter_energy", "meter_energy_export"}


async def read_meter(rig: Rig, timeout_s: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
    client = modbus_client(rig, METER, timeout_s)
    try:
        return by_id(await client.read_points())
    finally:
        await client.close()


async def recovers(rig: Rig, within_s: float = 2 * ANSWER_TIMEOUT_S) -> dict[str, Any]:
    """Meter readings once the device answers again (a fresh client, as after a restart)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            readings = await read_meter(rig)
        except DeviceUnreachable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        assert all(r.quality is Quality.GOOD for r in readings.values())
        return readings


def test_offline_device_is_unreachable_until_cleared_on_the_same_port() -> None:
    async def body() -> None:
        async with small_rig() as rig:
            port = rig.site_devices().device(METER).port
            await rig.inject_fault(METER, "offline")
            assert tcp_port_free(port)
            with pytest.raises(DeviceUnreachable):
                await read_meter(rig, timeout_s=SILENCE_TIMEOUT_S)
            await rig.clear_fault(METER)
            assert rig.site_devices().device(METER).port == port
            await recovers(rig)

    run(body())


def test_slow_device_times_a_short_client_out_until_cleared() -> None:
    async def body() -> None:
        async with small_rig() as rig:
            await rig.inject_fault(METER, "slow")
            began = time.monotonic()
            with pytest.raises(DeviceUnreachable):
                await read_meter(rig, timeout_s=SILENCE_TIMEOUT_S)
            assert time.monotonic() - began < 1.5  # the client's budget, not the 2 s delay
            await rig.clear_fault(METER)
            await recovers(rig)

    run(body())


def test_exception_2_disables_the_points_until_a_fresh_client_after_clearing() -> None:
    async def body() -> None:
        async with small_rig() as rig:
            await rig.inject_fault(METER, "exception-2")
            client = modbus_client(rig, METER)
            readings = by_id(await client.read_points())
            disabled = set(client.disabled_points)
            await client.close()
            assert set(readings) == METER_POINTS
            assert all(r.quality is Quality.MISSING for r in readings.values())
            assert all("exception 2" in r.detail for r in readings.values())
            assert disabled == METER_POINTS
            await rig.clear_fault(METER)
            await recovers(rig)

    run(body())


@pytest.mark.parametrize(("kind", "name"), [("exception-4", "device failure"),
                                            ("exception-6", "device busy")])  # fmt: skip
def test_transient_exceptions_give_missing_after_retries(kind: str, name: str) -> None:
    async def body() -> None:
        async with small_rig() as rig:
            server = rig.modbus_server(METER)
            await rig.inject_fault(METER, kind)
            client = modbus_client(rig, METER)
            served = server.requests_served
            readings = by_id(await client.read_points())
            blocks = len(client.blocks)
            await client.close()
            assert all(r.quality is Quality.MISSING for r in readings.values())
            assert all(name in r.detail for r in readings.values())
            # Every block was asked once and retried, never disabled.
            assert server.requests_served - served == blocks * (FAST_RETRY.attempts + 1)
            assert client.disabled_points == {}
            await rig.clear_fault(METER)
            await recovers(rig)

    run(body())


def test_sentinel_values_read_not_implemented() -> None:
    async def body() -> None:
        async with small_rig() as rig:
            await rig.inject_fault(METER, "sentinel")
            await rig.inject_fault("inv-pv-school", "sentinel")
            meter = await read_meter(rig)
            inverter = inverter_client(rig, "inv-pv-school")
            pv = by_id(await inverter.read_points())
            await inverter.close()
            assert {r.quality for r in meter.values()} == {Quality.NOT_IMPLEMENTED}
            for point in ("ac_power", "energy_total", "status"):
                assert pv[point].quality is Quality.NOT_IMPLEMENTED, point
                assert pv[point].value is None
            await rig.clear_fault(METER)
            await recovers(rig)

    run(body())


def test_garbage_reads_out_of_range_for_some_points() -> None:
    async def body() -> None:
        async with small_rig() as rig:
            await rig.inject_fault(METER, "garbage")
            meter = await read_meter(rig)
            assert any(r.quality is Quality.OUT_OF_RANGE for r in meter.values())
            assert all(r.value is None for r in meter.values() if r.quality is not Quality.GOOD)
            await rig.clear_fault(METER)
            await recovers(rig)

    run(body())


def test_bacnet_no_response_is_unreachable_until_cleared() -> None:
    async def body() -> None:
        async with (
            small_rig() as rig,
            bacnet_client(timeout_s=SILENCE_TIMEOUT_S) as silent,
            bacnet_client() as client,
        ):
            device = bacnet_device(rig, "bacnet-bldg-hall")
            await rig.inject_fault("bacnet-bldg-hall", "no-response")
            with pytest.raises(DeviceUnreachable):
                await silent.read_points(device)
            await rig.clear_fault("bacnet-bldg-hall")
            readings = await client.read_points(device)
            assert all(r.quality is Quality.GOOD for r in readings)

    run(body())


def test_bacnet_offline_controller_serves_again_after_clearing() -> None:
    async def body() -> None:
        async with (
            small_rig() as rig,
            bacnet_client(timeout_s=SILENCE_TIMEOUT_S) as silent,
            bacnet_client() as client,
        ):
            device = bacnet_device(rig, "bacnet-bldg-school")
            await rig.inject_fault("bacnet-bldg-school", "offline")
            with pytest.raises(DeviceUnreachable):
                await silent.read_points(device)
            await rig.clear_fault("bacnet-bldg-school")
            readings = by_id(await client.read_points(device))
            assert readings["z1.room_temp"].value == pytest.approx(21.0, abs=0.05)

    run(body())


def test_operator_hold_at_priority_6_overrides_a_write_at_12() -> None:
    async def body() -> None:
        async with small_rig() as rig, bacnet_client() as client:
            device = bacnet_device(rig, "bacnet-bldg-hall")
            fault = await rig.inject_fault(
                "bacnet-bldg-hall", "hold-priority", point="z2.setpoint", value=23.5
            )
            assert fault.describe() == "hold-priority (z2.setpoint = 23.5 @ 6)"
            held = await client.write_setpoint(device, "z2.setpoint", 22.0, priority=12)
            rig.step(900.0)
            assert rig.plant.zones[("bldg-hall", "z2")].setpoint_c == pytest.approx(23.5)
            await rig.clear_fault("bacnet-bldg-hall")
            released = await client.write_setpoint(device, "z2.setpoint", 22.0, priority=12)
            await client.relinquish_all()
        assert not held.ok
        assert "overridden by priority 6" in held.detail
        assert held.read_back == pytest.approx(23.5)
        assert released.ok, released.detail

    run(body())


def test_unknown_fault_or_device_names_the_valid_ones() -> None:
    async def body() -> None:
        async with small_rig() as rig:
            with pytest.raises(RigError) as bad_kind:
                await rig.inject_fault(METER, "melted")
            with pytest.raises(RigError) as wrong_protocol:
                await rig.inject_fault("bacnet-bldg-hall", "exception-2")
            with pytest.raises(RigError) as bad_device:
                await rig.inject_fault("meter-nowhere", "offline")
            assert rig.faults() == {}
        assert "offline, slow, exception-2, exception-4, exception-6, garbage, sentinel" in str(
            bad_kind.value
        )
        assert "offline, slow, no-response, hold-priority" in str(wrong_protocol.value)
        assert "meter-cp-school" in str(bad_device.value)

    run(body())
