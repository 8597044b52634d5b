"""``klaster dispatch`` through the CLI against a loopback site served from another thread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.audit import read_audit_log
from adapters.site import save_site_devices
from adapters.sqlite_store import SqliteStore
from cli.main import app
from cluster.timeseries import RunRecord
from tests.adapters.dispatch_support import (
    CONFIG_TOML,
    DAY,
    DISPATCHED,
    POLICY_TOML,
    PRIORITY,
    BackgroundSite,
    background_site,
    make_schedule,
)

runner = CliRunner()
REPOSITORY = Path(__file__).resolve().parents[2]
#: Wide enough that the table never folds a point id.
ENV = {"COLUMNS": "200"}
SETPOINT = "z1.setpoint"


@dataclass(frozen=True)
class Files:
    config: Path
    allow_list: Path
    schedule: Path
    data_dir: Path

    def args(self, *extra: str) -> list[str]:
        return ["dispatch", "--config", str(self.config), "--data-dir", str(self.data_dir),
                *extra]  # fmt: skip

    @property
    def audit_log(self) -> Path:
        return self.data_dir / "audit.jsonl"


@pytest.fixture
def served() -> Iterator[BackgroundSite]:
    with background_site() as background:
        yield background


@pytest.fixture
def files(tmp_path: Path, served: BackgroundSite) -> Files:
    config = tmp_path / "cluster.toml"
    config.write_text(CONFIG_TOML, encoding="utf-8")
    allow_list = tmp_path / "allow.toml"
    allow_list.write_text(POLICY_TOML, encoding="utf-8")
    schedule = tmp_path / "schedule-2027-01-13"
    make_schedule(DISPATCHED).write(schedule)
    data_dir = tmp_path / "data"
    assert served.site is not None
    # Where the rig leaves its device list: the default of --devices.
    save_site_devices(data_dir / "rig" / "devices.json", served.site.devices)
    return Files(config, allow_list, schedule, data_dir)


def test_dry_run_prints_the_planned_writes_sends_nothing_and_audits(
    files: Files, served: BackgroundSite
) -> None:
    args = files.args("--schedule", str(files.schedule), "--allow-list", str(files.allow_list),
                      "--at", "2027-01-13T10:00")  # fmt: skip
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    for text in ("Dry run", "Step 2027-01-13 10:00 CET", "pv-school/power_limit", "66.7",
                 "battery/power_setpoint", "bldg-school/z1/setpoint", "dry-run",
                 "nothing was sent"):  # fmt: skip
        assert text in result.output, text
    site = served.site
    assert site is not None
    assert site.battery.writes == [] and site.inverter.writes == [] and site.bacnet_writes == 0
    lines = read_audit_log(files.audit_log)
    assert [line["result"] for line in lines] == ["dry-run"] * 3


def test_apply_one_step_without_holding_writes_then_releases(
    files: Files, served: BackgroundSite
) -> None:
    args = files.args("--schedule", str(files.schedule), "--allow-list", str(files.allow_list),
                      "--at", "2027-01-13T10:05+01:00", "--apply", "--steps", "1",
                      "--hold", "0")  # fmt: skip
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    assert "3 of 3 command(s) applied and released" in result.output
    assert "Released" in result.output
    site = served.site
    assert site is not None
    assert [w.values for w in site.battery.writes] == [(15000,), (0,)]
    assert served.call(site.inverter_limit_pct()) == 100.0
    assert site.controller.priority_slot(SETPOINT, PRIORITY) is None
    lines = read_audit_log(files.audit_log)
    expected = [("write", "applied")] * 3 + [("release", "applied")] * 3
    assert [(line["action"], line["result"]) for line in lines] == expected


def test_apply_without_an_allow_list_is_refused_before_anything_is_sent(
    files: Files, served: BackgroundSite
) -> None:
    result = runner.invoke(app, files.args("--schedule", str(files.schedule), "--apply"), env=ENV)
    assert result.exit_code == 2
    assert "--apply needs --allow-list" in result.output
    site = served.site
    assert site is not None
    assert site.battery.requests == [] and site.inverter.requests == []
    assert site.controller.requests_received.total() == 0
    assert not files.audit_log.exists()


def _store_schedule_run(
    data_dir: Path, run_id: str, started: datetime, discharge_kw: float
) -> None:
    schedule = make_schedule({("battery", "discharge_kw"): discharge_kw})
    with SqliteStore.open(data_dir) as store:
        store.record_run(RunRecord(run_id, "schedule", DAY, started, "cfg", "inputs", "optimal"))
        for name in ("connection_points", "assets", "cluster", "costs"):
            store.save_frame(run_id, name, getattr(schedule, name))


def test_day_dispatches_the_latest_stored_schedule_of_that_day(files: Files) -> None:
    _store_schedule_run(files.data_dir, "older", datetime(2027, 1, 12, 6, tzinfo=UTC), 100.0)
    _store_schedule_run(files.data_dir, "newer", datetime(2027, 1, 12, 18, tzinfo=UTC), 150.0)
    args = files.args("--day", "2027-01-13", "--at", "10:00", "--allow-list",
                      str(files.allow_list))  # fmt: skip
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    [line] = read_audit_log(files.audit_log)
    assert (line["point"], line["new"]) == ("battery/power_setpoint", 150.0)
    assert line["step_start"] == "2027-01-13T09:00:00+00:00"  # 10:00 CET

    missing = runner.invoke(app, files.args("--day", "2027-01-14", "--at", "10:00"), env=ENV)
    assert missing.exit_code == 3
    assert "no schedule of 2027-01-14 is stored" in missing.output
    assert "klaster schedule --day 2027-01-14" in missing.output


def test_a_time_outside_the_schedules_day_is_a_clear_error(files: Files) -> None:
    args = files.args("--schedule", str(files.schedule), "--at", "2027-01-14T10:00")
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 2
    assert "lies outside the schedule's day 2027-01-13" in result.output
    assert not files.audit_log.exists()


def _wait_for_lines(path: Path, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text(encoding="utf-8").splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {count} lines within {timeout_s} s")


def test_sigterm_while_holding_releases_audits_and_exits_130(
    files: Files, served: BackgroundSite
) -> None:
    command = [
        sys.executable, "-c", "from cli.main import app; app()",
        *files.args("--schedule", str(files.schedule), "--allow-list", str(files.allow_list),
                    "--at", "2027-01-13T10:00", "--apply", "--hold", "60"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **ENV, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for_lines(files.audit_log, 3, timeout_s=20)
        site = served.site
        assert site is not None
        assert site.controller.priority_slot(SETPOINT, PRIORITY) == pytest.approx(21.0)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert "interrupted: 3 command(s) released" in output
    assert site.controller.priority_slot(SETPOINT, PRIORITY) is None
    assert [w.values for w in site.battery.writes] == [(15000,), (0,)]
    lines = read_audit_log(files.audit_log)
    assert [(line["action"], line["result"]) for line in lines[3:]] == [("release", "applied")] * 3
