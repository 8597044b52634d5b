"""The weather the forecasts are given: gaps in the day's forecast, simulated forecast errors."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from forecasting.irradiance import Site, ghi_from_cloud, sky_at
from forecasting.weather import (
    WeatherForecastError,
    complete_irradiance,
    weather_regressors,
    with_forecast_error,
)
from tests.forecasting.synthetic import WARSAW, local_range

KIELCE = Site(50.87, 20.63, 260.0)
DAY = date(2027, 4, 14)


def _weather(days: int) -> pd.DataFrame:
    index = local_range(DAY - timedelta(days=days - 1), days)
    hours = np.arange(len(index)) / 4.0
    return pd.DataFrame(
        {
            SeriesId.TEMPERATURE_C: 10.0 + 5.0 * np.sin(2 * np.pi * hours / 24.0),
            SeriesId.CLOUD_PCT: 50.0 + 40.0 * np.sin(2 * np.pi * hours / 70.0),
        },
        index=index,
    )


def test_forecast_errors_are_fixed_per_day_whatever_the_range() -> None:
    weather = _weather(40)
    error = WeatherForecastError(seed=5)
    whole = with_forecast_error(weather, error, WARSAW, 15)
    last_day = day_steps(DAY, WARSAW)
    alone = with_forecast_error(weather.loc[last_day], error, WARSAW, 15)
    pd.testing.assert_frame_equal(whole.loc[last_day], alone)
    other_seed = with_forecast_error(weather, WeatherForecastError(seed=6), WARSAW, 15)
    assert not np.allclose(whole[SeriesId.CLOUD_PCT], other_seed[SeriesId.CLOUD_PCT])
    assert SeriesId.GHI_W_M2 not in whole  # it follows the erroneous cloud, derived later
    assert whole[SeriesId.CLOUD_PCT].between(0.0, 100.0).all()


def test_forecast_errors_have_the_size_asked_for() -> None:
    weather = _weather(200)
    error = WeatherForecastError(temp_std_k=1.5, seed=1)
    forecast = with_forecast_error(weather, error, WARSAW, 15)
    temp_error = forecast[SeriesId.TEMPERATURE_C] - weather[SeriesId.TEMPERATURE_C]
    # 200 independent days of a persistent error: the spread is known to about 10 %.
    assert temp_error.std() == pytest.approx(1.5, rel=0.15)
    assert abs(temp_error.mean()) < 0.3
    cover = weather[SeriesId.CLOUD_PCT] / 100.0
    logit = np.log(cover / (1 - cover))
    shifted = forecast[SeriesId.CLOUD_PCT] / 100.0
    logit_error = np.log(shifted / (1 - shifted)) - logit
    assert logit_error.std() == pytest.approx(error.cloud_logit_std, rel=0.15)
    # Errors persist within hours: neighbouring steps nearly agree, days apart do not.
    assert np.corrcoef(temp_error[:-1], temp_error[1:])[0, 1] > 0.9


def test_a_gap_in_the_days_forecast_is_filled_from_the_day_before_with_a_note() -> None:
    weather = _weather(3)
    steps = day_steps(DAY, WARSAW)
    stored = weather.copy()
    stored.loc[steps[40:60], SeriesId.TEMPERATURE_C] = np.nan
    regressors, notes = weather_regressors(stored, steps, WARSAW, KIELCE, 15)
    day_before = weather[SeriesId.TEMPERATURE_C].reindex(steps[40:60] - pd.Timedelta(days=1))
    np.testing.assert_allclose(
        regressors.loc[steps[40:60], SeriesId.TEMPERATURE_C], day_before.to_numpy()
    )
    assert len(notes) == 1 and "20 step(s)" in notes[0] and SeriesId.TEMPERATURE_C in notes[0]
    # Irradiance is derived from cloud cover where the forecast gives none.
    sky = sky_at(pd.DatetimeIndex(regressors.index), KIELCE, 15)
    expected = ghi_from_cloud(sky.ghi_clear_w_m2, regressors[SeriesId.CLOUD_PCT].to_numpy())
    np.testing.assert_allclose(regressors[SeriesId.GHI_W_M2], expected)


def test_a_given_irradiance_is_kept() -> None:
    weather = _weather(1)
    weather[SeriesId.GHI_W_M2] = 123.0
    completed = complete_irradiance(weather, KIELCE, 15)
    assert (completed[SeriesId.GHI_W_M2] == 123.0).all()


def test_the_days_irradiance_follows_its_cloud_forecast_not_the_day_before() -> None:
    # Measured irradiance over the history, a forecast of cloud only for the day:
    # a clear day before an overcast one must not lend the day its sunshine.
    weather = _weather(3)
    steps = day_steps(DAY, WARSAW)
    weather[SeriesId.CLOUD_PCT] = 5.0
    weather.loc[steps, SeriesId.CLOUD_PCT] = 90.0
    sky = sky_at(pd.DatetimeIndex(weather.index), KIELCE, 15)
    weather[SeriesId.GHI_W_M2] = ghi_from_cloud(
        sky.ghi_clear_w_m2, weather[SeriesId.CLOUD_PCT].to_numpy()
    )
    stored = weather.copy()
    stored.loc[steps, SeriesId.GHI_W_M2] = np.nan
    regressors, notes = weather_regressors(stored, steps, WARSAW, KIELCE, 15)
    np.testing.assert_allclose(
        regressors.loc[steps, SeriesId.GHI_W_M2], weather.loc[steps, SeriesId.GHI_W_M2]
    )
    day_before = weather[SeriesId.GHI_W_M2].reindex(steps - pd.Timedelta(days=1)).to_numpy()
    assert regressors.loc[steps, SeriesId.GHI_W_M2].sum() < 0.5 * day_before.sum()
    assert notes == []
