"""`klaster rig up/status/fault/down` end to end: a rig process driven through the CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from adapters.rig.control import devices_file, info_file
from adapters.site import Protocol, load_site_devices
from cli.main import app
from tests.adapters.rig.support import SMALL_CLUSTER_TOML, tcp_port_free

runner = CliRunner()
KLASTER = Path(sys.executable).with_name("klaster")
#: How long the rig process may take to start (Python, pandas, pvlib, the servers), s.
START_BUDGET_S = 45.0


def _wait_for_rig(process: subprocess.Popen[str], data_dir: Path) -> None:
    deadline = time.monotonic() + START_BUDGET_S
    while not info_file(data_dir).exists():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"klaster rig up exited with {process.returncode}:\n{output}")
        if time.monotonic() > deadline:
            raise AssertionError(f"klaster rig up did not start within {START_BUDGET_S} s")
        time.sleep(0.1)


def _rig(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["rig", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def test_rig_up_status_fault_down(tmp_path: Path) -> None:
    config = tmp_path / "small.toml"
    config.write_text(SMALL_CLUSTER_TOML, encoding="utf-8")
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [str(KLASTER), "rig", "up", "--config", str(config), "--data-dir", str(data_dir),
         "--speed", "600", "--tick", "0.2", "--start", "2027-03-10T11:00"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for_rig(process, data_dir)
        site = load_site_devices(devices_file(data_dir))
        modbus_ports = {d.id: d.port for d in site.devices if d.protocol is not Protocol.BACNET}
        assert len(modbus_ports) == 10

        code, output = _rig(data_dir, "status")
        assert code == 0, output
        assert "12 devices" in output and "bacnet-bldg-school" in output
        assert "no active faults" in output

        code, output = _rig(data_dir, "fault", "meter-cp-hall", "offline")
        assert code == 0, output
        assert tcp_port_free(modbus_ports["meter-cp-hall"])
        assert not tcp_port_free(modbus_ports["meter-cp-school"])
        code, output = _rig(data_dir, "status")
        assert "fault: meter-cp-hall: offline" in output

        code, output = _rig(data_dir, "fault", "meter-cp-hall", "melted")
        assert code != 0
        assert "exception-6" in output and "Traceback" not in output

        code, output = _rig(data_dir, "down")
        assert code == 0, output
        assert process.wait(timeout=20) == 0
        assert all(tcp_port_free(port) for port in modbus_ports.values())
        assert not info_file(data_dir).exists() and not devices_file(data_dir).exists()
        output = process.stdout.read() if process.stdout else ""
        assert "meter-cp-farm" in output and "rig stopped" in output
        assert "Traceback" not in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_commands_without_a_rig_say_so(tmp_path: Path) -> None:
    for args in (("status",), ("down",), ("fault", "meter-cp-hall", "offline")):
        code, output = _rig(tmp_path, *args)
        assert code != 0, args
        assert "no rig is running" in output and "klaster rig up" in output
        assert "Traceback" not in output
