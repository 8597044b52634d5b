"""Where a site's devices are: the endpoint list that poll, dispatch and the rig share.

A real site describes its devices in a TOML file; the HIL rig writes the same
list as JSON (with the ports it bound) for the other commands to read. Each
endpoint names the protocol, the address, the map of its points and the
owner (an asset or a connection point) its readings belong to.
"""

from __future__ import annotations

import json
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cluster.errors import ConfigError, ConfigProblem


class Protocol(StrEnum):
    """How klaster talks to a device."""

    MODBUS = "modbus"
    SUNSPEC = "sunspec"
    BACNET = "bacnet"


class DeviceEndpoint(BaseModel):
    """One device and how to reach it.

    Parameters
    ----------
    id
        Unique device id on the site.
    owner
        The asset (or connection point, for a meter) whose points it serves.
    protocol
        ``modbus`` (with a register ``map``), ``sunspec`` (inverter, discovered)
        or ``bacnet`` (a building controller).
    host, port
        Network address; the rig binds 127.0.0.1.
    unit_id
        Modbus unit id.
    map
        Modbus register map: a built-in map name or a file path.
    device_instance
        BACnet device instance.
    scan_interval_s
        How often the poller reads the device, seconds.
    point_aliases
        Device point id → klaster point id (``asset/point``) where they differ,
        e.g. a lighting cabinet's ``circuit01.dim_level`` → ``light-07/dim_level``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    owner: str = Field(min_length=1)
    protocol: Protocol
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=247)
    map: str | None = None
    device_instance: int | None = Field(default=None, ge=0, le=4194302)
    scan_interval_s: float = Field(default=10.0, gt=0)
    point_aliases: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _protocol_fields(self) -> Self:
        if self.protocol is Protocol.MODBUS and not self.map:
            raise ValueError("a modbus device needs map = <built-in map name or file>")
        if self.protocol is Protocol.BACNET and self.device_instance is None:
            raise ValueError("a bacnet device needs device_instance = <0..4194302>")
        return self

    def klaster_point_id(self, device_point_id: str) -> str:
        """The klaster point id a device point's readings are stored under.

        An alias wins. Otherwise the point belongs to the owner, and the dots
        that devices use inside point ids become klaster's slashes: a BACnet
        zone point ``z1.setpoint`` of building ``bldg-a`` is ``bldg-a/z1/setpoint``.
        """
        alias = self.point_aliases.get(device_point_id)
        return alias or f"{self.owner}/{device_point_id.replace('.', '/')}"

    def device_point_id(self, klaster_point_id: str) -> str | None:
        """The inverse of :meth:`klaster_point_id`; None when this device does not serve it."""
        for device_point, aliased in self.point_aliases.items():
            if aliased == klaster_point_id:
                return device_point
        owner, slash, rest = klaster_point_id.partition("/")
        if not slash or owner != self.owner:
            return None
        return rest.replace("/", ".")


class SiteDevices(BaseModel):
    """Every device of a site."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    devices: list[DeviceEndpoint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for device in self.devices:
            if device.id in seen:
                raise ValueError(f"device id {device.id!r} is used twice")
            seen.add(device.id)
        return self

    def device(self, device_id: str) -> DeviceEndpoint:
        """The device with this id; ConfigError naming the known ids otherwise."""
        for device in self.devices:
            if device.id == device_id:
                return device
        known = ", ".join(d.id for d in self.devices[:12])
        raise ConfigError(
            "devices",
            [ConfigProblem(device_id, "no such device", f"use one of: {known} ...")],
        )


def load_site_devices(path: Path) -> SiteDevices:
    """Read a device list (TOML by hand, or the JSON the rig writes)."""
    if not path.is_file():
        raise ConfigError(str(path), [ConfigProblem(
            "(file)", "the device list does not exist",
            "start the rig (klaster rig up) or give --devices with the site's device list",
        )])  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            str(path), [ConfigProblem("(file)", f"cannot be read: {exc}", "correct the file")]
        ) from None
    try:
        return SiteDevices.model_validate(raw)
    except ValidationError as exc:
        problems = [
            ConfigProblem(
                ".".join(str(p) for p in err["loc"]) or "(top level)",
                str(err["msg"]).removeprefix("Value error, "),
                "correct the value",
            )
            for err in exc.errors()
        ]
        raise ConfigError(str(path), problems) from None


def save_site_devices(path: Path, devices: SiteDevices) -> Path:
    """Write a device list as JSON, atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(devices.model_dump_json(indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path
