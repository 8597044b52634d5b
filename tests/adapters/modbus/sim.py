"""A pymodbus server on 127.0.0.1 for the adapter tests, with request log and fault injection.

Registers are served by pymodbus' own ``SimDevice``. Every request is logged
server-side (function code, address, count, values) from the server's PDU
trace, so refused requests are logged too; the ``action`` hook injects
faults: exception replies, slow answers, truncated replies, altered writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from adapters.modbus.connection import ModbusConnection
from tests.timeouts import ANSWER_TIMEOUT_S

READ_CODES = frozenset({3, 4})
WRITE_CODES = frozenset({6, 16})


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    function_code: int
    address: int
    count: int
    values: tuple[int, ...] | None


@dataclass
class Fault:
    """A fault applied to requests overlapping ``addresses`` (all when None).

    ``mode``: ``"exception"`` (answer ``code``), ``"slow"`` (sleep ``sleep_s``
    before answering, or when ``held`` is given, answer once it is set),
    ``"truncate"`` (answer one register short), ``"rewrite"`` (store ``value``
    instead of what a write asked for).
    ``times``: how many requests it affects before it clears itself.
    """

    mode: str
    code: ExcCodes = ExcCodes.DEVICE_BUSY
    sleep_s: float = 1.0
    held: asyncio.Event | None = None
    addresses: range | None = None
    times: int = 1_000_000
    value: int = 0

    def hits(self, address: int, count: int) -> bool:
        if self.times <= 0:
            return False
        if self.addresses is None:
            return True
        return address < self.addresses.stop and self.addresses.start < address + count


@dataclass
class SimServer:
    """A Modbus/TCP server on a free loopback port serving ``simdata`` as unit ``unit_id``."""

    simdata: Sequence[SimData]
    unit_id: int = 1
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    #: Answers sent so far (exception answers included).
    answers_sent: int = 0
    fault: Fault | None = None
    #: Called with every request after it is logged (e.g. to poke registers mid-read).
    hook: Callable[[Request], None] | None = None
    _patches: dict[int, int] = field(default_factory=dict)
    _truncate_next: bool = False
    _server: Any = None

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: Any,
    ) -> ExcCodes | None:
        for patch_address, value in self._patches.items():
            registers[patch_address - start_address] = value
        self._patches.clear()
        fault = self.fault
        if fault is None or not fault.hits(address, count):
            return None
        fault.times -= 1
        if fault.mode == "exception":
            return fault.code
        if fault.mode == "slow" and fault.held is not None:
            await fault.held.wait()
        elif fault.mode == "slow":
            await asyncio.sleep(fault.sleep_s)
        if fault.mode == "truncate":
            self._truncate_next = True
        if fault.mode == "rewrite" and set_values:
            set_values[:] = [fault.value] * len(set_values)
        return None

    def _trace_pdu(self, sending: bool, pdu: Any) -> Any:
        if not sending:
            writes = pdu.function_code in WRITE_CODES
            values = tuple(int(v) for v in pdu.registers) if writes else None
            count = len(pdu.registers) if writes else int(pdu.count)
            request = Request(int(pdu.function_code), int(pdu.address), count, values)
            self.requests.append(request)
            if self.hook is not None:
                self.hook(request)
        else:
            self.answers_sent += 1
            if self._truncate_next and getattr(pdu, "registers", None):
                self._truncate_next = False
                pdu.registers = pdu.registers[:-1]
        return pdu

    def poke(self, address: int, values: Sequence[int]) -> None:
        """Set registers; they take effect before the next request is answered."""
        for i, value in enumerate(values):
            self._patches[address + i] = value

    @property
    def reads(self) -> list[Request]:
        """Read requests seen so far."""
        return [r for r in self.requests if r.function_code in READ_CODES]

    @property
    def writes(self) -> list[Request]:
        """Write requests seen so far."""
        return [r for r in self.requests if r.function_code in WRITE_CODES]

    async def start(self) -> SimServer:
        device = SimDevice(id=self.unit_id, simdata=list(self.simdata), action=self._action)
        self._server = ModbusTcpServer(
            device, address=("127.0.0.1", self.port), trace_pdu=self._trace_pdu
        )
        await self._server.serve_forever(background=True)
        self.port = self._server.transport.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> SimServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def connection(
        self, *, timeout_s: float = ANSWER_TIMEOUT_S, unit_id: int | None = None
    ) -> ModbusConnection:
        """Client settings for this server; a test that expects silence gives ``timeout_s``."""
        return ModbusConnection(
            host="127.0.0.1",
            port=self.port,
            unit_id=self.unit_id if unit_id is None else unit_id,
            timeout_s=timeout_s,
            reconnect_delay_s=0.1,
            reconnect_delay_max_s=0.5,
        )


def registers(address: int, values: Sequence[int]) -> SimData:
    """Plain 16-bit registers from ``address``."""
    return SimData(address, values=list(values), datatype=DataType.REGISTERS)
