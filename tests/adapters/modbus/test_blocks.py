"""Grouping points into read requests, and decoding a request's reply in one go."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.errors import DeviceMapError
from adapters.modbus.blocks import BlockDecoder, ReadBlock, is_plain, plan_blocks
from adapters.modbus.decode import (
    INTEGER_TYPES,
    Bounds,
    RegisterType,
    WordOrder,
    decode_point,
    register_count,
)
from adapters.modbus.maps import RegisterPoint, Table
from cluster.timeseries import Quality

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


# --- decoding a block ---------------------------------------------------------------


def one_by_one(
    block: ReadBlock,
    registers: Sequence[int],
    word_order: WordOrder,
    bounds: dict[str, Bounds],
) -> list[tuple[float | None, Quality, str]]:
    """Each point of the block decoded on its own, as the client did before block decoding."""
    decoded = []
    for register in block.points:
        sf_word = None
        if register.scale_factor_address is not None:
            sf_word = block.words(registers, register.scale_factor_address, 1)[0]
        words = block.words(registers, register.address, register.count)
        decoded.append(
            decode_point(register, words, sf_word, word_order, bounds[register.point_id])
        )
    return decoded


def test_a_mixed_block_decodes_each_kind_of_point() -> None:
    points = (
        RegisterPoint("temp", "holding", 0, RegisterType.INT16, 1, scale=0.1, unit="°C"),
        RegisterPoint("power", "holding", 1, RegisterType.FLOAT32, 2, unit="kW"),
        RegisterPoint("energy", "holding", 3, RegisterType.ACC32, 2, unit="kWh"),
        RegisterPoint("mode", "holding", 5, RegisterType.ENUM16, 1, states={2: "auto"}),
        RegisterPoint("w", "holding", 6, RegisterType.INT16, 1, scale_factor_address=7),
        RegisterPoint("level", "holding", 8, RegisterType.UINT16, 1, unit="%"),
    )
    block = ReadBlock("holding", 0, 9, points)
    bounds = {p.point_id: Bounds(None, None) for p in points} | {"level": Bounds(0, 100)}
    # -21.5 °C; 230.5 kW (0x43668000); energy 0 = "not accumulated"; mode 2;
    # 1234 × 10^-2; level 101 % is implausible.
    registers = [0xFF29, 0x4366, 0x8000, 0, 0, 2, 1234, 0xFFFE, 101]

    values, qualities, details = BlockDecoder(block, "big", bounds).decode(registers)

    assert values == [-21.5, 230.5, None, 2.0, 12.34, None]
    assert qualities == [
        Quality.GOOD,
        Quality.GOOD,
        Quality.NOT_IMPLEMENTED,
        Quality.GOOD,
        Quality.GOOD,
        Quality.OUT_OF_RANGE,
    ]
    assert details == [
        "",
        "",
        "acc32 'not implemented' value",
        "auto",
        "",
        "101 % outside [0, 100]",
    ]


def test_a_reply_that_is_not_16_bit_words_is_named_point_by_point() -> None:
    points = tuple(RegisterPoint(f"p{i}", "holding", i, RegisterType.UINT16, 1) for i in range(3))
    block = ReadBlock("holding", 0, 3, points)
    decoder = BlockDecoder(block, "big", {p.point_id: Bounds(None, None) for p in points})

    values, qualities, details = decoder.decode([7, 0x10000, 9])

    assert values == [7.0, None, 9.0]
    assert qualities[1] is Quality.MISSING and "65536" in details[1]


NUMERIC_TYPES = [t for t in RegisterType if t is not RegisterType.STRING]
#: Register values that hit sentinels, NaN and infinities as well as ordinary values.
WORDS = st.one_of(
    st.integers(0, 0xFFFF),
    st.sampled_from([0, 1, 2, 5, 0x7FFF, 0x8000, 0xFFFF, 0xFFFE, 0x7F80, 0xFF80, 0x7FC0, 0x4366]),
)
LIMITS = st.one_of(
    st.none(),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-100, 70_000),
    st.just(2**60 + 1),  # not exact as a float: decoded point by point
)
SCALES = st.one_of(
    st.sampled_from([1.0, 0.1, 0.001, 10.0, -1.0, 1e300]), st.floats(1e-6, 1e6, allow_nan=False)
)


@st.composite
def blocks_with_bounds(draw: st.DrawFn) -> tuple[ReadBlock, dict[str, Bounds]]:
    """A block of random points (any type, scale, scale factor, states, bits, range)."""
    points: list[RegisterPoint] = []
    bounds: dict[str, Bounds] = {}
    address = 0
    for i in range(draw(st.integers(1, 20))):
        data_type = draw(st.sampled_from(NUMERIC_TYPES))
        count = register_count(data_type)
        integer = data_type in INTEGER_TYPES
        point = RegisterPoint(
            f"p{i}",
            "holding",
            address,
            data_type,
            count,
            scale=draw(SCALES),
            unit=draw(st.sampled_from(["kW", "1"])),
            states=draw(st.sampled_from([{}, {0: "off", 2: "on"}])) if integer else {},
            bits=draw(st.sampled_from([{}, {0: "a", 3: "b"}])) if integer else {},
            sentinels=draw(st.booleans()),
        )
        points.append(point)
        bounds[point.point_id] = Bounds(draw(LIMITS), draw(LIMITS))
        address += count + draw(st.integers(0, 2))
    # Some points take a scale factor from any register of the block.
    with_sf = [
        RegisterPoint(
            **{
                **vars(p),
                "scale_factor_address": draw(
                    st.one_of(st.none(), st.none(), st.integers(0, address - 1))
                ),
            }
        )
        for p in points
    ]
    return ReadBlock("holding", 0, address, tuple(with_sf)), bounds


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    data=st.data(),
    block_and_bounds=blocks_with_bounds(),
    word_order=st.sampled_from(["big", "little"]),
)
def test_block_decoding_equals_decoding_point_by_point(
    data: st.DataObject,
    block_and_bounds: tuple[ReadBlock, dict[str, Bounds]],
    word_order: WordOrder,
) -> None:
    block, bounds = block_and_bounds
    registers = data.draw(st.lists(WORDS, min_size=block.count, max_size=block.count))
    if data.draw(st.integers(0, 9)) == 0:  # now and then a word that is not 16 bits
        registers[data.draw(st.integers(0, block.count - 1))] = data.draw(
            st.sampled_from([-1, 0x10000])
        )
    decoder = BlockDecoder(block, word_order, bounds)

    expected = one_by_one(block, registers, word_order, bounds)
    first = list(zip(*decoder.decode(registers), strict=True))
    again = list(zip(*decoder.decode(registers), strict=True))

    assert first == expected
    assert again == expected  # lists shared between calls are left as they were


def test_plain_points_are_the_ones_decoded_with_the_block() -> None:
    plain = RegisterPoint("a", "holding", 0, RegisterType.FLOAT32, 2, scale=0.5)
    assert is_plain(plain, Bounds(0, 100))
    assert not is_plain(plain, Bounds(0, 2**60 + 1))
    for not_plain in (
        RegisterPoint("b", "holding", 0, RegisterType.UINT64, 4),
        RegisterPoint("c", "holding", 0, RegisterType.UINT16, 1, scale_factor_address=1),
        RegisterPoint("d", "holding", 0, RegisterType.ENUM16, 1, states={1: "on"}),
        RegisterPoint("e", "holding", 0, RegisterType.BITFIELD16, 1, bits={0: "fault"}),
    ):
        assert not is_plain(not_plain, Bounds(None, None)), not_plain.point_id
