"""The faults a test engineer can inject into the rig's devices while it runs.

Modbus devices (meters, PLCs, cabinets, inverters):

* ``offline`` — the server stops listening; clearing restarts it on the same port;
* ``slow`` — every answer is delayed (by default 2 s, beyond a client's usual timeout);
* ``exception-2``, ``exception-4``, ``exception-6`` — every request is answered
  with that Modbus exception (illegal address, device failure, device busy);
* ``garbage`` — the data registers read random values;
* ``sentinel`` — the data registers read "not implemented" (0x8000, 0xFFFF, NaN, ...).

BACnet building controllers:

* ``offline`` and ``slow`` as above;
* ``no-response`` — the controller stays bound but answers nothing;
* ``hold-priority`` — an operator holds a zone setpoint at priority 6.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from adapters.rig.errors import RigError
from adapters.rig.registers import DataField, sentinel_words
from adapters.site import Protocol

#: How long a slow device takes to answer by default, s.
DEFAULT_DELAY_S = 2.0
#: The priority at which ``hold-priority`` holds a point (minimum on/off: above klaster's 8-16).
HOLD_PRIORITY = 6


class FaultKind(StrEnum):
    """The kinds of fault."""

    OFFLINE = "offline"
    SLOW = "slow"
    EXCEPTION_2 = "exception-2"
    EXCEPTION_4 = "exception-4"
    EXCEPTION_6 = "exception-6"
    GARBAGE = "garbage"
    SENTINEL = "sentinel"
    NO_RESPONSE = "no-response"
    HOLD_PRIORITY = "hold-priority"

    @property
    def exception_code(self) -> int | None:
        """The Modbus exception code a device answers, for the ``exception-N`` kinds."""
        prefix = "exception-"
        return int(self.value.removeprefix(prefix)) if self.value.startswith(prefix) else None


MODBUS_FAULTS: tuple[FaultKind, ...] = (
    FaultKind.OFFLINE,
    FaultKind.SLOW,
    FaultKind.EXCEPTION_2,
    FaultKind.EXCEPTION_4,
    FaultKind.EXCEPTION_6,
    FaultKind.GARBAGE,
    FaultKind.SENTINEL,
)
BACNET_FAULTS: tuple[FaultKind, ...] = (
    FaultKind.OFFLINE,
    FaultKind.SLOW,
    FaultKind.NO_RESPONSE,
    FaultKind.HOLD_PRIORITY,
)
#: The word that clears a device's fault on the command line.
CLEAR = "clear"


def faults_for(protocol: Protocol) -> tuple[FaultKind, ...]:
    """The fault kinds a device of ``protocol`` accepts."""
    return BACNET_FAULTS if protocol is Protocol.BACNET else MODBUS_FAULTS


@dataclass(frozen=True)
class Fault:
    """A fault as injected: its kind and its options.

    Parameters
    ----------
    kind
        What goes wrong.
    delay_s
        For ``slow``: how long each answer takes, s.
    point
        For ``hold-priority``: the held point (``<zone>.setpoint``); the
        first zone's setpoint when None.
    value
        For ``hold-priority``: the held value in the point's unit; the
        zone's upper occupied comfort bound when None.
    """

    kind: FaultKind
    delay_s: float = DEFAULT_DELAY_S
    point: str | None = None
    value: float | None = None

    def describe(self) -> str:
        """A short text for status tables, e.g. ``slow (2 s)``."""
        if self.kind is FaultKind.SLOW:
            return f"slow ({self.delay_s:g} s)"
        if self.kind is FaultKind.HOLD_PRIORITY:
            return f"hold-priority ({self.point} = {self.value:g} @ {HOLD_PRIORITY})"
        return str(self.kind)

    def as_json(self) -> dict[str, Any]:
        """The fault as plain data for the control channel."""
        return {"kind": str(self.kind), "delay_s": self.delay_s, "point": self.point,
                "value": self.value, "text": self.describe()}  # fmt: skip


def parse_fault_kind(kind: str, device_id: str, protocol: Protocol) -> FaultKind:
    """The fault kind named ``kind``, checked against what the device accepts.

    Raises
    ------
    RigError
        For an unknown kind or one the device's protocol does not have,
        naming the valid kinds.
    """
    valid = faults_for(protocol)
    names = ", ".join(str(k) for k in valid)
    try:
        parsed = FaultKind(kind)
    except ValueError:
        raise RigError(
            f"unknown fault kind {kind!r} for {device_id}",
            fix=f"use one of: {names}; or {CLEAR!r} to clear the device's fault",
        ) from None
    if parsed not in valid:
        raise RigError(
            f"a {protocol} device such as {device_id} has no fault {kind!r}",
            fix=f"use one of: {names}",
        )
    return parsed


def check_delay(delay_s: float) -> float:
    """A slow fault's delay, s, if it is a positive finite number.

    Raises
    ------
    RigError
        Otherwise.
    """
    if not (isinstance(delay_s, int | float) and 0 < delay_s <= 600):
        raise RigError(
            f"delay {delay_s!r} s is not a positive number of seconds up to 600",
            fix="give --delay between 0 and 600 s",
        )
    return float(delay_s)


def sentinel_overlay(fields: Sequence[DataField]) -> dict[int, int]:
    """Address → register that makes every data field read "not implemented"."""
    overlay: dict[int, int] = {}
    for data_field in fields:
        words = sentinel_words(data_field.data_type, data_field.word_order)
        overlay.update(zip(data_field.addresses, words, strict=True))
    return overlay


def garbage_addresses(fields: Sequence[DataField]) -> frozenset[int]:
    """The addresses a ``garbage`` fault fills with random words."""
    return frozenset(a for data_field in fields for a in data_field.addresses)


def garbage_words(rng: random.Random, count: int) -> list[int]:
    """``count`` random 16-bit words."""
    return [rng.randrange(0x10000) for _ in range(count)]
