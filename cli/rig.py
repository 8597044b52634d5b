"""``klaster rig``: the hardware-in-the-loop rig — up, status, fault, down."""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from adapters.rig.control import devices_file, info_file, send, stop_rig
from adapters.rig.faults import BACNET_FAULTS, CLEAR, MODBUS_FAULTS
from adapters.sqlite_schema import default_data_dir
from cli.common import ConfigOption, DataDirOption, console, show_adapter_log, user_errors

if TYPE_CHECKING:
    from adapters.rig.control import RigInfo
    from adapters.rig.rig import Rig

rig_app = typer.Typer(
    help="Serve a cluster's devices as simulated Modbus and BACnet equipment (HIL rig).",
    no_args_is_help=True,
)

_FAULT_HELP = (
    f"Modbus devices: {', '.join(MODBUS_FAULTS)}; BACnet devices: {', '.join(BACNET_FAULTS)}; "
    f"or {CLEAR!r}."
)


def _parse_start(text: str | None, zone: tzinfo) -> datetime | None:
    if text is None:
        return None
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO time; write it as e.g. 2027-01-15T06:00 (local) "
            "or 2027-01-15T05:00+00:00"
        ) from None
    return start if start.tzinfo is not None else start.replace(tzinfo=zone)


@rig_app.command("up")
@user_errors
def up(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    bind: Annotated[
        str,
        typer.Option(
            help="Address the devices bind; any other than loopback exposes them to that network."
        ),
    ] = "127.0.0.1",
    base_port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="First of consecutive fixed ports; free ports if left out."
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.001, help="Simulated seconds per real second.")
    ] = 1.0,
    start: Annotated[
        str | None,
        typer.Option(
            help="Simulated start, ISO time (the cluster's zone if none given); now if left out."
        ),
    ] = None,
    tick: Annotated[
        float, typer.Option(min=0.05, help="Real seconds between plant updates.")
    ] = 1.0,
) -> None:
    """Serve every device of the cluster until Ctrl-C or `klaster rig down`."""
    from adapters.rig.control import serve_rig
    from adapters.rig.rig import Rig, RigOptions
    from cluster.config import load_config

    cluster = load_config(config)
    show_adapter_log()
    options = RigOptions(
        start=_parse_start(start, cluster.cluster.zone),
        speed=speed,
        tick_s=tick,
        bind=bind,
        base_port=base_port,
    )
    folder = data_dir or default_data_dir()
    rig = Rig(cluster, options)
    source = str(config) if config else "built-in demo cluster"

    def ready(running: Rig, info: RigInfo) -> None:
        console.print(_device_table(running.status()["devices"], with_faults=False))
        console.print(f"device list: {devices_file(folder)}", highlight=False)
        console.print(
            f"control: 127.0.0.1:{info.control_port} ({info_file(folder)})", highlight=False
        )
        console.print(
            f"simulated time from {running.sim_time.isoformat()} at {options.speed:g}x; "
            "stop with Ctrl-C or: klaster rig down",
            highlight=False,
        )

    asyncio.run(serve_rig(rig, folder, config_source=source, on_ready=ready))
    console.print("rig stopped")


@rig_app.command("status")
@user_errors
def status(data_dir: DataDirOption = None) -> None:
    """Show the running rig's devices and active faults."""
    answer = send(data_dir or default_data_dir(), "status")
    state = answer["status"]
    console.print(
        f"simulated time {state['sim_time']} at {state['speed']:g}x, {state['ticks']} ticks "
        f"(mean {state['tick_ms_mean']:.1f} ms, max {state['tick_ms_max']:.1f} ms)",
        highlight=False,
    )
    console.print(_device_table(state["devices"], with_faults=True))
    faulty = [d for d in state["devices"] if d["fault"]]
    if not faulty:
        console.print("no active faults")
    for device in faulty:
        console.print(f"fault: {device['id']}: {device['fault']['text']}", highlight=False)


@rig_app.command("fault")
@user_errors
def fault(
    device: Annotated[str, typer.Argument(help="Device id, as `klaster rig status` lists it.")],
    kind: Annotated[str, typer.Argument(help=_FAULT_HELP)],
    delay: Annotated[
        float | None, typer.Option(help="For slow: seconds each answer takes (default 2).")
    ] = None,
    point: Annotated[
        str | None, typer.Option(help="For hold-priority: the held point, e.g. z1.setpoint.")
    ] = None,
    value: Annotated[
        float | None, typer.Option(help="For hold-priority: the held value, e.g. 26.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Inject a fault into a device of the running rig, or clear it."""
    folder = data_dir or default_data_dir()
    if kind == CLEAR:
        send(folder, "clear", device=device)
        console.print(f"{device}: fault cleared", highlight=False)
        return
    answer = send(
        folder, "fault", device=device, kind=kind, delay_s=delay, point=point, value=value
    )
    console.print(f"{device}: {answer['fault']['text']}", highlight=False)


@rig_app.command("down")
@user_errors
def down(
    data_dir: DataDirOption = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the rig to stop.")
    ] = 30.0,
) -> None:
    """Stop the running rig and wait until its ports are free."""
    info = stop_rig(data_dir or default_data_dir(), timeout)
    console.print(f"rig stopped (pid {info.pid})", highlight=False)


def _device_table(devices: list[dict[str, Any]], *, with_faults: bool) -> Table:
    table = Table(title=f"{len(devices)} devices")
    for column in ("device", "protocol", "address", "owner"):
        table.add_column(column)
    if with_faults:
        table.add_column("fault")
    for device in devices:
        row = [
            device["id"],
            device["protocol"],
            f"{device['host']}:{device['port']}",
            device["owner"],
        ]
        if with_faults:
            row.append(device["fault"]["text"] if device["fault"] else "")
        table.add_row(*row)
    return table
