"""Served register data and client helpers shared by the Modbus client tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any

from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.simulator import DataType, SimData

from adapters.modbus.client import ModbusDeviceClient
from adapters.modbus.connection import RetryPolicy
from adapters.modbus.maps import load_builtin_map
from tests.adapters.modbus.sim import SimServer, registers
from tests.timeouts import ANSWER_TIMEOUT_S

FAST_RETRY = RetryPolicy(attempts=2, backoff_s=0.01)
DT = ModbusClientMixin.DATATYPE


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def by_id(readings: Sequence[Any]) -> dict[str, Any]:
    return {r.point_id: r for r in readings}


def meter_simdata(voltage: float = 230.5) -> list[SimData]:
    return [
        SimData(0, values=[voltage], datatype=DataType.FLOAT32),
        SimData(52, values=[-1500.0], datatype=DataType.FLOAT32),
        SimData(70, values=[49.98, 1234.5, 67.25], datatype=DataType.FLOAT32),
    ]


def make_client(server: SimServer, map_name: str, **kwargs: Any) -> ModbusDeviceClient:
    """A client of ``server`` with the built-in map; ``timeout_s`` for one that expects silence."""
    timeout_s = kwargs.pop("timeout_s", ANSWER_TIMEOUT_S)
    return ModbusDeviceClient(
        "dev",
        load_builtin_map(map_name),
        server.connection(timeout_s=timeout_s),
        retry=kwargs.pop("retry", FAST_RETRY),
        **kwargs,
    )


def assert_no_request_over_125(server: SimServer) -> None:
    assert server.requests
    assert max(r.count for r in server.requests) <= 125


def battery_simdata(power_w: int, power_sf: int) -> list[SimData]:
    # power, soc (0.1 %), status, power SF, reserved 4..9, setpoint, setpoint SF
    return [registers(0, [power_w & 0xFFFF, 655, 2, power_sf & 0xFFFF] + [0] * 6 + [0, 1])]


def wte_simdata() -> list[SimData]:
    electric = ModbusClientMixin.convert_to_registers(52_000, DT.INT32, word_order="little")
    heat = ModbusClientMixin.convert_to_registers(110_000, DT.INT32, word_order="little")
    return [registers(0, electric + heat + [1250, 2, 0b11]), registers(20, [4000])]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
