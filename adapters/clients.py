"""One device client per endpoint: how the poller reaches each device of a site.

:class:`DeviceClientFactory` turns a :class:`~adapters.site.DeviceEndpoint`
into the client of its protocol:

* ``modbus`` — :class:`~adapters.modbus.ModbusDeviceClient` with the endpoint's
  register map (a built-in map name, or a file path; a relative path is taken
  from the folder of the device list);
* ``sunspec`` — :class:`~adapters.modbus.SunSpecInverterClient` (the models are
  discovered on the first connection);
* ``bacnet`` — a :class:`~adapters.bacnet.BacnetConnection` to the controller of
  the building named by the endpoint's ``owner``, through one
  :class:`~adapters.bacnet.BacnetClient` shared by every BACnet device (one
  UDP socket per process).

The configured points of the cluster tighten what the clients accept: a
device point whose klaster point (see :func:`klaster_point`) is configured
reads OUT_OF_RANGE outside that point's range, and its unit must agree with
the device map's.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.bacnet import BacnetClient, BacnetConnection, building_device
from adapters.device import DeviceClient
from adapters.errors import AdapterError, DeviceMapError
from adapters.modbus import (
    ModbusConnection,
    ModbusDeviceClient,
    RetryPolicy,
    SunSpecInverterClient,
    load_builtin_map,
    load_device_map,
)
from adapters.modbus.inverter import POINT_UNITS as SUNSPEC_POINT_UNITS
from adapters.modbus.maps import DeviceMap, builtin_map_names
from adapters.site import DeviceEndpoint, Protocol
from cluster.config import ClusterConfig
from cluster.errors import KlasterError
from cluster.points import Point

#: Points every SunSpec inverter has; the power limit and MPPT inputs depend on its models.
SUNSPEC_BASE_POINTS = ("ac_power", "energy_total", "status")


def klaster_point(endpoint: DeviceEndpoint, device_point_id: str) -> tuple[str, str]:
    """The (asset id, point id) a device point's readings belong to.

    The klaster point id of :meth:`DeviceEndpoint.klaster_point_id` is split
    at its first ``/``: ``owner/z1/room_temp`` → (``owner``, ``z1/room_temp``),
    an alias ``light-07/dim_level`` → (``light-07``, ``dim_level``). An alias
    without ``/`` names a point of the endpoint's owner.
    """
    asset_id, slash, point_id = endpoint.klaster_point_id(device_point_id).partition("/")
    if not slash:
        return endpoint.owner, asset_id
    return asset_id, point_id


@dataclass(frozen=True)
class ClientSettings:
    """How the clients talk to their devices.

    Parameters
    ----------
    modbus_timeout_s
        Wait for one Modbus answer before the device counts as not answering, s.
    bacnet_timeout_s
        Budget of one BACnet request, s.
    bacnet_local_address
        The local BACnet/IP address, ``host:port``. When None, a free port on
        127.0.0.1 is taken, which reaches only devices on loopback (the rig).
    retry
        Retry of busy/failed Modbus answers within one poll.
    """

    modbus_timeout_s: float = 1.0
    bacnet_timeout_s: float = 3.0
    bacnet_local_address: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class PolledDevice:
    """A device ready to be polled: its endpoint, its client and the points it is known to have.

    ``points`` maps the device point ids known before the first read to their
    units; the poller writes them STALE when the device does not answer.
    """

    endpoint: DeviceEndpoint
    client: DeviceClient
    points: dict[str, str]


def free_loopback_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing holds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class DeviceClientFactory:
    """Builds the client of each endpoint; owns the BACnet client they share.

    Parameters
    ----------
    config
        The cluster whose assets the devices serve (points and buildings).
    settings
        Timeouts, retries and the local BACnet address.
    base_dir
        Folder that relative map paths are resolved against (the device list's).
    """

    def __init__(
        self,
        config: ClusterConfig,
        settings: ClientSettings | None = None,
        *,
        base_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or ClientSettings()
        self.base_dir = base_dir or Path.cwd()
        self._maps: dict[str, DeviceMap] = {}
        self._points: dict[str, dict[str, Point]] = {
            asset.id: {p.id: p for p in asset.points} for asset in config.assets.all()
        }
        self._buildings = {b.id: b for b in config.assets.buildings}
        self._bacnet: BacnetClient | None = None
        self._bacnet_auto_address = False

    @property
    def bacnet_client(self) -> BacnetClient | None:
        """The shared BACnet client, once a BACnet device has been built."""
        return self._bacnet

    def build_all(self, endpoints: Sequence[DeviceEndpoint]) -> list[PolledDevice]:
        """Build every endpoint's client, reporting every device that cannot be built at once.

        Raises
        ------
        DeviceMapError
            Naming each device whose map, owner or address does not work, with its fix.
        """
        built: list[PolledDevice] = []
        problems: list[str] = []
        for endpoint in endpoints:
            try:
                built.append(self.build(endpoint))
            except KlasterError as exc:
                problems.append(f"{endpoint.id}: {exc}".replace("\n", "\n    "))
        if problems:
            raise DeviceMapError(
                f"{len(problems)} device(s) cannot be polled:\n  " + "\n  ".join(problems),
                fix="correct the device list or the cluster configuration as each line says",
            )
        return built

    def build(self, endpoint: DeviceEndpoint) -> PolledDevice:
        """The client of one endpoint (not yet connected).

        Raises
        ------
        DeviceMapError
            When the map cannot be loaded or disagrees with the configured points,
            or a BACnet device's owner is not a building of the configuration.
        AdapterError
            When the local BACnet address cannot serve the device.
        """
        if endpoint.protocol is Protocol.MODBUS:
            return self._modbus(endpoint)
        if endpoint.protocol is Protocol.SUNSPEC:
            return self._sunspec(endpoint)
        return self._bacnet_device(endpoint)

    async def start(self) -> None:
        """Open what the clients share (the BACnet socket); safe to call twice."""
        if self._bacnet is not None:
            await self._bacnet.start()

    async def close(self) -> None:
        """Close what the clients share; safe to call twice."""
        if self._bacnet is not None:
            await self._bacnet.close()

    # --- per protocol -------------------------------------------------------------

    def _connection(self, endpoint: DeviceEndpoint) -> ModbusConnection:
        return ModbusConnection(
            host=endpoint.host,
            port=endpoint.port,
            unit_id=endpoint.unit_id,
            timeout_s=self.settings.modbus_timeout_s,
        )

    def _configured(self, endpoint: DeviceEndpoint, device_point_ids: Sequence[str]) -> list[Point]:
        """The configured points of device points, renamed to the device's point ids."""
        configured = []
        for device_point_id in device_point_ids:
            asset_id, point_id = klaster_point(endpoint, device_point_id)
            point = self._points.get(asset_id, {}).get(point_id)
            if point is not None:
                configured.append(point.model_copy(update={"id": device_point_id}))
        return configured

    def _device_map(self, name: str) -> DeviceMap:
        if name not in self._maps:
            if name in builtin_map_names():
                self._maps[name] = load_builtin_map(name)
            else:
                path = Path(name).expanduser()
                self._maps[name] = load_device_map(
                    path if path.is_absolute() else self.base_dir / path
                )
        return self._maps[name]

    def _modbus(self, endpoint: DeviceEndpoint) -> PolledDevice:
        assert endpoint.map is not None  # checked by DeviceEndpoint
        device_map = self._device_map(endpoint.map)
        numeric = [p for p in device_map.points if not p.is_text]
        client = ModbusDeviceClient(
            endpoint.id,
            device_map,
            self._connection(endpoint),
            points=self._configured(endpoint, [p.point_id for p in numeric]),
            retry=self.settings.retry,
        )
        return PolledDevice(endpoint, client, {p.point_id: p.unit for p in numeric})

    def _sunspec(self, endpoint: DeviceEndpoint) -> PolledDevice:
        client = SunSpecInverterClient(
            endpoint.id,
            self._connection(endpoint),
            points=self._configured(endpoint, list(SUNSPEC_POINT_UNITS)),
            retry=self.settings.retry,
        )
        points = {p: SUNSPEC_POINT_UNITS[p] for p in SUNSPEC_BASE_POINTS}
        return PolledDevice(endpoint, client, points)

    def _bacnet_device(self, endpoint: DeviceEndpoint) -> PolledDevice:
        building = self._buildings.get(endpoint.owner)
        if building is None:
            known = ", ".join(list(self._buildings)[:8]) or "none"
            raise DeviceMapError(
                f"the owner {endpoint.owner!r} of BACnet device {endpoint.id!r} is not a building "
                "of the cluster configuration",
                fix=f"set owner to the building whose controller it is (buildings: {known}), "
                "or pass the cluster file that has the building (--config)",
            )
        assert endpoint.device_instance is not None  # checked by DeviceEndpoint
        device = building_device(
            building, f"{endpoint.host}:{endpoint.port}", endpoint.device_instance
        )
        client = BacnetConnection(self._shared_bacnet_client(endpoint), device)
        points = {b.point_id: b.point.unit for b in device.bindings}
        return PolledDevice(endpoint, client, points)

    def _shared_bacnet_client(self, endpoint: DeviceEndpoint) -> BacnetClient:
        if self._bacnet is None:
            address = self.settings.bacnet_local_address
            if address is None:
                self._bacnet_auto_address = True
                address = f"127.0.0.1:{free_loopback_udp_port()}"
            self._bacnet = BacnetClient(address, timeout_s=self.settings.bacnet_timeout_s)
        if self._bacnet_auto_address and not _is_loopback(endpoint.host):
            raise AdapterError(
                f"BACnet device {endpoint.id!r} is at {endpoint.host}, but no local BACnet/IP "
                "address was given, so the poller listens on loopback only",
                fix="give the local address of the BACnet network interface, "
                "e.g. --bacnet-address 192.168.10.5:47808",
            )
        return self._bacnet
