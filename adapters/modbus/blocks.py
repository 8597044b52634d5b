"""Grouping a map's points into read requests, and decoding each request's reply.

Contiguous registers are read in one request: points of one table are sorted
by address and merged into a block while the unused gap between them is at
most ``max_gap`` registers and the block stays within the Modbus limit of 125
registers. A point and its scale-factor register always land in the same
block (their "footprint" is never split), so a value is never scaled with a
scale factor from another moment.

A :class:`BlockDecoder` decodes a block's reply: its plain points (one or two
registers, no scale-factor register, states or bits) all at once with numpy,
the others one by one with :func:`~adapters.modbus.decode.decode_point`, with
the same values, qualities and details either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from adapters.errors import DeviceMapError
from adapters.modbus.decode import (
    MAX_READ_REGISTERS,
    WORD_TYPES,
    Bounds,
    RegisterType,
    WordOrder,
    decode_point,
    decode_words,
    not_implemented_detail,
    out_of_range_detail,
)
from adapters.modbus.maps import RegisterPoint, Table
from cluster.timeseries import Quality


@dataclass(frozen=True)
class ReadBlock:
    """One read request: ``count`` registers of ``table`` from ``address``.

    ``fallback`` marks a block made after the device refused a merged read;
    such a block is not merged again.
    """

    table: Table
    address: int
    count: int
    points: tuple[RegisterPoint, ...]
    fallback: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_READ_REGISTERS:
            raise DeviceMapError(
                f"a read of {self.count} registers at {self.address} exceeds the Modbus limit "
                f"of {MAX_READ_REGISTERS}",
                fix="split the block; this is a bug in the block planner if it came from a map",
            )
        if self.address + self.count > 0x10000:
            raise DeviceMapError(
                f"a read at {self.address} of {self.count} registers runs past address 65535",
                fix="correct the map's addresses",
            )

    def words(self, registers: Sequence[int], address: int, count: int) -> list[int]:
        """The ``count`` registers from ``address`` out of this block's reply."""
        start = address - self.address
        return list(registers[start : start + count])

    @property
    def label(self) -> str:
        """A short description for logs: table and register range."""
        return f"{self.table} {self.address}..{self.address + self.count - 1}"


def plan_blocks(
    points: Iterable[RegisterPoint],
    *,
    max_gap: int = 8,
    max_count: int = MAX_READ_REGISTERS,
    fallback: bool = False,
) -> list[ReadBlock]:
    """Group points into as few read requests as the limits allow.

    Parameters
    ----------
    points
        The points to read (any order, any table).
    max_gap
        Largest run of unused registers, in registers, read to join two points.
    max_count
        Largest request, in registers (at most 125).
    fallback
        Mark the blocks as made after a refused merged read.

    Returns
    -------
    list[ReadBlock]
        Blocks ordered by table and address, each at most ``max_count`` long.

    Raises
    ------
    DeviceMapError
        When one point with its scale factor alone needs more than ``max_count``.
    """
    if not 1 <= max_count <= MAX_READ_REGISTERS:
        raise ValueError(f"max_count must be within 1..{MAX_READ_REGISTERS}")
    blocks: list[ReadBlock] = []
    by_table: dict[Table, list[RegisterPoint]] = {}
    for p in points:
        by_table.setdefault(p.table, []).append(p)
    for table in sorted(by_table):
        ordered = sorted(by_table[table], key=lambda p: (p.footprint, p.point_id))
        start = end = -1
        members: list[RegisterPoint] = []
        for p in ordered:
            p_start, p_end = p.footprint
            if p_end - p_start > max_count:
                raise DeviceMapError(
                    f"point {p.point_id!r} with its scale factor spans {p_end - p_start} "
                    f"registers; one read carries at most {max_count}",
                    fix="move the scale_factor_address next to the value",
                )
            new_end = max(end, p_end)
            if members and p_start - end <= max_gap and new_end - start <= max_count:
                members.append(p)
                end = new_end
                continue
            if members:
                blocks.append(ReadBlock(table, start, end - start, tuple(members), fallback))
            start, end, members = p_start, p_end, [p]
        if members:
            blocks.append(ReadBlock(table, start, end - start, tuple(members), fallback))
    return blocks


#: A block's decoded points: values (None unless GOOD), qualities and details, in block order.
DecodedBlock = tuple[list[float | None], list[Quality], list[str]]


def _exact_float(number: float | None) -> bool:
    """True when a limit or scale compares and multiplies the same as a float64."""
    return number is None or float(number) == number


def is_plain(register: RegisterPoint, bounds: Bounds) -> bool:
    """True when :class:`BlockDecoder` decodes the point with the whole block at once."""
    return (
        register.data_type in WORD_TYPES
        and register.scale_factor_address is None
        and not register.states
        and not register.bits
        and _exact_float(register.scale)
        and _exact_float(bounds.min_value)
        and _exact_float(bounds.max_value)
    )


@dataclass(frozen=True)
class _TypeRun:
    """The plain points of a block that share a type and sentinel rule."""

    data_type: RegisterType
    sentinels: bool
    #: Position of each point in the block's points.
    positions: npt.NDArray[np.intp]
    #: Offset of each point's first register in the block's reply.
    offsets: npt.NDArray[np.intp]


class BlockDecoder:
    """Decodes the replies to one read block into each point's value, quality and detail.

    Parameters
    ----------
    block
        The read request whose replies are decoded.
    word_order
        The device's word order.
    bounds
        Plausible range of each point of the block, by point id, in its unit.
    """

    def __init__(
        self, block: ReadBlock, word_order: WordOrder, bounds: Mapping[str, Bounds]
    ) -> None:
        points = block.points
        self.block = block
        self.word_order: WordOrder = word_order
        self.point_ids = [p.point_id for p in points]
        self.units = [p.unit for p in points]
        self._bounds = [bounds[p.point_id] for p in points]
        plain = [is_plain(p, b) for p, b in zip(points, self._bounds, strict=True)]
        self._others = [i for i, whole_block in enumerate(plain) if not whole_block]
        groups: dict[tuple[RegisterType, bool], list[int]] = {}
        for i, register in enumerate(points):
            if plain[i]:
                groups.setdefault((register.data_type, register.sentinels), []).append(i)
        self._runs = [
            _TypeRun(
                data_type,
                sentinels,
                np.array(positions, dtype=np.intp),
                np.array([points[i].address - block.address for i in positions], dtype=np.intp),
            )
            for (data_type, sentinels), positions in groups.items()
        ]
        self._plain = np.array(plain, dtype=np.bool_)
        self._scales = np.array([p.scale for p in points], dtype=np.float64)
        self._lows = np.array(
            [-np.inf if b.min_value is None else b.min_value for b in self._bounds], dtype=float
        )
        self._highs = np.array(
            [np.inf if b.max_value is None else b.max_value for b in self._bounds], dtype=float
        )
        self._all_good = [Quality.GOOD] * len(points)
        self._no_details = [""] * len(points)

    def decode(self, registers: Sequence[int]) -> DecodedBlock:
        """Each point's ``(value, quality, detail)`` from one reply, as lists in block order.

        The lists may be shared between calls: read them, do not change them.
        """
        words = self._words(registers)
        if words is None or not self._runs:
            return self._one_by_one(registers, range(len(self.point_ids)))
        raw = np.zeros(len(self.point_ids))
        none = ~self._plain
        for run in self._runs:
            raw[run.positions], none[run.positions] = decode_words(
                words, run.offsets, run.data_type, self.word_order, sentinels=run.sentinels
            )
        # A float32 times a large scale may overflow to inf: that reads OUT_OF_RANGE.
        with np.errstate(over="ignore", invalid="ignore"):
            values = raw * self._scales
            good = ~none & np.isfinite(values) & (values >= self._lows) & (values <= self._highs)
        value_list: list[float | None] = values.tolist()
        if good.all():
            return value_list, self._all_good, self._no_details
        qualities = list(self._all_good)
        details = list(self._no_details)
        points = self.block.points
        for i in np.flatnonzero(~good & self._plain).tolist():
            if none[i]:
                qualities[i] = Quality.NOT_IMPLEMENTED
                details[i] = not_implemented_detail(points[i])
            else:
                qualities[i] = Quality.OUT_OF_RANGE
                details[i] = out_of_range_detail(points[i], values[i].item(), self._bounds[i])
            value_list[i] = None
        one_by_one = self._one_by_one(registers, self._others)
        for i, value, quality, detail in zip(self._others, *one_by_one, strict=True):
            value_list[i], qualities[i], details[i] = value, quality, detail
        return value_list, qualities, details

    def _words(self, registers: Sequence[int]) -> npt.NDArray[np.uint32] | None:
        """The reply as an array, or None when it is not ``count`` 16-bit words."""
        if len(registers) != self.block.count:
            return None
        try:
            words = np.asarray(registers)
        except (TypeError, ValueError, OverflowError):
            return None
        if words.dtype.kind not in "iu" or words.min() < 0 or words.max() > 0xFFFF:
            return None  # decode_point names the bad register of each point
        return words.astype(np.uint32)

    def _one_by_one(self, registers: Sequence[int], positions: Iterable[int]) -> DecodedBlock:
        """The points at ``positions`` decoded each on its own."""
        values: list[float | None] = []
        qualities: list[Quality] = []
        details: list[str] = []
        block = self.block
        for i in positions:
            register = block.points[i]
            sf_word = None
            if register.scale_factor_address is not None:
                sf_word = block.words(registers, register.scale_factor_address, 1)[0]
            value, quality, detail = decode_point(
                register,
                block.words(registers, register.address, register.count),
                sf_word,
                self.word_order,
                self._bounds[i],
            )
            values.append(value)
            qualities.append(quality)
            details.append(detail)
        return values, qualities, details
