"""Options and helpers every ``klaster bms`` command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adapters.site import SiteDevices, load_site_devices
from bms.safety import WritePolicy, load_write_policy
from cluster.errors import KlasterError

#: Where the rig leaves its device list, inside the data folder.
RIG_DEVICES_FILE = Path("rig") / "devices.json"
AUDIT_LOG_FILE = "audit.jsonl"
#: Exit code when no controller answered (that of an adapter error).
NO_CONTROLLER_ANSWERED = 5

BuildingOption = Annotated[
    list[str] | None,
    typer.Option("--building", "-b", help="A building id; repeat for more; all if left out."),
]
DevicesOption = Annotated[
    Path | None,
    typer.Option(help="Device list (TOML or JSON); the rig's <data dir>/rig/devices.json."),
]
AllowListOption = Annotated[
    Path | None,
    typer.Option(
        "--allow-list", help="The site's write policy (TOML): klaster's BACnet priority and points."
    ),
]
BacnetAddressOption = Annotated[
    str | None,
    typer.Option(help="klaster's own BACnet/IP address, host:port; a free local port if left out."),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.05, help="Budget of each device request, s.")
]
AuditLogOption = Annotated[
    Path | None, typer.Option(help="Audit log (JSON lines); <data dir>/audit.jsonl.")
]
ApplyOption = Annotated[
    bool, typer.Option("--apply", help="Write to the device; without it nothing is sent.")
]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why, for the audit log (e.g. a ticket or a complaint).")
]
UserOption = Annotated[
    str | None,
    typer.Option(help="Who makes the change, for the audit log (beside your login)."),
]


class BmsUsageError(KlasterError):
    """Options of ``klaster bms`` that cannot work together."""

    exit_code = 2


def site_devices(devices: Path | None, folder: Path, *, otherwise: str = "") -> SiteDevices:
    """The device list named, or the rig's; a clear error when neither exists.

    ``otherwise`` adds a way on to the error's fix (e.g. ``--no-live``).
    """
    path = devices or folder / RIG_DEVICES_FILE
    if not path.is_file():
        raise KlasterError(
            f"no device list at {path}",
            fix="start the rig with `klaster rig up`, or give --devices with the site's list"
            + (f"; or {otherwise}" if otherwise else ""),
        )
    return load_site_devices(path)


def write_policy(allow_list: Path | None) -> WritePolicy:
    """The site's write policy; the defaults (priority 12, nothing writable) without a file."""
    return load_write_policy(allow_list) if allow_list is not None else WritePolicy()
