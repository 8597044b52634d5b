"""One Modbus connection (TCP or RTU) with pymodbus behind klaster's own errors.

pymodbus reports failures through two channels: raised ``ModbusException``
subclasses and error responses whose ``isError()`` is true. :class:`ModbusLink`
folds both into one: it returns registers, or raises

* :class:`DeviceUnreachable` — no connection, connection lost, or no answer in time;
* :class:`DeviceExceptionReply` — the device answered with a Modbus exception code;
* :class:`MalformedReply` — an answer that does not fit the request.

Only this module imports pymodbus, so a pymodbus minor release (which may
change the API) touches one file.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from adapters.errors import DeviceMapError, DeviceUnreachable, PointReadError
from adapters.modbus.decode import MAX_READ_REGISTERS, MAX_WRITE_REGISTERS
from adapters.modbus.maps import Table

# pymodbus logs a frame dump on every error; the adapter reports errors itself.
logging.getLogger("pymodbus").setLevel(logging.WARNING)

#: Meaning of the Modbus exception codes.
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
#: Codes that say the request itself is wrong for this device: retrying cannot help.
PERMANENT_CODES = frozenset({1, 2, 3})


class DeviceExceptionReply(PointReadError):
    """The device answered a request with a Modbus exception code."""

    def __init__(self, code: int, request: str) -> None:
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        super().__init__(f"{request}: device answered exception {code} ({name})")
        self.code = code

    @property
    def permanent(self) -> bool:
        """True for codes 1–3: the request does not fit the device."""
        return self.code in PERMANENT_CODES


class MalformedReply(PointReadError):
    """An answer that does not fit its request (wrong length, wrong type)."""


class ModbusConnection(BaseModel):
    """How to reach one Modbus unit.

    Parameters
    ----------
    transport
        ``"tcp"`` (Modbus/TCP) or ``"rtu"`` (serial line).
    host, port
        Modbus/TCP address.
    serial_port, baudrate, parity, stopbits, bytesize
        Serial line settings for RTU.
    unit_id
        The Modbus unit (device) id, 0–247.
    timeout_s
        Seconds to wait for one answer before the device counts as not answering.
    reconnect_delay_s, reconnect_delay_max_s
        pymodbus' background reconnect back-off, s.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65535)
    serial_port: str | None = None
    baudrate: int = Field(default=19200, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    unit_id: int = Field(default=1, ge=0, le=247)
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    reconnect_delay_s: float = Field(default=0.2, gt=0)
    reconnect_delay_max_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _serial_port_for_rtu(self) -> ModbusConnection:
        if self.transport == "rtu" and not self.serial_port:
            raise ValueError("an RTU connection needs serial_port, e.g. '/dev/ttyUSB0'")
        return self

    def describe(self) -> str:
        """The address for messages, e.g. ``tcp://127.0.0.1:502 unit 1``."""
        where = (
            f"tcp://{self.host}:{self.port}"
            if self.transport == "tcp"
            else f"rtu://{self.serial_port}@{self.baudrate}"
        )
        return f"{where} unit {self.unit_id}"


def make_pymodbus_client(settings: ModbusConnection) -> Any:
    """Build the pymodbus client; TCP and RTU share every other code path.

    pymodbus' own retries are off: the adapter owns the retry policy.
    """
    common: dict[str, Any] = {
        "timeout": settings.timeout_s,
        "retries": 0,
        "reconnect_delay": settings.reconnect_delay_s,
        "reconnect_delay_max": settings.reconnect_delay_max_s,
    }
    if settings.transport == "rtu":
        return AsyncModbusSerialClient(
            str(settings.serial_port),
            framer=FramerType.RTU,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            **common,
        )
    return AsyncModbusTcpClient(settings.host, port=settings.port, **common)


class ModbusLink:
    """One connection to one unit; requests on it are serialised by a lock.

    Parameters
    ----------
    settings
        Where the unit is and how long to wait for it.
    """

    def __init__(self, settings: ModbusConnection) -> None:
        self.settings = settings
        # pymodbus binds its client to the running event loop, so it is made on first use.
        self._client: Any = None
        self._lock: asyncio.Lock | None = None
        #: Requests sent since the link was made (reads and writes).
        self.requests_sent = 0

    @property
    def connected(self) -> bool:
        """Whether the underlying connection is open."""
        return self._client is not None and bool(self._client.connected)

    @property
    def lock(self) -> asyncio.Lock:
        """The lock that serialises requests on this connection."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def connect(self) -> None:
        """Open the connection unless it is open; raise DeviceUnreachable when refused."""
        if self._client is None:
            self._client = make_pymodbus_client(self.settings)
        if self._client.connected:
            return
        try:
            ok = await self._client.connect()
        except (ModbusException, OSError) as exc:
            raise self._unreachable(f"connect failed: {exc}") from exc
        if not ok:
            raise self._unreachable("connection refused or no route")

    def _unreachable(self, what: str) -> DeviceUnreachable:
        return DeviceUnreachable(
            f"{self.settings.describe()}: {what}",
            fix="check the device is powered and reachable, and the address, port and unit id",
        )

    async def read(self, table: Table, address: int, count: int) -> list[int]:
        """Read ``count`` registers of ``table`` from ``address``.

        Parameters
        ----------
        table
            ``"holding"`` (FC03) or ``"input"`` (FC04).
        address
            0-based protocol address of the first register.
        count
            Registers to read, 1..125.
        """
        if not 1 <= count <= MAX_READ_REGISTERS or not 0 <= address <= 0x10000 - count:
            raise DeviceMapError(
                f"refusing a read of {count} registers at {address}: a read carries 1.."
                f"{MAX_READ_REGISTERS} registers within addresses 0..65535",
                fix="split the request",
            )
        request = f"read {table} {address}..{address + count - 1}"
        async with self.lock:
            await self.connect()
            method = (
                self._client.read_holding_registers
                if table == "holding"
                else self._client.read_input_registers
            )
            reply = await self._call(request, method, address, count=count)
        registers = getattr(reply, "registers", None)
        if not isinstance(registers, list) or len(registers) != count:
            got = len(registers) if isinstance(registers, list) else "no"
            raise MalformedReply(f"{request}: expected {count} registers, got {got}")
        return list(map(int, registers))

    async def write(self, address: int, values: list[int]) -> None:
        """Write holding registers from ``address``: FC06 for one, FC16 for several."""
        if not 1 <= len(values) <= MAX_WRITE_REGISTERS or address + len(values) > 0x10000:
            raise DeviceMapError(
                f"refusing a write of {len(values)} registers at {address}",
                fix=f"a write carries 1..{MAX_WRITE_REGISTERS} registers within 0..65535",
            )
        request = f"write holding {address}..{address + len(values) - 1}"
        async with self.lock:
            await self.connect()
            if len(values) == 1:
                await self._call(request, self._client.write_register, address, values[0])
            else:
                await self._call(request, self._client.write_registers, address, values)

    async def _call(self, request: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests_sent += 1
        try:
            reply = await method(*args, device_id=self.settings.unit_id, **kwargs)
        except ConnectionException as exc:
            raise self._unreachable(f"{request}: connection lost") from exc
        except ModbusIOException as exc:
            if self.settings.transport == "rtu":
                # A serial line has no transaction ids: a late answer to this request
                # could be taken for the next one, so the port is reopened.
                self._client.close()
            raise self._unreachable(
                f"{request}: no answer within {self.settings.timeout_s} s"
            ) from exc
        except ModbusException as exc:
            raise MalformedReply(f"{request}: {exc}") from exc
        if reply is None:
            raise MalformedReply(f"{request}: no reply object")
        if reply.isError():
            code = getattr(reply, "exception_code", None)
            if isinstance(code, int):
                raise DeviceExceptionReply(code, request)
            raise MalformedReply(f"{request}: error reply without an exception code")
        return reply

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._client is not None:
            self._client.close()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retry of transient device errors (codes 4, 5, 6, 10, 11) within one poll.

    Parameters
    ----------
    attempts
        Extra attempts after the first.
    backoff_s
        Wait before the first extra attempt, s; doubles with each attempt.
    """

    attempts: int = 2
    backoff_s: float = 0.05


async def read_with_retry(
    link: ModbusLink, table: Table, address: int, count: int, retry: RetryPolicy
) -> list[int]:
    """:meth:`ModbusLink.read`, retrying transient exception replies with back-off.

    Permanent exception replies (codes 1–3), malformed replies and an
    unreachable device are raised at once.
    """
    delay = retry.backoff_s
    for attempt in range(retry.attempts + 1):
        try:
            return await link.read(table, address, count)
        except DeviceExceptionReply as exc:
            if exc.permanent or attempt == retry.attempts:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
