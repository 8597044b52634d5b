"""Turning Modbus registers into numbers and back, in one place.

Every register value klaster reads passes through :func:`decode_registers`
(one value) or :func:`decode_words` (many values of one type at once, the
same results), and every value it writes through :func:`encode_value`. Bytes
inside a register are always big-endian (the Modbus rule); only the order of
the registers (words) of a multi-register value differs between devices, and
is given per device as ``"big"`` (most significant word first) or ``"little"``.

The SunSpec "not implemented" values (int16 0x8000, uint16 0xFFFF, int32
0x80000000, uint32 0xFFFFFFFF, acc32 0, …) and non-finite floats decode to
``None``, never to a number: a missing power must not read as -32768 W.

:func:`decode_point` turns a map point's registers into a value in its unit
with a quality: scale, scale factor, states, bits and the plausible range.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from adapters.errors import PointReadError, PointWriteRejected
from cluster.points import Point
from cluster.timeseries import Quality

if TYPE_CHECKING:
    # maps.py imports this module; the point type is needed for annotations only.
    from adapters.modbus.maps import RegisterPoint

WordOrder = Literal["big", "little"]

#: The largest number of registers one read request may ask for (Modbus limit).
MAX_READ_REGISTERS = 125
#: The largest number of registers one write request (FC16) may carry.
MAX_WRITE_REGISTERS = 123


class RegisterType(StrEnum):
    """How a point's registers encode its value."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    #: Unsigned 32-bit energy accumulator; 0 means "not accumulated" (SunSpec).
    ACC32 = "acc32"
    ACC64 = "acc64"
    #: A state code; the map lists the meaning of each code.
    ENUM16 = "enum16"
    #: Flags; the map names each bit.
    BITFIELD16 = "bitfield16"
    BITFIELD32 = "bitfield32"
    #: A SunSpec scale factor: the value is multiplied by 10 ** sf.
    SUNSSF = "sunssf"
    #: Text, two bytes per register; word order does not apply.
    STRING = "string"


#: struct format and register count of each fixed-size type.
_LAYOUT: dict[RegisterType, tuple[str, int]] = {
    RegisterType.INT16: ("h", 1),
    RegisterType.UINT16: ("H", 1),
    RegisterType.INT32: ("i", 2),
    RegisterType.UINT32: ("I", 2),
    RegisterType.INT64: ("q", 4),
    RegisterType.UINT64: ("Q", 4),
    RegisterType.FLOAT32: ("f", 2),
    RegisterType.FLOAT64: ("d", 4),
    RegisterType.ACC32: ("I", 2),
    RegisterType.ACC64: ("Q", 4),
    RegisterType.ENUM16: ("H", 1),
    RegisterType.BITFIELD16: ("H", 1),
    RegisterType.BITFIELD32: ("I", 2),
    RegisterType.SUNSSF: ("h", 1),
}

#: The raw value that means "not implemented", per type (after decoding).
SENTINELS: dict[RegisterType, int] = {
    RegisterType.INT16: -0x8000,
    RegisterType.UINT16: 0xFFFF,
    RegisterType.INT32: -0x80000000,
    RegisterType.UINT32: 0xFFFFFFFF,
    RegisterType.INT64: -0x8000000000000000,
    RegisterType.UINT64: 0xFFFFFFFFFFFFFFFF,
    RegisterType.ACC32: 0,
    RegisterType.ACC64: 0,
    RegisterType.ENUM16: 0xFFFF,
    RegisterType.BITFIELD16: 0xFFFF,
    RegisterType.BITFIELD32: 0xFFFFFFFF,
    RegisterType.SUNSSF: -0x8000,
}

#: Types whose value is an integer code or count (may carry states or bits).
INTEGER_TYPES = frozenset(
    t for t in RegisterType if t not in (RegisterType.FLOAT32, RegisterType.FLOAT64)
) - {RegisterType.STRING}
FLOAT_TYPES = frozenset({RegisterType.FLOAT32, RegisterType.FLOAT64})

#: Types :func:`decode_words` decodes: one or two registers, every value exact in a float64.
WORD_TYPES = frozenset(t for t, (_, count) in _LAYOUT.items() if count <= 2)

#: SunSpec limits scale factors to -10..10; anything else is a garbled register.
SCALE_FACTOR_LIMIT = 10


class RegisterDecodeError(PointReadError):
    """Registers that cannot be decoded as the map says (wrong count, bad text)."""


def register_count(data_type: RegisterType, size: int | None = None) -> int:
    """Registers one value of ``data_type`` occupies.

    Parameters
    ----------
    data_type
        The encoding.
    size
        Registers of a string (required for strings, ignored otherwise).
    """
    if data_type is RegisterType.STRING:
        if size is None or size < 1:
            raise ValueError("a string needs its size in registers (size >= 1)")
        return size
    return _LAYOUT[data_type][1]


def _ordered(registers: Sequence[int], word_order: WordOrder) -> list[int]:
    words = list(registers)
    return words[::-1] if word_order == "little" else words


def _to_bytes(registers: Sequence[int]) -> bytes:
    for register in registers:
        if not isinstance(register, int) or not 0 <= register <= 0xFFFF:
            raise RegisterDecodeError(f"register value {register!r} is not a 16-bit word")
    return struct.pack(f">{len(registers)}H", *registers)


def decode_registers(
    registers: Sequence[int],
    data_type: RegisterType,
    word_order: WordOrder = "big",
    *,
    sentinels: bool = True,
) -> int | float | str | None:
    """Decode one value from its registers.

    Parameters
    ----------
    registers
        The value's registers as read (16-bit words, protocol order).
    data_type
        The encoding.
    word_order
        ``"big"`` when the most significant register comes first, ``"little"``
        for word-swapped devices. Ignored for 16-bit types and strings.
    sentinels
        Whether the SunSpec "not implemented" values decode to None. NaN and
        infinity always decode to None.

    Returns
    -------
    int | float | str | None
        The raw value (before any scaling); None for "not implemented" and for
        an all-NUL string.

    Raises
    ------
    RegisterDecodeError
        When the register count does not fit the type, a register is not a
        16-bit word, or a string is not valid UTF-8.
    """
    if data_type is RegisterType.STRING:
        if not registers:
            raise RegisterDecodeError("a string needs at least one register")
        text_bytes = _to_bytes(registers).rstrip(b"\x00")
        if not text_bytes:
            return None
        try:
            return text_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RegisterDecodeError(f"registers are not UTF-8 text: {exc.reason}") from exc
    fmt, count = _LAYOUT[data_type]
    if len(registers) != count:
        raise RegisterDecodeError(f"{data_type} needs {count} register(s), got {len(registers)}")
    (value,) = struct.unpack(f">{fmt}", _to_bytes(_ordered(registers, word_order)))
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if (sentinels or data_type is RegisterType.SUNSSF) and value == SENTINELS[data_type]:
        return None
    return int(value)


def decode_words(
    words: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.intp],
    data_type: RegisterType,
    word_order: WordOrder = "big",
    *,
    sentinels: bool = True,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Decode many values of one type at once, each as :func:`decode_registers` would.

    Parameters
    ----------
    words
        Registers as read (16-bit words, protocol order), say one block's reply.
    offsets
        Where each value's first register is in ``words``.
    data_type
        The encoding, one of :data:`WORD_TYPES`.
    word_order
        As for :func:`decode_registers`.
    sentinels
        As for :func:`decode_registers`.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The raw values as float64 (exact: every type here fits one), and a mask
        of the values :func:`decode_registers` decodes to None; the raw value
        under the mask means nothing.
    """
    fmt, count = _LAYOUT[data_type]
    words = np.asarray(words, dtype=np.uint32)  # room for a high word shifted left by 16
    unsigned: npt.NDArray[np.integer[Any]]
    if count == 1:
        unsigned = words[offsets]
    else:
        high, low = (offsets, offsets + 1) if word_order == "big" else (offsets + 1, offsets)
        unsigned = (words[high] << 16) | words[low]
    if fmt == "f":
        # A signalling NaN warns when widened; it decodes to None like any NaN.
        with np.errstate(invalid="ignore"):
            raw = unsigned.astype(np.uint32).view(np.float32).astype(np.float64)
        return raw, ~np.isfinite(raw)
    whole = unsigned.astype(np.int64)
    if fmt.islower():  # signed: two's complement
        half = 1 << (16 * count - 1)
        whole -= (whole >= half) * (2 * half)
    if sentinels or data_type is RegisterType.SUNSSF:
        none = whole == SENTINELS[data_type]
    else:
        none = np.zeros(whole.shape, dtype=np.bool_)
    return whole.astype(np.float64), none


def encode_value(
    value: float | str, data_type: RegisterType, word_order: WordOrder = "big", *, size: int = 0
) -> list[int]:
    """Encode one raw value (already divided by its scale) into registers.

    Parameters
    ----------
    value
        The raw value; integer types need an integral value within the type's
        range that is not the type's "not implemented" value.
    data_type
        The encoding.
    word_order
        As for :func:`decode_registers`.
    size
        Registers of a string (the text is NUL-padded to fill them).

    Raises
    ------
    PointWriteRejected
        When the value cannot be represented: not finite, not integral for an
        integer type, outside the type's range, or equal to its sentinel.
    """
    if data_type is RegisterType.STRING:
        if not isinstance(value, str):
            raise PointWriteRejected(f"a string register needs text, got {value!r}")
        raw = value.encode("utf-8")
        if len(raw) > 2 * size:
            raise PointWriteRejected(f"text {value!r} does not fit {size} register(s)")
        raw = raw.ljust(2 * size, b"\x00")
        return list(struct.unpack(f">{size}H", raw))
    if isinstance(value, str) or not math.isfinite(value):
        raise PointWriteRejected(f"value {value!r} cannot be written as {data_type}")
    fmt, count = _LAYOUT[data_type]
    packed_value: int | float
    if data_type in FLOAT_TYPES:
        packed_value = float(value)
    else:
        if value != int(value):
            raise PointWriteRejected(f"{data_type} needs a whole number, got {value}")
        packed_value = int(value)
        if data_type in SENTINELS and packed_value == SENTINELS[data_type]:
            raise PointWriteRejected(
                f"{packed_value} is the 'not implemented' value of {data_type}; refusing to "
                "write it"
            )
    try:
        packed = struct.pack(f">{fmt}", packed_value)
    except (struct.error, OverflowError) as exc:
        raise PointWriteRejected(f"{value} is outside the range of {data_type}") from exc
    words = list(struct.unpack(f">{count}H", packed))
    return _ordered(words, word_order)


def scale_multiplier(scale: float, scale_factor: int | None) -> float:
    """The factor from a raw register value to engineering units.

    Parameters
    ----------
    scale
        The map's fixed factor (e.g. 0.001 for W → kW).
    scale_factor
        A SunSpec-style power-of-ten exponent read from the device, or None
        when the point has none.
    """
    return scale if scale_factor is None else scale * 10.0**scale_factor


def scale_factor_plausible(scale_factor: int) -> bool:
    """True when a scale-factor exponent is within SunSpec's -10..10."""
    return -SCALE_FACTOR_LIMIT <= scale_factor <= SCALE_FACTOR_LIMIT


@dataclass(frozen=True)
class Bounds:
    """A point's effective plausible/permitted range, in its unit."""

    min_value: float | None
    max_value: float | None

    def contains(self, value: float) -> bool:
        """True when ``value`` is finite and inside the range."""
        if not math.isfinite(value):
            return False
        if self.min_value is not None and value < self.min_value:
            return False
        return self.max_value is None or value <= self.max_value

    def text(self) -> str:
        """The range for messages, e.g. ``[0, 100]`` or ``[-inf, 50]``."""
        low = "-inf" if self.min_value is None else f"{self.min_value:g}"
        high = "inf" if self.max_value is None else f"{self.max_value:g}"
        return f"[{low}, {high}]"


def effective_bounds(register: RegisterPoint, point: Point | None) -> Bounds:
    """The tighter of the map's range and the configured point's range."""
    configured = (None, None) if point is None else (point.min_value, point.max_value)
    lows = [v for v in (register.min_value, configured[0]) if v is not None]
    highs = [v for v in (register.max_value, configured[1]) if v is not None]
    return Bounds(max(lows) if lows else None, min(highs) if highs else None)


def not_implemented_detail(register: RegisterPoint) -> str:
    """The detail of a reading whose register holds its type's "not implemented" value."""
    return f"{register.data_type} 'not implemented' value"


def out_of_range_detail(register: RegisterPoint, value: float, bounds: Bounds) -> str:
    """The detail of a reading outside its plausible range."""
    return f"{value:g} {register.unit} outside {bounds.text()}"


def decode_point(
    register: RegisterPoint,
    words: Sequence[int],
    scale_word: int | None,
    word_order: WordOrder,
    bounds: Bounds,
) -> tuple[float | None, Quality, str]:
    """Decode one point's registers into ``(value, quality, detail)``.

    Parameters
    ----------
    register
        The point's map entry.
    words
        The value's registers.
    scale_word
        The scale-factor register, when the point has one.
    word_order
        The device's word order.
    bounds
        Plausible range; values outside it are OUT_OF_RANGE.
    """
    try:
        raw = decode_registers(
            words,
            register.data_type,
            word_order,
            sentinels=register.sentinels,
        )
        sf = None
        if register.scale_factor_address is not None and scale_word is not None:
            sf = decode_registers([scale_word], RegisterType.SUNSSF)
    except PointReadError as exc:
        return None, Quality.MISSING, str(exc)
    if raw is None:
        return None, Quality.NOT_IMPLEMENTED, not_implemented_detail(register)
    if isinstance(raw, str):
        return None, Quality.MISSING, "a text register has no numeric value"
    scale_factor: int | None = None
    if register.scale_factor_address is not None:
        if not isinstance(sf, int):
            return None, Quality.NOT_IMPLEMENTED, "scale factor not implemented (0x8000)"
        if not scale_factor_plausible(sf):
            return None, Quality.OUT_OF_RANGE, f"implausible scale factor 10^{sf}"
        scale_factor = sf
    detail = ""
    if register.states:
        if raw not in register.states:
            return None, Quality.OUT_OF_RANGE, f"unknown state code {raw}"
        detail = register.states[int(raw)]
    elif register.bits:
        detail = ",".join(
            name for bit, name in sorted(register.bits.items()) if int(raw) >> bit & 1
        )
    value = float(raw) * scale_multiplier(register.scale, scale_factor)
    if not bounds.contains(value):
        return None, Quality.OUT_OF_RANGE, out_of_range_detail(register, value, bounds)
    return value, Quality.GOOD, detail
