"""Dispatch: a schedule's commands written to devices, safely, with an audit trail.

For each planned command the :class:`Dispatcher`

1. checks everything it can without a device (configured writable point,
   allow-list, priority 1-7, NaN/infinity, bounds) and refuses there;
2. finds the device serving the point, connects, and **reads the current
   value again** (after a reconnect when the device went away), so the step
   check never uses a value from before;
3. runs :func:`bms.safety.check_write`: a refused value is never sent and
   never clamped;
4. in a dry run, stops there; with ``apply``, writes at the policy's BACnet
   priority (Modbus has none), reads back, and reports: ``applied``;
   ``overridden`` when a higher BACnet priority holds the point (never
   escalated); ``failed`` on a read-back mismatch or a device error (never
   retried);
5. appends one line per attempt to the audit log (:mod:`adapters.audit`).

Leaving the dispatcher (``async with``), also by an error, a cancel or
Ctrl-C, relinquishes every BACnet command it made (Null at the same
priority) and returns every Modbus setpoint it wrote that has a
``release_value`` in the policy to that value; each release is audited too.
A person's single change (:mod:`adapters.manual_changes`) takes the same
path but stays in force, and is never written under a higher priority.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from adapters.audit import AuditAction, AuditEntry, AuditLog, Verdict, utc_now_iso
from adapters.bacnet.client import BacnetClient
from adapters.device import WriteResult
from adapters.dispatch_links import (
    BacnetLink,
    DeviceLink,
    ModbusLink,
    Target,
    bacnet_link,
    local_bacnet_address,
    modbus_link,
    resolve_target,
)
from adapters.errors import AdapterError, PointWriteRejected
from adapters.site import Protocol as DeviceProtocol
from adapters.site import SiteDevices
from bms.safety import WritePolicy, check_write
from cluster.commands import PlannedCommand, configured_point, plan_commands
from cluster.config import ClusterConfig
from cluster.schedule import Schedule

#: How a BACnet write result says a higher priority holds the point.
OVERRIDDEN_PREFIX = "overridden by priority"
RELEASE_PLAN = "end of dispatch: release"

#: Called after each step with its start (UTC) and the step's audit entries.
StepCallback = Callable[[pd.Timestamp, list[AuditEntry]], None]
#: Called before holding with the seconds it will hold.
HoldCallback = Callable[[float], None]


@dataclass(frozen=True)
class _HeldSetpoint:
    """A Modbus setpoint written by dispatch, to be returned to ``release_value``."""

    link: ModbusLink
    device_point: str
    point_id: str
    unit: str
    release_value: float


class Dispatcher:
    """Writes planned commands to a site's devices under its write policy.

    Use it as ``async with Dispatcher(...) as dispatcher:``; leaving the block
    releases what it commanded.

    Parameters
    ----------
    devices
        The site's devices (``devices.json`` of the rig, or the site's list).
    config
        The cluster configuration: the points and their bounds.
    policy
        The site's write policy (allow-list, BACnet priority).
    audit_log_path
        The append-only audit log (JSON lines).
    user
        Who runs dispatch, for the audit log.
    apply
        False (dry run): read and check, never write. True: write.
    priority
        The BACnet priority to command at; the policy's ``bacnet_priority``
        when None. Any other value is checked like every write (1-7 refused).
    timeout_s
        Budget of each device request, s.
    bacnet_local_address
        klaster's own BACnet/IP address, ``host:port``; a free port when None.
    clock
        The current time (UTC); the system clock when None.
    release_on_exit
        False leaves every command in force when the dispatcher is left (a
        person's change stays until released, see :mod:`adapters.manual_changes`).
    refuse_overridden
        True reads a BACnet point's priority array before writing and never
        writes while a higher priority holds the point (verdict ``overridden``).
    """

    def __init__(
        self,
        devices: SiteDevices,
        config: ClusterConfig,
        policy: WritePolicy,
        audit_log_path: Path,
        user: str,
        *,
        apply: bool,
        priority: int | None = None,
        timeout_s: float = 2.0,
        bacnet_local_address: str | None = None,
        clock: Callable[[], datetime] | None = None,
        release_on_exit: bool = True,
        refuse_overridden: bool = False,
    ) -> None:
        self.devices = devices
        self.config = config
        self.policy = policy
        self.audit = AuditLog(audit_log_path)
        self.user = user
        self.apply = apply
        self.bacnet_priority = policy.bacnet_priority if priority is None else priority
        self.timeout_s = timeout_s
        self._bacnet_local_address = bacnet_local_address
        self._clock = clock or (lambda: datetime.now(UTC))
        self.release_on_exit = release_on_exit
        self.refuse_overridden = refuse_overridden
        self._links: dict[str, DeviceLink] = {}
        self._bacnet_client: BacnetClient | None = None
        self._held: dict[tuple[str, str], _HeldSetpoint] = {}
        #: Audit entries of the releases made when the dispatcher was left.
        self.releases: list[AuditEntry] = []

    async def __aenter__(self) -> Dispatcher:
        # The log opens before any device is touched: no write without its audit line.
        self.audit.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def holding(self) -> bool:
        """True while some command of this dispatcher is in force on a device."""
        bacnet = self._bacnet_client is not None and bool(self._bacnet_client.commanded_slots)
        return bacnet or bool(self._held)

    # --- one step ------------------------------------------------------------------

    async def dispatch(self, commands: Sequence[PlannedCommand]) -> list[AuditEntry]:
        """Check (and with ``apply`` write) each command in turn; one audit entry each."""
        return [await self._execute(command) for command in commands]

    async def _execute(self, command: PlannedCommand) -> AuditEntry:
        target = resolve_target(self.devices, command.point_id)
        is_bacnet = target is not None and target.endpoint.protocol is DeviceProtocol.BACNET
        priority = self.bacnet_priority if is_bacnet else None

        def record(
            verdict: Verdict,
            reason: str,
            old: float | None = None,
            read_back: float | None = None,
        ) -> AuditEntry:
            return self._record(
                command, target, priority, verdict, reason, old=old, read_back=read_back
            )

        point = configured_point(self.config, command.point_id)
        if point is None:
            return record(
                Verdict.REFUSED, f"{command.point_id} is not a point of the cluster configuration"
            )
        # Everything but the step is checked before any device is touched.
        first = check_write(
            self.policy, command.point_id, point, command.value, command.value, priority=priority
        )
        if not first.allowed:
            return record(Verdict.REFUSED, first.reason)
        if target is None:
            return record(
                Verdict.FAILED,
                f"no device in the device list serves {command.point_id}",
            )
        try:
            link = await self._link(target)
        except AdapterError as exc:
            return record(Verdict.FAILED, str(exc))
        current, why_unknown = await link.read_current(target.device_point_id)
        if self.refuse_overridden and isinstance(link, BacnetLink) and priority is not None:
            held = await _held_above(link, target.device_point_id, priority)
            if held is not None:
                return record(held[0], held[1], old=current)
        check = check_write(
            self.policy, command.point_id, point, command.value, current, priority=priority
        )
        if not check.allowed:
            reason = f"{check.reason} ({why_unknown})" if why_unknown else check.reason
            return record(Verdict.REFUSED, reason, old=current)
        if not self.apply:
            return record(Verdict.DRY_RUN, f"would be written: {command.reason}", old=current)
        result = await self._write(link, target, command, priority)
        if isinstance(result, str):
            return record(Verdict.FAILED, result, old=current)
        old = result.old_value if result.old_value is not None else current
        if result.ok:
            return record(
                Verdict.APPLIED, result.detail or "written and read back", old, result.read_back
            )
        verdict = Verdict.OVERRIDDEN if OVERRIDDEN_PREFIX in result.detail else Verdict.FAILED
        return record(verdict, result.detail, old, result.read_back)

    async def _write(
        self, link: DeviceLink, target: Target, command: PlannedCommand, priority: int | None
    ) -> WriteResult | str:
        """Send one write; the failure's reason as text when it raised."""
        key = (target.endpoint.id, target.device_point_id)
        entry = self.policy.entry(command.point_id)
        held_before = key in self._held
        if isinstance(link, ModbusLink) and entry is not None and entry.release_value is not None:
            # Remembered before sending: a write cut off by a cancel may still land.
            self._held[key] = _HeldSetpoint(
                link, target.device_point_id, command.point_id, command.unit, entry.release_value
            )
        if isinstance(link, BacnetLink):
            link.klaster_ids[target.device_point_id] = command.point_id
        try:
            return await link.write(target.device_point_id, command.value, priority)
        except PointWriteRejected as exc:
            if isinstance(link, ModbusLink) and not held_before:
                # The Modbus clients refuse before sending: nothing to release.
                self._held.pop(key, None)
            return str(exc)
        except AdapterError as exc:
            return str(exc)

    def _record(
        self,
        command: PlannedCommand,
        target: Target | None,
        priority: int | None,
        verdict: Verdict,
        reason: str,
        *,
        old: float | None,
        read_back: float | None,
    ) -> AuditEntry:
        entry = AuditEntry(
            time=utc_now_iso(),
            user=self.user,
            point=command.point_id,
            device=target.endpoint.id if target is not None else None,
            action=AuditAction.WRITE,
            old=old,
            new=command.value,
            unit=command.unit,
            priority=priority,
            dry_run=not self.apply,
            result=verdict,
            reason=reason,
            read_back=read_back,
            step_start=command.step_start.isoformat(),
            plan=command.reason,
        )
        self.audit.append(entry)
        return entry

    async def _link(self, target: Target) -> DeviceLink:
        endpoint = target.endpoint
        link = self._links.get(endpoint.id)
        if link is not None:
            return link
        if endpoint.protocol is DeviceProtocol.BACNET:
            link = bacnet_link(endpoint, self.config, await self._bacnet())
        else:
            link = modbus_link(endpoint, self.config, self.timeout_s)
        self._links[endpoint.id] = link
        return link

    async def _bacnet(self) -> BacnetClient:
        if self._bacnet_client is None:
            controllers = [e for e in self.devices.devices if e.protocol is DeviceProtocol.BACNET]
            client = BacnetClient(
                self._bacnet_local_address or local_bacnet_address(controllers),
                timeout_s=self.timeout_s,
                min_write_priority=8 if self.policy.allow_priority_8 else 9,
            )
            await client.start()
            self._bacnet_client = client
        return self._bacnet_client

    # --- a run of steps -------------------------------------------------------------

    async def run(
        self,
        schedule: Schedule,
        step_starts: Sequence[pd.Timestamp],
        *,
        hold_s: float | None = None,
        on_step: StepCallback | None = None,
        on_hold: HoldCallback | None = None,
    ) -> list[AuditEntry]:
        """Dispatch the schedule's commands for each step in ``step_starts``.

        The first step is dispatched at once; with ``apply``, every later step
        when the clock reaches its start, and after the last step the commands
        are held ``hold_s`` seconds (until the last step ends when None) so
        that they act before leaving the dispatcher releases them.

        Parameters
        ----------
        schedule
            The schedule to dispatch.
        step_starts
            UTC step starts, e.g. from :func:`cluster.commands.dispatch_steps`.
        hold_s
            Seconds to hold after the last step; until it ends when None.
        on_step, on_hold
            Told of each step's results and of the hold, for presentation.
        """
        entries: list[AuditEntry] = []
        for index, step_start in enumerate(step_starts):
            if self.apply and index > 0:
                await self._sleep_until(step_start)
            step_entries = await self.dispatch(plan_commands(schedule, self.config, step_start))
            entries += step_entries
            if on_step is not None:
                on_step(step_start, step_entries)
        if self.apply and self.holding and step_starts:
            step_end = step_starts[-1] + timedelta(minutes=schedule.step_minutes)
            seconds = hold_s if hold_s is not None else self._seconds_until(step_end)
            if on_hold is not None:
                on_hold(max(0.0, seconds))
            await asyncio.sleep(max(0.0, seconds))
        return entries

    def _seconds_until(self, instant: pd.Timestamp) -> float:
        return float((instant - pd.Timestamp(self._clock())).total_seconds())

    async def _sleep_until(self, instant: pd.Timestamp) -> None:
        await asyncio.sleep(max(0.0, self._seconds_until(instant)))

    # --- leaving ---------------------------------------------------------------------

    async def close(self) -> None:
        """Release what was commanded, then close every connection and the log.

        The release runs to its end even while the calling task is being
        cancelled (again); the cancel is passed on afterwards.
        """
        try:
            if self.release_on_exit:
                await _complete_despite_cancel(self._release_all())
        finally:
            for link in self._links.values():
                await link.close()
            self._links.clear()
            if self._bacnet_client is not None:
                client, self._bacnet_client = self._bacnet_client, None
                await client.close()
            self.audit.close()

    async def _release_all(self) -> None:
        for key, held in list(self._held.items()):
            self.releases.append(await self._release_modbus(held))
            del self._held[key]
        for link in self._links.values():
            if isinstance(link, BacnetLink):
                for result in await link.release():
                    self.releases.append(self._release_entry(link, result))

    async def _release_modbus(self, held: _HeldSetpoint) -> AuditEntry:
        try:
            result = await held.link.write(held.device_point, held.release_value, None)
        except AdapterError as exc:
            result = WriteResult(held.device_point, held.release_value, None, None, False, str(exc))
        reason = f"returned to release_value {held.release_value:g} {held.unit}"
        if not result.ok:
            reason = f"not returned to release_value {held.release_value:g}: {result.detail}"
        entry = AuditEntry(
            time=utc_now_iso(),
            user=self.user,
            point=held.point_id,
            device=held.link.endpoint.id,
            action=AuditAction.RELEASE,
            old=result.old_value,
            new=held.release_value,
            unit=held.unit,
            priority=None,
            dry_run=False,
            result=Verdict.APPLIED if result.ok else Verdict.FAILED,
            reason=reason,
            read_back=result.read_back,
            step_start=None,
            plan=RELEASE_PLAN,
        )
        self.audit.append(entry)
        return entry

    def _release_entry(self, link: BacnetLink, result: WriteResult) -> AuditEntry:
        binding = link.device.binding(result.point_id)
        entry = AuditEntry(
            time=utc_now_iso(),
            user=self.user,
            point=link.klaster_ids.get(result.point_id, result.point_id),
            device=link.endpoint.id,
            action=AuditAction.RELEASE,
            old=result.old_value,
            new=None,
            unit=binding.point.unit,
            priority=self.bacnet_priority,
            dry_run=False,
            result=Verdict.APPLIED if result.ok else Verdict.FAILED,
            reason=result.detail or "relinquished",
            read_back=result.read_back,
            step_start=None,
            plan=RELEASE_PLAN,
        )
        self.audit.append(entry)
        return entry


async def _held_above(
    link: BacnetLink, device_point: str, priority: int
) -> tuple[Verdict, str] | None:
    """Why not to write: a priority above ``priority`` holds the point, or nobody can tell.

    None when a write at ``priority`` would be in control.
    """
    state = await link.command_state(device_point)
    if isinstance(state, str):
        return Verdict.REFUSED, f"who holds the point is unknown, so nothing is written: {state}"
    if state.active_priority is not None and state.active_priority < priority:
        return Verdict.OVERRIDDEN, (
            f"{OVERRIDDEN_PREFIX} {state.active_priority} (present value {state.present_value}); "
            "not written: klaster never writes under a higher priority"
        )
    return None


async def _complete_despite_cancel(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end even if the caller is cancelled meanwhile.

    A cancel that arrives while it runs is raised once the work is done.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
