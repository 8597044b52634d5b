"""BACnet object maps as data: which BACnet object carries which klaster point.

A building controller map (TOML, see ``maps/building_controller.toml``) names,
for every zone, the object type of each zone point, and for the building its
fixed objects (the main meter). Instances are numbered by zone index, so one
map serves every building whatever its number of zones:
:func:`building_object_map` turns a :class:`~cluster.config.PublicBuilding`
into the list of :class:`BacnetPointBinding` its controller serves.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Self

from bacpypes3.basetypes import EngineeringUnits
from bacpypes3.pdu import Address, IPv4Address
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from adapters.errors import DeviceMapError
from cluster.config import PublicBuilding
from cluster.points import Point

#: The highest device or object instance BACnet allows (4194303 is the wildcard).
MAX_INSTANCE = 4_194_302

Instance = Annotated[int, Field(ge=0, le=MAX_INSTANCE)]

DEFAULT_BUILDING_MAP = "building_controller.toml"


class BacnetObjectType(StrEnum):
    """The standard object types a map may bind a point to."""

    ANALOG_INPUT = "analog-input"
    ANALOG_OUTPUT = "analog-output"
    ANALOG_VALUE = "analog-value"
    BINARY_INPUT = "binary-input"
    BINARY_OUTPUT = "binary-output"
    BINARY_VALUE = "binary-value"

    @property
    def is_binary(self) -> bool:
        """True for objects whose present value is active/inactive."""
        return self.value.startswith("binary-")


#: Object types whose present value klaster may command (through the priority array).
COMMANDABLE_TYPES = frozenset({BacnetObjectType.ANALOG_OUTPUT, BacnetObjectType.ANALOG_VALUE})


class _MapModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MappedObject(_MapModel):
    """One point of the map and the BACnet object that carries it."""

    point: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    object_type: BacnetObjectType
    units: str | None = Field(
        default=None, description="BACnet engineering units, e.g. 'degrees-celsius'"
    )
    commandable: bool = Field(
        default=False, description="the object has a priority array (writes go through it)"
    )

    @model_validator(mode="after")
    def _units_and_command_fit_the_type(self) -> Self:
        if self.units is not None:
            if self.object_type.is_binary:
                raise ValueError(f"a {self.object_type} object has no units; remove 'units'")
            try:
                EngineeringUnits(self.units)
            except ValueError:
                raise ValueError(
                    f"{self.units!r} is not a BACnet engineering unit; use a name such as "
                    "'degrees-celsius', 'percent', 'kilowatts' or 'kilowatt-hours'"
                ) from None
        if self.commandable and self.object_type not in COMMANDABLE_TYPES:
            raise ValueError(
                f"klaster commands only analog-output and analog-value objects, "
                f"not {self.object_type}; remove 'commandable'"
            )
        return self


class ZoneObject(MappedObject):
    """A zone point: instance = first_instance + (zone number - 1) * step + offset."""

    instance_offset: int = Field(default=0, ge=0)


class BuildingObject(MappedObject):
    """A building-wide point at a fixed instance."""

    instance: Instance


class ZoneObjects(_MapModel):
    """How the objects of each zone are numbered, and which points a zone has."""

    first_instance: Instance = 1
    instance_step: int = Field(default=1, ge=1)
    max_zones: int = Field(default=999, ge=1)
    points: list[ZoneObject] = Field(min_length=1)

    @model_validator(mode="after")
    def _instances_distinct(self) -> Self:
        _check_unique_points(p.point for p in self.points)
        seen: dict[tuple[BacnetObjectType, int], str] = {}
        for p in self.points:
            if p.instance_offset >= self.instance_step:
                raise ValueError(
                    f"point {p.point!r}: instance_offset {p.instance_offset} reaches the next "
                    f"zone's instances; make instance_step larger than every offset"
                )
            key = (p.object_type, p.instance_offset)
            if key in seen:
                raise ValueError(
                    f"points {seen[key]!r} and {p.point!r} are both {p.object_type} with "
                    f"instance_offset {p.instance_offset}; give one of them another offset"
                )
            seen[key] = p.point
        if self.last_instance > MAX_INSTANCE:
            raise ValueError(
                f"max_zones {self.max_zones} with instance_step {self.instance_step} reaches "
                f"instance {self.last_instance}, above BACnet's {MAX_INSTANCE}; lower max_zones"
            )
        return self

    @property
    def last_instance(self) -> int:
        """The highest instance any zone object can get."""
        offsets = max(p.instance_offset for p in self.points)
        return self.first_instance + (self.max_zones - 1) * self.instance_step + offsets

    def instance(self, zone_number: int, point: ZoneObject) -> int:
        """The instance of ``point`` in zone ``zone_number`` (1-based)."""
        return self.first_instance + (zone_number - 1) * self.instance_step + point.instance_offset


class BuildingObjects(_MapModel):
    """The building-wide objects (meters)."""

    points: list[BuildingObject] = Field(default_factory=list)


class BuildingControllerMap(_MapModel):
    """A building controller's object map, as read from a TOML file."""

    name: str = Field(min_length=1)
    description: str = ""
    zone: ZoneObjects
    building: BuildingObjects = Field(default_factory=BuildingObjects)
    _source: str = PrivateAttr(default="<map>")

    @property
    def source(self) -> str:
        """The file the map was read from (named in errors)."""
        return self._source

    @model_validator(mode="after")
    def _building_objects_clear_of_zones(self) -> Self:
        _check_unique_points(
            [*(p.point for p in self.zone.points), *(p.point for p in self.building.points)]
        )
        zone_types = {p.object_type for p in self.zone.points}
        seen: dict[tuple[BacnetObjectType, int], str] = {}
        for p in self.building.points:
            key = (p.object_type, p.instance)
            if key in seen:
                raise ValueError(
                    f"building points {seen[key]!r} and {p.point!r} are both {p.object_type} "
                    f"{p.instance}; give each its own instance"
                )
            seen[key] = p.point
            inside = self.zone.first_instance <= p.instance <= self.zone.last_instance
            if p.object_type in zone_types and inside:
                raise ValueError(
                    f"building point {p.point!r} ({p.object_type} {p.instance}) lies in the zone "
                    f"range {self.zone.first_instance}-{self.zone.last_instance}; move it above "
                    f"{self.zone.last_instance} or lower zone.max_zones"
                )
        return self


def _check_unique_points(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"point {name!r} is mapped twice; map every point once")
        seen.add(name)


# --- bindings --------------------------------------------------------------------


@dataclass(frozen=True)
class BacnetPointBinding:
    """A klaster point bound to one BACnet object of a device.

    ``point_id`` is the id within the building: the building's own point id
    (``meter_power``) or ``<zone id>.<point id>`` for a zone point
    (``z1.setpoint``, see :func:`zone_point_id`).
    """

    point_id: str
    point: Point
    object_type: BacnetObjectType
    instance: int
    units: str | None = None
    commandable: bool = False

    @property
    def object_identifier(self) -> str:
        """The object identifier as bacpypes3 spells it, e.g. ``analog-value,3``."""
        return f"{self.object_type},{self.instance}"

    @property
    def writable(self) -> bool:
        """True when klaster may command the point: a writable point on a commandable object."""
        return self.commandable and self.point.writable


@dataclass(frozen=True)
class BacnetDevice:
    """One BACnet device klaster talks to: where it is and what it serves.

    Parameters
    ----------
    device_id
        The asset id the device belongs to (a building id).
    address
        The device's BACnet/IP address, ``host:port`` (e.g. ``10.1.2.3:47808``).
    device_instance
        The device object instance (0 to 4194302).
    bindings
        The points the device serves.
    """

    device_id: str
    address: str
    device_instance: int
    bindings: tuple[BacnetPointBinding, ...]

    def __post_init__(self) -> None:
        try:
            parsed = Address(self.address)
        except (ValueError, TypeError, RuntimeError):
            # bacpypes3 raises RuntimeError for a host name it cannot resolve.
            parsed = None
        if not isinstance(parsed, IPv4Address):
            raise DeviceMapError(
                f"device {self.device_id!r}: {self.address!r} is not a BACnet/IP address",
                fix="write it as host:port, e.g. 192.168.10.20:47808",
            )
        if not 0 <= self.device_instance <= MAX_INSTANCE:
            raise DeviceMapError(
                f"device {self.device_id!r}: instance {self.device_instance} is outside "
                f"0-{MAX_INSTANCE}",
                fix="use the device instance configured in the controller",
            )

    def binding(self, point_id: str) -> BacnetPointBinding:
        """The binding of ``point_id``; raises DeviceMapError when the device has none."""
        for b in self.bindings:
            if b.point_id == point_id:
                return b
        known = ", ".join(b.point_id for b in self.bindings)
        raise DeviceMapError(
            f"device {self.device_id!r} has no point {point_id!r}",
            fix=f"use one of its points: {known}",
        )


def zone_point_id(zone_id: str, point_id: str) -> str:
    """The id of a zone's point within its building, e.g. ``z1.setpoint``."""
    return f"{zone_id}.{point_id}"


def building_object_map(
    building: PublicBuilding, building_map: BuildingControllerMap | None = None
) -> list[BacnetPointBinding]:
    """Bind every point the map names to its object on the building's controller.

    Parameters
    ----------
    building
        The building; zone ``n`` of ``building.zones`` (1-based) gets the zone
        instances of number ``n``.
    building_map
        The controller map; the packaged building controller map by default.

    Raises
    ------
    DeviceMapError
        If the building has more zones than the map numbers, or lacks a point
        the map names.
    """
    object_map = building_map if building_map is not None else _packaged_map()
    problems: list[str] = []
    if len(building.zones) > object_map.zone.max_zones:
        problems.append(
            f"building {building.id!r} has {len(building.zones)} zones, the map numbers at "
            f"most zone.max_zones = {object_map.zone.max_zones}"
        )
    bindings: list[BacnetPointBinding] = []
    for number, zone in enumerate(building.zones, start=1):
        points = {p.id: p for p in zone.points}
        for mapped in object_map.zone.points:
            if mapped.point not in points:
                problems.append(
                    f"zone {zone.id!r} of building {building.id!r} has no point "
                    f"{mapped.point!r} (map key zone.points)"
                )
                continue
            bindings.append(
                BacnetPointBinding(
                    point_id=zone_point_id(zone.id, mapped.point),
                    point=points[mapped.point],
                    object_type=mapped.object_type,
                    instance=object_map.zone.instance(number, mapped),
                    units=mapped.units,
                    commandable=mapped.commandable,
                )
            )
    own_points = {p.id: p for p in building.points}
    for fixed in object_map.building.points:
        if fixed.point not in own_points:
            problems.append(
                f"building {building.id!r} has no point {fixed.point!r} (map key building.points)"
            )
            continue
        bindings.append(
            BacnetPointBinding(
                point_id=fixed.point,
                point=own_points[fixed.point],
                object_type=fixed.object_type,
                instance=fixed.instance,
                units=fixed.units,
                commandable=fixed.commandable,
            )
        )
    if problems:
        raise DeviceMapError(
            f"{object_map.source}: the map does not fit building {building.id!r}:\n  "
            + "\n  ".join(problems),
            fix="add the missing points to the building in the cluster file, "
            "or use a map that matches the building's controller",
        )
    return bindings


def building_device(
    building: PublicBuilding,
    address: str,
    device_instance: int,
    building_map: BuildingControllerMap | None = None,
) -> BacnetDevice:
    """The BACnet device of a building's controller at ``address``."""
    bindings = building_object_map(building, building_map)
    return BacnetDevice(building.id, address, device_instance, tuple(bindings))


# --- loading ---------------------------------------------------------------------


_FIXES: dict[str, str] = {
    "missing": "add this key",
    "extra_forbidden": "remove this key or correct its spelling",
    "enum": "use one of the values named",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "too_short": "add at least one entry",
    "string_pattern_mismatch": "use lower-case letters, digits, '.', '-' and '_' only",
}


@cache
def _packaged_map() -> BuildingControllerMap:
    return load_building_map()


def load_building_map(path: str | Path | None = None) -> BuildingControllerMap:
    """Read and validate a building controller map; ``None`` gives the packaged map.

    Raises
    ------
    DeviceMapError
        If the file is missing, is not TOML, or is not a consistent map; every
        problem is named with its key and fix.
    """
    if path is None:
        source = f"<packaged map: {DEFAULT_BUILDING_MAP}>"
        text = resources.files("adapters.bacnet").joinpath("maps", DEFAULT_BUILDING_MAP)
        return parse_building_map(text.read_text(encoding="utf-8"), source=source)
    file = Path(path)
    try:
        text_of_file = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviceMapError(
            f"{file}: cannot read the BACnet map: {exc}",
            fix="give the path of a UTF-8 map TOML file such as maps/building_controller.toml",
        ) from None
    return parse_building_map(text_of_file, source=str(file))


def parse_building_map(text: str, *, source: str) -> BuildingControllerMap:
    """Validate TOML text into a :class:`BuildingControllerMap`; ``source`` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeviceMapError(
            f"{source}: not valid TOML: {exc}", fix="correct the TOML syntax there"
        ) from None
    try:
        object_map = BuildingControllerMap.model_validate(raw)
    except ValidationError as exc:
        lines = [_problem_line(err) for err in exc.errors()]
        raise DeviceMapError(
            f"{source}: {len(lines)} problem(s) in the BACnet map\n" + "\n".join(lines),
            fix="correct each key named above",
        ) from None
    object_map._source = source
    return object_map


def _problem_line(error: Any) -> str:
    kind = str(error["type"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        fix = "correct the value as the message says"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        fix = f"write a value of the right type (got {error.get('input')!r})"
    else:
        fix = _FIXES.get(kind, "correct the value")
    return f"  {_key_path(tuple(error['loc']))}: {message}\n    fix: {fix}"


def _key_path(loc: tuple[int | str, ...]) -> str:
    """A TOML key path such as ``zone.points[2].units``."""
    parts: list[str] = []
    for item in loc:
        parts.append(f"[{item}]" if isinstance(item, int) else ("." if parts else "") + item)
    return "".join(parts) or "(top level)"
