"""One simulated Modbus/TCP device on the network: a pymodbus server over a register image.

Every request passes pymodbus' ``action`` hook, which answers reads from the
device's :class:`~adapters.rig.registers.RegisterImage` (so the simulation's
latest values are served), stores writes in it, and applies the device's
fault: a delay, an exception reply, garbage or "not implemented" values.
``offline`` closes the listening socket and every connection; clearing it
listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import zlib
from collections.abc import Sequence
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimDevice

from adapters.rig.errors import RigError
from adapters.rig.faults import (
    Fault,
    FaultKind,
    garbage_addresses,
    garbage_words,
    sentinel_overlay,
)
from adapters.rig.registers import DataField, RegisterImage

#: The unit id every simulated device answers to.
UNIT_ID = 1


class ModbusSimServer:
    """A Modbus/TCP server for one device.

    Parameters
    ----------
    device_id
        The device's id (for messages and the garbage generator's seed).
    image
        The device's registers.
    data_fields
        The values ``garbage`` and ``sentinel`` spoil.
    host
        The address to bind.
    port
        The port to bind; 0 takes a free one (see :attr:`port` after :meth:`start`).
    """

    def __init__(
        self,
        device_id: str,
        image: RegisterImage,
        data_fields: Sequence[DataField],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.device_id = device_id
        self.image = image
        self.data_fields = tuple(data_fields)
        self.host = host
        self.port = port
        self.fault: Fault | None = None
        self.requests_served = 0
        self._server: Any = None
        self._overlay: dict[int, int] = {}
        self._garbage: frozenset[int] = frozenset()
        self._rng = random.Random(zlib.crc32(device_id.encode()))
        # Set when a slow answer should stop waiting (fault cleared or server stopped).
        self._release = asyncio.Event()

    @property
    def listening(self) -> bool:
        """True while the server accepts connections."""
        return self._server is not None

    async def start(self) -> None:
        """Listen on ``host:port``; a port of 0 becomes the free port the system gave.

        Raises
        ------
        RigError
            If the address cannot be bound.
        """
        if self._server is not None:
            return
        device = SimDevice(id=UNIT_ID, simdata=self.image.simdata(), action=self._action)
        server = ModbusTcpServer(device, address=(self.host, self.port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            raise RigError(
                f"{self.device_id}: cannot listen on {self.host}:{self.port} ({exc})",
                fix="choose another --base-port, or leave it out to take free ports",
            ) from None
        listener = cast(asyncio.Server, server.transport)
        self.port = int(listener.sockets[0].getsockname()[1])
        self._server = server

    async def stop(self) -> None:
        """Stop listening and drop every connection; safe to call twice."""
        self._release.set()
        if self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()
            # Let the loop run the transports' close callbacks so the port is free.
            for _ in range(3):
                await asyncio.sleep(0)

    async def inject(self, fault: Fault) -> None:
        """Apply ``fault`` (replacing any other)."""
        await self.clear()
        self.fault = fault
        self._release = asyncio.Event()
        if fault.kind is FaultKind.SENTINEL:
            self._overlay = sentinel_overlay(self.data_fields)
        elif fault.kind is FaultKind.GARBAGE:
            self._garbage = garbage_addresses(self.data_fields)
        elif fault.kind is FaultKind.OFFLINE:
            await self.stop()

    async def clear(self) -> None:
        """Remove the fault; an offline server listens again on its port."""
        fault, self.fault = self.fault, None
        self._overlay, self._garbage = {}, frozenset()
        self._release.set()
        if fault is not None and fault.kind is FaultKind.OFFLINE:
            await self.start()

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: Any,
    ) -> ExcCodes | None:
        """Serve one request: fault first, then the image (writes stored, reads refreshed)."""
        self.requests_served += 1
        fault = self.fault
        if fault is not None:
            if fault.kind is FaultKind.SLOW:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), fault.delay_s)
            code = fault.kind.exception_code
            if code is not None:
                return ExcCodes(code)
        if set_values:
            self.image.write(address, [int(v) for v in set_values])
            return None
        words = self.image.read(address, count)
        if self._overlay or self._garbage:
            words = self._spoil(address, words)
        offset = address - start_address
        registers[offset : offset + count] = words
        return None

    def _spoil(self, address: int, words: list[int]) -> list[int]:
        spoiled = list(words)
        for i in range(len(spoiled)):
            where = address + i
            if where in self._overlay:
                spoiled[i] = self._overlay[where]
            elif where in self._garbage:
                spoiled[i] = garbage_words(self._rng, 1)[0]
        return spoiled
