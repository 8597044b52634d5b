"""`klaster schedule` end to end through the CLI, on the demo cluster and real solves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from adapters.sqlite_store import SqliteStore
from cli.main import app
from cluster.config import demo_config_text

runner = CliRunner()
#: Enough synthetic history for the forecasts, little enough to keep the tests quick.
HISTORY_DAYS = "35"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


def _schedule(data_dir: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["schedule", "--data-dir", str(data_dir), "--out", str(out),
            "--history-days", HISTORY_DAYS, *extra]  # fmt: skip
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def test_schedule_writes_files_and_prints_the_summary(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    code, output = _schedule(data_dir, out, "--day", "2027-01-13")
    assert code == 0, output
    for name in ("connection_points", "assets", "cluster", "costs"):
        assert (out / f"{name}.parquet").is_file()
        assert (out / f"{name}.csv").is_file()
    assert (out / "meta.json").is_file()
    assert (out / "schedule.png").stat().st_size > 10_000
    for text in ("Cost of the day", "local share", "Peak import vs contracted", "optimal",
                 "model build", "solve", str(out)):  # fmt: skip
        assert text in output, text
    cluster = pd.read_parquet(out / "cluster.parquet")
    assert len(cluster) == 96


@pytest.mark.parametrize(("day", "steps"), [("2027-03-28", 92), ("2026-10-25", 100)])
def test_dst_days_have_92_and_100_steps(
    data_dir: Path, tmp_path: Path, day: str, steps: int
) -> None:
    code, output = _schedule(data_dir, tmp_path, "--day", day)
    assert code == 0, output
    assert len(pd.read_csv(tmp_path / "cluster.csv")) == steps
    points = pd.read_parquet(tmp_path / "connection_points.parquet")
    assert points.groupby("connection_point").size().eq(steps).all()


def test_runs_are_recorded_in_the_store(data_dir: Path, tmp_path: Path) -> None:
    code, output = _schedule(data_dir, tmp_path, "--day", "2027-01-14")
    assert code == 0, output
    with SqliteStore.open(data_dir) as store:
        runs = [r for r in store.runs("schedule") if r.day.isoformat() == "2027-01-14"]
        assert runs and runs[0].status == "optimal"
        frame = store.load_frame(runs[0].run_id, "cluster")
    assert len(frame) == 96


def test_a_bad_day_is_a_message_not_a_traceback(data_dir: Path, tmp_path: Path) -> None:
    code, output = _schedule(data_dir, tmp_path, "--day", "14.01.2027")
    assert code == 2
    assert "YYYY-MM-DD" in output
    assert "Traceback" not in output


def test_a_config_without_history_names_the_missing_series(tmp_path: Path) -> None:
    config = tmp_path / "kof.toml"
    config.write_text(demo_config_text())
    empty_store = tmp_path / "store"
    code, output = _schedule(
        empty_store, tmp_path / "out", "--config", str(config), "--day", "2027-02-01"
    )
    assert code == 3, output
    assert "load/cp-city-hall/power_kw" in output
    assert "--synthetic-history" in output
    assert "Traceback" not in output


def test_version_and_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and "klaster 0.1.0" in result.output
    for command in (["--help"], ["schedule", "--help"], ["config", "--help"],
                    ["config", "check", "--help"]):  # fmt: skip
        result = runner.invoke(app, command)
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_config_check_demo_and_a_broken_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "configuration is valid" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text(
        demo_config_text().replace("contracted_capacity_kw = 220.0", "contracted_capacity_kw = -5")
    )
    result = runner.invoke(app, ["config", "check", str(broken)])
    assert result.exit_code == 2
    assert (
        "connection_points[" in result.output
        and "(id=cp-city-hall).contracted_capacity_kw" in result.output
    )
    assert "Traceback" not in result.output
