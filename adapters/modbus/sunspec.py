"""SunSpec devices: discovery of the model chain and decoding with pysunspec2's models.

The model definitions (point names, offsets, types, scale factors) come from
pysunspec2's shipped JSON, never from tables copied here. Registers are read
with the async :class:`ModbusLink`; pysunspec2 only decodes
(``Model(id, model_len=L).set_mb(bytes)``).

Discovery looks for the marker "SunS" at 40000, then 0, then 50000, and walks
the chain of (ID, L) headers to the 0xFFFF end marker. A missing marker, a
chain without its end, or a known model whose length L does not fit its
definition refuses the device (:class:`DeviceMapError`): offsets are never
guessed.

:func:`build_sunspec_image` makes the register image of a simulated device
from model values, for test rigs.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sunspec2.mdef as sunspec_mdef
from sunspec2 import device as sunspec_device

from adapters.errors import DeviceMapError
from adapters.modbus.connection import (
    DeviceExceptionReply,
    MalformedReply,
    ModbusLink,
    RetryPolicy,
    read_with_retry,
)
from adapters.modbus.decode import MAX_READ_REGISTERS, scale_factor_plausible
from cluster.timeseries import Quality

log = logging.getLogger(__name__)

#: "SunS" as two registers.
SUNSPEC_MARKER = (0x5375, 0x6E53)
#: Where the marker may start, in the order SunSpec devices are probed.
BASE_ADDRESSES = (40000, 0, 50000)
#: The model id that ends the chain.
END_MODEL_ID = 0xFFFF
#: A chain longer than this is garbage, not a device.
MAX_MODELS = 100


@dataclass(frozen=True)
class ModelLocation:
    """Where one model sits: the address of its ID register and its length L.

    L counts the registers after ID and L, so the model occupies L + 2 registers.
    """

    model_id: int
    address: int
    length: int

    @property
    def total_registers(self) -> int:
        """Registers of the model including its ID and L."""
        return self.length + 2


@dataclass(frozen=True)
class SunSpecLayout:
    """The models a device offers, in chain order."""

    base_address: int
    models: tuple[ModelLocation, ...]

    def find(self, model_id: int) -> ModelLocation | None:
        """The first model with ``model_id``, or None."""
        return next((m for m in self.models if m.model_id == model_id), None)

    @property
    def model_ids(self) -> tuple[int, ...]:
        """Model ids in chain order."""
        return tuple(m.model_id for m in self.models)


@dataclass(frozen=True)
class ModelRead:
    """One model as read in one poll.

    ``consistent`` is False when the model needed several requests and its
    scale factors changed between them: its scaled values are then unusable.
    """

    location: ModelLocation
    model: Any
    consistent: bool = True


def has_definition(model_id: int) -> bool:
    """Whether pysunspec2 ships a definition of ``model_id``."""
    try:
        sunspec_device.get_model_def(model_id)
    except sunspec_mdef.ModelDefinitionError:
        return False
    return True


def new_model(model_id: int, length: int) -> Any:
    """An empty pysunspec2 model of length L, or DeviceMapError when L does not fit.

    Parameters
    ----------
    model_id
        SunSpec model id.
    length
        L as found on the device (registers after ID and L).
    """
    if not has_definition(model_id):
        raise DeviceMapError(
            f"SunSpec model {model_id} has no definition in pysunspec2",
            fix="only models with a shipped definition can be decoded",
        )
    try:
        model = sunspec_device.Model(model_id, model_len=length)
    except sunspec_device.ModelError as exc:
        raise _length_error(model_id, length, str(exc)) from exc
    if model.error_info:
        raise _length_error(model_id, length, model.error_info.strip())
    return model


def _length_error(model_id: int, length: int, why: str) -> DeviceMapError:
    return DeviceMapError(
        f"SunSpec model {model_id} has length L={length}, which does not fit its definition "
        f"({why}); the device is not mapped",
        fix="check the device firmware's SunSpec implementation; klaster does not guess offsets",
    )


def _walk_points(group: Any) -> Iterator[Any]:
    yield from group.points.values()
    for member in group.groups.values():
        for sub in member if isinstance(member, list) else [member]:
            yield from _walk_points(sub)


def model_requests(location: ModelLocation) -> list[tuple[int, int]]:
    """The (offset, count) reads that cover one model, each at most 125 registers.

    Reads end on point boundaries so no value is split between two requests.
    """
    total = location.total_registers
    if total <= MAX_READ_REGISTERS:
        return [(0, total)]
    bounds = sorted(
        {0, total} | {p.offset for p in _walk_points(new_model(location.model_id, location.length))}
    )
    requests: list[tuple[int, int]] = []
    start = 0
    for previous, current in itertools.pairwise(bounds):
        if current - start > MAX_READ_REGISTERS:
            requests.append((start, previous - start))
            start = previous
    requests.append((start, total - start))
    return requests


def _scale_factor_span(model: Any) -> tuple[int, int] | None:
    offsets = [p.offset for p in _walk_points(model) if p.pdef.get("type") == "sunssf"]
    return (min(offsets), max(offsets) + 1) if offsets else None


def _words_to_bytes(words: list[int]) -> bytes:
    return struct.pack(f">{len(words)}H", *words)


async def read_model(
    link: ModbusLink, location: ModelLocation, retry: RetryPolicy | None = None
) -> ModelRead:
    """Read and decode one model, re-reading its scale factors every time.

    A model of up to 125 registers is one request, so values and scale
    factors come from the same moment. A longer model (e.g. 160 with many
    MPPT inputs) takes several; its scale factors are read once more after
    the last request and the read is marked inconsistent if they changed.

    Raises
    ------
    DeviceUnreachable, DeviceExceptionReply, MalformedReply
        As :meth:`ModbusLink.read`.
    """
    retry = retry or RetryPolicy()
    data = bytearray()
    requests = model_requests(location)
    for offset, count in requests:
        words = await read_with_retry(link, "holding", location.address + offset, count, retry)
        data += _words_to_bytes(words)
    model = new_model(location.model_id, location.length)
    consistent = True
    span = _scale_factor_span(model)
    if len(requests) > 1 and span is not None:
        start, end = span
        again = await read_with_retry(link, "holding", location.address + start, end - start, retry)
        consistent = _words_to_bytes(again) == bytes(data[2 * start : 2 * end])
    model.set_mb(bytes(data))
    if model.error_info:
        log.warning(
            "SunSpec model %s decoded with errors: %s", location.model_id, model.error_info.strip()
        )
    if model.points["ID"].value != location.model_id:
        raise MalformedReply(
            f"model {location.model_id} at {location.address} now reads as id "
            f"{model.points['ID'].value}; the device's layout changed"
        )
    return ModelRead(location, model, consistent)


def scaled_value(group: Any, name: str) -> tuple[float | None, Quality, str]:
    """A point's value with its scale factor applied, or why there is none.

    An unimplemented scale factor (0x8000) makes the value unusable:
    pysunspec2 would return the raw value unscaled, so it is checked here.

    Parameters
    ----------
    group
        The model or repeating-group instance holding the point.
    name
        The point's SunSpec name, e.g. ``"W"``.
    """
    point = group.points[name]
    if point.value is None:
        return None, Quality.NOT_IMPLEMENTED, f"{name} not implemented"
    sf_name = point.pdef.get("sf")
    if sf_name is not None and not str(sf_name).lstrip("-").isdigit():
        sf_point = group.points.get(sf_name) or group.model.points.get(sf_name)
        if sf_point is None or sf_point.value is None:
            return None, Quality.NOT_IMPLEMENTED, f"scale factor {sf_name} not implemented"
        if not scale_factor_plausible(int(sf_point.value)):
            return (
                None,
                Quality.OUT_OF_RANGE,
                f"implausible scale factor {sf_name}={sf_point.value}",
            )
    value = point.cvalue
    if not isinstance(value, int | float):
        return None, Quality.MISSING, f"{name} is not a number"
    return float(value), Quality.GOOD, ""


def symbol_name(point: Any, value: int) -> str | None:
    """The name of enumeration ``value`` in the point's definition, or None."""
    for symbol in point.pdef.get("symbols", []):
        if symbol.get("value") == value:
            return str(symbol["name"])
    return None


def symbol_value(point: Any, name: str) -> int:
    """The code of the enumeration symbol ``name`` in the point's definition."""
    for symbol in point.pdef.get("symbols", []):
        if symbol.get("name") == name:
            return int(symbol["value"])
    raise KeyError(f"{point.pdef['name']} has no symbol {name!r}")


async def _read_header(link: ModbusLink, address: int) -> tuple[int, int]:
    try:
        model_id, length = await link.read("holding", address, 2)
    except DeviceExceptionReply as exc:
        # An end marker in the device's very last register leaves no room for L.
        if exc.permanent:
            with contextlib.suppress(DeviceExceptionReply):
                if await link.read("holding", address, 1) == [END_MODEL_ID]:
                    return END_MODEL_ID, 0
        raise DeviceMapError(
            f"the SunSpec model chain breaks at address {address} before its end marker "
            f"0xFFFF ({exc})",
            fix="the device's SunSpec map is incomplete; check its firmware",
        ) from exc
    return model_id, length


async def discover(link: ModbusLink) -> SunSpecLayout:
    """Find the SunSpec marker and walk the model chain.

    Raises
    ------
    DeviceMapError
        No "SunS" marker at any base address, a chain without the 0xFFFF end,
        or a model whose length does not fit its definition.
    DeviceUnreachable
        When the device does not answer.
    """
    for base in BASE_ADDRESSES:
        try:
            marker = await link.read("holding", base, 2)
        except (DeviceExceptionReply, MalformedReply):
            continue
        if tuple(marker) == SUNSPEC_MARKER:
            break
    else:
        raise DeviceMapError(
            f"{link.settings.describe()}: no SunSpec marker 'SunS' at "
            f"{', '.join(map(str, BASE_ADDRESSES))}",
            fix="this device is not SunSpec; describe it with a register map instead",
        )
    models: list[ModelLocation] = []
    address = base + 2
    for _ in range(MAX_MODELS):
        if address + 1 > 0xFFFF:
            break
        model_id, length = await _read_header(link, address)
        if model_id == END_MODEL_ID:
            return SunSpecLayout(base, tuple(models))
        if has_definition(model_id):
            new_model(model_id, length)
        else:
            log.info("SunSpec model %s at %s has no definition; skipped", model_id, address)
        models.append(ModelLocation(model_id, address, length))
        address += 2 + length
    raise DeviceMapError(
        f"{link.settings.describe()}: the SunSpec model chain from {base} has no end marker "
        f"after {len(models)} models",
        fix="the device's SunSpec map is corrupt; check its firmware",
    )


def build_sunspec_image(models: Mapping[int, Mapping[str, Any]], *, end: bool = True) -> list[int]:
    """The register image of a SunSpec device, to serve from address 40000.

    Parameters
    ----------
    models
        Model id → raw point values (as pysunspec2 ``Point.value``; scale
        factors are points of their own, e.g. ``{"W": 5000, "W_SF": 0}``).
        Repeating groups are lists of dicts, e.g. ``{"N": 2, "module":
        [{"DCW": 10}, {"DCW": 20}]}``. Points not given read "not implemented".
        Models appear in the given order.
    end
        Append the 0xFFFF end marker (leave it off to simulate a broken chain).

    Returns
    -------
    list[int]
        Registers: "SunS", each model with its ID and L, then the end marker.

    Raises
    ------
    ValueError
        For an unknown model id or point name.
    """
    data = bytearray(_words_to_bytes(list(SUNSPEC_MARKER)))
    for model_id, values in models.items():
        if not has_definition(model_id):
            raise ValueError(f"pysunspec2 has no definition of model {model_id}")
        group_def = sunspec_device.get_model_def(model_id)[sunspec_mdef.GROUP]
        known = set(group_def.get("point_defs", {})) | set(group_def.get("group_defs", {}))
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"model {model_id} has no point(s) {sorted(unknown)}")
        model = sunspec_device.Model(model_id, data=dict(values))
        if model.error_info:
            raise ValueError(f"model {model_id}: {model.error_info.strip()}")
        data += model.get_mb()
    if end:
        data += struct.pack(">HH", END_MODEL_ID, 0)
    return list(struct.unpack(f">{len(data) // 2}H", bytes(data)))
