"""Energy baselines: daily energy, the change-point fit, Guideline 14 statistics, the ranking."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from bms.baselines import (
    ChangePointModel,
    building_baseline,
    daily_energy_from_power,
    daily_frame,
    daily_mean,
    ranking,
)
from cluster.errors import DataError

ZONE = ZoneInfo("Europe/Warsaw")
#: The building the synthetic days come from.
BASE_KWH, HEATING_KWH_PER_K, BALANCE_C, OCCUPIED_KWH_PER_H = 120.0, 8.0, 15.5, 6.0


def synthetic_days(
    count: int, *, noise_kwh: float = 5.0, seed: int = 7, first: date = date(2026, 1, 1)
) -> pd.DataFrame:
    """Days of a building that follows the model exactly, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    days = [first + timedelta(days=i) for i in range(count)]
    # A year's weather: cold in January, warm in July, with day-to-day scatter.
    temp = np.array([8 - 11 * np.cos(2 * np.pi * (d.timetuple().tm_yday - 15) / 365) for d in days])
    temp += rng.normal(0, 3, count)
    occupied = np.array([0.0 if d.weekday() >= 5 else 9.0 for d in days])
    energy = (
        BASE_KWH
        + HEATING_KWH_PER_K * np.maximum(0, BALANCE_C - temp)
        + OCCUPIED_KWH_PER_H * occupied
        + rng.normal(0, noise_kwh, count)
    )
    return pd.DataFrame(
        {"energy_kwh": energy, "temp_c": temp, "occupied_h": occupied},
        index=pd.Index(days, name="day"),
    )


def test_the_fit_recovers_known_coefficients() -> None:
    fit = ChangePointModel().fit(synthetic_days(365))
    assert fit.base_kwh == pytest.approx(BASE_KWH, abs=4.0)
    assert fit.heating_kwh_per_degree_day == pytest.approx(HEATING_KWH_PER_K, abs=0.3)
    assert fit.balance_c == pytest.approx(BALANCE_C, abs=0.5)
    assert fit.occupied_kwh_per_hour == pytest.approx(OCCUPIED_KWH_PER_H, abs=0.3)
    assert fit.days == 365 and fit.parameters == 4


def test_cv_rmse_and_nmbe_follow_guideline_14() -> None:
    days = synthetic_days(200, noise_kwh=10.0)
    fit = ChangePointModel().fit(days)
    residual = days["energy_kwh"] - fit.predict(days)
    n, p = len(days), 4
    mean = days["energy_kwh"].mean()
    assert fit.cv_rmse_pct == pytest.approx(
        100 * np.sqrt((residual**2).sum() / (n - p)) / mean, rel=1e-9
    )
    assert fit.nmbe_pct == pytest.approx(100 * residual.sum() / ((n - p) * mean), abs=1e-9)
    # Noise of 10 kWh on about 250 kWh a day: CV(RMSE) about 4 %; OLS leaves no bias.
    assert 2.5 < fit.cv_rmse_pct < 6.0 and abs(fit.nmbe_pct) < 0.01
    assert fit.meets()


def test_a_building_without_heating_gets_a_flat_fit() -> None:
    days = synthetic_days(120)
    days["energy_kwh"] = 300.0 + 5.0 * days["occupied_h"]
    fit = ChangePointModel().fit(days)
    assert fit.heating_kwh_per_degree_day == pytest.approx(0.0, abs=1e-6)
    assert fit.base_kwh == pytest.approx(300.0) and fit.occupied_kwh_per_hour == pytest.approx(5.0)


def test_occupancy_that_never_changes_is_left_out_of_the_fit() -> None:
    days = synthetic_days(120)
    days["occupied_h"] = 24.0
    fit = ChangePointModel().fit(days)
    assert fit.occupied_kwh_per_hour == 0.0 and fit.parameters == 3


def test_too_few_days_are_refused() -> None:
    with pytest.raises(DataError, match="too few for a baseline"):
        ChangePointModel().fit(synthetic_days(10))


def test_the_recent_gap_the_avoidable_energy_and_anomalous_days() -> None:
    days = synthetic_days(400)
    recent_start = days.index[-28]
    # The recent four weeks use 15 % more than the building should; one day far more.
    wasteful = days.copy()
    recent = [d >= recent_start for d in days.index]
    wasteful.loc[recent, "energy_kwh"] *= 1.15
    spike = days.index[100]
    wasteful.loc[spike, "energy_kwh"] += 200.0
    result = building_baseline("bldg-a", wasteful, recent_start, floor_area_m2=1000.0)
    predicted = result.days.loc[recent, "predicted_kwh"].sum()
    assert result.gap_pct == pytest.approx(15.0, abs=1.5)
    assert result.avoidable_kwh == pytest.approx(result.actual_kwh - predicted)
    assert spike in set(result.anomalies.index)
    assert result.days.loc[spike, "period"] == "baseline"
    clean = building_baseline("bldg-b", days, recent_start, floor_area_m2=500.0)
    table = ranking([clean, result])
    assert table["building"].tolist() == ["bldg-a", "bldg-b"]
    assert table.loc[0, "avoidable_kwh_per_m2"] == pytest.approx(result.avoidable_kwh / 1000.0)
    assert abs(clean.gap_pct) < 2.0


def test_daily_energy_from_power_counts_local_days_and_their_length() -> None:
    # 10 kW all the time, in quarter-hours, from 27 to 29 March 2027 (CET → CEST on the 28th).
    steps = pd.date_range(
        pd.Timestamp("2027-03-27", tz=ZONE), pd.Timestamp("2027-03-30", tz=ZONE),
        freq="15min", inclusive="left",
    ).tz_convert("UTC")  # fmt: skip
    energy = daily_energy_from_power(pd.Series(10.0, index=steps), ZONE)
    assert energy.to_dict() == {
        date(2027, 3, 27): pytest.approx(240.0),
        date(2027, 3, 28): pytest.approx(230.0),
        date(2027, 3, 29): pytest.approx(240.0),
    }


def test_hourly_readings_count_as_a_whole_day() -> None:
    hours = pd.date_range(pd.Timestamp("2027-03-10", tz=ZONE), periods=24, freq="h")
    energy = daily_energy_from_power(pd.Series(10.0, index=hours.tz_convert("UTC")), ZONE)
    assert energy.to_dict() == {date(2027, 3, 10): pytest.approx(240.0)}


def test_a_day_with_too_few_readings_has_no_energy() -> None:
    steps = pd.date_range(pd.Timestamp("2027-03-10", tz=ZONE), periods=96, freq="15min")
    power = pd.Series(10.0, index=steps.tz_convert("UTC")).iloc[:80]  # 83 % of the day
    assert daily_energy_from_power(power, ZONE).empty


def test_daily_frame_keeps_only_complete_days() -> None:
    steps = pd.date_range(pd.Timestamp("2027-03-10", tz=ZONE), periods=192, freq="15min")
    temp = daily_mean(pd.Series(5.0, index=steps.tz_convert("UTC")), ZONE)
    energy = pd.Series({date(2027, 3, 10): 100.0, date(2027, 3, 12): 90.0})
    occupied = pd.Series({date(2027, 3, 10): 9.0, date(2027, 3, 11): 9.0})
    frame = daily_frame(energy, temp, occupied)
    assert list(frame.index) == [date(2027, 3, 10)]
