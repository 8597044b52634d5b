"""ModbusDeviceClient under faults: refused, busy, slow, absent and restarted devices."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.constants import ExcCodes

from adapters.errors import DeviceUnreachable
from adapters.modbus.client import ModbusDeviceClient
from adapters.modbus.connection import ModbusConnection, RetryPolicy
from adapters.modbus.maps import load_builtin_map, load_device_map
from cluster.timeseries import Quality
from tests.adapters.modbus.devices import (
    DT,
    FAST_RETRY,
    by_id,
    free_port,
    make_client,
    meter_simdata,
    run,
)
from tests.adapters.modbus.sim import Fault, SimServer, registers
from tests.timeouts import SHARED_TIMEOUT_S, SILENCE_TIMEOUT_S, wait_until


def test_exception_2_disables_only_that_point(tmp_path: Path) -> None:
    path = tmp_path / "gappy.toml"
    path.write_text(
        '[device]\nname = "gappy"\n'
        "[[points]]\nid = 'good'\naddress = 0\ntype = 'uint16'\nunit = '1'\n"
        "[[points]]\nid = 'absent'\naddress = 500\ntype = 'uint16'\nunit = '1'\n",
        encoding="utf-8",
    )

    async def body() -> None:
        async with SimServer([registers(0, [42])]) as server:
            client = ModbusDeviceClient("gappy", load_device_map(path), server.connection())
            first = by_id(await client.read_points())
            reads_after_first = len(server.reads)
            second = by_id(await client.read_points())
            await client.close()
        assert first["good"].value == 42
        assert first["absent"].quality is Quality.MISSING
        assert "exception 2" in first["absent"].detail
        assert "absent" in client.disabled_points
        assert second["good"].value == 42
        assert second["absent"].quality is Quality.MISSING
        # Asked once (a permanent error is not retried), then never again.
        assert sum(r.address == 500 for r in server.reads[:reads_after_first]) == 1
        assert all(r.address != 500 for r in server.reads[reads_after_first:])

    run(body())


def test_refused_merged_read_falls_back_to_contiguous_reads(tmp_path: Path) -> None:
    path = tmp_path / "merged.toml"
    path.write_text(
        '[device]\nname = "merged"\nmax_gap = 8\n'
        "[[points]]\nid = 'a'\naddress = 0\ntype = 'uint16'\nunit = '1'\n"
        "[[points]]\nid = 'b'\naddress = 5\ntype = 'uint16'\nunit = '1'\n",
        encoding="utf-8",
    )

    async def body() -> None:
        # Registers 1..4 do not exist on the device: the merged read 0..5 is refused.
        async with SimServer([registers(0, [7]), registers(5, [8])]) as server:
            client = ModbusDeviceClient("merged", load_device_map(path), server.connection())
            first = by_id(await client.read_points())
            second = by_id(await client.read_points())
            await client.close()
        assert (first["a"].value, first["b"].value) == (7, 8)
        assert (second["a"].value, second["b"].value) == (7, 8)
        assert not client.disabled_points
        assert [(b.address, b.count) for b in client.blocks] == [(0, 1), (5, 1)]

    run(body())


def test_busy_is_retried_then_missing_and_recovers() -> None:
    async def body() -> None:
        async with SimServer(meter_simdata()) as server:
            client = make_client(server, "energy_meter")
            server.fault = Fault("exception", ExcCodes.DEVICE_BUSY, addresses=range(0, 2), times=1)
            once = by_id(await client.read_points())
            assert once["voltage_l1"].value == 230.5  # the retry succeeded
            server.fault = Fault("exception", ExcCodes.DEVICE_BUSY, addresses=range(0, 2))
            started = len(server.reads)
            busy = by_id(await client.read_points())
            attempts = [r for r in server.reads[started:] if r.address == 0]
            server.fault = None
            recovered = by_id(await client.read_points())
            await client.close()
        assert busy["voltage_l1"].quality is Quality.MISSING
        assert "exception 6" in busy["voltage_l1"].detail
        assert len(attempts) == FAST_RETRY.attempts + 1
        assert busy["meter_power"].quality is Quality.GOOD
        assert recovered["voltage_l1"].value == 230.5

    run(body())


def test_unknown_unit_id_fails_points_cleanly() -> None:
    async def body() -> None:
        async with SimServer(meter_simdata()) as server:
            client = ModbusDeviceClient(
                "dev",
                load_builtin_map("energy_meter"),
                server.connection(unit_id=7),
                retry=RetryPolicy(attempts=1, backoff_s=0.01),
            )
            readings = await client.read_points()
            await client.close()
        assert len(readings) == 5
        assert all(r.quality is Quality.MISSING and r.value is None for r in readings)
        assert all("exception 4" in r.detail for r in readings)

    run(body())


def test_offline_device_is_unreachable_quickly() -> None:
    async def body() -> None:
        connection = ModbusConnection(
            host="127.0.0.1", port=free_port(), timeout_s=SILENCE_TIMEOUT_S
        )
        client = ModbusDeviceClient("dev", load_builtin_map("energy_meter"), connection)
        started = time.monotonic()
        with pytest.raises(DeviceUnreachable):
            await client.read_points()
        with pytest.raises(DeviceUnreachable):
            await client.connect()
        assert time.monotonic() - started < 1.0
        await client.close()
        await client.close()

    run(body())


def test_timeout_mid_session_then_next_poll_works() -> None:
    # One client times out and then answers again: its one budget serves both, and the
    # slow answer is held back until the client has given up, then sent late.
    async def body() -> None:
        async with SimServer(meter_simdata()) as server:
            client = make_client(server, "energy_meter", timeout_s=SHARED_TIMEOUT_S)
            assert by_id(await client.read_points())["voltage_l1"].value == 230.5
            late = asyncio.Event()
            server.fault = Fault("slow", held=late, times=1)
            started = time.monotonic()
            with pytest.raises(DeviceUnreachable, match="no answer"):
                await client.read_points()
            assert time.monotonic() - started < 2 * SHARED_TIMEOUT_S  # one budget, no retry
            server.poke(0, ModbusClientMixin.convert_to_registers(231.0, DT.FLOAT32))
            answers = server.answers_sent
            late.set()  # the late answer arrives and must be discarded
            await wait_until(lambda: server.answers_sent > answers, "the late answer")
            after = by_id(await client.read_points())
            await client.close()
        assert after["voltage_l1"].value == 231.0
        assert after["meter_power"].value == pytest.approx(-1.5)

    run(body())


def test_server_restart_reconnects() -> None:
    # The read while the server is down is not refused at once but silent until the
    # budget ends (pymodbus reconnects in the background); the same client then answers.
    async def body() -> None:
        server = await SimServer(meter_simdata()).start()
        client = make_client(server, "energy_meter", timeout_s=SHARED_TIMEOUT_S)
        assert by_id(await client.read_points())["voltage_l1"].value == 230.5
        port = server.port
        await server.stop()
        with pytest.raises(DeviceUnreachable):
            await client.read_points()
        restarted = await SimServer(meter_simdata(voltage=229.0), port=port).start()
        try:
            readings = by_id(await client.read_points())
        finally:
            await client.close()
            await restarted.stop()
        assert readings["voltage_l1"].value == 229.0

    run(body())


def test_truncated_reply_is_missing_with_a_detail() -> None:
    async def body() -> None:
        async with SimServer(meter_simdata()) as server:
            client = make_client(server, "energy_meter")
            server.fault = Fault("truncate", addresses=range(70, 76), times=1)
            short = by_id(await client.read_points())
            again = by_id(await client.read_points())
            await client.close()
        assert short["frequency"].quality is Quality.MISSING
        assert "expected 6 registers" in short["frequency"].detail
        assert short["voltage_l1"].quality is Quality.GOOD
        assert again["frequency"].quality is Quality.GOOD

    run(body())
