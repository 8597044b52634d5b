"""Grouping a map's points into read requests.

Contiguous registers are read in one request: points of one table are sorted
by address and merged into a block while the unused gap between them is at
most ``max_gap`` registers and the block stays within the Modbus limit of 125
registers. A point and its scale-factor register always land in the same
block (their "footprint" is never split), so a value is never scaled with a
scale factor from another moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adapters.errors import DeviceMapError
from adapters.modbus.decode import MAX_READ_REGISTERS
from adapters.modbus.maps import RegisterPoint, Table


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
