"""Malformed BACnet/IP datagrams must not stop the controller or the client from working."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.bacnet.client import BacnetClient
from adapters.bacnet.device_sim import SimulatedBuildingController
from cluster.timeseries import Quality
from tests.adapters.bacnet.support import controller_and_client, demo_building, run
from tests.timeouts import wait_until

LIBRARY = demo_building("bldg-library")


def _bvll(npdu_and_apdu: bytes, function: int = 0x0A) -> bytes:
    """A BVLL frame (Original-Unicast-NPDU by default) with a correct length."""
    return struct.pack(">BBH", 0x81, function, 4 + len(npdu_and_apdu)) + npdu_and_apdu


# NPDU version 1, expecting a reply.
_NPDU = b"\x01\x04"
# Confirmed request header: max segments and APDU size accepted, invoke id 7.
_CONFIRMED = b"\x00\x05\x07"
# Context tag 0 (object identifier) for analog-value,1 and tag 1 (property) present-value.
_AV1_PV = b"\x0c\x00\x80\x00\x01\x19\x55"


def _request(invoke_id: int, service_and_parameters: bytes) -> bytes:
    """A confirmed request with its own invoke id (a repeated id looks like a retry)."""
    return _bvll(_NPDU + bytes([0x00, 0x05, invoke_id]) + service_and_parameters)


MALFORMED: list[bytes] = [
    b"",
    b"\x81",
    b"\x81\x0a",
    b"\x81\x0a\x00",
    b"\x81\x0a\x00\x04",  # BVLL only, no NPDU
    b"\x81\x0a\x00\x02",  # length shorter than the header
    b"\x81\x0a\xff\xff\x01\x04",  # length far beyond the datagram
    b"\x81\x0a\x00\x10\x01\x04",  # length beyond the datagram
    b"\x82\x0a\x00\x06\x01\x04",  # not BACnet/IP
    b"\x81\xff\x00\x04",  # unknown BVLC function
    b"\x81\x04\x00\x06\x7f\x00",  # Forwarded-NPDU cut short
    b"\x81\x05\x00\x05\x00",  # Register-Foreign-Device cut short
    b"\x81\x00\x00\x05\x00",  # BVLC-Result cut short
    b"\x81\x02\x00\x04",  # Read-BDT to a non-BBMD
    _bvll(b"\x02\x04"),  # NPDU version 2
    _bvll(b"\x01\x20\xff"),  # destination network flag, rest missing
    _bvll(b"\x01\x08\x00"),  # source network flag, rest missing
    _bvll(b"\x01\x80\xff"),  # network-layer message of an unknown type
    _bvll(b"\x01\x80\x00"),  # Who-Is-Router-To-Network, fine, then nothing
    _bvll(_NPDU + b"\x00"),  # confirmed request header cut short
    _bvll(_NPDU + _CONFIRMED),  # service choice missing
    _request(21, b"\x0c"),  # ReadProperty, no parameters
    _request(22, b"\x0c\x0c\x00"),  # object identifier cut short
    _request(23, b"\x0c" + _AV1_PV[:5]),  # property missing
    _request(24, b"\x0c" + _AV1_PV + b"\x29\xff"),  # array index 255
    _request(25, b"\x0f" + _AV1_PV + b"\x3e\x75\x03\x00\x41\x42\x3f"),  # PV as text
    _request(26, b"\x0f" + _AV1_PV + b"\x3e\x44\x41\xa0\x00\x00\x3f\x49\x00"),  # p0
    _request(27, b"\x0f" + _AV1_PV + b"\x3e\x44\x41\xa0\x00\x00\x3f\x49\x11"),  # p17
    _request(28, b"\x0f" + _AV1_PV + b"\x3e\x44\x41\xa0\x00\x00"),  # no close tag
    _request(29, b"\x0e"),  # ReadPropertyMultiple, empty
    _request(30, b"\x0e\x0c\x00\x80\x00\x01\x1e" + b"\x09\x55" * 200 + b"\x1f"),
    _bvll(_NPDU + b"\x08\x00\x07\x00\x05"),  # segmented request, odd window
    _bvll(_NPDU + b"\x20\x07\x0c"),  # simple ack for nothing we asked
    _bvll(_NPDU + b"\x30\x07\x0c\x0c"),  # complex ack, cut short
    _bvll(_NPDU + b"\x50\x07\x0c\x91"),  # error PDU, cut short
    _bvll(_NPDU + b"\x60\x07\x09"),  # reject
    _bvll(_NPDU + b"\x70\x07\x04"),  # abort
    _bvll(_NPDU + b"\xf0\x00"),  # APDU type 15
    _bvll(b"\x01\x00\x10\x08\x0a\x00\x05\x09\x04"),  # Who-Is with low > high... of sorts
    _bvll(b"\x01\x00\x10\x08\x09\x05"),  # Who-Is with only a low limit
    _bvll(b"\x01\x00\x10\x00\xc4\x02"),  # I-Am cut short
    _bvll(b"\x01\x00\x10\x05"),  # unconfirmed SubscribeCOV-like nonsense
    b"\x81\x0a\x05\x78" + b"\xff" * 1396,  # 1400 bytes of 0xFF
    bytes(range(256)) * 6,
]


def _blast(targets: list[str], datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        for address in targets:
            host, port = address.rsplit(":", 1)
            for datagram in datagrams:
                raw.sendto(datagram, (host, int(port)))


async def _still_answers(
    controller: SimulatedBuildingController, client: BacnetClient, datagrams: list[bytes]
) -> None:
    controller.set_room_temp("z1", 21.25)
    _blast([controller.address, client.local_address], datagrams)
    await asyncio.sleep(0.05)  # let both stacks chew on it
    readings = {r.point_id: r for r in await client.read_points(controller.device)}
    assert all(r.quality is Quality.GOOD for r in readings.values())
    assert readings["z1.room_temp"].value == pytest.approx(21.25)
    result = await client.write_setpoint(controller.device, "z1.setpoint", 20.0, 8)
    assert result.ok, result.detail


def test_hand_made_malformed_datagrams_leave_controller_and_client_working() -> None:
    assert len(MALFORMED) >= 36

    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            before = controller.present_value("z1.setpoint")
            _blast([controller.address], MALFORMED)
            # The writes at priority 0 and 17, of text, or cut short changed nothing.
            await wait_until(
                lambda: controller.requests_received["WritePropertyRequest"] >= 3,
                "the controller taking in the malformed writes",
            )
            await client.read_points(controller.device)  # queued behind the whole blast
            slots = [controller.priority_slot("z1.setpoint", p) for p in range(1, 17)]
            assert slots == [None] * 16
            assert controller.present_value("z1.setpoint") == before
            await _still_answers(controller, client, MALFORMED)

    run(scenario())


_BVLL_FUNCTIONS = st.sampled_from(
    [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x09, 0x0A, 0x0B, 0x0C]
)
_FRAMES = st.one_of(
    st.binary(max_size=64),  # anything at all
    st.tuples(_BVLL_FUNCTIONS, st.binary(max_size=48)).map(lambda f: _bvll(f[1], f[0])),
    st.binary(max_size=40).map(lambda body: _bvll(_NPDU + _CONFIRMED + body)),  # bad services
    st.binary(max_size=40).map(lambda body: _bvll(b"\x01\x00\x10" + body)),  # bad unconfirmed
    st.binary(max_size=40).map(lambda body: _bvll(_NPDU + b"\x30\x00" + body)),  # bad acks
)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(datagrams=st.lists(_FRAMES, min_size=5, max_size=25))
def test_generated_malformed_datagrams_leave_controller_and_client_working(
    datagrams: list[bytes],
) -> None:
    async def scenario() -> None:
        async with controller_and_client(LIBRARY) as (controller, client):
            await _still_answers(controller, client, datagrams)

    run(scenario())
