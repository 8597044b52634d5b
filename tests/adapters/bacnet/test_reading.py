"""Discovery and polling over real BACnet/IP on 127.0.0.1 against the simulated controller."""

from __future__ import annotations

import socket
import time

import pytest

from adapters.bacnet.client import BacnetClient
from adapters.bacnet.connection import BacnetConnection
from adapters.bacnet.device_sim import SimulatedBuildingController
from adapters.bacnet.maps import BacnetDevice, building_object_map
from adapters.device import DeviceClient, PointReading
from adapters.errors import AdapterError, DeviceUnreachable
from cluster.timeseries import Quality
from tests.adapters.bacnet.support import (
    controller_and_client,
    demo_building,
    free_udp_port,
    loopback_address,
    run,
)
from tests.timeouts import ANSWER_TIMEOUT_S, SILENCE_TIMEOUT_S

LIBRARY = demo_building("bldg-library")  # 3 zones


def _set_library_plant(controller: SimulatedBuildingController) -> None:
    controller.set_room_temp("z1", 20.5)
    controller.set_room_temp("z2", 19.25)
    controller.set_room_temp("z3", 23.0)
    controller.set_occupancy("z2", True)
    controller.set_heat_output("z3", 42.0)
    controller.set_meter(power_kw=87.5, energy_kwh=15_230.0)


LIBRARY_EXPECTED = {
    "z1.room_temp": 20.5,
    "z2.room_temp": 19.25,
    "z3.room_temp": 23.0,
    "z1.occupancy": 0.0,
    "z2.occupancy": 1.0,
    "z3.occupancy": 0.0,
    "z1.heat_output": 0.0,
    "z2.heat_output": 0.0,
    "z3.heat_output": 42.0,
    "meter_power": 87.5,
    "meter_energy": 15_230.0,
}


def _by_id(readings: list[PointReading]) -> dict[str, PointReading]:
    return {r.point_id: r for r in readings}


def test_directed_who_is_finds_the_controller() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            found = await client.discover(controller.device)
            assert found.device_instance == controller.device_instance
            assert found.address == controller.address
            # A directed Who-Is for another instance gets no answer: a client that waits
            # only as long as silence needs.
            async with BacnetClient(
                loopback_address(), device_instance=4003, timeout_s=SILENCE_TIMEOUT_S
            ) as asking:
                assert await asking.who_is(77, 77, controller.address) == []

    run(scenario())


def test_broadcast_who_is_needs_a_local_subnet() -> None:
    async def scenario() -> None:
        async with BacnetClient(loopback_address(), timeout_s=ANSWER_TIMEOUT_S) as client:
            with pytest.raises(AdapterError, match="cannot be broadcast"):
                await client.who_is()

    run(scenario())


def test_read_points_of_a_three_zone_building_gives_the_simulated_values() -> None:
    async def scenario() -> list[PointReading]:
        async with controller_and_client(LIBRARY) as (controller, client):
            _set_library_plant(controller)
            return await client.read_points(controller.device)

    readings = _by_id(run(scenario()))
    assert set(readings) == {b.point_id for b in building_object_map(LIBRARY)}
    assert all(r.quality is Quality.GOOD for r in readings.values())
    for point_id, value in LIBRARY_EXPECTED.items():
        assert readings[point_id].value == pytest.approx(value)
    # Setpoints start at the middle of the occupied comfort band.
    comfort = LIBRARY.zones[0].comfort
    middle = (comfort.occupied_min_c + comfort.occupied_max_c) / 2
    assert readings["z1.setpoint"].value == pytest.approx(middle)
    assert readings["z1.room_temp"].unit == "degC"


def test_controller_without_read_property_multiple_is_read_point_by_point() -> None:
    # The simulator rejects ReadPropertyMultiple with 'unrecognized-service', as older
    # controllers do; the client must notice once and read single properties from then on.
    async def scenario() -> None:
        async with controller_and_client(LIBRARY, read_property_multiple=False) as (
            controller,
            client,
        ):
            _set_library_plant(controller)
            first = _by_id(await client.read_points(controller.device))
            second = _by_id(await client.read_points(controller.device))
            counts = controller.requests_received
        for readings in (first, second):
            assert all(r.quality is Quality.GOOD for r in readings.values())
            for point_id, value in LIBRARY_EXPECTED.items():
                assert readings[point_id].value == pytest.approx(value)
        assert counts["ReadPropertyMultipleRequest"] == 1
        # present-value and status-flags of 14 points, twice.
        assert counts["ReadPropertyRequest"] == 2 * 2 * 14

    run(scenario())


def test_unknown_object_fails_that_point_only() -> None:
    async def scenario() -> list[PointReading]:
        async with controller_and_client(LIBRARY) as (controller, client):
            _set_library_plant(controller)
            controller.remove_object("z2.room_temp")
            return await client.read_points(controller.device)

    readings = _by_id(run(scenario()))
    missing = readings.pop("z2.room_temp")
    assert missing.quality is Quality.MISSING and missing.value is None
    assert "analog-input,2" in missing.detail and "unknown-object" in missing.detail
    assert all(r.quality is Quality.GOOD for r in readings.values())
    assert readings["z1.room_temp"].value == pytest.approx(20.5)


def test_request_of_only_unknown_objects_falls_back_to_single_reads() -> None:
    # With chunks of 4, zone 1's four objects form the first request; when all are gone
    # the controller fails the whole ReadPropertyMultiple, and single reads sort it out.
    async def scenario() -> None:
        async with controller_and_client(LIBRARY, rpm_chunk_size=4) as (controller, client):
            _set_library_plant(controller)
            for point in ("room_temp", "setpoint", "occupancy", "heat_output"):
                controller.remove_object(f"z1.{point}")
            readings = _by_id(await client.read_points(controller.device))
            again = _by_id(await client.read_points(controller.device))
            counts = controller.requests_received
        for poll in (readings, again):
            gone = [r for r in poll.values() if r.point_id.startswith("z1.")]
            assert all(r.quality is Quality.MISSING and "unknown-object" in r.detail for r in gone)
            others = [r for r in poll.values() if not r.point_id.startswith("z1.")]
            assert all(r.quality is Quality.GOOD for r in others)
        # 14 points in chunks of 4 = 4 requests per poll; only the first is retried singly,
        # and the device is not marked as lacking the service.
        assert counts["ReadPropertyMultipleRequest"] == 2 * 4
        assert counts["ReadPropertyRequest"] == 2 * 4

    run(scenario())


def test_fault_out_of_service_and_implausible_values_are_flagged() -> None:
    async def scenario() -> list[PointReading]:
        async with controller_and_client(LIBRARY) as (controller, client):
            _set_library_plant(controller)
            controller.set_fault("z1.room_temp")
            controller.set_out_of_service("z2.room_temp")
            controller.set_room_temp("z3", 80.0)  # the point's range ends at 50 °C
            return await client.read_points(controller.device)

    readings = _by_id(run(scenario()))
    expected = {
        "z1.room_temp": (Quality.MISSING, "fault"),
        "z2.room_temp": (Quality.STALE, "out of service"),
        "z3.room_temp": (Quality.OUT_OF_RANGE, "80.0"),
    }
    for point_id, (quality, words) in expected.items():
        reading = readings[point_id]
        assert (reading.quality, reading.value) == (quality, None)
        assert words in reading.detail
    assert readings["meter_power"].value == pytest.approx(87.5)


def test_dead_peer_is_unreachable_within_the_budget() -> None:
    # Nothing listens on the device port; the stack alone would wait 12 s.
    device = BacnetDevice(
        "bldg-library", loopback_address(), 4001, tuple(building_object_map(LIBRARY))
    )

    async def scenario() -> None:
        async with BacnetClient(loopback_address(), timeout_s=SILENCE_TIMEOUT_S) as client:
            started = time.monotonic()
            with pytest.raises(DeviceUnreachable, match=device.address):
                await client.read_points(device)
            assert time.monotonic() - started < SILENCE_TIMEOUT_S + 1.0
            started = time.monotonic()
            with pytest.raises(DeviceUnreachable, match=device.address):
                await client.discover(device)
            assert time.monotonic() - started < SILENCE_TIMEOUT_S + 1.0

    run(scenario())


def test_silent_controller_is_unreachable_and_answers_again_when_it_recovers() -> None:
    # The client that finds the silence waits only as long as silence needs; the one that
    # expects the recovered controller's answer waits as long as a loaded machine needs.
    # One client answering again after its own timeout is the poller's test of a silent
    # controller (tests/adapters/test_poller.py).
    async def scenario() -> None:
        async with (
            controller_and_client(LIBRARY, timeout_s=SILENCE_TIMEOUT_S) as (controller, client),
            BacnetClient(
                loopback_address(), device_instance=4003, timeout_s=ANSWER_TIMEOUT_S
            ) as answered,
        ):
            _set_library_plant(controller)
            controller.no_response = True
            started = time.monotonic()
            with pytest.raises(DeviceUnreachable):
                await client.read_points(controller.device)
            assert time.monotonic() - started < SILENCE_TIMEOUT_S + 1.0
            controller.no_response = False
            readings = _by_id(await answered.read_points(controller.device))
            assert readings["meter_power"].value == pytest.approx(87.5)

    run(scenario())


def test_stopped_controller_frees_its_port() -> None:
    async def scenario() -> int:
        port = free_udp_port()
        controller = SimulatedBuildingController(LIBRARY, f"127.0.0.1:{port}", 4001)
        await controller.start()
        await controller.stop()
        await controller.stop()  # twice is harmless
        return port

    port = run(scenario())
    # A plain socket (without SO_REUSEPORT) can bind only a port nobody holds.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", port))


def test_taken_port_is_reported_not_retried_forever() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{holder.getsockname()[1]}"

        async def scenario() -> None:
            with pytest.raises(AdapterError, match="cannot bind UDP"):
                await BacnetClient(address, timeout_s=SILENCE_TIMEOUT_S).start()

        run(scenario())


def test_connection_is_the_pollers_device_client() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            _set_library_plant(controller)
            connection: DeviceClient = BacnetConnection(client, controller.device)
            assert connection.device_id == "bldg-library"
            await connection.connect()
            readings = _by_id(await connection.read_points())
            assert readings["meter_energy"].value == pytest.approx(15_230.0)
            await client.write_setpoint(controller.device, "z3.setpoint", 20.0, 8)
            await connection.close()
            await connection.close()
            assert controller.priority_slot("z3.setpoint", 8) is None

    run(scenario())
