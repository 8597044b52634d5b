"""Commanding setpoints through the priority array, and the safety rules around it."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace

import pytest
from bacpypes3.apdu import AbortPDU, ErrorRejectAbortNack

from adapters.bacnet.client import BacnetClient
from adapters.bacnet.device_sim import SimulatedBuildingController
from adapters.bacnet.maps import BacnetObjectType
from adapters.device import PointReading
from adapters.errors import AdapterError, PointWriteRejected
from cluster.timeseries import Quality
from tests.adapters.bacnet.support import controller_and_client, demo_building, run
from tests.timeouts import wait_until

LIBRARY = demo_building("bldg-library")
SETPOINT = "z1.setpoint"
COMFORT = LIBRARY.zones[0].comfort  # setpoint range: unoccupied_min_c .. occupied_max_c


def _writes(controller: SimulatedBuildingController) -> int:
    return controller.requests_received["WritePropertyRequest"]


def test_write_at_priority_8_lands_in_slot_8_and_drives_the_present_value() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            before = controller.present_value(SETPOINT)
            result = await client.write_setpoint(controller.device, SETPOINT, 20.5, 8)
            assert result.ok, result.detail
            assert controller.priority_slot(SETPOINT, 8) == pytest.approx(20.5)
            assert controller.present_value(SETPOINT) == pytest.approx(20.5)
            assert result.old_value == pytest.approx(before)
            assert result.read_back == pytest.approx(20.5)
            assert client.commanded_slots == [("bldg-library", SETPOINT, 8)]

    run(scenario())


@pytest.mark.parametrize("priority", [1, 5, 7])
def test_reserved_priorities_are_refused_and_never_sent(priority: int) -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            with pytest.raises(PointWriteRejected, match=f"priority {priority} is reserved"):
                await client.write_setpoint(controller.device, SETPOINT, 21.0, priority)
            assert controller.priority_slot(SETPOINT, priority) is None
            assert _writes(controller) == 0
            assert client.commanded_slots == []

    run(scenario())


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (-math.inf, "not a finite number"),
        (COMFORT.occupied_max_c + 0.5, "outside"),
        (COMFORT.unoccupied_min_c - 0.5, "outside"),
    ],
)
def test_unsafe_values_are_refused_never_sent_and_never_clamped(value: float, words: str) -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            before = controller.present_value(SETPOINT)
            with pytest.raises(PointWriteRejected, match=words):
                await client.write_setpoint(controller.device, SETPOINT, value, 8)
            assert _writes(controller) == 0
            assert controller.priority_slot(SETPOINT, 8) is None
            assert controller.present_value(SETPOINT) == before

    run(scenario())


def test_points_that_are_not_writable_are_refused_before_sending() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            for point_id in ("z1.room_temp", "z1.heat_output", "meter_power"):
                with pytest.raises(PointWriteRejected, match="not writable"):
                    await client.write_setpoint(controller.device, point_id, 1.0, 8)
            assert _writes(controller) == 0

    run(scenario())


def test_operator_hold_at_priority_6_is_reported_and_not_escalated() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            controller.hold_at_priority(SETPOINT, 6, 18.0)
            result = await client.write_setpoint(controller.device, SETPOINT, 21.0, 8)
            assert not result.ok
            assert "overridden by priority 6" in result.detail
            assert result.read_back == pytest.approx(18.0)
            # Our slot holds our value; nothing else was tried.
            assert controller.priority_slot(SETPOINT, 8) == pytest.approx(21.0)
            assert [
                p for p in range(1, 8) if controller.priority_slot(SETPOINT, p) is not None
            ] == [6]
            assert _writes(controller) == 1
            assert controller.present_value(SETPOINT) == pytest.approx(18.0)

    run(scenario())


def test_relinquish_restores_the_relinquish_default() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            default = controller.relinquish_default(SETPOINT)
            await client.write_setpoint(controller.device, SETPOINT, default - 1.5, 8)
            assert controller.present_value(SETPOINT) == pytest.approx(default - 1.5)
            result = await client.relinquish(controller.device, SETPOINT, 8)
            assert result.ok, result.detail
            assert result.read_back == pytest.approx(default)
            assert "relinquish-default" in result.detail
            assert controller.priority_slot(SETPOINT, 8) is None
            assert controller.present_value(SETPOINT) == pytest.approx(default)
            assert client.commanded_slots == []

    run(scenario())


def test_relinquish_all_in_finally_releases_slots_of_a_cancelled_dispatch() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            written = asyncio.Event()

            async def dispatch() -> None:
                try:
                    await client.write_setpoint(controller.device, "z1.setpoint", 20.0, 8)
                    await client.write_setpoint(controller.device, "z2.setpoint", 21.0, 9)
                    written.set()
                    await asyncio.Event().wait()  # the rest of the schedule
                finally:
                    await client.relinquish_all()

            task = asyncio.create_task(dispatch())
            await written.wait()
            assert controller.priority_slot("z2.setpoint", 9) == pytest.approx(21.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert controller.priority_slot("z1.setpoint", 8) is None
            assert controller.priority_slot("z2.setpoint", 9) is None
            assert client.commanded_slots == []

    run(scenario())


def test_relinquish_all_in_finally_survives_a_bacnet_abort() -> None:
    # bacpypes3 raises its Error/Reject/Abort PDUs, which are BaseExceptions.
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            with pytest.raises(ErrorRejectAbortNack):
                try:
                    await client.write_setpoint(controller.device, SETPOINT, 20.0, 8)
                    raise AbortPDU(reason="other")
                finally:
                    results = await client.relinquish_all()
            assert [r.ok for r in results] == [True]
            assert controller.priority_slot(SETPOINT, 8) is None

    run(scenario())


def test_cancel_during_the_write_still_releases_the_slot() -> None:
    # The controller acts 0.2 s after a request arrives; the dispatch is cancelled while
    # its write is on the way, so the write lands after the cancel. The slot must have
    # been remembered before sending for relinquish_all to release it.
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            controller.response_delay_s = 0.2
            task = asyncio.create_task(client.write_setpoint(controller.device, SETPOINT, 19.0, 10))
            while _writes(controller) == 0:
                await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_until(
                lambda: controller.priority_slot(SETPOINT, 10) is not None, "the late write"
            )
            assert controller.priority_slot(SETPOINT, 10) == pytest.approx(19.0)  # it landed
            controller.response_delay_s = 0.0
            results = await client.relinquish_all()
            assert [r.ok for r in results] == [True]
            assert _writes(controller) == 2  # our value, then Null
            assert controller.priority_slot(SETPOINT, 10) is None
            assert client.commanded_slots == []

    run(scenario())


def test_read_back_mismatch_is_reported_once_without_retry() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            controller.ignore_writes(SETPOINT)
            result = await client.write_setpoint(controller.device, SETPOINT, 20.0, 8)
            assert not result.ok
            assert "read-back mismatch" in result.detail
            assert _writes(controller) == 1

    run(scenario())


def test_exiting_the_client_relinquishes_its_slots() -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            await client.write_setpoint(controller.device, SETPOINT, 20.0, 12)
            await client.__aexit__(None, None, None)
            assert controller.priority_slot(SETPOINT, 12) is None

    run(scenario())


def test_cov_notifications_continue_past_the_lifetime_thanks_to_renewal() -> None:
    # Lifetime 2 s: without renewal the controller drops the subscription at 2 s and
    # the change made at 2.6 s would never be notified.
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            received: list[PointReading] = []
            subscription = await client.subscribe_cov(
                controller.device, "z2.room_temp", 2, received.append, renew_margin_s=1.0
            )
            await asyncio.sleep(0.2)
            controller.set_room_temp("z2", 19.0)
            await asyncio.sleep(2.4)
            controller.set_room_temp("z2", 24.5)
            await wait_until(
                lambda: subscription.renewals >= 2 and 24.5 in [r.value for r in received],
                "the second renewal and the notification of 24.5 °C",
            )
            assert subscription.renewals >= 2
            values = [r.value for r in received if r.quality is Quality.GOOD]
            assert 19.0 in values and values[-1] == pytest.approx(24.5)
            await subscription.cancel()
            assert not subscription.active
            count = len(received)
            controller.set_room_temp("z2", 21.0)
            await asyncio.sleep(0.2)
            assert len(received) == count

    run(scenario())


def test_client_refuses_min_write_priority_below_8() -> None:
    with pytest.raises(AdapterError, match="min_write_priority 7 is not allowed"):
        BacnetClient("127.0.0.1:47808", min_write_priority=7)


def test_write_the_device_refuses_is_rejected_and_not_remembered() -> None:
    # A map that wrongly calls the room temperature input commandable: the controller
    # answers write-access-denied, as a sensor input in service does.
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            setpoint = controller.device.binding(SETPOINT)
            wrong = replace(setpoint, object_type=BacnetObjectType.ANALOG_INPUT)
            device = replace(controller.device, bindings=(wrong,))
            with pytest.raises(
                PointWriteRejected, match="refused the write: property: write-access"
            ):
                await client.write_setpoint(device, SETPOINT, 20.0, 8)
            assert _writes(controller) == 1
            assert client.commanded_slots == []
            assert controller.present_value("z1.room_temp") != pytest.approx(20.0)

    run(scenario())
