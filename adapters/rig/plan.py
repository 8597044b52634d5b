"""Which simulated devices a cluster configuration gives, and how the site lists them.

One device per:

* PV plant — a SunSpec inverter (``inv-<plant>``);
* connection point — an energy meter (``meter-<connection point>``);
* waste-to-energy CHP and biogas CHP — a plant PLC (``plc-<asset>``);
* battery — a battery controller (``bat-<battery>``);
* connection point with lighting circuits — one cabinet controller
  (``cab-<connection point>``) whose circuit blocks carry the circuits in
  configuration order;
* public building — a BACnet/IP building controller (``bacnet-<building>``),
  device instance :data:`FIRST_DEVICE_INSTANCE` + its index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from adapters.modbus.maps import load_builtin_map
from adapters.rig.errors import RigError
from adapters.site import DeviceEndpoint, Protocol
from cluster.config import ClusterConfig

#: Device instance of the first building controller; the next ones count up.
FIRST_DEVICE_INSTANCE = 10_000
#: The cabinet map's repeating block: its name and how many circuits one cabinet carries.
CIRCUIT_BLOCK = "circuit"


class DeviceKind(StrEnum):
    """What a simulated device is."""

    INVERTER = "inverter"
    METER = "meter"
    WTE_PLC = "wte_plc"
    BIOGAS_PLC = "biogas_plc"
    BATTERY = "battery"
    LIGHTING_CABINET = "lighting_cabinet"
    BUILDING_CONTROLLER = "building_controller"


#: The built-in register map of each Modbus device kind (SunSpec inverters have none).
MAP_OF_KIND: dict[DeviceKind, str] = {
    DeviceKind.METER: "energy_meter",
    DeviceKind.WTE_PLC: "wte_plc",
    DeviceKind.BIOGAS_PLC: "biogas_chp",
    DeviceKind.BATTERY: "battery",
    DeviceKind.LIGHTING_CABINET: "lighting_cabinet",
}


@dataclass(frozen=True)
class PlannedDevice:
    """One device of the rig before it is bound to a port.

    Parameters
    ----------
    device_id
        The endpoint id, e.g. ``inv-pv-farm``.
    kind
        What the device is.
    owner
        The asset (or connection point, for meters and cabinets) it serves.
    assets
        The asset ids behind the device: the plant, the CHP, or a cabinet's
        circuits in block order.
    device_instance
        BACnet device instance (building controllers only).
    point_aliases
        Device point id → klaster point id, for a cabinet's circuits.
    """

    device_id: str
    kind: DeviceKind
    owner: str
    assets: tuple[str, ...] = ()
    device_instance: int | None = None
    point_aliases: dict[str, str] = field(default_factory=dict)

    @property
    def protocol(self) -> Protocol:
        """How klaster talks to the device."""
        if self.kind is DeviceKind.INVERTER:
            return Protocol.SUNSPEC
        if self.kind is DeviceKind.BUILDING_CONTROLLER:
            return Protocol.BACNET
        return Protocol.MODBUS

    @property
    def map_name(self) -> str | None:
        """The built-in register map, for mapped Modbus devices."""
        return MAP_OF_KIND.get(self.kind)

    def endpoint(self, host: str, port: int) -> DeviceEndpoint:
        """The device as the site's device list gives it, at ``host:port``."""
        return DeviceEndpoint(
            id=self.device_id,
            owner=self.owner,
            protocol=self.protocol,
            host=host,
            port=port,
            map=self.map_name,
            device_instance=self.device_instance,
            point_aliases=dict(self.point_aliases),
        )


def cabinet_aliases(circuit_ids: list[str]) -> dict[str, str]:
    """Cabinet point ids (``circuit01.dim_level``) → klaster ids (``light-07/dim_level``).

    Parameters
    ----------
    circuit_ids
        The circuits on the cabinet, in block order (block 1 first).
    """
    cabinet_map = load_builtin_map(MAP_OF_KIND[DeviceKind.LIGHTING_CABINET])
    aliases: dict[str, str] = {}
    for point_id in cabinet_map.point_ids:
        block, dot, point = point_id.partition(".")
        if not dot or not block.startswith(CIRCUIT_BLOCK):
            continue
        index = int(block.removeprefix(CIRCUIT_BLOCK))
        if index <= len(circuit_ids):
            aliases[point_id] = f"{circuit_ids[index - 1]}/{point}"
    return aliases


def circuits_per_cabinet() -> int:
    """How many circuit blocks the cabinet map has."""
    cabinet_map = load_builtin_map(MAP_OF_KIND[DeviceKind.LIGHTING_CABINET])
    return sum(
        1 for p in cabinet_map.point_ids if p.startswith(CIRCUIT_BLOCK) and p.endswith(".on_off")
    )


def plan_devices(config: ClusterConfig) -> list[PlannedDevice]:
    """Every device the rig serves for ``config``, Modbus devices first.

    Raises
    ------
    RigError
        If a connection point has more lighting circuits than one cabinet carries.
    """
    assets = config.assets
    devices = [
        PlannedDevice(f"inv-{plant.id}", DeviceKind.INVERTER, plant.id, (plant.id,))
        for plant in assets.pv_plants
    ]
    devices += [
        PlannedDevice(f"meter-{cp.id}", DeviceKind.METER, cp.id, (cp.id,))
        for cp in config.connection_points
    ]
    devices += [
        PlannedDevice(f"plc-{chp.id}", DeviceKind.WTE_PLC, chp.id, (chp.id,))
        for chp in assets.wte_chps
    ]
    devices += [
        PlannedDevice(f"plc-{chp.id}", DeviceKind.BIOGAS_PLC, chp.id, (chp.id,))
        for chp in assets.biogas_chps
    ]
    devices += [
        PlannedDevice(f"bat-{battery.id}", DeviceKind.BATTERY, battery.id, (battery.id,))
        for battery in assets.batteries
    ]
    capacity = circuits_per_cabinet()
    for cp in config.connection_points:
        circuits = [c.id for c in assets.lighting_circuits if c.connection_point == cp.id]
        if not circuits:
            continue
        if len(circuits) > capacity:
            raise RigError(
                f"connection point {cp.id!r} has {len(circuits)} lighting circuits; one "
                f"cabinet controller carries {capacity}",
                fix=f"split the circuits over connection points of at most {capacity} each",
            )
        devices.append(
            PlannedDevice(
                f"cab-{cp.id}",
                DeviceKind.LIGHTING_CABINET,
                cp.id,
                tuple(circuits),
                point_aliases=cabinet_aliases(circuits),
            )
        )
    devices += [
        PlannedDevice(
            f"bacnet-{building.id}",
            DeviceKind.BUILDING_CONTROLLER,
            building.id,
            (building.id,),
            device_instance=FIRST_DEVICE_INSTANCE + index,
        )
        for index, building in enumerate(assets.buildings)
    ]
    return devices
