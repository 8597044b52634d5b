"""`klaster forecast` and `klaster backtest` end to end through the CLI, on the demo cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from adapters.sqlite_store import SqliteStore
from cli.main import app
from cluster.config import load_demo_config
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from forecasting.irradiance import Site, sky_at
from forecasting.series import series_specs

runner = CliRunner()
DAY = "2027-01-13"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


def test_forecast_prints_stores_and_writes_the_day(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "forecast"
    args = ["forecast", "--day", DAY, "--data-dir", str(data_dir), "--history-days", "35",
            "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for text in ("Forecasts by group", "pv_physical", "street_lighting", "recent_level",
                 "day-ahead price: published", "dawn", str(out)):  # fmt: skip
        assert text in result.output, text
    for name in ("forecasts.parquet", "forecasts.csv", "lighting_hours.csv", "notes.json"):
        assert (out / name).is_file(), name
    assert (out / "forecast.png").stat().st_size > 20_000
    config = load_demo_config()
    specs = series_specs(config)
    with SqliteStore.open(data_dir) as store:
        runs = [r for r in store.runs("forecast") if r.day.isoformat() == DAY]
        assert runs and runs[0].status == "ok"
        stored = store.load_frame(runs[0].run_id, "forecasts")
        lighting = store.load_frame(runs[0].run_id, "lighting_hours")
    assert set(stored["series_id"]) == {spec.series_id for spec in specs}
    assert len(stored) == 96 * len(specs)
    forecast = stored[stored["model"] != "published"]
    assert forecast[["lower_80", "upper_80", "lower_95", "upper_95"]].notna().all().all()
    assert (forecast["lower_95"] <= forecast["upper_95"]).all()
    steps = day_steps(pd.Timestamp(DAY).date(), config.cluster.zone)
    night = steps[~sky_at(steps, Site.of_cluster(config.cluster), 15).sun_up]
    pv = stored[stored["series_id"].str.startswith("pv/")]
    assert np.all(pv.loc[pd.DatetimeIndex(pv["ts"]).isin(night), "point"] == 0.0)
    assert len(lighting) == len(config.assets.lighting_circuits)
    assert pd.read_parquet(out / "forecasts.parquet").equals(stored)


def test_backtest_scores_writes_and_plots(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "backtest"
    pv = SeriesId.pv("pv-city-hall")
    args = ["backtest", "--series", pv, "--series", "load/cp-city-hall/*", "--from", "2027-01-10",
            "--to", "2027-01-11", "--model", "default", "--model", "naive_daily",
            "--history-days", "21", "--data-dir", str(data_dir), "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for text in ("By group and model", "By series", "pv_physical", "calendar_regression",
                 "naive_daily", "PV skill", "simulated day-ahead forecast"):  # fmt: skip
        assert text in result.output, text
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 4
    assert set(metrics["series_id"]) == {pv, SeriesId.load("cp-city-hall")}
    assert (metrics["steps"] == 2 * 96).all()
    assert metrics.loc[metrics["series_id"] == pv, "pv_skill"].notna().all()
    for name in ("summary.csv", "error_by_lead.csv", "forecasts.parquet"):
        assert (out / name).is_file(), name
    for name in ("forecast_vs_actual.png", "error_by_lead.png", "coverage.png"):
        assert (out / name).stat().st_size > 10_000, name


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--model", "prophet"], 3, "no forecasting model called 'prophet'"),
        (["--series", "wind/*"], 1, "no series matches wind/*"),
        (["--from", "2027-01-12", "--to", "2027-01-10"], 2, "is after --to"),
        (["--from", "12.01.2027"], 2, "YYYY-MM-DD"),
    ],
)
def test_backtest_mistakes_are_messages(
    data_dir: Path, tmp_path: Path, extra: list[str], code: int, message: str
) -> None:
    args = ["backtest", "--data-dir", str(data_dir), "--out", str(tmp_path), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_forecast_and_backtest_have_help() -> None:
    for command in (["forecast", "--help"], ["backtest", "--help"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, command
        assert "Usage" in result.output
