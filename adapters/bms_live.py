"""Live zone state from the building controllers over BACnet, with who holds each command.

For every building controller of the site's device list, :func:`read_live`
reads every point (present value, status flags, quality) and, for each zone's
setpoint and heating output, the priority array: which priority is in
control, with what value, and which slots are occupied. A controller that
does not answer gives a :class:`BuildingLive` with its ``error`` and no
values; the other buildings are unaffected.

:func:`live_readings` lays the reads out as a long readings frame (the
store's frame), so that live values and stored history go through the same
rules; the priority in control of a zone point ``p`` is the pseudo-series
``point/<building>/<zone>/p_priority`` (17: no slot, the relinquish default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from adapters.bacnet.client import BacnetClient
from adapters.bacnet.maps import BacnetDevice, building_device, zone_point_id
from adapters.device import PointReading
from adapters.dispatch_links import local_bacnet_address
from adapters.errors import AdapterError
from adapters.site import DeviceEndpoint, SiteDevices
from adapters.site import Protocol as DeviceProtocol
from bms.flexibility import SetpointHold
from bms.frames import PRIORITY_SUFFIX, RELINQUISH_DEFAULT, zone_point_series
from cluster.config import ClusterConfig, PublicBuilding
from cluster.errors import ConfigError, ConfigProblem
from cluster.timeseries import READING_COLUMNS, Quality, SeriesId

#: The zone points whose priority arrays are read.
COMMANDED_POINTS = ("setpoint", "heat_output")
#: Controllers read at the same time, at most.
CONCURRENT_CONTROLLERS = 8


@dataclass(frozen=True)
class PointHold:
    """A commandable point's priority array as read: who is in control, and with what.

    ``slots`` holds the 16 slot values (None: empty); ``active_priority`` is
    None when every slot is empty and the relinquish default applies.
    """

    active_priority: int | None
    present_value: float | None
    slots: tuple[float | None, ...]

    @property
    def occupied(self) -> list[tuple[int, float | None]]:
        """(priority, value) of every occupied slot, most important first."""
        return [(i + 1, v) for i, v in enumerate(self.slots) if v is not None]


@dataclass(frozen=True)
class ZoneLive:
    """One zone as read: its readings by zone point id, and its holds (or why unread)."""

    zone_id: str
    readings: dict[str, PointReading]
    holds: dict[str, PointHold | str]


@dataclass(frozen=True)
class BuildingLive:
    """One building controller as read.

    ``error`` says why the controller gave nothing (then ``zones`` and
    ``readings`` are empty); ``readings`` holds the building's own points
    (``meter_power`` in kW, ``meter_energy`` in kWh).
    """

    building_id: str
    device_id: str
    read_at: datetime
    zones: tuple[ZoneLive, ...] = ()
    readings: dict[str, PointReading] = field(default_factory=dict)
    error: str = ""


def building_endpoints(
    site: SiteDevices, config: ClusterConfig, buildings: Collection[str] | None = None
) -> list[tuple[DeviceEndpoint, PublicBuilding]]:
    """The BACnet controllers of the site with their buildings (only ``buildings`` if given).

    Raises
    ------
    ConfigError
        If a building asked for is not in the configuration or has no controller.
    """
    known = {b.id: b for b in config.assets.buildings}
    pairs = [
        (endpoint, known[endpoint.owner])
        for endpoint in site.devices
        if endpoint.protocol is DeviceProtocol.BACNET and endpoint.owner in known
    ]
    if buildings is None:
        return pairs
    served = {building.id for _, building in pairs}
    problems = [
        ConfigProblem(
            wanted,
            "not a building of the configuration"
            if wanted not in known
            else "no BACnet controller in the device list serves it",
            f"use one of: {', '.join(sorted(served))}",
        )
        for wanted in buildings
        if wanted not in served
    ]
    if problems:
        raise ConfigError("--building", problems)
    return [(endpoint, building) for endpoint, building in pairs if building.id in buildings]


async def read_building(
    client: BacnetClient, endpoint: DeviceEndpoint, building: PublicBuilding
) -> BuildingLive:
    """Read one building controller: every point, then the zones' priority arrays."""
    assert endpoint.device_instance is not None  # a BACnet endpoint always has one
    device = building_device(building, f"{endpoint.host}:{endpoint.port}", endpoint.device_instance)
    read_at = datetime.now(UTC)
    try:
        readings = {r.point_id: r for r in await client.read_points(device)}
    except AdapterError as exc:
        return BuildingLive(building.id, endpoint.id, read_at, error=str(exc))
    zones = []
    for zone in building.zones:
        mine = {
            point: readings[device_point]
            for point in ("room_temp", "setpoint", "occupancy", "heat_output")
            if (device_point := zone_point_id(zone.id, point)) in readings
        }
        holds = {point: await _hold(client, device, zone.id, point) for point in COMMANDED_POINTS}
        zones.append(ZoneLive(zone.id, mine, holds))
    own = {p: r for p, r in readings.items() if "." not in p}
    return BuildingLive(building.id, endpoint.id, read_at, tuple(zones), own)


async def _hold(
    client: BacnetClient, device: BacnetDevice, zone_id: str, point: str
) -> PointHold | str:
    try:
        state = await client.command_state(device, zone_point_id(zone_id, point))
    except AdapterError as exc:
        return exc.message
    return PointHold(state.active_priority, state.present_value, tuple(state.slots))


class LiveReader:
    """Reads building controllers again and again through one BACnet client.

    Use it as ``async with LiveReader(site, config) as reader:`` and call
    :meth:`read`; the parameters are those of :func:`read_live`.
    """

    def __init__(
        self,
        site: SiteDevices,
        config: ClusterConfig,
        *,
        timeout_s: float = 2.0,
        local_address: str | None = None,
    ) -> None:
        self.site = site
        self.config = config
        controllers = [e for e in site.devices if e.protocol is DeviceProtocol.BACNET]
        address = local_address or local_bacnet_address(controllers)
        self._client = BacnetClient(address, timeout_s=timeout_s)
        self._limit = asyncio.Semaphore(CONCURRENT_CONTROLLERS)

    async def __aenter__(self) -> LiveReader:
        await self._client.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Reads only: the client never commands, so there is nothing to release.
        await self._client.close()

    async def read(self, buildings: Collection[str] | None = None) -> list[BuildingLive]:
        """Read every building controller of the site (only ``buildings`` if given).

        Raises
        ------
        ConfigError
            If a building asked for has no controller in the device list.
        """
        pairs = building_endpoints(self.site, self.config, buildings)

        async def one(endpoint: DeviceEndpoint, building: PublicBuilding) -> BuildingLive:
            async with self._limit:
                return await read_building(self._client, endpoint, building)

        return list(await asyncio.gather(*(one(e, b) for e, b in pairs)))


async def read_live(
    site: SiteDevices,
    config: ClusterConfig,
    *,
    buildings: Collection[str] | None = None,
    timeout_s: float = 2.0,
    local_address: str | None = None,
) -> list[BuildingLive]:
    """Read every building controller of the site once (only ``buildings`` if given).

    Parameters
    ----------
    site
        The site's devices.
    config
        The cluster configuration (the buildings, their zones and points).
    buildings
        Building ids to read; every building with a controller when None.
    timeout_s
        Budget of each BACnet request, s.
    local_address
        klaster's BACnet/IP address, ``host:port``; a free local port when None.

    Raises
    ------
    ConfigError
        If a building asked for has no controller in the device list.
    AdapterError
        If the local BACnet address cannot be bound.
    """
    building_endpoints(site, config, buildings)  # a wrong building fails before any socket
    reader = LiveReader(site, config, timeout_s=timeout_s, local_address=local_address)
    async with reader:
        return await reader.read(buildings)


def live_readings(live: Sequence[BuildingLive], at: datetime | None = None) -> pd.DataFrame:
    """The reads as a long readings frame (:data:`~cluster.timeseries.READING_COLUMNS`).

    Zone points are ``point/<building>/<zone>/<point>``; the priority in
    control of each commanded point is ``point/<building>/<zone>/<point>_priority``
    (:data:`RELINQUISH_DEFAULT` when no slot is). Every read of a building is
    stamped with its ``read_at`` (or ``at`` when given, e.g. a rig's simulated
    time), truncated to the whole second.
    """
    rows: list[tuple[str, datetime, float, str, int]] = []
    for building in live:
        ts = at or building.read_at
        for point, reading in building.readings.items():
            rows.append((SeriesId.point(building.building_id, point), ts, *_value(reading)))
        for zone in building.zones:
            for point, reading in zone.readings.items():
                series = zone_point_series(building.building_id, zone.zone_id, point)
                rows.append((series, ts, *_value(reading)))
            for point, hold in zone.holds.items():
                if isinstance(hold, str):
                    continue
                series = zone_point_series(
                    building.building_id, zone.zone_id, f"{point}{PRIORITY_SUFFIX}"
                )
                priority = hold.active_priority or RELINQUISH_DEFAULT
                rows.append((series, ts, float(priority), "1", int(Quality.GOOD)))
    frame = pd.DataFrame(rows, columns=list(READING_COLUMNS))
    # The store keys readings by whole seconds, as the poller stamps them.
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.floor("s")
    return frame


def _value(reading: PointReading) -> tuple[float, str, int]:
    value = np.nan if reading.value is None else float(reading.value)
    return value, reading.unit, int(reading.quality)


def setpoint_holds(live: Sequence[BuildingLive]) -> dict[tuple[str, str], SetpointHold]:
    """Who holds each zone setpoint, by (building, zone); zones whose array was unread are left
    out (the flexibility then excludes them)."""
    holds: dict[tuple[str, str], SetpointHold] = {}
    for building in live:
        for zone in building.zones:
            hold = zone.holds.get("setpoint")
            if isinstance(hold, PointHold):
                holds[(building.building_id, zone.zone_id)] = SetpointHold(
                    building.building_id, zone.zone_id, hold.active_priority, hold.present_value
                )
    return holds
