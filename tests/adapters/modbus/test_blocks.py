"""Grouping points into read requests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.errors import DeviceMapError
from adapters.modbus.blocks import ReadBlock, plan_blocks
from adapters.modbus.decode import RegisterType
from adapters.modbus.maps import RegisterPoint, Table

TABLES: list[Table] = ["holding", "input"]


def uint16(
    point_id: str, address: int, table: Table = "holding", sf: int | None = None
) -> RegisterPoint:
    return RegisterPoint(point_id, table, address, RegisterType.UINT16, 1, scale_factor_address=sf)


def float32(point_id: str, address: int) -> RegisterPoint:
    return RegisterPoint(point_id, "holding", address, RegisterType.FLOAT32, 2)


def test_300_registers_become_3_requests_within_the_limit() -> None:
    points = [float32(f"p{i}", 2 * i) for i in range(150)]
    blocks = plan_blocks(points)
    assert len(blocks) == 3
    assert all(b.count <= 125 for b in blocks)
    assert sum(len(b.points) for b in blocks) == 150
    # Contiguous cover of 0..299 with no register read twice.
    assert [(b.address, b.count) for b in blocks] == [(0, 124), (124, 124), (248, 52)]


def test_small_gaps_merge_large_gaps_split() -> None:
    merged = plan_blocks([uint16("a", 0), uint16("b", 9)], max_gap=8)
    assert [(b.address, b.count) for b in merged] == [(0, 10)]
    split = plan_blocks([uint16("a", 0), uint16("b", 10)], max_gap=8)
    assert [(b.address, b.count) for b in split] == [(0, 1), (10, 1)]


def test_tables_are_never_mixed() -> None:
    blocks = plan_blocks([uint16("a", 0), uint16("b", 1, table="input")])
    assert sorted((b.table, b.address) for b in blocks) == [("holding", 0), ("input", 1)]


def test_value_and_scale_factor_share_a_block_even_across_a_large_gap() -> None:
    blocks = plan_blocks([uint16("w", 0, sf=40), uint16("x", 20)], max_gap=2)
    assert [(b.address, b.count) for b in blocks] == [(0, 41)]


def test_a_footprint_over_125_is_refused() -> None:
    with pytest.raises(DeviceMapError, match="at most 125"):
        plan_blocks([uint16("w", 0, sf=130)])


def test_a_block_over_125_cannot_be_built() -> None:
    with pytest.raises(DeviceMapError):
        ReadBlock("holding", 0, 126, ())


point_specs = st.lists(
    st.tuples(
        st.integers(0, 2000),  # address
        st.sampled_from([1, 2, 4]),  # registers
        st.one_of(st.none(), st.integers(-60, 60)),  # scale factor offset from the value
        st.sampled_from(TABLES),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(specs=point_specs, max_gap=st.integers(0, 20))
def test_plan_properties(specs: list[tuple[int, int, int | None, Table]], max_gap: int) -> None:
    points = [
        RegisterPoint(
            f"p{i}",
            table,
            address,
            RegisterType.UINT16,
            count,
            scale_factor_address=None if sf is None else max(0, address + sf),
        )
        for i, (address, count, sf, table) in enumerate(specs)
    ]
    blocks = plan_blocks(points, max_gap=max_gap)
    placed = [p.point_id for b in blocks for p in b.points]
    assert sorted(placed) == sorted(p.point_id for p in points)
    for block in blocks:
        assert 1 <= block.count <= 125
        for p in block.points:
            start, end = p.footprint
            assert p.table == block.table
            assert block.address <= start and end <= block.address + block.count
