"""The weather forecasts are given: the stored forecast, completed; simulated errors for backtests.

A deployment stores a weather service's forecast of the next day in the
store (temperature, cloud cover, often irradiance) under the series of
:class:`~cluster.timeseries.SeriesId`; the forecasts of load, heat, PV,
prices and lighting take it from there as their regressors.
:func:`weather_regressors` reads it into one frame: gaps in the forecast day
are filled from the same local time the day before (with a note), and
irradiance is derived from cloud cover where it is missing.

A backtest that fed the models the *measured* weather of the day forecast
would flatter every weather-driven model. :func:`with_forecast_error` adds
errors like those of a day-ahead numerical weather forecast: smooth in
time (autocorrelated within hours), new for every issue (local day), and
of a typical size. Cloud-cover errors are drawn on the logistic scale, so
they shrink near a clear and an overcast sky as real ones do; a standard
deviation of 1 there gives a cloud-cover RMSE of 15-18 percentage points on
the demo's skies, about two thirds of the error of persistence (yesterday's
cloud), in line with the 30-40 % skill over persistence that day-ahead
irradiance forecasts reach in central Europe. Temperature errors are 1.5 K
(one standard deviation). It is deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.timeseries import SeriesId
from forecasting.grid import step_delta
from forecasting.irradiance import Site, ghi_from_cloud, sky_at

#: The weather series forecasts use, in the order kept.
WEATHER_SERIES = (SeriesId.TEMPERATURE_C, SeriesId.CLOUD_PCT, SeriesId.GHI_W_M2)


@dataclass(frozen=True)
class WeatherForecastError:
    """The size and persistence of simulated day-ahead weather-forecast errors.

    Attributes
    ----------
    cloud_logit_std
        Standard deviation of the cloud-cover error on the logistic scale
        (of the cover as a fraction).
    cloud_hours
        Time over which a cloud-cover error persists (AR(1) e-folding time), h.
    temp_std_k
        Standard deviation of the temperature error, K.
    temp_hours
        Time over which a temperature error persists, h.
    seed
        Which errors: the same seed gives the same errors.
    """

    cloud_logit_std: float = 1.0
    cloud_hours: float = 6.0
    temp_std_k: float = 1.5
    temp_hours: float = 12.0
    seed: int = 0


def _ar1_path(rng: np.random.Generator, count: int, std: float, rho: float) -> np.ndarray:
    """A stationary AR(1) path of ``count`` values with standard deviation ``std``."""
    shocks = rng.standard_normal(count)
    path = np.empty(count)
    path[0] = shocks[0] * std
    innovation = std * np.sqrt(1.0 - rho**2)
    for position in range(1, count):
        path[position] = rho * path[position - 1] + innovation * shocks[position]
    return path


def with_forecast_error(
    weather: pd.DataFrame, error: WeatherForecastError, zone: ZoneInfo | str, step_minutes: int
) -> pd.DataFrame:
    """The weather as a day-ahead forecast of it might have been.

    Every local day gets its own error path (one forecast is issued per day),
    drawn from a generator seeded by ``(error.seed, day)``, so a day's errors
    do not depend on the range asked for.
    Irradiance is dropped: it follows the cloud, and the models derive it
    from the erroneous cloud cover (:func:`complete_irradiance`).

    Parameters
    ----------
    weather
        Weather on a regular UTC index with columns of :data:`WEATHER_SERIES`.
    error
        The error's size and persistence.
    zone
        Local time zone (which fixes the days).
    step_minutes
        The step of ``weather``, minutes.
    """
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    index = pd.DatetimeIndex(weather.index)
    local_days = index.tz_convert(zone).normalize()
    day_numbers = (local_days.tz_localize(None).as_unit("s").asi8 // 86_400).astype(np.int64)
    cloud_error = np.zeros(len(index))
    temp_error = np.zeros(len(index))
    step_h = step_minutes / 60.0
    cloud_rho = float(np.exp(-step_h / error.cloud_hours))
    temp_rho = float(np.exp(-step_h / error.temp_hours))
    for day in np.unique(day_numbers):
        mine = np.flatnonzero(day_numbers == day)
        rng = np.random.default_rng([error.seed, int(day) + 1_000_000])
        cloud_error[mine] = _ar1_path(rng, len(mine), error.cloud_logit_std, cloud_rho)
        temp_error[mine] = _ar1_path(rng, len(mine), error.temp_std_k, temp_rho)
    result = weather.drop(columns=[SeriesId.GHI_W_M2], errors="ignore").copy()
    if SeriesId.CLOUD_PCT in result:
        cover = np.clip(result[SeriesId.CLOUD_PCT].to_numpy(dtype=float), 0.5, 99.5) / 100.0
        shifted = np.log(cover / (1.0 - cover)) + cloud_error
        result[SeriesId.CLOUD_PCT] = 100.0 / (1.0 + np.exp(-shifted))
    if SeriesId.TEMPERATURE_C in result:
        result[SeriesId.TEMPERATURE_C] = result[SeriesId.TEMPERATURE_C] + temp_error
    return result


def complete_irradiance(weather: pd.DataFrame, site: Site, step_minutes: int) -> pd.DataFrame:
    """The weather with GHI filled from cloud cover where it is missing (Kasten and Czeplak).

    Parameters
    ----------
    weather
        Weather on a UTC index; a cloud-cover column is needed to fill anything.
    site
        Where the weather is.
    step_minutes
        The step, minutes.
    """
    if SeriesId.CLOUD_PCT not in weather:
        return weather
    result = weather.copy()
    ghi = result.get(SeriesId.GHI_W_M2)
    if ghi is not None and ghi.notna().all():
        return result
    sky = sky_at(pd.DatetimeIndex(result.index), site, step_minutes)
    cloud = result[SeriesId.CLOUD_PCT].to_numpy(dtype=float)
    derived = pd.Series(ghi_from_cloud(sky.ghi_clear_w_m2, cloud), index=result.index)
    result[SeriesId.GHI_W_M2] = derived if ghi is None else ghi.fillna(derived)
    return result


def weather_regressors(
    stored: pd.DataFrame,
    steps: pd.DatetimeIndex,
    zone: ZoneInfo,
    site: Site,
    step_minutes: int,
) -> tuple[pd.DataFrame, list[str]]:
    """The weather over history and forecast day, as the models' regressors, with notes.

    Parameters
    ----------
    stored
        Stored weather (measured over the history, the forecast over ``steps``)
        on a UTC index, with columns among :data:`WEATHER_SERIES`.
    steps
        UTC steps of the day forecast.
    zone
        Local time zone.
    site
        Where the weather is (to derive irradiance from cloud).
    step_minutes
        The step, minutes.

    Returns
    -------
    tuple
        The regressors on a regular UTC grid from the first stored step to the
        last step forecast, and notes on what had to be filled.
    """
    notes: list[str] = []
    columns = [c for c in WEATHER_SERIES if c in stored.columns]
    first = pd.DatetimeIndex(stored.index)[0] if len(stored) else steps[0]
    grid = pd.date_range(first, steps[-1], freq=step_delta(step_minutes), name="ts")
    # Irradiance the forecast leaves out comes from its cloud cover first; the
    # day before is only for what neither gives.
    frame = complete_irradiance(stored.reindex(columns=columns).reindex(grid), site, step_minutes)
    for column in columns:
        on_day = frame.loc[steps, column]
        if on_day.notna().all():
            continue
        missing = int(on_day.isna().sum())
        wall = steps.tz_convert(zone).tz_localize(None) - pd.Timedelta(days=1)
        yesterday = frame[column].copy()
        yesterday.index = pd.DatetimeIndex(yesterday.index).tz_convert(zone).tz_localize(None)
        yesterday = yesterday[~yesterday.index.duplicated()]
        filled = on_day.fillna(pd.Series(yesterday.reindex(wall).to_numpy(), index=steps))
        frame.loc[steps, column] = filled.to_numpy()
        notes.append(
            f"no forecast of {column!r} for {missing} step(s) of the day: the same local "
            "time the day before taken instead"
        )
    return frame, notes
