"""Commanding through a BACnet priority array, under klaster's safety rules.

The rules, checked before anything is sent: only points marked writable on
commandable objects; only priorities from the configured minimum (8 by
default) to 16, never 1-7 (life safety, critical equipment, minimum on/off,
local operators); only finite values inside the point's range, never clamped.

After every write the priority array (and ``current-command-priority`` where
the object has it) is read back: a higher priority holding the point is
reported as ``overridden by priority N`` and never answered by escalating; a
read-back that differs from what was written is reported once, not retried.
Every slot written is remembered (before sending: a write cut off by a
timeout or a cancel may still have landed) until it is relinquished.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.bacnet.maps import BacnetDevice, BacnetPointBinding
from adapters.bacnet.stack import ServiceRefused
from adapters.bacnet.values import (
    active_priority,
    decode_present_value,
    priority_slot_value,
    same_value,
)
from adapters.device import WriteResult
from adapters.errors import AdapterError, PointReadError, PointWriteRejected

#: Priorities 1-7 belong to life safety, critical equipment and local operators.
LOWEST_RESERVED_PRIORITY = 7
DEFAULT_WRITE_PRIORITY = 8

#: Reads one property of a point's object (raises ServiceRefused or DeviceUnreachable).
ReadProperty = Callable[[BacnetDevice, BacnetPointBinding, str], Awaitable[Any]]
#: Writes a present value (None: Null, i.e. relinquish) at a priority.
WritePresentValue = Callable[[BacnetDevice, BacnetPointBinding, float | None, int], Awaitable[None]]


@dataclass(frozen=True)
class CommandState:
    """A commandable object as read back: its 16 slots, active priority and present value."""

    slots: list[float | None]
    active_priority: int | None
    present_value: float | None


class PriorityCommander:
    """Writes and relinquishes priority-array slots, and remembers what it holds.

    Parameters
    ----------
    read_property
        How to read a property of a point's object.
    write_present_value
        How to write a point's present value at a priority.
    min_write_priority
        The numerically lowest (most important) priority that may be written, 8-16.
    """

    def __init__(
        self,
        read_property: ReadProperty,
        write_present_value: WritePresentValue,
        min_write_priority: int = DEFAULT_WRITE_PRIORITY,
    ) -> None:
        if not LOWEST_RESERVED_PRIORITY < min_write_priority <= 16:
            raise AdapterError(
                f"min_write_priority {min_write_priority} is not allowed",
                fix="use a priority from 8 to 16; 1-7 are reserved for safety and operators",
            )
        self.min_write_priority = min_write_priority
        self._read = read_property
        self._write = write_present_value
        self._held: dict[tuple[str, str, int], tuple[BacnetDevice, BacnetPointBinding]] = {}

    @property
    def held_slots(self) -> list[tuple[str, str, int]]:
        """(device id, point id, priority) of every slot written and not yet released."""
        return [(d.device_id, b.point_id, p) for (_, _, p), (d, b) in self._held.items()]

    async def write_setpoint(
        self, device: BacnetDevice, point_id: str, value: float, priority: int
    ) -> WriteResult:
        """Command ``point_id`` to ``value`` (in the point's unit) at ``priority``, with read-back.

        Returns
        -------
        WriteResult
            ``ok`` only when our slot holds the value and drives the present
            value; otherwise ``detail`` says ``overridden by priority N`` or
            describes the read-back mismatch.

        Raises
        ------
        PointWriteRejected
            Before sending, for a point that is not writable, a reserved
            priority, NaN/infinity or a value outside the point's range; after
            sending, when the device refuses the write.
        DeviceUnreachable
            If the device does not answer.
        """
        binding = device.binding(point_id)
        where = _where(device, binding)
        self._check_command(device, binding, priority)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PointWriteRejected(
                f"{where}: {value!r} is not a number; nothing was sent",
                fix="pass a finite value in the point's unit",
            )
        if not math.isfinite(value):
            raise PointWriteRejected(
                f"{where}: {value!r} is not a finite number; nothing was sent",
                fix="pass a finite value in the point's unit",
            )
        if not binding.point.within_bounds(value):
            point = binding.point
            raise PointWriteRejected(
                f"{where}: {value} {point.unit} is outside [{point.min_value}, "
                f"{point.max_value}]; nothing was sent",
                fix="request a value inside the point's range (klaster never clamps)",
            )
        old_value = await self._present_value_or_none(device, binding)
        key = (device.address, binding.object_identifier, priority)
        held_before = key in self._held
        self._held[key] = (device, binding)
        try:
            await self._write(device, binding, float(value), priority)
        except ServiceRefused as exc:
            if not held_before:
                del self._held[key]  # refused: this write did not occupy the slot
            raise _refused(where, exc) from None
        state = await self._state_or_none(device, binding)
        if state is None:
            return WriteResult(
                point_id,
                value,
                old_value,
                None,
                False,
                "written, but the priority array could not be read back",
            )
        read_back = state.present_value
        held = state.slots[priority - 1]
        if not same_value(held, value):
            detail = f"read-back mismatch: priority-array[{priority}] holds {held}, wrote {value}"
        elif state.active_priority is not None and state.active_priority < priority:
            detail = f"overridden by priority {state.active_priority} (present value {read_back})"
        elif not same_value(read_back, value):
            detail = f"read-back mismatch: present-value is {read_back}, wrote {value}"
        else:
            return WriteResult(
                point_id, value, old_value, read_back, True, f"priority {priority} holds {value}"
            )
        return WriteResult(point_id, value, old_value, read_back, False, detail)

    async def relinquish(self, device: BacnetDevice, point_id: str, priority: int) -> WriteResult:
        """Write Null at ``priority`` and read back; ``ok`` when the slot is empty afterwards.

        ``read_back`` is the present value then in force (a lower priority's,
        or the relinquish default).
        """
        binding = device.binding(point_id)
        self._check_command(device, binding, priority)
        old_value = await self._present_value_or_none(device, binding)
        try:
            await self._write(device, binding, None, priority)
        except ServiceRefused as exc:
            raise _refused(_where(device, binding), exc) from None
        state = await self._state_or_none(device, binding)
        if state is None:
            return WriteResult(
                point_id,
                None,
                old_value,
                None,
                False,
                "Null written, but the priority array could not be read back",
            )
        still = state.slots[priority - 1]
        if still is not None:
            detail = f"read-back mismatch: priority-array[{priority}] still holds {still}"
            return WriteResult(point_id, None, old_value, state.present_value, False, detail)
        self._held.pop((device.address, binding.object_identifier, priority), None)
        source = (
            f"priority {state.active_priority}" if state.active_priority else "relinquish-default"
        )
        detail = f"priority {priority} released; present value {state.present_value} from {source}"
        return WriteResult(point_id, None, old_value, state.present_value, True, detail)

    async def relinquish_all(self, device: BacnetDevice | None = None) -> list[WriteResult]:
        """Release every slot held (on ``device`` only, if given).

        Never raises for a failed release: the result says ``ok=False`` and
        the slot stays remembered for another try. Shielded, so it completes
        even when awaited in the ``finally`` of a task being cancelled.
        """
        if not self._held:
            return []
        return await asyncio.shield(self._release_held(device))

    async def _release_held(self, only: BacnetDevice | None) -> list[WriteResult]:
        results = []
        for (address, _object_id, priority), (device, binding) in list(self._held.items()):
            if only is not None and address != only.address:
                continue
            try:
                results.append(await self.relinquish(device, binding.point_id, priority))
            except AdapterError as exc:
                results.append(WriteResult(binding.point_id, None, None, None, False, str(exc)))
        return results

    def _check_command(
        self, device: BacnetDevice, binding: BacnetPointBinding, priority: int
    ) -> None:
        where = _where(device, binding)
        allowed = f"use a priority from {self.min_write_priority} to 16"
        if not binding.writable:
            raise PointWriteRejected(
                f"{where} is not writable ({binding.object_identifier}); nothing was sent",
                fix="command only points marked writable on commandable objects",
            )
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 16:
            raise PointWriteRejected(
                f"{where}: priority {priority!r} is not 1-16; nothing was sent", fix=allowed
            )
        if priority < self.min_write_priority:
            raise PointWriteRejected(
                f"{where}: priority {priority} is reserved (1-7: life safety, critical "
                "equipment, operators); nothing was sent",
                fix=allowed,
            )

    async def command_state(self, device: BacnetDevice, point_id: str) -> CommandState:
        """Who holds a commandable point: its 16 slots, the active priority and the value.

        Raises
        ------
        PointReadError
            If the point's object has no priority array, or the device refuses to read it.
        DeviceUnreachable
            If the device does not answer.
        """
        binding = device.binding(point_id)
        state = await self._state_or_none(device, binding) if binding.commandable else None
        if state is None:
            raise PointReadError(
                f"{_where(device, binding)}: the priority array of "
                f"{binding.object_identifier} cannot be read",
                fix="read priority arrays of commandable objects (setpoints, outputs) only",
            )
        return state

    async def _present_value_or_none(
        self, device: BacnetDevice, binding: BacnetPointBinding
    ) -> float | None:
        try:
            return decode_present_value(binding, await self._read(device, binding, "present-value"))
        except ServiceRefused:
            return None

    async def _state_or_none(
        self, device: BacnetDevice, binding: BacnetPointBinding
    ) -> CommandState | None:
        try:
            array = await self._read(device, binding, "priority-array")
            present = await self._read(device, binding, "present-value")
        except ServiceRefused:
            return None
        try:
            current = await self._read(device, binding, "current-command-priority")
        except ServiceRefused:
            current = None  # objects before BACnet rev. 17: derived from the array
        slots = [priority_slot_value(entry) for entry in list(array)[:16]]
        slots += [None] * (16 - len(slots))
        return CommandState(
            slots, active_priority(slots, current), decode_present_value(binding, present)
        )


def _where(device: BacnetDevice, binding: BacnetPointBinding) -> str:
    return f"{device.device_id} ({device.address}) {binding.point_id}"


def _refused(where: str, exc: ServiceRefused) -> PointWriteRejected:
    return PointWriteRejected(
        f"{where}: the device refused the write: {exc.detail}",
        fix="check that the object is commandable and the value acceptable to the controller",
    )
