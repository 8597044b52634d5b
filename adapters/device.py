"""What every device client gives the poller and dispatch, whatever its protocol."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cluster.timeseries import Quality


@dataclass(frozen=True)
class PointReading:
    """One point's value from one poll.

    ``value`` is None whenever ``quality`` is not GOOD: a stale, missing or
    implausible value is never passed on as a number.
    """

    point_id: str
    value: float | None
    unit: str
    quality: Quality
    ts: datetime
    detail: str = ""


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one attempted write, as recorded in the audit log."""

    point_id: str
    requested: float | None
    old_value: float | None
    read_back: float | None
    ok: bool
    detail: str = ""


class DeviceClient(Protocol):
    """A connection to one device (a Modbus unit, a BACnet device)."""

    device_id: str

    async def connect(self) -> None:
        """Open the connection; raises DeviceUnreachable when the device does not answer."""
        ...

    async def read_points(self) -> list[PointReading]:
        """Read every mapped point; failures become per-point quality flags."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...
