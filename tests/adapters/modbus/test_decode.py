"""Register decoding and encoding: known encodings, sentinels, and properties."""

from __future__ import annotations

import contextlib
import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymodbus.client.mixin import ModbusClientMixin

from adapters.errors import AdapterError, PointWriteRejected
from adapters.modbus.decode import (
    FLOAT_TYPES,
    SENTINELS,
    WORD_TYPES,
    RegisterDecodeError,
    RegisterType,
    WordOrder,
    decode_registers,
    decode_words,
    encode_value,
    register_count,
)

WORD_ORDERS: list[WordOrder] = ["big", "little"]
NUMERIC_TYPES = [t for t in RegisterType if t is not RegisterType.STRING]
#: pymodbus' own converter, an independent implementation to compare against.
PYMODBUS_TYPE = {
    RegisterType.INT16: ModbusClientMixin.DATATYPE.INT16,
    RegisterType.UINT16: ModbusClientMixin.DATATYPE.UINT16,
    RegisterType.INT32: ModbusClientMixin.DATATYPE.INT32,
    RegisterType.UINT32: ModbusClientMixin.DATATYPE.UINT32,
    RegisterType.INT64: ModbusClientMixin.DATATYPE.INT64,
    RegisterType.UINT64: ModbusClientMixin.DATATYPE.UINT64,
    RegisterType.FLOAT32: ModbusClientMixin.DATATYPE.FLOAT32,
    RegisterType.FLOAT64: ModbusClientMixin.DATATYPE.FLOAT64,
    RegisterType.ACC32: ModbusClientMixin.DATATYPE.UINT32,
    RegisterType.ACC64: ModbusClientMixin.DATATYPE.UINT64,
    RegisterType.ENUM16: ModbusClientMixin.DATATYPE.UINT16,
    RegisterType.BITFIELD16: ModbusClientMixin.DATATYPE.UINT16,
    RegisterType.BITFIELD32: ModbusClientMixin.DATATYPE.UINT32,
    RegisterType.SUNSSF: ModbusClientMixin.DATATYPE.INT16,
}


@pytest.mark.parametrize(
    ("registers", "data_type", "word_order", "expected"),
    [
        # Two's complement: 0xFFFB is -5.
        ([0xFFFB], RegisterType.INT16, "big", -5),
        ([0xFFFB], RegisterType.UINT16, "big", 65531),
        # 0x0001_0002 = 65538, stored high word first or (swapped) low word first.
        ([0x0001, 0x0002], RegisterType.INT32, "big", 65538),
        ([0x0002, 0x0001], RegisterType.INT32, "little", 65538),
        ([0xFFFF, 0xFFFE], RegisterType.INT32, "big", -2),
        ([0x0001, 0x0000], RegisterType.UINT32, "big", 65536),
        # IEEE 754: 230.5 = 0x43668000, 1.0 (double) = 0x3FF0000000000000.
        ([0x4366, 0x8000], RegisterType.FLOAT32, "big", 230.5),
        ([0x8000, 0x4366], RegisterType.FLOAT32, "little", 230.5),
        ([0x3FF0, 0, 0, 0], RegisterType.FLOAT64, "big", 1.0),
        ([0, 0, 0, 0x3FF0], RegisterType.FLOAT64, "little", 1.0),
        ([0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], RegisterType.INT64, "big", -2),
        ([0, 0, 0, 7], RegisterType.UINT64, "big", 7),
        ([0, 1000], RegisterType.ACC32, "big", 1000),
        ([0x0005], RegisterType.ENUM16, "big", 5),
        ([0x0000, 0x8001], RegisterType.BITFIELD32, "big", 0x8001),
        ([0xFFFE], RegisterType.SUNSSF, "big", -2),
        # "SunS" is 0x53 0x75 0x6E 0x53; trailing NULs are padding.
        ([0x5375, 0x6E53], RegisterType.STRING, "big", "SunS"),
        ([0x5375, 0x6E53, 0], RegisterType.STRING, "little", "SunS"),
    ],
)
def test_known_encodings(
    registers: list[int], data_type: RegisterType, word_order: WordOrder, expected: object
) -> None:
    assert decode_registers(registers, data_type, word_order) == expected


@pytest.mark.parametrize("data_type", sorted(SENTINELS))
def test_sentinels_decode_to_none(data_type: RegisterType) -> None:
    sentinel = SENTINELS[data_type]
    fmt = {1: ">H", 2: ">I", 4: ">Q"}[register_count(data_type)]
    pattern = struct.pack(fmt, sentinel & (2 ** (8 * struct.calcsize(fmt)) - 1))
    words = list(struct.unpack(f">{len(pattern) // 2}H", pattern))
    assert decode_registers(words, data_type) is None
    if data_type is not RegisterType.SUNSSF:
        # A plain register map may switch sentinels off; then the value is a number.
        assert decode_registers(words, data_type, sentinels=False) == sentinel


@pytest.mark.parametrize("bits", [0x7FC00000, 0x7F800000, 0xFF800000])
def test_non_finite_float32_is_none_even_without_sentinels(bits: int) -> None:
    words = [bits >> 16, bits & 0xFFFF]
    assert decode_registers(words, RegisterType.FLOAT32, sentinels=False) is None


def test_all_nul_string_is_none() -> None:
    assert decode_registers([0, 0, 0], RegisterType.STRING) is None


@pytest.mark.parametrize(
    ("registers", "data_type"),
    [
        ([1], RegisterType.INT32),
        ([1, 2, 3], RegisterType.FLOAT32),
        ([], RegisterType.INT16),
        ([], RegisterType.STRING),
        ([0x10000], RegisterType.UINT16),
        ([-1], RegisterType.INT16),
        ([0xC328], RegisterType.STRING),
    ],
)
def test_undecodable_registers_raise_our_error(
    registers: list[int], data_type: RegisterType
) -> None:
    with pytest.raises(RegisterDecodeError):
        decode_registers(registers, data_type)


@pytest.mark.parametrize(
    ("value", "data_type"),
    [
        (math.nan, RegisterType.FLOAT32),
        (math.inf, RegisterType.INT16),
        (1.5, RegisterType.INT16),
        (40000, RegisterType.INT16),
        (-1, RegisterType.UINT16),
        (-0x8000, RegisterType.INT16),
        (0xFFFF, RegisterType.UINT16),
        (0, RegisterType.ACC32),
    ],
)
def test_encode_refuses_unrepresentable_values(value: float, data_type: RegisterType) -> None:
    with pytest.raises(PointWriteRejected):
        encode_value(value, data_type)


words = st.lists(st.integers(min_value=0, max_value=0xFFFF), min_size=1, max_size=4)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    registers=st.lists(st.integers(min_value=-5, max_value=0x10005), max_size=6),
    data_type=st.sampled_from(list(RegisterType)),
    word_order=st.sampled_from(WORD_ORDERS),
    sentinels=st.booleans(),
)
def test_arbitrary_registers_never_raise_foreign_errors(
    registers: list[int], data_type: RegisterType, word_order: WordOrder, sentinels: bool
) -> None:
    with contextlib.suppress(AdapterError):
        decode_registers(registers, data_type, word_order, sentinels=sentinels)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data(), data_type=st.sampled_from(NUMERIC_TYPES))
def test_decode_agrees_with_pymodbus(data: st.DataObject, data_type: RegisterType) -> None:
    count = register_count(data_type)
    registers = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=count, max_size=count))
    word_order = data.draw(st.sampled_from(WORD_ORDERS))
    ours = decode_registers(registers, data_type, word_order, sentinels=False)
    theirs = ModbusClientMixin.convert_from_registers(
        registers, PYMODBUS_TYPE[data_type], word_order=word_order
    )
    if isinstance(theirs, float) and not math.isfinite(theirs):
        assert ours is None
    else:
        assert ours == theirs


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data(), data_type=st.sampled_from(NUMERIC_TYPES))
def test_round_trip(data: st.DataObject, data_type: RegisterType) -> None:
    word_order = data.draw(st.sampled_from(WORD_ORDERS))
    if data_type in FLOAT_TYPES:
        value: float = data.draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
    else:
        bits = 16 * register_count(data_type)
        signed = data_type in (
            RegisterType.INT16,
            RegisterType.INT32,
            RegisterType.INT64,
            RegisterType.SUNSSF,
        )
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        value = data.draw(st.integers(low, high).filter(lambda v: v != SENTINELS[data_type]))
    registers = encode_value(value, data_type, word_order)
    assert len(registers) == register_count(data_type)
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode_registers(registers, data_type, word_order) == value


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(data_type=st.sampled_from(sorted(SENTINELS)), word_order=st.sampled_from(WORD_ORDERS))
def test_sentinels_never_yield_numbers(data_type: RegisterType, word_order: WordOrder) -> None:
    # The sentinel's registers, in the device's word order, as a device would send them.
    sentinel = SENTINELS[data_type]
    count = register_count(data_type)
    raw = (sentinel & (2 ** (16 * count) - 1)).to_bytes(2 * count, "big")
    registers = list(struct.unpack(f">{count}H", raw))
    if word_order == "little":
        registers.reverse()
    assert decode_registers(registers, data_type, word_order) is None


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(text=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8))
def test_string_round_trip(text: str) -> None:
    size = max(1, (len(text.encode()) + 1) // 2)
    registers = encode_value(text, RegisterType.STRING, size=size)
    assert decode_registers(registers, RegisterType.STRING) == (text or None)


#: Words that hit the sentinels, NaN and infinities as well as ordinary values.
special_or_any_word = st.one_of(
    st.integers(0, 0xFFFF),
    st.sampled_from([0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x7F80, 0xFF80, 0x7FC0, 0x4366]),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    data=st.data(),
    data_type=st.sampled_from(sorted(WORD_TYPES)),
    word_order=st.sampled_from(WORD_ORDERS),
    sentinels=st.booleans(),
)
def test_decode_words_agrees_with_decode_registers(
    data: st.DataObject, data_type: RegisterType, word_order: WordOrder, sentinels: bool
) -> None:
    words = data.draw(st.lists(special_or_any_word, min_size=4, max_size=40))
    count = register_count(data_type)
    offsets = data.draw(st.lists(st.integers(0, len(words) - count), max_size=12))

    raw, none = decode_words(
        np.array(words, dtype=np.uint32),
        np.array(offsets, dtype=np.intp),
        data_type,
        word_order,
        sentinels=sentinels,
    )

    assert raw.dtype == np.float64 and raw.shape == none.shape == (len(offsets),)
    for offset, value, is_none in zip(offsets, raw.tolist(), none.tolist(), strict=True):
        one = decode_registers(
            words[offset : offset + count], data_type, word_order, sentinels=sentinels
        )
        assert is_none == (one is None)
        if one is not None:
            assert isinstance(one, int | float)
            assert value == float(one)


@pytest.mark.parametrize(
    ("words", "data_type", "word_order", "expected"),
    [
        ([0xFFFB], RegisterType.INT16, "big", -5.0),
        ([0x0002, 0x0001], RegisterType.INT32, "little", 65538.0),
        ([0xFFFF, 0xFFFE], RegisterType.INT32, "big", -2.0),
        ([0x8000, 0x4366], RegisterType.FLOAT32, "little", 230.5),
        ([0xFFFF, 0xFFFF], RegisterType.UINT32, "big", None),
        ([0, 0], RegisterType.ACC32, "big", None),
    ],
)
def test_decode_words_known_encodings(
    words: list[int], data_type: RegisterType, word_order: WordOrder, expected: float | None
) -> None:
    raw, none = decode_words(
        np.array(words, dtype=np.uint32), np.array([0], dtype=np.intp), data_type, word_order
    )
    assert bool(none[0]) == (expected is None)
    if expected is not None:
        assert raw[0] == expected
