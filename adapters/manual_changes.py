"""A person's single changes to a point: ``klaster bms set`` and ``klaster bms release``.

They go through dispatch's write path (:class:`~adapters.dispatch.Dispatcher`):
the configured point, the allow-list with its bounds and maximum step, the
site's BACnet priority (never 1-7), a fresh read of the current value, a dry
run unless ``apply``, read-back, and one audit line per attempt with the user.
Two things differ from dispatching a schedule:

* a change stays in force when the command ends: it is released only by
  ``klaster bms release`` (or overwritten by a later command at the same
  priority);
* a BACnet point whose priority array shows a higher priority in control is
  never written: the change is reported ``overridden`` and nothing is sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from adapters.audit import AuditAction, AuditEntry, Verdict, utc_now_iso
from adapters.dispatch import Dispatcher
from adapters.dispatch_links import BacnetLink, resolve_target
from adapters.errors import AdapterError
from adapters.site import Protocol as DeviceProtocol
from adapters.site import SiteDevices
from bms.safety import WritePolicy, check_release
from cluster.commands import PlannedCommand, configured_point
from cluster.config import ClusterConfig


class ManualChanges(Dispatcher):
    """Writes and releases single points for a person, under the site's write policy.

    Use it as ``async with ManualChanges(...) as changes:``. The parameters
    are those of :class:`~adapters.dispatch.Dispatcher`; nothing is released
    when the block is left.
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
        timeout_s: float = 2.0,
        bacnet_local_address: str | None = None,
    ) -> None:
        super().__init__(
            devices,
            config,
            policy,
            audit_log_path,
            user,
            apply=apply,
            priority=policy.manual_priority,
            timeout_s=timeout_s,
            bacnet_local_address=bacnet_local_address,
            release_on_exit=False,
            refuse_overridden=True,
        )

    async def __aenter__(self) -> ManualChanges:
        await super().__aenter__()
        return self

    async def set(self, point_id: str, value: float, why: str) -> AuditEntry:
        """Check and (with ``apply``) write ``value`` to ``point_id``; its audit entry.

        Parameters
        ----------
        point_id
            klaster's point id, e.g. ``bldg-sp-1/z1/setpoint``.
        value
            The value in the point's unit (°C for a zone setpoint).
        why
            The person's reason, recorded in the audit log.
        """
        point = configured_point(self.config, point_id)
        command = PlannedCommand(
            point_id=point_id,
            value=value,
            unit=point.unit if point is not None else "",
            step_start=pd.Timestamp(datetime.now(UTC)),
            reason=why,
        )
        [entry] = await self.dispatch([command])
        return entry

    async def release(self, point_id: str, why: str) -> AuditEntry:
        """Release what klaster commands on ``point_id``; its audit entry.

        A BACnet point's slot at klaster's priority is relinquished (Null, then
        the array is read back: the value in force comes from a lower priority
        or the relinquish default). A Modbus setpoint, which has no priority,
        is written its allow-list ``release_value``. The same checks as a
        write, except the value and the step.
        """
        target = resolve_target(self.devices, point_id)
        is_bacnet = target is not None and target.endpoint.protocol is DeviceProtocol.BACNET
        priority = self.bacnet_priority if is_bacnet else None
        point = configured_point(self.config, point_id)
        allowed = self.policy.entry(point_id)
        release_value = None if is_bacnet or allowed is None else allowed.release_value

        def record(
            verdict: Verdict, reason: str, old: float | None = None, read_back: float | None = None
        ) -> AuditEntry:
            entry = AuditEntry(
                time=utc_now_iso(),
                user=self.user,
                point=point_id,
                device=target.endpoint.id if target is not None else None,
                action=AuditAction.RELEASE,
                old=old,
                new=release_value,
                unit=point.unit if point is not None else "",
                priority=priority,
                dry_run=not self.apply,
                result=verdict,
                reason=reason,
                read_back=read_back,
                step_start=None,
                plan=why,
            )
            self.audit.append(entry)
            return entry

        if point is None:
            return record(
                Verdict.REFUSED, f"{point_id} is not a point of the cluster configuration"
            )
        check = check_release(self.policy, point_id, point, priority=priority)
        if not check.allowed:
            return record(Verdict.REFUSED, check.reason)
        if target is None:
            return record(Verdict.FAILED, f"no device in the device list serves {point_id}")
        if not is_bacnet and release_value is None:
            return record(
                Verdict.REFUSED,
                f"{point_id} has no release_value in the allow-list, and a Modbus setpoint "
                "has no priority to relinquish",
            )
        try:
            link = await self._link(target)
        except AdapterError as exc:
            return record(Verdict.FAILED, str(exc))
        current, _ = await link.read_current(target.device_point_id)
        if not self.apply:
            what = (
                f"priority {priority} would be relinquished"
                if is_bacnet
                else f"would be returned to its release_value {release_value:g} {point.unit}"
            )
            return record(Verdict.DRY_RUN, what, old=current)
        try:
            if isinstance(link, BacnetLink):
                assert priority is not None
                result = await link.relinquish(target.device_point_id, priority)
            else:
                assert release_value is not None
                result = await link.write(target.device_point_id, release_value, None)
        except AdapterError as exc:
            return record(Verdict.FAILED, str(exc), old=current)
        old = result.old_value if result.old_value is not None else current
        verdict = Verdict.APPLIED if result.ok else Verdict.FAILED
        return record(verdict, result.detail or "released", old, result.read_back)
