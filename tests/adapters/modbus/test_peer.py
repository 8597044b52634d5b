"""klaster's client against an independent Modbus/TCP server (pyModbusTCP)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from pyModbusTCP import utils
from pyModbusTCP.server import DataBank, ModbusServer

from adapters.modbus.client import ModbusDeviceClient
from adapters.modbus.connection import ModbusConnection
from adapters.modbus.maps import load_builtin_map
from cluster.timeseries import Quality
from tests.timeouts import ANSWER_TIMEOUT_S


def float_words(value: float) -> list[int]:
    """IEEE 754 single, high word first, as pyModbusTCP encodes it."""
    return [int(w) for w in utils.long_list_to_word([utils.encode_ieee(value)], big_endian=True)]


@pytest.fixture
def peer() -> Iterator[tuple[ModbusServer, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    bank = DataBank()
    bank.set_input_registers(0, float_words(231.25))
    bank.set_input_registers(52, float_words(12_500.0))
    bank.set_input_registers(70, float_words(50.0) + float_words(4321.5) + float_words(12.0))
    server = ModbusServer(host="127.0.0.1", port=port, no_block=True, data_bank=bank)
    server.start()
    try:
        yield server, port
    finally:
        server.stop()


def test_meter_map_read_from_a_pymodbustcp_server(peer: tuple[ModbusServer, int]) -> None:
    server, port = peer

    async def body() -> dict[str, object]:
        connection = ModbusConnection(host="127.0.0.1", port=port, timeout_s=ANSWER_TIMEOUT_S)
        client = ModbusDeviceClient("meter", load_builtin_map("energy_meter"), connection)
        try:
            first = {r.point_id: r for r in await client.read_points()}
            server.data_bank.set_input_registers(52, float_words(-800.0))
            second = {r.point_id: r for r in await client.read_points()}
        finally:
            await client.close()
        return {"first": first, "second": second}

    result = asyncio.run(body())
    first, second = result["first"], result["second"]
    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["voltage_l1"].value == 231.25
    assert first["meter_power"].value == pytest.approx(12.5)
    assert first["frequency"].value == 50.0
    assert first["meter_energy"].value == 4321.5
    assert first["meter_energy_export"].value == 12.0
    assert all(r.quality is Quality.GOOD for r in first.values())
    assert second["meter_power"].value == pytest.approx(-0.8)
