"""PV per plant: the physical model, its correction by the plant's history, its intervals."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from adapters.demo_history import generate_wide
from cluster.config import load_demo_config
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from forecasting.base import ForecastError, ForecastResult
from forecasting.irradiance import Site, ghi_from_cloud, sky_at
from forecasting.models import fit
from forecasting.pv import PhysicalPv, PvSystem, physical_output
from tests.forecasting.synthetic import WARSAW, local_range

KIELCE = Site(50.87, 20.63, 260.0)
SOUTH_50 = PvSystem(kwp=50.0, tilt_deg=30.0, azimuth_deg=180.0, inverter_limit_kw=45.0)
PLANT_OPTIONS: dict[str, Any] = {
    "latitude_deg": KIELCE.latitude_deg, "longitude_deg": KIELCE.longitude_deg,
    "altitude_m": KIELCE.altitude_m, "kwp": SOUTH_50.kwp, "tilt_deg": SOUTH_50.tilt_deg,
    "azimuth_deg": SOUTH_50.azimuth_deg, "inverter_limit_kw": SOUTH_50.inverter_limit_kw,
}  # fmt: skip
DAY = date(2026, 6, 10)


def _weather(index: pd.DatetimeIndex, seed: int = 1) -> pd.DataFrame:
    """Cloud cover wandering over hours and days, and a daily temperature cycle."""
    rng = np.random.default_rng(seed)
    hours = np.arange(len(index)) / 4.0
    knots = rng.uniform(0, 100, size=int(hours[-1] // 6) + 2)
    cloud = np.interp(hours, np.arange(len(knots)) * 6.0, knots)
    temp = 17.0 + 6.0 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)
    return pd.DataFrame({SeriesId.CLOUD_PCT: cloud, SeriesId.TEMPERATURE_C: temp}, index=index)


def _physical(index: pd.DatetimeIndex, weather: pd.DataFrame, system: PvSystem) -> np.ndarray:
    sky = sky_at(index, KIELCE, 15)
    ghi = ghi_from_cloud(sky.ghi_clear_w_m2, weather[SeriesId.CLOUD_PCT].to_numpy())
    return physical_output(system, sky, ghi, weather[SeriesId.TEMPERATURE_C].to_numpy()).ac_kw


def test_the_physical_model_is_zero_at_night_and_clipped_at_the_inverter_limit() -> None:
    steps = day_steps(DAY, WARSAW)
    sky = sky_at(steps, KIELCE, 15)
    small_inverter = PvSystem(kwp=100.0, tilt_deg=30.0, azimuth_deg=180.0, inverter_limit_kw=60.0)
    output = physical_output(small_inverter, sky, sky.ghi_clear_w_m2, np.full(len(steps), 20.0))
    assert np.all(output.ac_kw[~sky.sun_up] == 0.0)
    assert output.ac_kw.max() == pytest.approx(60.0)
    # A clear June noon asks for more than the inverter gives: the limit clips it, and only it.
    assert output.unclipped_ac_kw.max() > 60.0
    clipped = output.unclipped_ac_kw > 60.0
    assert np.all(output.ac_kw[clipped] == 60.0)
    np.testing.assert_allclose(output.ac_kw[~clipped], output.unclipped_ac_kw[~clipped])


def test_the_physical_model_is_close_to_the_demo_plants_on_a_clear_day() -> None:
    config = load_demo_config()
    start = pd.Timestamp(date(2026, 5, 1), tz=WARSAW)
    wide = generate_wide(config, start, start + pd.Timedelta(days=45))
    local_days = pd.DatetimeIndex(wide.index).tz_convert(WARSAW).date
    daily_cloud = wide[SeriesId.CLOUD_PCT].groupby(local_days).mean()
    clear_day = date.fromisoformat(str(daily_cloud.idxmin()))
    assert daily_cloud.min() < 25.0, "the demo spring should have a clear day"
    steps = day_steps(clear_day, WARSAW)
    sky = sky_at(steps, Site.of_cluster(config.cluster), 15)
    for plant in config.assets.pv_plants[:3]:
        demo = wide[SeriesId.pv(plant.id)].reindex(steps).to_numpy()
        modelled = physical_output(
            PvSystem.from_plant(plant), sky,
            wide[SeriesId.GHI_W_M2].reindex(steps).to_numpy(),
            wide[SeriesId.TEMPERATURE_C].reindex(steps).to_numpy(),
        ).ac_kw  # fmt: skip
        # Both are PVWatts chains; they differ in the inverter's efficiency (about
        # 4 %) and the wind cooling the cells, which the correction learns.
        assert modelled.sum() == pytest.approx(demo.sum(), rel=0.10)
        assert np.corrcoef(modelled, demo)[0, 1] > 0.995
        assert np.abs(modelled - demo).max() < 0.12 * plant.kwp


def test_the_correction_learns_a_plant_20_percent_below_the_physical_model() -> None:
    index = local_range(DAY - timedelta(days=28), 29)
    weather = _weather(index)
    noise = np.random.default_rng(2).normal(0.0, 0.3, len(index))
    measured = np.clip(0.8 * _physical(index, weather, SOUTH_50) + noise, 0.0, None)
    series = pd.Series(measured, index=index, name="pv/weak/power_kw")
    steps = day_steps(DAY, WARSAW)
    history = series[series.index < steps[0]]
    result = fit(history, weather, model="pv_physical", kind="pv", **PLANT_OPTIONS).forecast(
        steps, regressors=weather
    )
    assert result.model == "pv_physical"
    modelled = pd.Series(_physical(index, weather, SOUTH_50), index=index).reindex(steps)
    daylight = modelled > 2.0
    ratio = result.point[daylight].sum() / modelled[daylight].sum()
    assert ratio == pytest.approx(0.8, abs=0.03)
    actual = series.reindex(steps)
    assert np.sqrt(np.mean((result.point - actual) ** 2)) < 1.0  # kW, of a 45 kW plant
    # With the weather known, the errors are the planted noise: about 80 % inside.
    band = result.intervals[0.8]
    lit = actual > 1.0
    inside = (actual[lit] >= band["lower"][lit]) & (actual[lit] <= band["upper"][lit])
    assert 0.6 <= inside.mean() <= 0.97


def test_forecasts_are_zero_at_night_by_construction_and_intervals_hold_the_point() -> None:
    index = local_range(DAY - timedelta(days=14), 15)
    weather = _weather(index)
    # A history that is nonsense at night (a meter offset) cannot light the night up.
    measured = _physical(index, weather, SOUTH_50) + 3.0
    history = pd.Series(measured, index=index, name="pv/offset/power_kw")
    steps = day_steps(DAY, WARSAW)
    result = (
        PhysicalPv(**PLANT_OPTIONS)
        .fit(history[history.index < steps[0]], weather)
        .forecast(steps, levels=(0.8, 0.95), regressors=weather)
    )
    night = ~sky_at(steps, KIELCE, 15).sun_up
    assert night.sum() > 20
    assert np.all(result.point[night] == 0.0)
    for level in (0.8, 0.95):
        band = result.intervals[level]
        assert np.all(band["lower"] <= band["upper"])
        assert np.all(band["lower"] >= 0.0)
        assert np.all(band["upper"] <= SOUTH_50.inverter_limit_kw + 1e-9)
        assert np.all(band[night].to_numpy() == 0.0)
    wide, narrow = result.intervals[0.95], result.intervals[0.8]
    assert np.all(wide["upper"] - wide["lower"] >= narrow["upper"] - narrow["lower"] - 1e-9)


def test_a_ghi_forecast_is_used_and_cloud_stands_in_when_it_is_missing() -> None:
    index = local_range(DAY - timedelta(days=14), 15)
    weather = _weather(index)
    sky = sky_at(index, KIELCE, 15)
    weather[SeriesId.GHI_W_M2] = ghi_from_cloud(
        sky.ghi_clear_w_m2, weather[SeriesId.CLOUD_PCT].to_numpy()
    )
    history = pd.Series(_physical(index, weather, SOUTH_50), index=index, name="pv/x/power_kw")
    steps = day_steps(DAY, WARSAW)
    fitted = PhysicalPv(**PLANT_OPTIONS).fit(history[history.index < steps[0]], weather)
    with_ghi = fitted.forecast(steps, regressors=weather)
    cloud_only = fitted.forecast(steps, regressors=weather.drop(columns=[SeriesId.GHI_W_M2]))
    assert "GHI" in " ".join(with_ghi.notes)
    assert any("cloud used instead" in note for note in cloud_only.notes)
    np.testing.assert_allclose(with_ghi.point, cloud_only.point, atol=1e-6)


def test_without_weather_the_plant_falls_back_and_without_a_plant_it_is_an_error() -> None:
    index = local_range(DAY - timedelta(days=14), 15)
    weather = _weather(index)
    history = pd.Series(_physical(index, weather, SOUTH_50), index=index, name="pv/x/power_kw")
    steps = day_steps(DAY, WARSAW)
    history = history[history.index < steps[0]]
    fallen = fit(history, None, model="pv_physical", **PLANT_OPTIONS).forecast(steps)
    assert isinstance(fallen, ForecastResult)
    assert fallen.model == "naive_daily"
    assert any("weather" in note and "naive_daily" in note for note in fallen.notes)
    with pytest.raises(ForecastError, match=r"pv/x/power_kw.*needs the plant's kwp"):
        fit(history, weather, model="pv_physical")
