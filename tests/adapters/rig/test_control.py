"""A rig served with its files and control channel, driven through the channel's client."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from pathlib import Path

import pytest

from adapters.rig.control import (
    RigInfo,
    devices_file,
    info_file,
    send,
    serve_rig,
    stop_rig,
)
from adapters.rig.errors import RigError, RigNotRunning
from adapters.rig.rig import Rig, RigOptions
from adapters.site import Protocol, load_site_devices
from tests.adapters.rig.support import DAY, run, small_cluster, tcp_port_free


def _raw_request(port: int, line: bytes) -> dict[str, object]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(line)
        answer: dict[str, object] = json.loads(conn.makefile("rb").readline())
    return answer


def test_served_rig_writes_its_files_answers_commands_and_cleans_up(tmp_path: Path) -> None:
    async def body() -> None:
        rig = Rig(small_cluster(), RigOptions(start=DAY, tick_s=0.1, speed=600))
        ready = asyncio.Event()
        service = asyncio.create_task(
            serve_rig(rig, tmp_path, config_source="small", on_ready=lambda *_: ready.set())
        )
        await asyncio.wait_for(ready.wait(), 10)
        site = load_site_devices(devices_file(tmp_path))
        info = RigInfo.load(info_file(tmp_path))
        assert stat.S_IMODE(info_file(tmp_path).stat().st_mode) == 0o600
        assert {d.id for d in site.devices} == {p.device_id for p in rig.planned}
        modbus_ports = [d.port for d in site.devices if d.protocol is not Protocol.BACNET]
        assert not any(tcp_port_free(port) for port in modbus_ports)

        status = await asyncio.to_thread(send, tmp_path, "status")
        assert len(status["status"]["devices"]) == len(site.devices)
        refused = await asyncio.to_thread(
            _raw_request, info.control_port, b'{"token": "guess", "command": "down"}\n'
        )
        assert refused["ok"] is False and "token" in str(refused["error"])
        answer = await asyncio.to_thread(
            send, tmp_path, "fault", device="meter-cp-hall", kind="slow", delay_s=1.5
        )
        assert answer["fault"]["text"] == "slow (1.5 s)"
        with pytest.raises(RigError, match="no device 'nope'"):
            await asyncio.to_thread(send, tmp_path, "clear", device="nope")
        with pytest.raises(RigError, match="already runs"):
            await serve_rig(Rig(small_cluster()), tmp_path, config_source="second")

        await asyncio.to_thread(stop_rig, tmp_path, 10.0)
        await asyncio.wait_for(service, 10)
        assert not info_file(tmp_path).exists()
        assert not devices_file(tmp_path).exists()
        assert all(tcp_port_free(port) for port in modbus_ports)

    run(body(), timeout_s=30)


def test_commands_without_a_running_rig_say_so(tmp_path: Path) -> None:
    with pytest.raises(RigNotRunning, match="no rig is running"):
        send(tmp_path, "status")
    # A rig that died without cleaning up: its files are removed, and it says so.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    RigInfo(123, closed_port, "t", "2027-01-01T00:00:00+00:00", "x").save(info_file(tmp_path))
    devices_file(tmp_path).write_text("{}", encoding="utf-8")
    with pytest.raises(RigNotRunning, match="stale files were removed"):
        stop_rig(tmp_path)
    assert not info_file(tmp_path).exists()
    assert not devices_file(tmp_path).exists()
