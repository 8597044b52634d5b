"""``klaster bms``: building management for facility staff.

``points`` shows every zone live (who holds each setpoint), ``check`` runs the
policy checks and fault rules, ``set`` and ``release`` make one safe change,
``audit`` lists the changes made, ``baseline`` ranks buildings by avoidable
energy and ``flexibility`` shows what the optimiser may shift.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from adapters.audit import AuditEntry, Verdict, current_user, read_audit_log
from adapters.bms_live import live_readings, read_live
from adapters.manual_changes import ManualChanges
from adapters.sqlite_schema import default_data_dir
from adapters.sqlite_store import SqliteStore
from bms.safety import load_write_policy
from cli.bms_check import baseline, check, flexibility
from cli.bms_options import (
    AUDIT_LOG_FILE,
    NO_CONTROLLER_ANSWERED,
    AllowListOption,
    ApplyOption,
    AuditLogOption,
    BacnetAddressOption,
    BmsUsageError,
    BuildingOption,
    DevicesOption,
    ReasonOption,
    TimeoutOption,
    UserOption,
    site_devices,
    write_policy,
)
from cli.bms_tables import audit_table, change_table, points_table
from cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    errors,
    show_adapter_log,
    user_errors,
)
from cluster.config import load_config
from cluster.errors import KlasterError

bms_app = typer.Typer(
    help="Building management for facility staff: live zones, checks, safe setpoint changes, "
    "energy baselines.",
    no_args_is_help=True,
)


@bms_app.command("points")
@user_errors
def points(
    building: BuildingOption = None,
    devices: DevicesOption = None,
    allow_list: AllowListOption = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Also store the values and who holds each setpoint, for later checks.",
        ),
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    bacnet_address: BacnetAddressOption = None,
    timeout: TimeoutOption = 2.0,
) -> None:
    """Show every zone live: temperature, setpoint and who holds it, occupancy, heating, power."""
    folder = data_dir or default_data_dir()
    cluster = load_config(config)
    site = site_devices(devices, folder)
    site_policy = write_policy(allow_list)
    own_priority = site_policy.bacnet_priority
    show_adapter_log(logging.ERROR)
    live = asyncio.run(
        read_live(
            site,
            cluster,
            buildings=building or None,
            timeout_s=timeout,
            local_address=bacnet_address,
        )
    )
    if not live:
        raise KlasterError(
            "the device list names no building controller (BACnet) of the configuration",
            fix="give --config the cluster the devices belong to, or --devices the site's list",
        )
    now = datetime.now(UTC)
    buildings = {b.id: b for b in cluster.assets.buildings}
    for read in live:
        console.print(
            points_table(
                read,
                buildings[read.building_id],
                cluster,
                own_priority,
                now,
                site_policy.manual_priority,
            )
        )
    if record:
        with SqliteStore.open(folder) as store:
            stored = store.write_readings(live_readings(live))
        console.print(f"{stored} readings stored in {folder}", highlight=False)
    answered = sum(not read.error for read in live)
    console.print(f"{answered}/{len(live)} controllers answered", highlight=False)
    if answered == 0:
        raise typer.Exit(NO_CONTROLLER_ANSWERED)


def _who(user: str | None) -> str:
    """The audit log's user: the login, or the name given with the login beside it."""
    login = current_user()
    return login if user is None or user == login else f"{user} (login {login})"


def _change(
    devices: Path | None,
    allow_list: Path | None,
    audit_log: Path | None,
    user: str | None,
    apply: bool,
    config: Path | None,
    data_dir: Path | None,
    bacnet_address: str | None,
    timeout: float,
    act: Callable[[ManualChanges], Awaitable[AuditEntry]],
) -> AuditEntry:
    """Run one change through :class:`ManualChanges` and print its audit entry."""
    if allow_list is None:
        raise BmsUsageError(
            "a change needs --allow-list: nothing is written without the site's write policy",
            fix="give --allow-list with the site's allow-list TOML",
        )
    folder = data_dir or default_data_dir()
    changes = ManualChanges(
        site_devices(devices, folder),
        load_config(config),
        load_write_policy(allow_list),
        audit_log or folder / AUDIT_LOG_FILE,
        _who(user),
        apply=apply,
        timeout_s=timeout,
        bacnet_local_address=bacnet_address,
    )
    show_adapter_log(logging.ERROR)

    async def run() -> AuditEntry:
        async with changes:
            return await act(changes)

    entry = asyncio.run(run())
    console.print(change_table(entry))
    if entry.result is Verdict.DRY_RUN:
        console.print("dry run: nothing was sent; give --apply to make the change")
    console.print(f"audited in {changes.audit.path}", highlight=False)
    if entry.result not in (Verdict.APPLIED, Verdict.DRY_RUN):
        raise typer.Exit(1)
    return entry


@bms_app.command("set")
@user_errors
def set_point(
    point: Annotated[str, typer.Argument(help="The point, e.g. bldg-sp-1/z1/setpoint.")],
    value: Annotated[float, typer.Argument(help="The new value in the point's unit (°C).")],
    apply: ApplyOption = False,
    allow_list: AllowListOption = None,
    reason: ReasonOption = "manual change",
    user: UserOption = None,
    devices: DevicesOption = None,
    audit_log: AuditLogOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    bacnet_address: BacnetAddressOption = None,
    timeout: TimeoutOption = 2.0,
) -> None:
    """Change one point safely: allow-list, bounds, maximum step, klaster's priority, read-back.

    A dry run unless --apply. A point that a higher BACnet priority holds is
    never written. The change stays until `klaster bms release POINT`.
    """
    if not math.isfinite(value):
        raise BmsUsageError(f"{value} is not a value", fix="give a finite number")
    _change(devices, allow_list, audit_log, user, apply, config, data_dir, bacnet_address,
            timeout, lambda changes: changes.set(point, value, reason))  # fmt: skip


@bms_app.command("release")
@user_errors
def release_point(
    point: Annotated[str, typer.Argument(help="The point, e.g. bldg-sp-1/z1/setpoint.")],
    apply: ApplyOption = False,
    allow_list: AllowListOption = None,
    reason: ReasonOption = "manual release",
    user: UserOption = None,
    devices: DevicesOption = None,
    audit_log: AuditLogOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    bacnet_address: BacnetAddressOption = None,
    timeout: TimeoutOption = 2.0,
) -> None:
    """Release klaster's command on one point (BACnet: relinquish its priority slot).

    The point then follows the next priority in the array, or its relinquish
    default. A dry run unless --apply.
    """
    _change(devices, allow_list, audit_log, user, apply, config, data_dir, bacnet_address,
            timeout, lambda changes: changes.release(point, reason))  # fmt: skip


@bms_app.command("audit")
@user_errors
def audit(
    point: Annotated[
        str | None, typer.Option(help="Only this point (or points starting with it).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Only this user's lines.")] = None,
    last: Annotated[int, typer.Option(min=1, help="Show the last N lines.")] = 20,
    audit_log: AuditLogOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List the audit log: every change, release and dispatch attempt, with the user."""
    path = audit_log or (data_dir or default_data_dir()) / AUDIT_LOG_FILE
    if not path.is_file():
        console.print(f"no audit log at {path}: nothing was changed yet", highlight=False)
        return
    lines = read_audit_log(path)
    if point is not None:
        lines = [line for line in lines if str(line.get("point", "")).startswith(point)]
    if user is not None:
        lines = [line for line in lines if line.get("user") == user]
    zone = load_config(config).cluster.zone
    shown = lines[-last:]
    console.print(audit_table(shown, zone))
    console.print(f"{len(shown)} of {len(lines)} line(s) from {path}", highlight=False)
    if not lines:
        errors.print("no line matches", highlight=False)


bms_app.command("check")(check)
bms_app.command("baseline")(baseline)
bms_app.command("flexibility")(flexibility)
