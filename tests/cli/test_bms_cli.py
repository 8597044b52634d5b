"""``klaster bms`` through the CLI, against the rig's controllers served from another thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from adapters.audit import current_user, read_audit_log
from adapters.site import save_site_devices
from adapters.sqlite_store import SqliteStore
from cli.main import app
from cluster.timeseries import Quality, SeriesId, readings_frame
from tests.adapters.rig.support import SMALL_CLUSTER_TOML
from tests.bms.support import BackgroundRig, background_rig, record_scenario, run
from tests.timeouts import ANSWER_TIMEOUT_S

runner = CliRunner()
#: Wide enough that no table folds a point id.
ENV = {"COLUMNS": "250"}
DAY = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
POINT = "bldg-school/z1/setpoint"
SETPOINT = "z1.setpoint"
ALLOW_LIST = f"""\
bacnet_priority = 12

[[points]]
point = "{POINT}"
min_value = 17
max_value = 23
max_step = 3
"""


@dataclass(frozen=True)
class Files:
    config: Path
    allow_list: Path
    data_dir: Path

    def cli(self, *args: str | Path) -> Result:
        common = ["--config", str(self.config), "--data-dir", str(self.data_dir)]
        return runner.invoke(app, ["bms", *map(str, args), *common], env=ENV)

    def live(self, *args: str | Path) -> Result:
        """A command that asks the served controllers, with a budget for a loaded machine."""
        return self.cli(*args, "--timeout", str(ANSWER_TIMEOUT_S))


@pytest.fixture
def files(tmp_path: Path) -> Files:
    config = tmp_path / "cluster.toml"
    config.write_text(SMALL_CLUSTER_TOML, encoding="utf-8")
    allow_list = tmp_path / "allow.toml"
    allow_list.write_text(ALLOW_LIST, encoding="utf-8")
    return Files(config, allow_list, tmp_path / "data")


@pytest.fixture
def served(files: Files) -> Iterator[BackgroundRig]:
    with background_rig(DAY) as rig:
        # Where the rig leaves its device list: the default of --devices.
        save_site_devices(files.data_dir / "rig" / "devices.json", rig.rig.site_devices())
        yield rig


def slot(served: BackgroundRig, priority: int) -> float | None:
    return served.on_loop(lambda _: served.controller().priority_slot(SETPOINT, priority))


def test_points_lists_every_zone_with_who_holds_it_and_records(
    files: Files, served: BackgroundRig
) -> None:
    served.on_loop(lambda _: served.controller().hold_at_priority("z2.setpoint", 8, 22.5))
    result = files.live("points", "--allow-list", files.allow_list, "--record")
    assert result.exit_code == 0, result.output
    assert "bldg-school" in result.output and "bldg-hall" in result.output
    assert "16 program" in result.output
    assert "8 manual operator = 22.5" in result.output
    assert "2/2 controllers answered" in result.output
    with SqliteStore.open(files.data_dir) as store:
        held = store.coverage("point/bldg-school/z2/setpoint_priority")
        assert held is not None and held[2] == 1


def test_set_is_a_dry_run_unless_applied_then_audited_and_released(
    files: Files, served: BackgroundRig
) -> None:
    dry = files.live("set", POINT, "22", "--allow-list", files.allow_list, "--user", "anna")
    assert dry.exit_code == 0, dry.output
    assert "dry-run" in dry.output and "nothing was sent" in dry.output
    assert slot(served, 10) is None
    applied = files.live("set", POINT, "22", "--allow-list", files.allow_list, "--apply",
                        "--user", "anna", "--reason", "complaint 17")  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert "applied" in applied.output and "priority 10 holds 22.0" in applied.output
    assert slot(served, 10) == 22.0
    released = files.live("release", POINT, "--allow-list", files.allow_list, "--apply",
                         "--user", "anna")  # fmt: skip
    assert released.exit_code == 0, released.output
    assert "priority 10 released" in released.output
    assert slot(served, 10) is None
    lines = read_audit_log(files.data_dir / "audit.jsonl")
    assert [(x["action"], x["result"]) for x in lines] == [
        ("write", "dry-run"), ("write", "applied"), ("release", "applied"),
    ]  # fmt: skip
    # The name given, with the login it was given from.
    who = f"anna (login {current_user()})"
    assert {x["user"] for x in lines} == {who}
    assert lines[1]["plan"] == "complaint 17"
    audit = files.cli("audit", "--user", who, "--last", "2")
    assert audit.exit_code == 0, audit.output
    assert "2 of 3 line(s)" in audit.output
    assert "complaint 17" in audit.output and "manual release" in audit.output
    assert "manual change" not in audit.output  # the dry run's, left out by --last 2


def test_set_on_a_point_held_at_priority_5_reports_it_and_sends_nothing(
    files: Files, served: BackgroundRig
) -> None:
    served.on_loop(lambda _: served.controller().hold_at_priority(SETPOINT, 5, 23.0))
    before = served.on_loop(lambda _: served.controller().requests_received["WritePropertyRequest"])
    result = files.live("set", POINT, "21.5", "--allow-list", files.allow_list, "--apply")
    assert result.exit_code == 1
    assert "overridden" in result.output and "overridden by priority 5" in result.output
    after = served.on_loop(lambda _: served.controller().requests_received["WritePropertyRequest"])
    assert after == before and slot(served, 10) is None
    flexibility = files.live("flexibility", "--day", "2027-03-11", "--allow-list", files.allow_list)
    assert flexibility.exit_code == 0, flexibility.output
    assert "priority 5 holds the setpoint at 23 °C" in flexibility.output
    assert "3 zone(s) flexible on 2027-03-11, 1 excluded" in flexibility.output


def test_a_change_without_an_allow_list_or_to_an_unknown_point_is_refused(
    files: Files, served: BackgroundRig
) -> None:
    missing = files.cli("set", POINT, "21")
    assert missing.exit_code == 2 and "--allow-list" in missing.output
    unknown = files.cli("set", "bldg-school/z9/setpoint", "21", "--allow-list", files.allow_list)
    assert unknown.exit_code == 1
    assert "not a point of the cluster configuration" in unknown.output


def test_check_on_stored_history_finds_a_frozen_sensor_and_writes_csv_and_html(
    files: Files, tmp_path: Path
) -> None:
    frozen: dict[str, float] = {}

    def freeze(controller: object) -> None:
        from adapters.bacnet.device_sim import SimulatedBuildingController

        assert isinstance(controller, SimulatedBuildingController)
        frozen.setdefault("value", controller.present_value("z1.room_temp"))
        controller.set_value("z1.room_temp", frozen["value"])

    readings = run(record_scenario(datetime(2027, 3, 10, 11, tzinfo=UTC), 6.0, after_step=freeze))
    with SqliteStore.open(files.data_dir) as store:
        store.write_readings(readings)
    csv, html = tmp_path / "findings.csv", tmp_path / "report.html"
    result = files.cli("check", "--no-live", "--building", "bldg-school",
                       "--since", "2027-03-10", "--until", "2027-03-11",
                       "--csv", csv, "--html", html)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sensor-frozen" in result.output and "1 critical" in result.output
    table = pd.read_csv(csv)
    assert table.loc[0, "rule"] == "sensor-frozen"
    assert table.loc[0, "point"] == "bldg-school/z1/room_temp"
    page = html.read_text(encoding="utf-8")
    assert "sensor-frozen" in page and page.count('src="data:image/png;base64,') == 1


def test_check_with_live_values_runs_on_the_served_controllers(
    files: Files, served: BackgroundRig
) -> None:
    result = files.live("check", "--allow-list", files.allow_list)
    assert result.exit_code == 0, result.output
    assert "4 zones of 2 building(s)" in result.output and "and live values" in result.output


def test_baseline_ranks_the_building_that_uses_more_than_its_weather_explains(
    files: Files,
) -> None:
    hours = pd.date_range("2026-01-01", "2027-03-01", freq="h", tz="UTC", inclusive="left")
    day_of_year = hours.day_of_year.to_numpy()
    temp = pd.Series(8 - 11 * np.cos(2 * np.pi * (day_of_year - 15) / 365), index=hours)
    heating_kw = 2.0 * (15.0 - temp).clip(lower=0.0)

    def demand(waste_from: str | None) -> pd.Series:
        power = 20.0 + heating_kw
        if waste_from is not None:
            power = power.where(hours < pd.Timestamp(waste_from, tz="UTC"), power * 1.2)
        return power

    frames = [
        readings_frame(SeriesId.TEMPERATURE_C, temp, "degC", Quality.GOOD),
        readings_frame(SeriesId.load("cp-school"), demand("2027-02-01"), "kW"),
        readings_frame(SeriesId.load("cp-hall"), demand(None), "kW"),
    ]
    with SqliteStore.open(files.data_dir) as store:
        store.write_readings(pd.concat(frames, ignore_index=True))
    csv = files.data_dir / "ranking.csv"
    result = files.cli("baseline", "--recent-days", "28", "--csv", csv)
    assert result.exit_code == 0, result.output
    ranking = pd.read_csv(csv)
    assert ranking["building"].tolist() == ["bldg-school", "bldg-hall"]
    assert ranking.loc[0, "gap_pct"] == pytest.approx(20.0, abs=0.5)
    assert ranking.loc[1, "gap_pct"] == pytest.approx(0.0, abs=0.5)
    assert "demand (load/cp-school/power_kw)" in result.output
    assert ranking["cv_rmse_pct"].notna().all()


def test_baseline_without_weather_says_what_to_store(files: Files) -> None:
    result = files.cli("baseline")
    assert result.exit_code == 3
    assert "holds no outdoor temperature" in result.output
