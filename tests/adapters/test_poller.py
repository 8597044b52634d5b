"""The poller against loopback devices: Modbus units, a SunSpec inverter, a BACnet controller."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pytest

from adapters.bacnet.device_sim import SimulatedBuildingController
from adapters.clients import ClientSettings, DeviceClientFactory, klaster_point
from adapters.errors import DeviceMapError
from adapters.modbus import ModbusDeviceClient, RetryPolicy
from adapters.modbus.sunspec import build_sunspec_image
from adapters.poller import Poller, PollerSettings
from adapters.site import DeviceEndpoint, Protocol
from adapters.sqlite_store import SqliteStore
from cluster.config import load_demo_config
from cluster.timeseries import Quality, readings_frame
from tests.adapters.bacnet.support import demo_building, free_udp_port
from tests.adapters.modbus.devices import battery_simdata, free_port, meter_simdata, wte_simdata
from tests.adapters.modbus.sim import SimServer, registers
from tests.timeouts import ANSWER_TIMEOUT_S, SHARED_TIMEOUT_S, wait_until

T = TypeVar("T")

CONFIG = load_demo_config()
#: Clients for devices that answer: one quick retry, budgets for a loaded machine.
FAST = ClientSettings(
    modbus_timeout_s=ANSWER_TIMEOUT_S,
    bacnet_timeout_s=ANSWER_TIMEOUT_S,
    retry=RetryPolicy(attempts=1, backoff_s=0.01),
)
#: Clients of a poller that must see a device go silent and answer again: one budget for both.
RECOVERING = ClientSettings(
    modbus_timeout_s=SHARED_TIMEOUT_S, bacnet_timeout_s=SHARED_TIMEOUT_S, retry=FAST.retry
)
#: 3,000 W × 10^1 = 30 kW, inside pv-library's configured range (0 to 1.1 × 36 kW).
INVERTER_MODELS: dict[int, dict[str, Any]] = {
    1: {"Mn": "KlasterSim", "Md": "PV-40", "SN": "SN0042"},
    103: {"W": 3000, "W_SF": 1, "WH": 52_000, "WH_SF": 0, "St": 4},
}


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, 20))


def modbus(device_id: str, owner: str, port: int, device_map: str, **extra: Any) -> DeviceEndpoint:
    return DeviceEndpoint(
        id=device_id, owner=owner, protocol=Protocol.MODBUS, port=port, map=device_map, **extra
    )


def store_rows(store: SqliteStore) -> int:
    with sqlite3.connect(store.path) as connection:
        return int(connection.execute("SELECT count(*) FROM readings").fetchone()[0])


def stored(store: SqliteStore, series_id: str) -> pd.Series:
    """The latest stored reading of a series: value and quality."""
    frame = store.read_readings(
        [series_id], pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC")
    )
    assert len(frame), f"nothing stored for {series_id}"
    return frame.iloc[-1]


class CountingStore(SqliteStore):
    """The real SQLite store, recording the size of every write_readings call."""

    calls: list[int]

    def write_readings(self, frame: pd.DataFrame) -> int:
        self.calls.append(len(frame))
        return super().write_readings(frame)


def counting_store(folder: Path) -> CountingStore:
    store = CountingStore.open(folder)
    assert isinstance(store, CountingStore)
    store.calls = []
    return store


@dataclass
class Site:
    meter: SimServer
    battery: SimServer
    inverter: SimServer
    building: SimulatedBuildingController
    endpoints: list[DeviceEndpoint]


@asynccontextmanager
async def site(meter_data: list[Any] | None = None) -> AsyncIterator[Site]:
    """Two Modbus units, a SunSpec inverter and a building controller on loopback."""
    async with AsyncExitStack() as stack:
        meter = await stack.enter_async_context(SimServer(meter_data or meter_simdata()))
        battery = await stack.enter_async_context(SimServer(battery_simdata(1500, 0)))
        image = build_sunspec_image(INVERTER_MODELS)
        inverter = await stack.enter_async_context(SimServer([registers(40000, image)]))
        bacnet_port = free_udp_port()
        building = SimulatedBuildingController(
            demo_building("bldg-library"), f"127.0.0.1:{bacnet_port}", 4001
        )
        await stack.enter_async_context(building)
        endpoints = [
            modbus(
                "meter-sp-1",
                "bldg-sp-1",
                meter.port,
                "energy_meter",
                point_aliases={"voltage_l1": "cp-sp-1/voltage_l1"},
            ),
            modbus("battery-1", "battery-kof", battery.port, "battery"),
            DeviceEndpoint(
                id="pv-library", owner="pv-library", protocol=Protocol.SUNSPEC, port=inverter.port
            ),
            DeviceEndpoint(
                id="bms-library",
                owner="bldg-library",
                protocol=Protocol.BACNET,
                port=bacnet_port,
                device_instance=4001,
            ),
        ]
        yield Site(meter, battery, inverter, building, endpoints)


def poller(
    endpoints: list[DeviceEndpoint],
    store: SqliteStore,
    clients: ClientSettings = FAST,
    **settings: Any,
) -> Poller:
    return Poller(
        endpoints, store, DeviceClientFactory(CONFIG, clients), PollerSettings(**settings)
    )


def test_series_ids_split_the_klaster_point_id_at_its_first_slash() -> None:
    device = modbus(
        "cab-1",
        "cabinet-7",
        1502,
        "lighting_cabinet",
        point_aliases={"circuit01.dim_level": "light-07/dim_level", "cabinet_alarms": "alarms"},
    )
    assert klaster_point(device, "circuit02.power") == ("cabinet-7", "circuit02/power")
    assert klaster_point(device, "circuit01.dim_level") == ("light-07", "dim_level")
    assert klaster_point(device, "cabinet_alarms") == ("cabinet-7", "alarms")


def test_one_poll_reads_every_protocol_into_the_store(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with site() as devices:
            devices.building.set_room_temp("z1", 20.5)
            devices.building.set_meter(power_kw=87.5)
            with SqliteStore.open(tmp_path) as store:
                async with poller(devices.endpoints, store) as polling:
                    sweep = await polling.poll_once()
                assert sweep.answered == 4
                assert all(s.ok and s.consecutive_failures == 0 for s in sweep.statuses)
                by_device = {p.device_id: {r.point_id: r for r in p.readings} for p in sweep.polls}
                # Every numeric point of the meter map and all 14 objects of a 3-zone library.
                assert len(by_device["meter-sp-1"]) == 5
                assert len(by_device["bms-library"]) == 3 * 4 + 2
                expected = {
                    "point/cp-sp-1/voltage_l1": 230.5,  # aliased to the connection point
                    "point/bldg-sp-1/meter_power": -1.5,  # -1,500 W served
                    "point/battery-kof/soc": 65.5,  # 655 × 0.1 %
                    "point/pv-library/ac_power": 30.0,  # 3,000 × 10^1 W
                    "point/pv-library/energy_total": 52.0,  # 52,000 Wh
                    "point/bldg-library/z1/room_temp": 20.5,
                    "point/bldg-library/meter_power": 87.5,
                }
                for series_id, value in expected.items():
                    row = stored(store, series_id)
                    assert row["value"] == pytest.approx(value), series_id
                    assert row["quality"] == Quality.GOOD
                readings = sum(len(p.readings) for p in sweep.polls)
                assert store_rows(store) == readings == polling.counts.stored

    run(scenario())


def test_an_offline_device_is_stored_stale_and_backed_off_until_it_answers(
    tmp_path: Path,
) -> None:
    offline_port = free_port()

    async def scenario() -> None:
        async with SimServer(battery_simdata(1500, 0)) as online:
            endpoints = [
                modbus("battery-1", "battery-kof", online.port, "battery"),
                modbus("battery-2", "biogas-wwtp", offline_port, "battery"),
            ]
            with SqliteStore.open(tmp_path) as store:
                # A device that goes away after it had answered is not refused at once but
                # silent until its budget ends (the client reconnects in the background).
                async with poller(endpoints, store, RECOVERING) as polling:
                    delays = []
                    for _ in range(4):
                        sweep = await polling.poll_once()
                        failing = sweep.statuses[1]
                        delays.append(failing.backoff_s)
                        assert failing.next_attempt is not None
                        assert failing.last_attempt is not None
                        waited = failing.next_attempt - failing.last_attempt
                        assert waited.total_seconds() == failing.backoff_s
                        assert sweep.statuses[0].ok and sweep.statuses[0].backoff_s == 0
                        stale = sweep.polls[1].readings
                        assert [r.point_id for r in stale] == [
                            "power", "soc", "status", "power_setpoint"
                        ]  # fmt: skip
                        assert all(r.quality is Quality.STALE and r.value is None for r in stale)
                        for point_id in ("power", "soc", "status", "power_setpoint"):
                            row = stored(store, f"point/biogas-wwtp/{point_id}")
                            assert row["quality"] == Quality.STALE and math.isnan(row["value"])
                        assert stored(store, "point/battery-kof/soc")["quality"] == Quality.GOOD
                    assert delays == [1.0, 2.0, 4.0, 8.0]
                    assert failing.consecutive_failures == 4
                    assert "connection refused" in failing.last_error

                    async with SimServer(battery_simdata(-500, 0), port=offline_port):
                        sweep = await polling.poll_once()
                        back = sweep.statuses[1]
                        assert sweep.polls[1].ok
                        assert (back.consecutive_failures, back.backoff_s, back.last_error) == (
                            0,
                            0.0,
                            "",
                        )
                        power = stored(store, "point/biogas-wwtp/power")
                        assert power["quality"] == Quality.GOOD
                        assert power["value"] == pytest.approx(-0.5)
                    # Gone again after it had answered: the back-off starts over.
                    sweep = await polling.poll_once()
                    assert sweep.statuses[1].backoff_s == 1.0
                    assert stored(store, "point/biogas-wwtp/power")["quality"] == Quality.STALE
                    async with SimServer(battery_simdata(700, 0), port=offline_port):
                        sweep = await polling.poll_once()
                    assert sweep.polls[1].ok
                    assert stored(store, "point/biogas-wwtp/power")["value"] == pytest.approx(0.7)

    run(scenario())


def test_exception_2_on_one_block_makes_only_its_points_missing(tmp_path: Path) -> None:
    # The meter serves 0..1 and 52..53 but nothing at 70..75 (frequency and energies).
    meter_data = meter_simdata()[:2]

    async def scenario() -> None:
        async with site(meter_data) as devices:
            with SqliteStore.open(tmp_path) as store:
                async with poller(devices.endpoints[:1], store) as polling:
                    sweep = await polling.poll_once()
                assert sweep.polls[0].ok and sweep.statuses[0].ok
                quality = {r.point_id: r.quality for r in sweep.polls[0].readings}
                assert quality == {
                    "voltage_l1": Quality.GOOD,
                    "meter_power": Quality.GOOD,
                    "frequency": Quality.MISSING,
                    "meter_energy": Quality.MISSING,
                    "meter_energy_export": Quality.MISSING,
                }
                missing = stored(store, "point/bldg-sp-1/meter_energy")
                assert missing["quality"] == Quality.MISSING and math.isnan(missing["value"])
                assert stored(store, "point/bldg-sp-1/meter_power")["value"] == -1.5

    run(scenario())


def test_readings_are_written_one_transaction_per_batch(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            SimServer(meter_simdata()) as meter,
            SimServer(battery_simdata(1500, 0)) as battery,
            SimServer(wte_simdata()) as wte,
        ):
            endpoints = [
                modbus("meter-sp-1", "bldg-sp-1", meter.port, "energy_meter"),  # 5 points
                modbus("battery-1", "battery-kof", battery.port, "battery"),  # 4 points
                modbus("wte-1", "wte-ztpo", wte.port, "wte_plc"),  # 6 points
            ]
            store = counting_store(tmp_path / "small")
            with store:
                async with poller(endpoints, store, batch_size=4) as polling:
                    sweep = await polling.poll_once()
                assert sum(len(p.readings) for p in sweep.polls) == 15
                assert store.calls == [4, 4, 4, 3]
                assert polling.counts.transactions == 4
                assert store_rows(store) == 15
            store = counting_store(tmp_path / "large")
            with store:
                async with poller(endpoints, store, batch_size=100) as polling:
                    await polling.poll_once()
                assert store.calls == [15]

    run(scenario())


class InFlightServer(SimServer):
    """A simulated meter that holds each request a moment and counts those held at once."""

    in_flight = 0
    peak = 0

    async def _action(self, *args: Any) -> Any:
        InFlightServer.in_flight += 1
        InFlightServer.peak = max(InFlightServer.peak, InFlightServer.in_flight)
        try:
            await asyncio.sleep(0.02)
        finally:
            InFlightServer.in_flight -= 1
        return await super()._action(*args)


def test_a_sweep_polls_at_most_concurrency_devices_at_once_in_endpoint_order(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        InFlightServer.peak = 0
        async with AsyncExitStack() as stack:
            meters = [
                await stack.enter_async_context(InFlightServer(meter_simdata(230.0 + i)))
                for i in range(6)
            ]
            endpoints = [
                modbus(f"meter-{i}", f"bldg-{i}", meter.port, "energy_meter")
                for i, meter in enumerate(meters)
            ]
            with SqliteStore.open(tmp_path) as store:
                async with poller(endpoints, store, concurrency=2) as polling:
                    sweep = await polling.poll_once()
        # Each meter answers three reads in turn; two meters at a time overlap.
        assert InFlightServer.peak == 2
        assert [p.device_id for p in sweep.polls] == [f"meter-{i}" for i in range(6)]
        voltages = [
            next(r.value for r in p.readings if r.point_id == "voltage_l1") for p in sweep.polls
        ]
        assert voltages == [230.0 + i for i in range(6)]
        assert all(len(p.readings) == len(p.columns) == 5 for p in sweep.polls)

    run(scenario())


def test_stop_writes_every_queued_reading_and_closes_the_clients(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with SimServer(meter_simdata()) as meter, SimServer(wte_simdata()) as wte:
            endpoints = [
                modbus("meter-sp-1", "bldg-sp-1", meter.port, "energy_meter", scan_interval_s=0.1),
                modbus("wte-1", "wte-ztpo", wte.port, "wte_plc", scan_interval_s=0.1),
            ]
            store = counting_store(tmp_path)
            with store:
                # Neither the batch size nor the flush interval is reached while running.
                polling = poller(endpoints, store, batch_size=100_000, flush_interval_s=60)
                stop = asyncio.Event()
                running = asyncio.create_task(polling.run(stop))
                await wait_until(
                    lambda: polling.pending >= 2 * 11, "two polls of both devices queued"
                )
                assert store.calls == [] and store_rows(store) == 0
                stop.set()
                await running
                counts = polling.counts
                assert polling.pending == 0 and store.calls == [counts.stored]
                # Polls within one second share a timestamp; the queue keeps the latest.
                assert counts.queued >= counts.stored >= 11
                assert store_rows(store) == counts.stored
                for polled in polling.devices:
                    assert isinstance(polled.client, ModbusDeviceClient)
                    assert not polled.client.link.connected

    run(scenario())


def test_running_keeps_polling_the_others_while_a_failed_device_backs_off(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with SimServer(battery_simdata(1500, 0)) as battery:
            endpoints = [
                modbus("battery-1", "battery-kof", battery.port, "battery", scan_interval_s=0.05),
                modbus("battery-2", "biogas-wwtp", free_port(), "battery", scan_interval_s=0.05),
            ]
            with SqliteStore.open(tmp_path) as store:
                polling = poller(endpoints, store, backoff_initial_s=0.1, backoff_max_s=0.4)
                stop = asyncio.Event()
                running = asyncio.create_task(polling.run(stop))
                await asyncio.sleep(1.0)
                stop.set()
                await running
                healthy, failing = polling.statuses()
        # Attempts at 0, 0.1, 0.3 and 0.7 s, then 1.1 s (just after the stop, on a busy machine
        # just before): back-off 0.1 s doubling up to 0.4 s.
        assert failing.polls == failing.failures
        assert failing.polls in (4, 5)
        assert failing.backoff_s == 0.4
        assert healthy.failures == 0 and healthy.polls >= 12  # every 0.05 s

    run(scenario())


def test_a_silent_bacnet_controller_goes_stale_and_comes_back(tmp_path: Path) -> None:
    # The same poller, with its one BACnet client, sees the silence and the answer again.
    async def scenario() -> None:
        async with site() as devices:
            bms = devices.endpoints[3:]
            with SqliteStore.open(tmp_path) as store:
                async with poller(bms, store, RECOVERING) as polling:
                    assert (await polling.poll_once()).answered == 1
                    devices.building.no_response = True
                    sweep = await polling.poll_once()
                    readings = sweep.polls[0].readings
                    assert not sweep.polls[0].ok and len(readings) == 14
                    assert {r.quality for r in readings} == {Quality.STALE}
                    row = stored(store, "point/bldg-library/z2/setpoint")
                    assert row["quality"] == Quality.STALE and math.isnan(row["value"])
                    devices.building.no_response = False
                    devices.building.set_room_temp("z2", 19.0)
                    sweep = await polling.poll_once()
                    assert sweep.statuses[0].ok
                    assert stored(store, "point/bldg-library/z2/room_temp")["value"] == 19.0

    run(scenario())


def test_devices_that_cannot_be_built_are_all_named_before_polling(tmp_path: Path) -> None:
    endpoints = [
        modbus("meter-x", "bldg-sp-1", 1502, "no_such_map"),
        DeviceEndpoint(
            id="bms-x", owner="pv-farm", protocol=Protocol.BACNET, port=47808, device_instance=7
        ),
        modbus("wte-x", "wte-ztpo", 1503, "energy_meter"),  # a fine device
    ]
    with SqliteStore.open(tmp_path) as store, pytest.raises(DeviceMapError) as raised:
        poller(endpoints, store)
    message = str(raised.value)
    assert "2 device(s) cannot be polled" in message
    assert "meter-x" in message and "no_such_map" in message
    assert "bms-x" in message and "not a building" in message
    assert "wte-x" not in message


def test_a_series_the_store_refuses_costs_only_its_own_readings(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with SimServer(meter_simdata()) as meter:
            endpoints = [modbus("meter-sp-1", "bldg-sp-1", meter.port, "energy_meter")]
            store = counting_store(tmp_path)
            with store:
                # The store already holds the meter's power in W, so it refuses kW readings.
                earlier = pd.Series([1500.0], index=[pd.Timestamp("2026-01-05 12:00", tz="UTC")])
                store.write_readings(readings_frame("point/bldg-sp-1/meter_power", earlier, "W"))
                async with poller(endpoints, store) as polling:
                    await polling.poll_once()
                counts = polling.counts
                assert (counts.queued, counts.stored, counts.dropped) == (5, 4, 1)
                # The whole batch, then one transaction per series of it.
                assert store.calls == [1, 5, 1, 1, 1, 1, 1]
                assert stored(store, "point/bldg-sp-1/meter_power")["value"] == 1500.0
                assert stored(store, "point/bldg-sp-1/voltage_l1")["value"] == 230.5

    run(scenario())
