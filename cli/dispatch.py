"""``klaster dispatch``: a schedule's commands to the site's devices, dry run by default."""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import pandas as pd
import typer
from rich.table import Table

from adapters.audit import AuditEntry, Verdict, current_user
from adapters.dispatch import Dispatcher
from adapters.site import load_site_devices
from adapters.sqlite_schema import default_data_dir
from adapters.sqlite_store import SqliteStore
from bms.safety import WritePolicy, load_write_policy
from cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    errors,
    parse_day,
    show_adapter_log,
    user_errors,
)
from cluster.commands import dispatch_steps
from cluster.config import ClusterConfig, load_config
from cluster.errors import DataError, KlasterError
from cluster.schedule import Schedule

#: Frames of a schedule run kept in the store.
SCHEDULE_FRAMES = ("connection_points", "assets", "cluster", "costs")
EXIT_INTERRUPTED = 130

_VERDICT_STYLE = {
    Verdict.APPLIED: "green",
    Verdict.DRY_RUN: "cyan",
    Verdict.OVERRIDDEN: "yellow",
    Verdict.REFUSED: "red",
    Verdict.FAILED: "red",
}


class DispatchUsageError(KlasterError):
    """Options of ``klaster dispatch`` that do not fit together."""

    exit_code = 2


@user_errors
def dispatch(
    schedule_dir: Annotated[
        Path | None,
        typer.Option("--schedule", help="Schedule folder written by 'klaster schedule'."),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(help="Dispatch the latest stored schedule of this local day, YYYY-MM-DD."),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write to the devices; without it nothing is sent.")
    ] = False,
    allow_list: Annotated[
        Path | None,
        typer.Option("--allow-list", help="The site's write policy (TOML); needed for --apply."),
    ] = None,
    devices: Annotated[
        Path | None,
        typer.Option(help="Device list (TOML or JSON); the rig's <data dir>/rig/devices.json."),
    ] = None,
    audit_log: Annotated[
        Path | None, typer.Option(help="Audit log (JSON lines); <data dir>/audit.jsonl.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="Time in the step to dispatch: ISO 8601, or HH:MM local; now if left out."
        ),
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="Steps to dispatch from --at.")] = 1,
    hold: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Seconds to hold after the last step before releasing; until it ends if left out.",
        ),
    ] = None,
    bacnet_address: Annotated[
        str | None,
        typer.Option(
            help="klaster's own BACnet/IP address, host:port, on the controllers' network; "
            "a free local port if left out."
        ),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a schedule's commands for one or more steps to the site's devices.

    A dry run (the default) reads every point, checks each command against the
    allow-list and prints what would be written. With --apply the commands are
    written at each step's start and held; on exit, error or Ctrl-C every
    command is released (BACnet relinquished, Modbus setpoints back to their
    release value). Every attempt is appended to the audit log.
    """
    if apply and allow_list is None:
        raise DispatchUsageError(
            "--apply needs --allow-list: nothing is written without the site's write policy",
            fix="give --allow-list with the site's allow-list TOML, or leave --apply out",
        )
    if schedule_dir is not None and day is not None:
        raise DispatchUsageError(
            "give either --schedule or --day, not both",
            fix="--schedule names a folder, --day a stored run; choose one",
        )
    folder = data_dir or default_data_dir()
    cluster = load_config(config)
    zone = cluster.cluster.zone
    policy = load_write_policy(allow_list) if allow_list is not None else WritePolicy()
    site = load_site_devices(devices or folder / "rig" / "devices.json")
    if schedule_dir is not None:
        schedule = read_schedule_folder(schedule_dir)
    else:
        wanted = parse_day(day)
        wanted = wanted or parse_at(at, datetime.now(zone).date(), zone).tz_convert(zone).date()
        schedule = stored_schedule(folder, wanted, cluster)
    at_time = parse_at(at, schedule.day, ZoneInfo(schedule.timezone))
    step_starts = dispatch_steps(schedule, at_time, steps)
    dispatcher = Dispatcher(
        site,
        cluster,
        policy,
        audit_log or folder / "audit.jsonl",
        current_user(),
        apply=apply,
        bacnet_local_address=bacnet_address,
    )
    console.print(
        f"[bold]{'Applying' if apply else 'Dry run of'}[/bold] the schedule of {schedule.day}, "
        f"{len(step_starts)} step(s) from {step_starts[0].tz_convert(zone):%H:%M %Z}"
        + ("" if apply else " — nothing is sent")
    )
    entries = _run(dispatcher, schedule, step_starts, hold, zone)
    _summarise(dispatcher, entries)


def _run(
    dispatcher: Dispatcher,
    schedule: Schedule,
    step_starts: list[pd.Timestamp],
    hold_s: float | None,
    zone: ZoneInfo,
) -> list[AuditEntry]:
    def on_step(step_start: pd.Timestamp, entries: list[AuditEntry]) -> None:
        console.print(step_table(step_start.tz_convert(zone), entries))

    def on_hold(seconds: float) -> None:
        if seconds > 0:
            console.print(f"holding the commands for {seconds:.0f} s; Ctrl-C releases them")

    show_adapter_log()

    async def main() -> list[AuditEntry]:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        handled: list[signal.Signals] = []
        for stop in (signal.SIGINT, signal.SIGTERM):
            try:
                # Ctrl-C and SIGTERM (again and again) only cancel the task, so the
                # dispatcher always finishes releasing on the way out.
                loop.add_signal_handler(stop, _cancel, task)
                handled.append(stop)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or no signals on this platform
        try:
            async with dispatcher:
                return await dispatcher.run(
                    schedule, step_starts, hold_s=hold_s, on_step=on_step, on_hold=on_hold
                )
        finally:
            for stop in handled:
                loop.remove_signal_handler(stop)

    try:
        return asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        _print_releases(dispatcher)
        errors.print(
            f"interrupted: {len(dispatcher.releases)} command(s) released, "
            f"audited in {dispatcher.audit.path}",
            style="red",
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _cancel(task: asyncio.Task[list[AuditEntry]] | None) -> None:
    if task is not None:
        task.cancel()


def _summarise(dispatcher: Dispatcher, entries: list[AuditEntry]) -> None:
    _print_releases(dispatcher)
    path = dispatcher.audit.path
    if not dispatcher.apply:
        console.print(f"dry run: nothing was sent; {len(entries)} line(s) audited in {path}")
        return
    missed = [e for e in entries if e.result is not Verdict.APPLIED]
    console.print(
        f"{len(entries) - len(missed)} of {len(entries)} command(s) applied and released; "
        f"audited in {path}"
    )
    if missed:
        errors.print(
            f"{len(missed)} command(s) were not applied: see the verdicts above",
            style="red",
            highlight=False,
        )
        raise typer.Exit(1)


def _print_releases(dispatcher: Dispatcher) -> None:
    if dispatcher.releases:
        console.print(step_table(None, dispatcher.releases))


def step_table(step_start: pd.Timestamp | None, entries: list[AuditEntry]) -> Table:
    """The writes of one step (or the releases, when ``step_start`` is None) as a table."""
    title = f"Step {step_start:%Y-%m-%d %H:%M %Z}" if step_start is not None else "Released"
    table = Table(title=title, title_justify="left")
    for column in ("point", "device", "current", "new", "unit", "priority", "verdict", "reason"):
        numeric = column in ("current", "new", "priority")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for entry in entries:
        verdict = str(entry.result)
        table.add_row(
            entry.point,
            entry.device or "-",
            _number(entry.old),
            _number(entry.new) if entry.new is not None else "Null",
            entry.unit,
            str(entry.priority) if entry.priority is not None else "-",
            f"[{_VERDICT_STYLE[entry.result]}]{verdict}[/]",
            entry.reason,
        )
    if not entries:
        table.add_row("(no commands in this step)", "", "", "", "", "", "", "")
    return table


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


# --- inputs -------------------------------------------------------------------------------


def parse_at(text: str | None, day: date, zone: ZoneInfo) -> pd.Timestamp:
    """The instant ``--at`` names: now, ``HH:MM`` local on ``day``, or ISO 8601.

    A time without an offset is local; one the clock shows twice (the autumn
    DST change) or never (spring) is refused with the fix to give the offset.
    """
    if text is None:
        return pd.Timestamp.now(tz="UTC")
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    try:
        if clock is not None:
            moment = pd.Timestamp(
                datetime(day.year, day.month, day.day, int(clock[1]), int(clock[2]))
            )
        else:
            moment = pd.Timestamp(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a time; write HH:MM (local) or ISO 8601, e.g. 2027-01-13T10:00"
        ) from None
    if moment.tzinfo is not None:
        return moment
    try:
        return moment.tz_localize(zone, ambiguous="raise", nonexistent="raise")
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(
            f"{text!r} is not one instant in {zone.key} ({exc}); give it with its UTC offset, "
            "e.g. 2026-10-25T02:30+01:00"
        ) from None


def read_schedule_folder(folder: Path) -> Schedule:
    """A schedule written by ``klaster schedule``; a clear error when the folder is not one."""
    try:
        return Schedule.read(folder)
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(
            f"{folder} holds no schedule (meta.json and the Parquet frames)",
            fix="give --schedule the folder 'klaster schedule' wrote (out/schedule-DAY)",
        ) from None


def stored_schedule(data_dir: Path, day: date, config: ClusterConfig) -> Schedule:
    """The latest schedule run of ``day`` in the store, rebuilt from its stored frames."""
    with SqliteStore.open(data_dir) as store:
        runs = [run for run in store.runs("schedule") if run.day == day]
        if not runs:
            raise DataError(
                f"no schedule of {day} is stored in {store.path}",
                fix=f"run 'klaster schedule --day {day}' first, or give --schedule with a folder",
            )
        latest = runs[0]
        frames = {name: store.load_frame(latest.run_id, name) for name in SCHEDULE_FRAMES}
    return Schedule(
        day=day,
        timezone=config.cluster.timezone,
        step_minutes=config.cluster.step_minutes,
        meta={"run_id": latest.run_id},
        **frames,
    )
