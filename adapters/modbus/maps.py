"""Modbus device maps: which register holds which point, as data.

A map is a TOML file (see ``adapters/modbus/maps/*.toml`` for the shipped
ones) validated into frozen objects. Its shape::

    [device]
    name = "energy-meter"
    word_order = "big"        # or "little" for word-swapped devices
    max_gap = 8               # registers of unused gap merged into one read

    [[points]]
    id = "power"              # the point id
    table = "input"           # "holding" (FC03) or "input" (FC04)
    address = 52              # 0-based protocol address
    type = "float32"          # see RegisterType
    scale = 0.001             # raw × scale (× 10**sf) = value in `unit`
    scale_factor_address = 60 # optional SunSpec-style int16 exponent register
    unit = "kW"
    min = -500                # plausible range; outside it reads OUT_OF_RANGE
    max = 500
    writable = false
    states = { 0 = "off", 1 = "on" }   # enumerations: meaning of each code
    bits = { 0 = "fault" }             # bitfields: name of each bit

    [[blocks]]                # a repeating register block, e.g. one per circuit
    name = "circuit"          # point ids become "circuit01.on_off", …
    count = 12
    first_address = 100
    stride = 10
    [[blocks.points]]
    id = "on_off"
    offset = 0                # from the block's address; scale_factor_offset likewise
    …

Every problem found is reported at once, as a :class:`DeviceMapError` that
names the file, the key and the fix.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapters.errors import DeviceMapError
from adapters.modbus.decode import (
    INTEGER_TYPES,
    MAX_READ_REGISTERS,
    RegisterType,
    WordOrder,
    register_count,
)
from cluster.points import UNIT_OF_KIND, PointKind

Table = Literal["holding", "input"]

#: Directory of the maps klaster ships.
BUILTIN_MAP_DIR = Path(__file__).parent / "maps"

#: Units a map may use: klaster's point units plus electrical quantities.
KNOWN_UNITS = frozenset(UNIT_OF_KIND.values()) | {"V", "A", "Hz", "kvar", "kVA", "t/h", "text"}

_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RegisterSpec(_Strict):
    """What every register entry says, wherever its address comes from."""

    id: str = Field(pattern=_ID_PATTERN)
    table: Table = "holding"
    type: RegisterType
    size: int | None = Field(default=None, ge=1, le=MAX_READ_REGISTERS)
    scale: float = 1.0
    unit: str
    kind: PointKind | None = None
    min: float | None = None
    max: float | None = None
    writable: bool = False
    states: dict[int, str] = Field(default_factory=dict)
    bits: dict[int, str] = Field(default_factory=dict)
    sentinels: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        if self.scale == 0 or not math.isfinite(self.scale):
            problems.append("scale must be a finite, non-zero number")
        if (self.type is RegisterType.STRING) != (self.size is not None):
            problems.append("give size (registers) for a string, and only for a string")
        if self.unit not in KNOWN_UNITS:
            problems.append(f"unit {self.unit!r} is not one of {sorted(KNOWN_UNITS)}")
        if self.kind is not None and self.unit != UNIT_OF_KIND[self.kind]:
            problems.append(
                f"a {self.kind} point is in {UNIT_OF_KIND[self.kind]!r}, not {self.unit!r}; "
                "convert with scale"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            problems.append(f"min {self.min} is above max {self.max}; swap them")
        if (self.states or self.bits) and self.type not in INTEGER_TYPES:
            problems.append("states and bits need an integer type such as enum16")
        if any(not 0 <= bit < 32 for bit in self.bits):
            problems.append("bits are numbered 0..31")
        if self.writable:
            if self.table != "holding":
                problems.append("only holding registers can be written; set table = 'holding'")
            if self.min is None or self.max is None:
                problems.append("a writable point needs both min and max")
            if self.type is RegisterType.STRING:
                problems.append("string registers cannot be written as points")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class PointEntry(_RegisterSpec):
    """A single point at a fixed address."""

    address: int = Field(ge=0, le=0xFFFF)
    scale_factor_address: int | None = Field(default=None, ge=0, le=0xFFFF)


class BlockPointEntry(_RegisterSpec):
    """A point repeated in every copy of a block, at an offset from the block's address."""

    offset: int = Field(ge=0, le=0xFFFF)
    scale_factor_offset: int | None = Field(default=None, ge=0, le=0xFFFF)


class RepeatingBlock(_Strict):
    """``count`` copies of the same registers, ``stride`` registers apart."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    count: int = Field(ge=1, le=999)
    first_address: int = Field(ge=0, le=0xFFFF)
    stride: int = Field(ge=1)
    first_index: int = Field(default=1, ge=0)
    points: list[BlockPointEntry] = Field(min_length=1)

    def point_id(self, index: int, point_id: str) -> str:
        """The id of ``point_id`` in copy ``index`` (numbered from ``first_index``)."""
        width = max(2, len(str(self.first_index + self.count - 1)))
        return f"{self.name}{index:0{width}d}.{point_id}"


class DeviceSection(_Strict):
    """The device-wide settings of a map."""

    name: str = Field(min_length=1)
    description: str = ""
    word_order: WordOrder = "big"
    max_gap: int = Field(default=8, ge=0, le=MAX_READ_REGISTERS)


class DeviceMapFile(_Strict):
    """A map file as written."""

    device: DeviceSection
    points: list[PointEntry] = Field(default_factory=list)
    blocks: list[RepeatingBlock] = Field(default_factory=list)


@dataclass(frozen=True)
class RegisterPoint:
    """One point of a device map, with its absolute register address."""

    point_id: str
    table: Table
    address: int
    data_type: RegisterType
    count: int
    scale: float = 1.0
    scale_factor_address: int | None = None
    unit: str = "1"
    min_value: float | None = None
    max_value: float | None = None
    writable: bool = False
    states: Mapping[int, str] = field(default_factory=dict)
    bits: Mapping[int, str] = field(default_factory=dict)
    sentinels: bool = True
    key: str = ""

    @property
    def end(self) -> int:
        """The address after the value's last register."""
        return self.address + self.count

    @property
    def footprint(self) -> tuple[int, int]:
        """``[start, end)`` of the registers one read must cover: the value and its scale factor."""
        if self.scale_factor_address is None:
            return self.address, self.end
        return (
            min(self.address, self.scale_factor_address),
            max(self.end, self.scale_factor_address + 1),
        )

    @property
    def is_text(self) -> bool:
        """True for string points, which are identification, not measurements."""
        return self.data_type is RegisterType.STRING


@dataclass(frozen=True)
class DeviceMap:
    """A validated device map: device settings and every point with its address."""

    name: str
    source: str
    word_order: WordOrder
    max_gap: int
    points: tuple[RegisterPoint, ...]
    description: str = ""

    def point(self, point_id: str) -> RegisterPoint:
        """The point ``point_id``; raises KeyError naming the known ids."""
        for candidate in self.points:
            if candidate.point_id == point_id:
                return candidate
        raise KeyError(f"{self.source} has no point {point_id!r}")

    @property
    def point_ids(self) -> tuple[str, ...]:
        """Every point id, in map order."""
        return tuple(p.point_id for p in self.points)


def _key_of(loc: Iterable[Any]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _fix_of(error_type: str) -> str:
    if error_type == "missing":
        return "add the key"
    if error_type == "extra_forbidden":
        return (
            "remove the key or correct its spelling (see the map format in adapters/modbus/maps.py)"
        )
    return "correct the value (see the map format in adapters/modbus/maps.py)"


def _raise(source: str, problems: list[tuple[str, str, str]]) -> NoReturn:
    lines = [f"{source}: {len(problems)} problem(s) in the device map"]
    lines += [f"  {key}: {message}\n    fix: {fix}" for key, message, fix in problems]
    raise DeviceMapError("\n".join(lines))


def _expand(spec: DeviceMapFile) -> list[RegisterPoint]:
    points: list[RegisterPoint] = []

    def build(
        entry: _RegisterSpec, address: int, sf_address: int | None, point_id: str, key: str
    ) -> RegisterPoint:
        return RegisterPoint(
            point_id=point_id,
            table=entry.table,
            address=address,
            data_type=entry.type,
            count=register_count(entry.type, entry.size),
            scale=entry.scale,
            scale_factor_address=sf_address,
            unit=entry.unit,
            min_value=entry.min,
            max_value=entry.max,
            writable=entry.writable,
            states=dict(entry.states),
            bits=dict(entry.bits),
            sentinels=entry.sentinels,
            key=key,
        )

    for i, entry in enumerate(spec.points):
        points.append(
            build(entry, entry.address, entry.scale_factor_address, entry.id, f"points[{i}]")
        )
    for b, block in enumerate(spec.blocks):
        for copy in range(block.count):
            base = block.first_address + copy * block.stride
            for j, block_entry in enumerate(block.points):
                sf_offset = block_entry.scale_factor_offset
                sf = None if sf_offset is None else base + sf_offset
                points.append(
                    build(
                        block_entry,
                        base + block_entry.offset,
                        sf,
                        block.point_id(block.first_index + copy, block_entry.id),
                        f"blocks[{b}].points[{j}] (copy {block.first_index + copy})",
                    )
                )
    return points


def _check_blocks(spec: DeviceMapFile) -> list[tuple[str, str, str]]:
    problems = []
    for b, block in enumerate(spec.blocks):
        span = max(p.offset + register_count(p.type, p.size) for p in block.points)
        if span > block.stride:
            problems.append(
                (
                    f"blocks[{b}].stride",
                    f"the block's points span {span} registers but stride is {block.stride}, so "
                    "copies would overlap",
                    f"set stride to at least {span} or correct the offsets",
                )
            )
        ids = [p.id for p in block.points]
        if len(set(ids)) != len(ids):
            problems.append(
                (
                    f"blocks[{b}].points",
                    "a point id repeats in the block",
                    "give each point of the block its own id",
                )
            )
    return problems


def _check_points(points: list[RegisterPoint]) -> list[tuple[str, str, str]]:
    problems = []
    seen: dict[str, str] = {}
    occupied: dict[tuple[str, int], str] = {}
    for p in points:
        if p.point_id in seen:
            problems.append(
                (
                    p.key,
                    f"point id {p.point_id!r} is already used by {seen[p.point_id]}",
                    "give every point its own id",
                )
            )
        seen.setdefault(p.point_id, p.key)
        if p.end > 0x10000:
            problems.append(
                (p.key, f"registers {p.address}..{p.end - 1} run past 65535", "correct the address")
            )
            continue
        start, end = p.footprint
        if end - start > MAX_READ_REGISTERS:
            problems.append(
                (
                    p.key,
                    f"the value at {p.address} and its scale factor at "
                    f"{p.scale_factor_address} are {end - start} registers apart; one read "
                    f"carries at most {MAX_READ_REGISTERS}",
                    "correct scale_factor_address; a value and its scale factor are read together",
                )
            )
        for address in range(p.address, p.end):
            other = occupied.get((p.table, address))
            if other is not None:
                problems.append(
                    (
                        p.key,
                        f"{p.table} register {address} is also used by {other}",
                        "correct the address or the type's size",
                    )
                )
                break
            occupied[(p.table, address)] = f"{p.point_id!r} ({p.key})"
    return problems


def parse_device_map(data: Mapping[str, Any], source: str) -> DeviceMap:
    """Validate an already-parsed map document.

    Parameters
    ----------
    data
        The TOML document as a mapping.
    source
        Where the map came from (a file path), for error messages.

    Raises
    ------
    DeviceMapError
        Listing every problem with its key and fix.
    """
    try:
        spec = DeviceMapFile.model_validate(data)
    except ValidationError as exc:
        _raise(
            source,
            [
                (_key_of(e["loc"]), e["msg"].removeprefix("Value error, "), _fix_of(e["type"]))
                for e in exc.errors()
            ],
        )
    problems = _check_blocks(spec)
    points = _expand(spec)
    if not points:
        problems.append(("points", "the map has no points", "add [[points]] or [[blocks]]"))
    problems += _check_points(points)
    if problems:
        _raise(source, problems)
    return DeviceMap(
        name=spec.device.name,
        source=source,
        word_order=spec.device.word_order,
        max_gap=spec.device.max_gap,
        points=tuple(points),
        description=spec.device.description,
    )


def load_device_map(path: str | Path) -> DeviceMap:
    """Read and validate a device map file.

    Raises
    ------
    DeviceMapError
        When the file is missing, is not TOML, or the map is invalid.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DeviceMapError(
            f"{path}: no such device map", fix="check the path or use one of builtin_map_names()"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise DeviceMapError(f"{path}: not valid TOML: {exc}", fix="correct the syntax") from exc
    return parse_device_map(data, str(path))


def builtin_map_names() -> list[str]:
    """Names of the maps klaster ships (file names without ``.toml``)."""
    return sorted(p.stem for p in BUILTIN_MAP_DIR.glob("*.toml"))


def load_builtin_map(name: str) -> DeviceMap:
    """Load a shipped map by name, e.g. ``"energy_meter"``."""
    if name not in builtin_map_names():
        raise DeviceMapError(
            f"no built-in device map {name!r}", fix=f"use one of {builtin_map_names()}"
        )
    return load_device_map(BUILTIN_MAP_DIR / f"{name}.toml")


__all__ = [
    "BlockPointEntry",
    "DeviceMap",
    "DeviceMapFile",
    "PointEntry",
    "RegisterPoint",
    "RepeatingBlock",
    "Table",
    "builtin_map_names",
    "load_builtin_map",
    "load_device_map",
    "parse_device_map",
]
