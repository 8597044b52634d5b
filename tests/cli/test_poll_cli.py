"""``klaster poll`` through the CLI, against Modbus devices served on loopback by a thread."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest
from typer.testing import CliRunner

from adapters.site import DeviceEndpoint, Protocol, SiteDevices, save_site_devices
from adapters.sqlite_store import DATABASE_FILE_NAME
from cli.main import app
from tests.adapters.modbus.devices import battery_simdata, free_port, meter_simdata
from tests.adapters.modbus.sim import SimServer

T = TypeVar("T")
runner = CliRunner()
REPOSITORY = Path(__file__).resolve().parents[2]


class ServerThread:
    """An event loop in a thread serving Modbus devices, so a CLI in this thread can poll them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[SimServer] = []

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def serve(self, server: SimServer) -> SimServer:
        self.servers.append(self.call(server.start()))
        return server

    def stop(self) -> None:
        for server in self.servers:
            self.call(server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def served() -> Iterator[ServerThread]:
    servers = ServerThread()
    servers.thread.start()
    yield servers
    servers.stop()


def device_list(path: Path, *endpoints: DeviceEndpoint) -> Path:
    return save_site_devices(path, SiteDevices(devices=list(endpoints)))


def modbus(device_id: str, owner: str, port: int, device_map: str) -> DeviceEndpoint:
    return DeviceEndpoint(
        id=device_id, owner=owner, protocol=Protocol.MODBUS, port=port, map=device_map
    )


def store_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / DATABASE_FILE_NAME) as connection:
        return int(connection.execute("SELECT count(*) FROM readings").fetchone()[0])


def test_poll_once_prints_what_each_device_gave(served: ServerThread, tmp_path: Path) -> None:
    meter = served.serve(SimServer(meter_simdata(voltage=231.25)))
    battery = served.serve(SimServer(battery_simdata(1500, 0)))
    devices = device_list(
        tmp_path / "site" / "devices.json",
        modbus("meter-sp-1", "bldg-sp-1", meter.port, "energy_meter"),
        modbus("battery-1", "battery-kof", battery.port, "battery"),
        modbus("battery-2", "biogas-wwtp", free_port(), "battery"),
    )
    data_dir = tmp_path / "data"
    result = runner.invoke(
        app, ["poll", "--once", "--devices", str(devices), "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    output = result.output
    for text in ("Readings", "voltage_l1", "231.25", "meter_power", "-1.5", "65.5", "GOOD",
                 "STALE", "ok      meter-sp-1: 5/5 points GOOD", "ok      battery-1: 4/4",
                 "FAILED  battery-2", "retry in 1 s", "2/3 devices answered"):  # fmt: skip
        assert text in output, text
    assert store_rows(data_dir) == 5 + 4 + 4


def test_poll_once_fails_when_no_device_answers(tmp_path: Path) -> None:
    devices = device_list(
        tmp_path / "devices.json", modbus("battery-2", "biogas-wwtp", free_port(), "battery")
    )
    result = runner.invoke(
        app, ["poll", "--once", "--devices", str(devices), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 5
    assert "no device answered" in result.output
    assert store_rows(tmp_path) == 4  # its points, stored STALE


def test_a_missing_device_list_says_how_to_get_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["poll", "--once", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert str(tmp_path / "rig" / "devices.json") in result.output
    assert "klaster rig up" in result.output and "--devices" in result.output
    assert "Traceback" not in result.output


def _read_until(stream: IO[str], text: str, timeout_s: float) -> list[str]:
    """Lines of ``stream`` up to the first holding ``text``."""
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        for line in stream:
            lines.append(line)
            if text in line:
                found.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    assert found.wait(timeout_s), "".join(lines)
    return lines


def test_sigterm_stores_what_was_read_and_exits_zero(served: ServerThread, tmp_path: Path) -> None:
    meter = served.serve(SimServer(meter_simdata()))
    devices = device_list(
        tmp_path / "devices.json", modbus("meter-sp-1", "bldg-sp-1", meter.port, "energy_meter")
    )
    data_dir = tmp_path / "data"
    command = [
        sys.executable, "-c", "from cli.main import app; app()", "poll",
        "--devices", str(devices), "--data-dir", str(data_dir),
        # Polls 1.5 s apart never share a second; nothing is written before the stop.
        "--interval", "1.5", "--flush-every", "60", "--status-every", "0.5",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        began = time.monotonic()
        lines = _read_until(process.stdout, "readings read 10,", timeout_s=15)
        assert time.monotonic() - began < 15
        assert store_rows(data_dir) == 0  # all of it still queued
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=10)
    finally:
        process.kill()
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    final = re.search(r"stopped: read (\d+) readings, stored (\d+) in 1 transactions", output)
    assert final is not None, output
    read, written = int(final[1]), int(final[2])
    assert read == written >= 10 and read % 5 == 0  # whole polls of the meter's 5 points
    assert store_rows(data_dir) == written
