"""Reading BACnet values as klaster values: present values, status flags, priorities."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from adapters.bacnet.maps import BacnetPointBinding
from cluster.timeseries import Quality

#: Relative tolerance of a read-back comparison: BACnet REAL is a 32-bit float.
READ_BACK_REL_TOL = 1e-6
#: Absolute tolerance of a read-back comparison, in the point's unit.
READ_BACK_ABS_TOL = 1e-4


@dataclass(frozen=True)
class StatusFlags:
    """The four BACnet status flags of an object (its ``status-flags`` property)."""

    in_alarm: bool = False
    fault: bool = False
    overridden: bool = False
    out_of_service: bool = False


def decode_status_flags(raw: Any) -> StatusFlags:
    """Status flags from the bit string bacpypes3 returns (in-alarm, fault, overridden, oos)."""
    bits = [bool(b) for b in list(raw)[:4]]
    bits += [False] * (4 - len(bits))
    return StatusFlags(*bits)


def decode_present_value(binding: BacnetPointBinding, raw: Any) -> float | None:
    """A present value as a float: analog values as they are, binary active = 1, inactive = 0.

    None when the device sent Null or something that is not a number.
    """
    if raw is None:
        return None
    try:
        return float(int(raw)) if binding.object_type.is_binary else float(raw)
    except (TypeError, ValueError):
        return None


def assess(
    binding: BacnetPointBinding, value: float | None, flags: StatusFlags | None
) -> tuple[float | None, Quality, str]:
    """The value to pass on, its quality and a detail, for one read of one point.

    A fault flag makes the value MISSING (the device itself does not trust it);
    an out-of-service flag makes it STALE (it no longer follows the sensor or
    the process); a value outside the point's range is OUT_OF_RANGE. Whenever
    the quality is not GOOD the value is None.
    """
    name = binding.object_identifier
    if value is None:
        return None, Quality.MISSING, f"{name}: the device sent no numeric present-value"
    if flags is not None and flags.fault:
        return None, Quality.MISSING, f"{name}: the device reports a fault (status-flags)"
    if flags is not None and flags.out_of_service:
        return None, Quality.STALE, f"{name}: out of service, the value does not follow the plant"
    if not binding.point.within_bounds(value):
        point = binding.point
        return (
            None,
            Quality.OUT_OF_RANGE,
            (
                f"{name}: {value!r} {point.unit} is outside the point's range "
                f"[{point.min_value}, {point.max_value}]"
            ),
        )
    return value, Quality.GOOD, ""


def priority_slot_value(entry: Any) -> float | None:
    """The value held in one priority-array slot; None for an empty (Null) slot.

    A slot holding a value that is not a number gives NaN, so it still counts as occupied.
    """
    if getattr(entry, "null", None) is not None:
        return None
    choice = getattr(entry, "_choice", None)
    held = getattr(entry, choice, None) if choice else None
    if held is None:
        return None
    try:
        return float(held)
    except (TypeError, ValueError):
        # Occupied by something that is not a number: still occupied.
        return math.nan


def active_priority(slots: list[float | None], current_command_priority: Any) -> int | None:
    """The priority (1-16) that drives the present value; None when all slots are empty.

    Uses ``current-command-priority`` when the object has it (BACnet rev. 17+)
    and the first non-empty slot of the priority array otherwise.
    """
    if current_command_priority is not None:
        unsigned = getattr(current_command_priority, "unsigned", None)
        if unsigned is not None:
            return int(unsigned)
        if getattr(current_command_priority, "null", None) is not None:
            return None
    for index, slot in enumerate(slots):
        if slot is not None:
            return index + 1
    return None


def same_value(read_back: float | None, written: float) -> bool:
    """True when a read-back equals the written value within REAL precision."""
    if read_back is None:
        return False
    return math.isclose(read_back, written, rel_tol=READ_BACK_REL_TOL, abs_tol=READ_BACK_ABS_TOL)
