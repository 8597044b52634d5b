"""Register images: what a simulated Modbus device holds, and values in and out of it.

A :class:`RegisterImage` is the device's own memory: the simulation writes
measurements into it, clients' writes land in it, and the server answers
every read from it. It knows which addresses exist (a read elsewhere is
refused by the server with exception 2) and which a client may write.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pymodbus.simulator import DataType, SimData

from adapters.modbus.decode import (
    FLOAT_TYPES,
    SENTINELS,
    RegisterType,
    WordOrder,
    decode_registers,
    encode_value,
    register_count,
)

#: Integer types whose raw value is signed.
SIGNED_TYPES = frozenset(
    {RegisterType.INT16, RegisterType.INT32, RegisterType.INT64, RegisterType.SUNSSF}
)


@dataclass(frozen=True)
class DataField:
    """A value in the image that faults may spoil: where it is and how it is encoded."""

    address: int
    data_type: RegisterType
    word_order: WordOrder = "big"

    @property
    def addresses(self) -> range:
        """The registers the value occupies."""
        return range(self.address, self.address + register_count(self.data_type, 1))


class RegisterImage:
    """The registers of one simulated device.

    Parameters
    ----------
    defined
        Every address the device has, with its initial value.
    writable
        The addresses a client may write (the others refuse writes with exception 2).
    """

    def __init__(self, defined: dict[int, int], writable: Iterable[int] = ()) -> None:
        self._words = dict(defined)
        self.writable = frozenset(writable)
        unknown = self.writable - self._words.keys()
        if unknown:
            raise ValueError(f"writable addresses {sorted(unknown)[:5]} are not defined")

    @classmethod
    def contiguous(
        cls, first_address: int, words: Sequence[int], writable: Iterable[int] = ()
    ) -> RegisterImage:
        """An image of ``words`` from ``first_address`` on."""
        return cls({first_address + i: w for i, w in enumerate(words)}, writable)

    @property
    def addresses(self) -> list[int]:
        """Every defined address, ascending."""
        return sorted(self._words)

    def read(self, address: int, count: int) -> list[int]:
        """``count`` registers from ``address`` (undefined ones read 0)."""
        return [self._words.get(a, 0) for a in range(address, address + count)]

    def write(self, address: int, words: Sequence[int]) -> None:
        """Store registers from ``address`` on (a client's write or the simulation's)."""
        for offset, word in enumerate(words):
            self._words[address + offset] = int(word) & 0xFFFF

    def decode(
        self, address: int, data_type: RegisterType, word_order: WordOrder = "big"
    ) -> int | float | None:
        """The raw value at ``address``; None for a "not implemented" or non-finite value."""
        value = decode_registers(
            self.read(address, register_count(data_type, 1)), data_type, word_order
        )
        return None if isinstance(value, str) else value

    def encode(
        self, address: int, raw: float, data_type: RegisterType, word_order: WordOrder = "big"
    ) -> None:
        """Store a measurement's raw value, held inside what the type can represent."""
        self.write(address, encode_measurement(raw, data_type, word_order))

    def simdata(self) -> list[SimData]:
        """The image as pymodbus blocks: one per run of addresses of equal writability."""
        blocks: list[SimData] = []
        run: list[int] = []
        for address in self.addresses:
            if run and (
                address != run[-1] + 1 or (address in self.writable) != (run[0] in self.writable)
            ):
                blocks.append(self._block(run))
                run = []
            run.append(address)
        if run:
            blocks.append(self._block(run))
        return blocks

    def _block(self, run: list[int]) -> SimData:
        return SimData(
            run[0],
            values=[self._words[a] for a in run],
            datatype=DataType.REGISTERS,
            readonly=run[0] not in self.writable,
        )


def type_range(data_type: RegisterType) -> tuple[int, int]:
    """The raw values an integer type can hold without reading as "not implemented"."""
    bits = 16 * register_count(data_type, 1)
    if data_type in SIGNED_TYPES:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        low, high = 0, (1 << bits) - 1
    sentinel = SENTINELS.get(data_type)
    if sentinel == low:
        low += 1
    if sentinel == high:
        high -= 1
    return low, high


def encode_measurement(
    raw: float, data_type: RegisterType, word_order: WordOrder = "big"
) -> list[int]:
    """Registers of a measured raw value, rounded and held inside the type's range.

    A measurement a register cannot hold saturates, as a device's would; it
    never turns into the type's "not implemented" value.

    Parameters
    ----------
    raw
        The value in register units (already divided by its scale).
    data_type
        The encoding (not a string).
    word_order
        The device's word order.
    """
    if data_type in FLOAT_TYPES:
        return encode_value(float(raw), data_type, word_order)
    low, high = type_range(data_type)
    value = 0 if not math.isfinite(raw) else min(max(round(raw), low), high)
    return encode_value(value, data_type, word_order)


def sentinel_words(data_type: RegisterType, word_order: WordOrder = "big") -> list[int]:
    """The registers of a type's "not implemented" value (NaN for floats)."""
    count = register_count(data_type, 1)
    if data_type is RegisterType.FLOAT32:
        words = [0x7FC0, 0x0000]
    elif data_type is RegisterType.FLOAT64:
        words = [0x7FF8, 0, 0, 0]
    else:
        unsigned = SENTINELS[data_type] & ((1 << (16 * count)) - 1)
        words = [(unsigned >> (16 * (count - 1 - i))) & 0xFFFF for i in range(count)]
    return words[::-1] if word_order == "little" else words


def scale_exponent(largest: float, limit: int = 32_767) -> int:
    """The smallest power-of-ten exponent ≥ 0 that fits ``largest`` into ``limit`` counts.

    Parameters
    ----------
    largest
        The largest magnitude the register must carry, in base units (e.g. W).
    limit
        The largest raw value of the register.
    """
    exponent = 0
    while abs(largest) / 10**exponent > limit:
        exponent += 1
    return exponent
