"""Malformed Modbus/TCP frames at a running rig: answered with an exception or ignored, never
acted on, and the rig goes on serving every device correctly.

Each frame goes to the battery controller (it has a writable setpoint) on a
fresh loopback connection with a short wait for an answer. The rig runs as
``klaster rig up`` runs it (control channel, device list); the frames are
sent from a worker thread while its event loop serves.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.modbus import load_builtin_map
from adapters.rig.control import send, serve_rig
from adapters.rig.rig import Rig, RigOptions
from adapters.site import Protocol
from cluster.timeseries import Quality
from tests.adapters.rig.support import DAY, inverter_client, modbus_client, run, small_cluster
from tests.timeouts import ANSWER_TIMEOUT_S

TARGET = "bat-battery-farm"
SETPOINT_ADDRESS = load_builtin_map("battery").point("power_setpoint").address
#: Function codes that write (coils, registers, mask write, read/write multiple).
WRITE_FUNCTION_CODES = frozenset({5, 6, 15, 16, 22, 23})
#: How long a frame that needs no answer is given to draw one, s.
QUIET_S = 0.1
#: How long a frame that must be answered may take, s (the wait ends at the answer).
ANSWER_S = ANSWER_TIMEOUT_S


def mbap(pdu: bytes, *, tid: int = 7, protocol: int = 0, length: int | None = None,
         unit: int = 1) -> bytes:  # fmt: skip
    """A Modbus/TCP frame: the MBAP header (``length`` counts unit id and PDU) and the PDU."""
    size = len(pdu) + 1 if length is None else length
    return struct.pack(">HHHB", tid, protocol, size, unit) + pdu


def read_request(address: int, count: int) -> bytes:
    """Read holding registers (function 3)."""
    return struct.pack(">BHH", 3, address, count)


#: A valid request: the battery's measurements and setpoint registers 0-11.
VALID_READ = mbap(read_request(0, 12))

#: (what is wrong, the frame, whether the Modbus spec asks for an exception answer).
BAD_FRAMES: list[tuple[str, bytes, bool]] = [
    ("bare function code, no MBAP header", b"\x03", False),
    ("MBAP header without a function code", mbap(b""), False),
    ("MBAP and a bare function code", mbap(b"\x03"), False),
    ("read request cut after its address", mbap(b"\x03\x00\x00"), False),
    ("write request cut inside its values",
     mbap(struct.pack(">BHHB", 16, SETPOINT_ADDRESS, 2, 4) + b"\x00\x01"), False),
    ("write whose byte count disagrees with its register count",
     mbap(struct.pack(">BHHBH", 16, SETPOINT_ADDRESS, 1, 9, 0x1234)), True),
    ("MBAP length 0", mbap(read_request(0, 2), length=0), False),
    ("MBAP length 0xFFFF", mbap(read_request(0, 2), length=0xFFFF), False),
    ("MBAP length shorter than the PDU", mbap(read_request(0, 2), length=3), False),
    ("unknown function code 0x41", mbap(b"\x41\x00\x00\x00\x01"), True),
    ("function code 0", mbap(b"\x00\x00\x00\x00\x01"), True),
    ("an exception code sent as a request", mbap(b"\x83\x02"), False),
    ("read of 0 registers", mbap(read_request(0, 0)), True),
    ("read of 2000 registers (at most 125)", mbap(read_request(0, 2000)), True),
    ("300 zero bytes", bytes(300), False),
    ("wrong protocol id", mbap(read_request(0, 2), protocol=0x1234), False),
    ("wrong protocol id on a write",
     mbap(struct.pack(">BHH", 6, SETPOINT_ADDRESS, 0x1234), protocol=1), False),
    ("HTTP instead of Modbus", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", False),
]  # fmt: skip


# --- the wire ----------------------------------------------------------------------------


def exchange(port: int, frame: bytes, wait_s: float) -> bytes:
    """Send ``frame`` on a fresh connection; what came back within ``wait_s`` (up to one ADU)."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_S) as connection:
        connection.sendall(frame)
        connection.settimeout(wait_s)
        answer = b""
        try:
            while len(answer) < 6 or len(answer) < 6 + int.from_bytes(answer[4:6], "big"):
                chunk = connection.recv(512)
                if not chunk:
                    break
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer


def is_exception(answer: bytes) -> bool:
    """An answer whose function code carries the exception bit."""
    return len(answer) >= 9 and bool(answer[7] & 0x80)


def might_write(frame: bytes) -> bool:
    """A frame the server could take for a well-formed write (which would rightly land)."""
    return len(frame) >= 8 and frame[2:4] == b"\x00\x00" and frame[7] in WRITE_FUNCTION_CODES


# --- the rig as a service ----------------------------------------------------------------


@asynccontextmanager
async def served_rig(data_dir: Path) -> AsyncIterator[tuple[Rig, asyncio.Task[None]]]:
    """The small cluster's rig served with its control channel, as ``klaster rig up`` does."""
    rig = Rig(small_cluster(), RigOptions(start=DAY, ticking=False))
    stop, ready = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(
        serve_rig(rig, data_dir, config_source="malformed frames",
                  on_ready=lambda *_: ready.set(), stop=stop)
    )  # fmt: skip
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([service, waiting], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if service.done():
        service.result()  # raises why the rig did not start
    assert ready.is_set(), "the rig did not start within 20 s"
    try:
        yield rig, service
    finally:
        stop.set()
        await service


async def read_every_modbus_device(rig: Rig) -> dict[str, dict[str, tuple[Any, Quality]]]:
    """Every Modbus and SunSpec device's readings through klaster's own clients."""
    readings = {}
    for endpoint in rig.site_devices().devices:
        if endpoint.protocol is Protocol.BACNET:
            continue
        if endpoint.protocol is Protocol.SUNSPEC:
            client: Any = inverter_client(rig, endpoint.id)
        else:
            client = modbus_client(rig, endpoint.id)
        try:
            points = await client.read_points()
        finally:
            await client.close()
        readings[endpoint.id] = {r.point_id: (r.value, r.quality) for r in points}
    return readings


def image_words(rig: Rig, device_id: str) -> list[int]:
    image = rig.modbus_server(device_id).image
    return [image.read(address, 1)[0] for address in image.addresses]


def barrage_leaves_the_rig_serving(
    tmp_path: Path, send_frames: Callable[[int, bytes], dict[str, bytes]]
) -> dict[str, bytes]:
    """Run ``send_frames(port, reference answer)`` against the target in a worker thread, then
    check that the rig serves on unchanged; the answers by frame name."""

    async def body() -> dict[str, bytes]:
        async with served_rig(tmp_path) as (rig, service):
            port = rig.modbus_server(TARGET).port
            loop = asyncio.get_running_loop()
            before = await read_every_modbus_device(rig)
            image_before = image_words(rig, TARGET)
            reference = await loop.run_in_executor(None, exchange, port, VALID_READ, ANSWER_S)
            answers = await loop.run_in_executor(None, send_frames, port, reference)
            after = await read_every_modbus_device(rig)
            status = await loop.run_in_executor(None, send, tmp_path, "status")
            assert not service.done() and rig.modbus_server(TARGET).listening
            assert image_words(rig, TARGET) == image_before  # no frame was acted on
            rig.step(60.0)  # the plant still moves and publishes
            assert (await read_every_modbus_device(rig)).keys() == before.keys()
        assert reference[7:9] == bytes([3, 24])  # 12 registers read
        assert after == before
        assert all(q is Quality.GOOD for points in after.values() for _, q in points.values())
        assert status["ok"] and len(status["status"]["devices"]) == 12
        return answers

    return run(body(), timeout_s=60)


# --- the tests -----------------------------------------------------------------------------


def test_hand_written_bad_frames_are_refused_or_ignored(tmp_path: Path) -> None:
    def send_frames(port: int, reference: bytes) -> dict[str, bytes]:
        answers = {}
        for name, frame, must_answer in BAD_FRAMES:
            answers[name] = exchange(port, frame, ANSWER_S if must_answer else QUIET_S)
            # Each bad frame leaves the next connection a correct answer.
            assert exchange(port, VALID_READ, ANSWER_S) == reference, name
        return answers

    answers = barrage_leaves_the_rig_serving(tmp_path, send_frames)
    for name, _, must_answer in BAD_FRAMES:
        answer = answers[name]
        assert is_exception(answer) if must_answer else (not answer or is_exception(answer)), (
            name,
            answer.hex(),
        )
    assert answers["unknown function code 0x41"][8] == 1  # ILLEGAL FUNCTION


#: Any bytes at all, and frames with an MBAP header whose fields may all be wrong.
RANDOM_FRAMES = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.builds(
        lambda pdu, tid, protocol, length, unit: mbap(
            pdu, tid=tid, protocol=protocol, length=length, unit=unit
        ),
        pdu=st.binary(max_size=260),
        tid=st.integers(0, 0xFFFF),
        protocol=st.sampled_from([0, 0, 1, 0xFFFF]),
        length=st.one_of(st.none(), st.integers(0, 0xFFFF)),
        unit=st.sampled_from([1, 1, 0, 2, 255]),
    ),
)


def test_random_frames_leave_the_rig_serving(tmp_path: Path) -> None:
    def send_frames(port: int, reference: bytes) -> dict[str, bytes]:
        answers: dict[str, bytes] = {}

        @settings(max_examples=30, derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
        @given(frame=RANDOM_FRAMES)
        def frame_leaves_the_next_read_correct(frame: bytes) -> None:
            assume(not might_write(frame))
            answers[frame.hex()] = exchange(port, frame, QUIET_S)
            assert exchange(port, VALID_READ, ANSWER_S) == reference

        frame_leaves_the_next_read_correct()
        return answers

    answers = barrage_leaves_the_rig_serving(tmp_path, send_frames)
    assert 20 <= len(answers) <= 30
