"""Rolling-origin backtests: the baseline, the scores and the bookkeeping of models and failures."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cluster.timeseries import SeriesId
from forecasting.backtest import (
    DEFAULT,
    METRIC_COLUMNS,
    BacktestReport,
    BacktestSetup,
    mape,
    origin_days,
    run_backtest,
)
from forecasting.base import SeriesKind
from forecasting.irradiance import Site, ghi_from_cloud, sky_at
from forecasting.pv import PvSystem, physical_output
from forecasting.series import SeriesGroup, SeriesSpec
from tests.forecasting.synthetic import WARSAW, local_range, planted_series

KIELCE = Site(50.87, 20.63, 260.0)
FIRST = date(2026, 5, 11)
ORIGINS = origin_days(FIRST, FIRST + timedelta(days=3))
LOAD = "load/planted/power_kw"
PV = "pv/planted/power_kw"
PLANT = PvSystem(kwp=40.0, tilt_deg=30.0, azimuth_deg=180.0, inverter_limit_kw=36.0)


def _data() -> pd.DataFrame:
    """A planted load, a PV plant under wandering cloud, and the weather, 5 weeks to the end."""
    days = 28 + len(ORIGINS)
    index = local_range(FIRST - timedelta(days=28), days)
    load = planted_series(FIRST - timedelta(days=28), days, noise_std=2.0, seed=4)
    rng = np.random.default_rng(8)
    hours = np.arange(len(index)) / 4.0
    knots = rng.uniform(0.0, 100.0, size=int(hours[-1] // 8) + 2)
    cloud = np.interp(hours, np.arange(len(knots)) * 8.0, knots)
    sky = sky_at(index, KIELCE, 15)
    ghi = ghi_from_cloud(sky.ghi_clear_w_m2, cloud)
    temp = np.full(len(index), 15.0)
    pv = physical_output(PLANT, sky, ghi, temp).ac_kw
    return pd.DataFrame(
        {LOAD: load.to_numpy(), PV: pv, SeriesId.TEMPERATURE_C: temp, SeriesId.CLOUD_PCT: cloud},
        index=index,
    )


SPECS = [
    SeriesSpec(LOAD, SeriesGroup.LOAD, SeriesKind.LOAD, "calendar_regression"),
    SeriesSpec(
        PV, SeriesGroup.PV, SeriesKind.PV, "pv_physical",
        {"latitude_deg": KIELCE.latitude_deg, "longitude_deg": KIELCE.longitude_deg,
         "altitude_m": KIELCE.altitude_m, "kwp": PLANT.kwp,
         "inverter_limit_kw": PLANT.inverter_limit_kw},
    ),
]  # fmt: skip


def _scores(report: BacktestReport) -> dict[tuple[str, str], dict[Hashable, Any]]:
    """The metrics by (series, model)."""
    rows = report.metrics.to_dict("records")
    return {(str(row["series_id"]), str(row["model"])): row for row in rows}


Scored = tuple[BacktestReport, pd.DataFrame]


@pytest.fixture(scope="module")
def report_and_data() -> Scored:
    data = _data()
    setup = BacktestSetup(SPECS, models=(DEFAULT, "naive_weekly"), history_days=21,
                          weather_error=None, workers=1)  # fmt: skip
    report = run_backtest(data, ORIGINS, setup, zone=WARSAW, site=KIELCE, step_minutes=15)
    return report, data


def test_every_series_and_model_is_scored(
    report_and_data: Scored,
) -> None:
    report, _ = report_and_data
    metrics = report.metrics
    assert list(metrics.columns) == list(METRIC_COLUMNS)
    assert set(zip(metrics["series_id"], metrics["model"], strict=True)) == {
        (LOAD, "calendar_regression"), (LOAD, "naive_weekly"),
        (PV, "pv_physical"), (PV, "naive_weekly"),
    }  # fmt: skip
    assert (metrics["steps"] == 96 * len(ORIGINS)).all()
    assert (metrics["failed_origins"] == 0).all()
    forecasts = report.forecasts
    assert forecasts["lead_h"].between(0.0, 24.0).all()
    assert set(forecasts["origin"]) == set(ORIGINS)


def test_the_weekly_naive_model_scores_exactly_one_against_itself(
    report_and_data: Scored,
) -> None:
    scores = _scores(report_and_data[0])
    assert scores[(LOAD, "naive_weekly")]["mase"] == pytest.approx(1.0, abs=1e-12)


def test_scores_of_a_planted_load_with_known_noise(
    report_and_data: Scored,
) -> None:
    report, data = report_and_data
    row = _scores(report)[(LOAD, "calendar_regression")]
    # The pattern repeats every week: the model's errors are about the noise (σ = 2),
    # the weekly naive's the difference of two noises (σ = 2√2).
    assert row["mase"] == pytest.approx(1 / np.sqrt(2), abs=0.15)
    assert row["rmse"] == pytest.approx(2.0, rel=0.25)
    assert 0.65 <= row["coverage_80"] <= 0.93
    assert 0.85 <= row["coverage_95"] <= 1.0
    assert row["mape"] == pytest.approx(100 * row["mae"] / data[LOAD].mean(), rel=0.3)
    assert np.isnan(row["pv_skill"])


def test_pv_is_scored_on_daylight_against_persistence(
    report_and_data: Scored,
) -> None:
    report, _ = report_and_data
    row = _scores(report)[(PV, "pv_physical")]
    # With the weather known, the physics beats yesterday's output by far.
    assert row["pv_skill"] > 0.5
    assert np.isnan(row["mape"])  # PV is zero every night
    summary = report.summary()
    assert set(summary["group"]) == {"load", "pv"}
    by_lead = report.error_by_lead()
    assert by_lead["lead_hour"].min() == 0 and by_lead["lead_hour"].max() == 23


def test_mape_is_left_out_where_the_series_nears_zero() -> None:
    assert mape(np.array([100.0, 50.0]), np.array([110.0, 50.0])) == pytest.approx(5.0)
    assert np.isnan(mape(np.array([100.0, 1.0, 100.0]), np.array([100.0, 1.0, 100.0])))
