"""The devices behind commands: which device serves a point, and one link per device.

A command names klaster's point id (``battery/power_setpoint``,
``bldg-library/z1/setpoint``); a device names the same point its own way
(``power_setpoint`` in a battery's register map, ``z1.setpoint`` on a
building controller, ``circuit01.dim_level`` on a lighting cabinet).
:func:`device_point_id` is the one place that translates between the two.

A :class:`DeviceLink` reads a point's current value (reconnecting once when
the device went away, since a read is safe to repeat), writes it with
read-back, and releases what it commanded. Writes are never repeated here.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from ipaddress import ip_address
from typing import Protocol

from adapters.bacnet.client import BacnetClient
from adapters.bacnet.commands import CommandState
from adapters.bacnet.maps import BacnetDevice, building_device
from adapters.device import PointReading, WriteResult
from adapters.errors import AdapterError, DeviceMapError, DeviceUnreachable
from adapters.modbus.client import ModbusDeviceClient
from adapters.modbus.connection import ModbusConnection
from adapters.modbus.inverter import SunSpecInverterClient
from adapters.modbus.maps import DeviceMap, builtin_map_names, load_builtin_map, load_device_map
from adapters.site import DeviceEndpoint, SiteDevices
from adapters.site import Protocol as DeviceProtocol
from cluster.config import ClusterConfig
from cluster.points import Point
from cluster.timeseries import Quality

#: The only point a SunSpec inverter client can write.
SUNSPEC_WRITABLE_POINT = "power_limit"


@dataclass(frozen=True)
class Target:
    """Where a command goes: the device and the device's own id of the point."""

    endpoint: DeviceEndpoint
    device_point_id: str


def device_point_id(endpoint: DeviceEndpoint, point_id: str) -> str | None:
    """The id ``endpoint`` uses for klaster point ``point_id``; None when it does not serve it."""
    return endpoint.device_point_id(point_id)


def resolve_target(devices: SiteDevices, point_id: str) -> Target | None:
    """The device that serves ``point_id``, or None when no device in the list does.

    When several endpoints could (an owner with a meter and a controller),
    the first whose map holds the point is chosen.
    """
    candidates = [
        Target(endpoint, device_point)
        for endpoint in devices.devices
        if (device_point := device_point_id(endpoint, point_id)) is not None
    ]
    for candidate in candidates:
        if _serves(candidate):
            return candidate
    return candidates[0] if candidates else None


def _serves(target: Target) -> bool:
    endpoint = target.endpoint
    if endpoint.protocol is DeviceProtocol.SUNSPEC:
        return target.device_point_id == SUNSPEC_WRITABLE_POINT
    if endpoint.protocol is DeviceProtocol.MODBUS and endpoint.map is not None:
        try:
            return target.device_point_id in device_map(endpoint.map).point_ids
        except AdapterError:
            return False
    return True


@cache
def device_map(name_or_path: str) -> DeviceMap:
    """A Modbus register map: a built-in map by name, else a map file."""
    if name_or_path in builtin_map_names():
        return load_builtin_map(name_or_path)
    return load_device_map(name_or_path)


class DeviceLink(Protocol):
    """One device as dispatch uses it."""

    endpoint: DeviceEndpoint

    async def read_current(self, device_point: str) -> tuple[float | None, str]:
        """The point's value now and, when it is None, why."""
        ...

    async def write(self, device_point: str, value: float, priority: int | None) -> WriteResult:
        """Write with read-back; raises PointWriteRejected or DeviceUnreachable."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...


def _current_of(readings: Sequence[PointReading], device_point: str) -> tuple[float | None, str]:
    reading = next((r for r in readings if r.point_id == device_point), None)
    if reading is None:
        return None, f"the device reports no point {device_point!r}"
    if reading.quality is not Quality.GOOD or reading.value is None:
        return None, f"{device_point} reads {reading.quality.name.lower()}: {reading.detail}"
    return reading.value, ""


class ModbusLink:
    """A Modbus device (register map or SunSpec inverter).

    Parameters
    ----------
    endpoint
        The device.
    client
        Its client, not yet connected.
    """

    def __init__(
        self, endpoint: DeviceEndpoint, client: ModbusDeviceClient | SunSpecInverterClient
    ) -> None:
        self.endpoint = endpoint
        self.client = client

    async def read_current(self, device_point: str) -> tuple[float | None, str]:
        """Read every point and pick one; a device that went away is reconnected once."""
        for attempt in range(2):
            try:
                await self.client.connect()
                return _current_of(await self.client.read_points(), device_point)
            except DeviceUnreachable as exc:
                if attempt == 1:
                    return None, f"device unreachable: {exc.message}"
                await self.client.close()
            except AdapterError as exc:
                return None, str(exc)
        raise AssertionError("unreachable")

    async def write(self, device_point: str, value: float, priority: int | None) -> WriteResult:
        """Write and read back (Modbus has no priority)."""
        await self.client.connect()
        return await self.client.write_point(device_point, value)

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        await self.client.close()


class BacnetLink:
    """A building controller reached through the dispatcher's one BACnet client.

    Parameters
    ----------
    endpoint
        The device.
    client
        The started BACnet client.
    device
        The controller's address and point bindings.
    """

    def __init__(self, endpoint: DeviceEndpoint, client: BacnetClient, device: BacnetDevice):
        self.endpoint = endpoint
        self.client = client
        self.device = device
        self._found = False
        #: klaster point id of each device point commanded, for the release audit.
        self.klaster_ids: dict[str, str] = {}

    async def read_current(self, device_point: str) -> tuple[float | None, str]:
        """Read the controller's points and pick one; a silent controller is sought again once."""
        try:
            self.device.binding(device_point)
        except DeviceMapError as exc:
            return None, exc.message
        for attempt in range(2):
            try:
                if not self._found:
                    await self.client.discover(self.device)
                    self._found = True
                return _current_of(await self.client.read_points(self.device), device_point)
            except DeviceUnreachable as exc:
                self._found = False
                if attempt == 1:
                    return None, f"device unreachable: {exc.message}"
            except AdapterError as exc:
                return None, str(exc)
        raise AssertionError("unreachable")

    async def write(self, device_point: str, value: float, priority: int | None) -> WriteResult:
        """Command the point at ``priority`` with read-back of the priority array."""
        if priority is None:
            raise AdapterError("a BACnet write needs a priority")
        return await self.client.write_setpoint(self.device, device_point, value, priority)

    async def command_state(self, device_point: str) -> CommandState | str:
        """The point's priority array as read now, or why it could not be read."""
        try:
            return await self.client.command_state(self.device, device_point)
        except AdapterError as exc:
            return str(exc)

    async def relinquish(self, device_point: str, priority: int) -> WriteResult:
        """Relinquish one slot (Null at ``priority``) with read-back; raises like a write."""
        return await self.client.relinquish(self.device, device_point, priority)

    async def release(self) -> list[WriteResult]:
        """Relinquish every slot the client holds on this controller (never raises)."""
        return await self.client.relinquish_all(self.device)

    async def close(self) -> None:
        """Nothing to close: the shared client is closed by its owner."""


def _owner_points(config: ClusterConfig, owner: str) -> list[Point]:
    asset = next((a for a in config.assets.all() if a.id == owner), None)
    return list(asset.points) if asset is not None else []


def modbus_link(endpoint: DeviceEndpoint, config: ClusterConfig, timeout_s: float) -> ModbusLink:
    """A link to a Modbus or SunSpec endpoint (not connected yet).

    Raises
    ------
    DeviceMapError
        If the endpoint's map cannot be read or does not fit the owner's points.
    """
    connection = ModbusConnection(
        host=endpoint.host,
        port=endpoint.port,
        unit_id=endpoint.unit_id,
        timeout_s=timeout_s,
        reconnect_delay_s=0.1,
        reconnect_delay_max_s=1.0,
    )
    points = _owner_points(config, endpoint.owner)
    if endpoint.protocol is DeviceProtocol.SUNSPEC:
        return ModbusLink(endpoint, SunSpecInverterClient(endpoint.id, connection, points=points))
    if endpoint.map is None:
        raise DeviceMapError(f"device {endpoint.id!r} has no register map", fix="add map = ...")
    client = ModbusDeviceClient(endpoint.id, device_map(endpoint.map), connection, points=points)
    return ModbusLink(endpoint, client)


def bacnet_link(
    endpoint: DeviceEndpoint, config: ClusterConfig, client: BacnetClient
) -> BacnetLink:
    """A link to a building controller; its owner must be a building of the configuration.

    Raises
    ------
    DeviceMapError
        If the owner is not a building, or the controller map does not fit it.
    """
    building = next((b for b in config.assets.buildings if b.id == endpoint.owner), None)
    if building is None or endpoint.device_instance is None:
        raise DeviceMapError(
            f"BACnet device {endpoint.id!r}: its owner {endpoint.owner!r} is not a building "
            "of the cluster configuration",
            fix="set owner to the building's id, or give the configuration the building",
        )
    device = building_device(building, f"{endpoint.host}:{endpoint.port}", endpoint.device_instance)
    return BacnetLink(endpoint, client, device)


def local_bacnet_address(endpoints: Sequence[DeviceEndpoint]) -> str:
    """A free local UDP address for klaster's BACnet client.

    Loopback when every controller is on loopback (a rig), else every
    interface; the port is one the system reports free.
    """
    loopback = all(_is_loopback(e.host) for e in endpoints)
    host = "127.0.0.1" if loopback else "0.0.0.0"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        port = int(probe.getsockname()[1])
    return f"{host}:{port}"


def _is_loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
