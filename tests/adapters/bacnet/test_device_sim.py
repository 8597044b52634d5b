"""The simulated building controller as a bare bacpypes3 peer sees it."""

from __future__ import annotations

from typing import Any

import pytest
from bacpypes3.apdu import ErrorRejectAbortNack
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier, Real

from adapters.bacnet import stack
from adapters.bacnet.device_sim import SimulatedBuildingController
from tests.adapters.bacnet.support import demo_building, loopback_address, run
from tests.timeouts import ANSWER_TIMEOUT_S

LIBRARY = demo_building("bldg-library")


async def _bare_peer() -> Any:
    """A plain bacpypes3 application; the controller is expected to answer all it asks."""
    app = stack.make_application(
        loopback_address(), 4100, device_name="peer", apdu_timeout_s=ANSWER_TIMEOUT_S
    )
    await stack.wait_until_bound(app, "peer", ANSWER_TIMEOUT_S)
    return app


def test_sensor_inputs_refuse_writes_unless_out_of_service() -> None:
    async def scenario() -> None:
        async with SimulatedBuildingController(LIBRARY, loopback_address(), 4001) as controller:
            peer = await _bare_peer()
            try:
                address = Address(controller.address)
                room_temp = ObjectIdentifier("analog-input,1")
                with pytest.raises(ErrorRejectAbortNack) as caught:
                    await peer.write_property(address, room_temp, "present-value", Real(30.0))
                assert str(caught.value.errorCode) == "write-access-denied"
                controller.set_out_of_service("z1.room_temp")
                await peer.write_property(address, room_temp, "present-value", Real(30.0))
                assert controller.present_value("z1.room_temp") == pytest.approx(30.0)
            finally:
                await stack.close_application(peer)

    run(scenario())


def test_controller_side_commands_follow_the_priority_array() -> None:
    async def scenario() -> None:
        async with SimulatedBuildingController(LIBRARY, loopback_address(), 4001) as controller:
            default = controller.relinquish_default("z2.setpoint")
            controller.hold_at_priority("z2.setpoint", 8, default + 1.0)
            controller.hold_at_priority("z2.setpoint", 6, default - 2.0)
            assert controller.present_value("z2.setpoint") == pytest.approx(default - 2.0)
            controller.release_priority("z2.setpoint", 6)
            assert controller.present_value("z2.setpoint") == pytest.approx(default + 1.0)
            controller.release_priority("z2.setpoint", 8)
            assert controller.present_value("z2.setpoint") == pytest.approx(default)
            # The valve is driven by the controller's own program, at priority 16.
            controller.set_heat_output("z2", 35.0)
            assert controller.priority_slot("z2.heat_output", 16) == pytest.approx(35.0)

    run(scenario())


def test_removed_object_is_unknown_until_restored() -> None:
    async def scenario() -> None:
        async with SimulatedBuildingController(LIBRARY, loopback_address(), 4001) as controller:
            peer = await _bare_peer()
            try:
                address = Address(controller.address)
                controller.set_meter(power_kw=12.5)
                controller.remove_object("meter_power")
                with pytest.raises(ErrorRejectAbortNack) as caught:
                    await peer.read_property(address, "analog-input,1000", "present-value")
                assert str(caught.value.errorCode) == "unknown-object"
                controller.restore_object("meter_power")
                value = await peer.read_property(address, "analog-input,1000", "present-value")
                assert value == pytest.approx(12.5)
            finally:
                await stack.close_application(peer)

    run(scenario())
