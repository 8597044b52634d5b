"""``klaster poll``: read the site's devices into the store, once or until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adapters.clients import ClientSettings, DeviceClientFactory
from adapters.poller import DeviceStatus, Poller, PollerSettings, SweepResult
from adapters.site import DeviceEndpoint, load_site_devices
from adapters.sqlite_schema import default_data_dir
from adapters.sqlite_store import SqliteStore
from cli.common import ConfigOption, DataDirOption, console, errors, show_adapter_log, user_errors
from cluster.config import load_config
from cluster.errors import KlasterError

#: Where the HIL rig writes its device list, inside the data folder.
RIG_DEVICES_FILE = Path("rig") / "devices.json"
#: Exit code of ``--once`` when no device answered (that of an adapter error).
NO_DEVICE_ANSWERED = 5
#: Failing devices named in one status line; the rest are counted.
FAILING_NAMED = 3


@user_errors
def poll(
    once: Annotated[
        bool,
        typer.Option("--once", help="Poll every device once, store and print what was read."),
    ] = False,
    devices: Annotated[
        Path | None,
        typer.Option(
            "--devices",
            help="The site's device list (TOML, or the rig's JSON); "
            "<data dir>/rig/devices.json if left out.",
        ),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Devices polled at the same time, at most.")
    ] = 64,
    interval: Annotated[
        float | None,
        typer.Option(
            min=0.1, help="Scan interval of every device, s; each device's own if left out."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Readings written per store transaction.")
    ] = 2000,
    flush_every: Annotated[
        float, typer.Option(min=0.1, help="Longest wait of a reading before it is written, s.")
    ] = 5.0,
    status_every: Annotated[
        float, typer.Option(min=0.1, help="Seconds between status lines while running.")
    ] = 10.0,
    bacnet_address: Annotated[
        str | None,
        typer.Option(
            help="Local BACnet/IP address host:port to poll from; a free loopback port if left out."
        ),
    ] = None,
) -> None:
    """Read every device of the site into the store: once, or until SIGINT/SIGTERM."""
    folder = data_dir or default_data_dir()
    devices_path = devices or folder / RIG_DEVICES_FILE
    if not devices_path.is_file():
        raise KlasterError(
            f"no device list at {devices_path}",
            fix="start the rig with `klaster rig up` or pass --devices FILE",
        )
    site = load_site_devices(devices_path)
    if not site.devices:
        raise KlasterError(
            f"the device list {devices_path} names no devices", fix="add the site's devices to it"
        )
    endpoints: Sequence[DeviceEndpoint] = site.devices
    if interval is not None:
        endpoints = [d.model_copy(update={"scan_interval_s": interval}) for d in site.devices]
    factory = DeviceClientFactory(
        load_config(config),
        ClientSettings(bacnet_local_address=bacnet_address),
        base_dir=devices_path.parent,
    )
    settings = PollerSettings(
        concurrency=concurrency, batch_size=batch_size, flush_interval_s=flush_every
    )
    show_adapter_log(logging.ERROR if once else logging.WARNING)
    with SqliteStore.open(folder) as store:
        poller = Poller(endpoints, store, factory, settings)
        if once:
            sweep = asyncio.run(_poll_once(poller))
            console.print(sweep_table(sweep))
            for line in sweep_summary(sweep):
                console.print(line, highlight=False)
            if sweep.answered == 0:
                errors.print("error: no device answered", style="red", highlight=False)
                raise typer.Exit(NO_DEVICE_ANSWERED)
            return
        console.print(
            f"polling {len(endpoints)} devices from {devices_path} into {store.path} "
            "(Ctrl-C or SIGTERM stops)",
            highlight=False,
        )
        asyncio.run(_run_until_signalled(poller, status_every))
        counts = poller.counts
        console.print(
            f"stopped: read {counts.queued:,} readings, stored {counts.stored:,} in "
            f"{counts.transactions:,} transactions ({counts.dropped:,} dropped)",
            highlight=False,
        )


async def _poll_once(poller: Poller) -> SweepResult:
    async with poller:
        return await poller.poll_once()


async def _run_until_signalled(poller: Poller, status_every_s: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    reporter = asyncio.create_task(_report(poller, stop, status_every_s))
    try:
        await poller.run(stop)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)


async def _report(poller: Poller, stop: asyncio.Event, every_s: float) -> None:
    while not stop.is_set():
        try:
            async with asyncio.timeout(every_s):
                await stop.wait()
        except TimeoutError:
            console.print(status_line(poller), highlight=False)


def status_line(poller: Poller) -> str:
    """One line: devices answering and failing, readings read, stored and queued."""
    statuses = poller.statuses()
    failing = [s for s in statuses if s.consecutive_failures]
    answering = sum(s.ok for s in statuses)
    counts = poller.counts
    line = (
        f"{datetime.now():%H:%M:%S} devices ok {answering}/{len(statuses)}, failing {len(failing)}"
    )
    if failing:
        named = ", ".join(
            f"{s.device_id} retry in {s.backoff_s:g} s" for s in failing[:FAILING_NAMED]
        )
        more = f" and {len(failing) - FAILING_NAMED} more" if len(failing) > FAILING_NAMED else ""
        line += f" ({named}{more})"
    return (
        f"{line} · readings read {counts.queued:,}, stored {counts.stored:,}, "
        f"queued {poller.pending:,}"
    )


def sweep_table(sweep: SweepResult) -> Table:
    """Every reading of one sweep: device, point, value, unit, quality, detail."""
    table = Table(title="Readings", title_justify="left", title_style="bold")
    for column in ("device", "point", "value", "unit", "quality", "detail"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for poll in sweep.polls:
        for reading in poll.readings:
            value = "—" if reading.value is None else f"{reading.value:.6g}"
            table.add_row(
                poll.device_id,
                reading.point_id,
                value,
                reading.unit,
                reading.quality.name,
                reading.detail,
            )
        table.add_section()
    return table


def sweep_summary(sweep: SweepResult) -> list[str]:
    """One line per device (points good, time taken, or why it failed), then the totals."""
    statuses = {s.device_id: s for s in sweep.statuses}
    lines = []
    for poll in sweep.polls:
        status = statuses[poll.device_id]
        if poll.ok:
            lines.append(
                f"ok      {poll.device_id}: {status.points_good}/{status.points_total} points GOOD "
                f"in {poll.duration_s * 1000:.0f} ms"
            )
        else:
            lines.append(_failure_line(poll.device_id, len(poll.readings), status))
    lines.append(
        f"{sweep.answered}/{len(sweep.polls)} devices answered in {sweep.duration_s:.2f} s"
    )
    return lines


def _failure_line(device_id: str, stale_points: int, status: DeviceStatus) -> str:
    return (
        f"FAILED  {device_id}: {status.last_error} ({stale_points} points stored STALE; "
        f"retry in {status.backoff_s:g} s)"
    )
