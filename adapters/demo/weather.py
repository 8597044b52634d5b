"""Synthetic weather at the cluster's site: temperature, cloud, wind and irradiance.

Temperature and cloud are smooth random processes (B-splines through hashed
knots, :mod:`adapters.demo.noise`) on top of a seasonal and a daily cycle
fitted to central Poland (Kielce: about -2 °C in January, 19 °C in July).
Irradiance is pvlib's Ineichen clear sky reduced for cloud by Kasten and
Czeplak's formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pvlib

from adapters.demo.calendar import LocalCalendar, local_calendar
from adapters.demo.noise import FloatArray, IntArray, smooth_noise, stream_key

_HOUR_S = 3600
_DAY_S = 86_400
_YEAR_DAYS = 365.2425
# Day of the year (0 = 1 January) of the coldest and the sunniest-and-emptiest
# point of the year; the seasonal cycles are cosines around them.
_COLDEST_DAY = 19.5
_SOLAR_SAG_PEAK_DAY = 140.0


@dataclass(frozen=True)
class Site:
    """Where the weather is made; hashable so that results can be cached per site."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    timezone: str
    country: str


def winter_weight(seconds: IntArray) -> FloatArray:
    """1 in the coldest part of January, 0 in late July, a cosine between.

    Parameters
    ----------
    seconds
        Unix epoch seconds, s.
    """
    days = seconds / _DAY_S
    result: FloatArray = 0.5 * (1.0 + np.cos(2.0 * np.pi * (days - _COLDEST_DAY) / _YEAR_DAYS))
    return result


def late_spring_weight(seconds: IntArray) -> FloatArray:
    """1 around 20 May (long days, mild demand), 0 in mid-November.

    Parameters
    ----------
    seconds
        Unix epoch seconds, s.
    """
    days = seconds / _DAY_S
    angle = 2.0 * np.pi * (days - _SOLAR_SAG_PEAK_DAY) / _YEAR_DAYS
    result: FloatArray = 0.5 * (1.0 + np.cos(angle))
    return result


@dataclass(frozen=True)
class Weather:
    """Weather per step.

    Attributes
    ----------
    temp_c
        Air temperature, °C.
    daily_temp_c
        The temperature without its daily cycle, °C: what buildings and
        district heating respond to.
    cloud_pct
        Cloud cover, %.
    wind_m_s
        Wind speed at 10 m, m/s.
    """

    temp_c: FloatArray
    daily_temp_c: FloatArray
    cloud_pct: FloatArray
    wind_m_s: FloatArray


def cloud_pct(seconds: IntArray, seed: int) -> FloatArray:
    """Cloud cover, %, persistent over hours and days, more of it in winter.

    Parameters
    ----------
    seconds
        Unix epoch seconds, s.
    seed
        The history's seed.
    """
    latent = (
        0.85 * smooth_noise(stream_key(seed, "cloud/3d"), seconds, 3 * _DAY_S)
        + 0.50 * smooth_noise(stream_key(seed, "cloud/1d"), seconds, _DAY_S)
        + 0.35 * smooth_noise(stream_key(seed, "cloud/6h"), seconds, 6 * _HOUR_S)
        + 0.15 * smooth_noise(stream_key(seed, "cloud/90min"), seconds, 90 * 60)
    )
    # A seasonal offset on the logistic scale: about 75 % mean cover in
    # winter and 50 % in summer, with many clear and many overcast days.
    offset = 0.05 + 1.25 * winter_weight(seconds)
    cover: FloatArray = 100.0 / (1.0 + np.exp(-(1.9 * latent + offset)))
    return cover


def weather_at(seconds: IntArray, seed: int, longitude_deg: float) -> Weather:
    """The weather at each instant; a pure function of (seed, instant).

    Parameters
    ----------
    seconds
        Unix epoch seconds, s.
    seed
        The history's seed.
    longitude_deg
        The site's longitude, degrees east: it places the daily temperature
        cycle on local solar time.
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    winter = winter_weight(seconds)
    cloud = cloud_pct(seconds, seed)
    clear = 1.0 - cloud / 100.0
    seasonal_c = 8.3 - 10.5 * np.cos(2.0 * np.pi * (seconds / _DAY_S - _COLDEST_DAY) / _YEAR_DAYS)
    anomaly_c = (
        (2.6 + 1.0 * winter) * smooth_noise(stream_key(seed, "temp/4d"), seconds, 4 * _DAY_S)
        + 1.3 * smooth_noise(stream_key(seed, "temp/1d"), seconds, _DAY_S)
        + 0.5 * smooth_noise(stream_key(seed, "temp/6h"), seconds, 6 * _HOUR_S)
    )
    # Winter cold spells run deeper than mild spells run warm (continental
    # air from the east): stretch the cold side, and lift the mean back.
    anomaly_c = np.where(anomaly_c < 0.0, anomaly_c * (1.0 + 0.4 * winter), anomaly_c)
    anomaly_c = anomaly_c + 0.55 * winter
    # Clear winter skies let the ground radiate: inversions and frost.
    radiative_c = -1.5 * winter * clear + 0.4 * winter
    daily_temp_c = seasonal_c + anomaly_c + radiative_c
    solar_hour = (seconds / _HOUR_S + longitude_deg / 15.0) % 24.0
    amplitude_c = (2.2 + 3.3 * (1.0 - winter)) * (1.0 - 0.55 * cloud / 100.0)
    daily_cycle = 0.85 * np.cos(2.0 * np.pi * (solar_hour - 15.0) / 24.0) + 0.15 * np.cos(
        4.0 * np.pi * (solar_hour - 11.0) / 24.0
    )
    wind = (
        3.6
        + 0.9 * winter
        + 1.6 * smooth_noise(stream_key(seed, "wind/2d"), seconds, 2 * _DAY_S)
        + 0.7 * smooth_noise(stream_key(seed, "wind/8h"), seconds, 8 * _HOUR_S)
    )
    return Weather(
        temp_c=daily_temp_c + amplitude_c * daily_cycle,
        daily_temp_c=daily_temp_c,
        cloud_pct=cloud,
        wind_m_s=np.maximum(wind, 0.3),
    )


REFERENCE_YEARS = (2025, 2026, 2027)
"""The years whose hourly means fix the scale of shaped series (loads, heat demand)."""


@lru_cache(maxsize=16)
def reference_conditions(site: Site, seed: int) -> tuple[LocalCalendar, Weather]:
    """Hourly calendar and weather over :data:`REFERENCE_YEARS` at a site.

    Series scaled to a yearly energy divide their shape by its mean over these
    hours, so their scale does not depend on the range generated.
    """
    zone = ZoneInfo(site.timezone)
    times = pd.date_range(
        pd.Timestamp(REFERENCE_YEARS[0], 1, 1, tz=zone),
        pd.Timestamp(REFERENCE_YEARS[-1] + 1, 1, 1, tz=zone),
        freq="1h",
        inclusive="left",
    )
    calendar = local_calendar(times, zone, site.country)
    return calendar, weather_at(calendar.seconds, seed, site.longitude_deg)


@dataclass(frozen=True)
class SolarGeometry:
    """The sun's position at the middle of each step, and the clear-sky irradiance.

    Attributes
    ----------
    mid_times
        The middle of each step, UTC.
    day_of_year
        The UTC day of the year of ``mid_times``, 1-366.
    zenith_deg, apparent_zenith_deg, apparent_elevation_deg, azimuth_deg
        Solar position, degrees (apparent: with refraction).
    dni_extra_w_m2
        Extraterrestrial normal irradiance, W/m².
    ghi_clear_w_m2
        Clear-sky global horizontal irradiance (Ineichen), W/m².
    """

    mid_times: pd.DatetimeIndex
    day_of_year: IntArray
    zenith_deg: FloatArray
    apparent_zenith_deg: FloatArray
    apparent_elevation_deg: FloatArray
    azimuth_deg: FloatArray
    dni_extra_w_m2: FloatArray
    ghi_clear_w_m2: FloatArray


def solar_geometry(times: pd.DatetimeIndex, site: Site, step_minutes: int) -> SolarGeometry:
    """Solar position and clear-sky irradiance for every step, computed once per range.

    Parameters
    ----------
    times
        Step start instants, UTC.
    site
        Where the sun is seen from.
    step_minutes
        Step length, minutes: the sun is placed at the middle of the step,
        which represents the step's mean better than its start.
    """
    mid_times = times + pd.Timedelta(minutes=step_minutes / 2)
    position = pvlib.solarposition.get_solarposition(
        mid_times, site.latitude_deg, site.longitude_deg, site.altitude_m, method="nrel_numpy"
    )
    day_of_year = mid_times.day_of_year.to_numpy(dtype=np.int64)
    dni_extra = pd.Series(pvlib.irradiance.get_extra_radiation(day_of_year), index=mid_times)
    location = pvlib.location.Location(
        site.latitude_deg, site.longitude_deg, "UTC", site.altitude_m
    )
    # Linke turbidity from a seasonal cosine (about 3 in winter, 4.4 in summer,
    # typical of central Europe) rather than pvlib's global lookup file.
    seconds = mid_times.as_unit("s").asi8.astype(np.int64)
    turbidity = pd.Series(4.4 - 1.4 * winter_weight(seconds), index=mid_times)
    clear_sky = location.get_clearsky(
        mid_times,
        model="ineichen",
        solar_position=position,
        dni_extra=dni_extra,
        linke_turbidity=turbidity,
    )
    return SolarGeometry(
        mid_times=mid_times,
        day_of_year=day_of_year,
        zenith_deg=position["zenith"].to_numpy(dtype=float),
        apparent_zenith_deg=position["apparent_zenith"].to_numpy(dtype=float),
        apparent_elevation_deg=position["apparent_elevation"].to_numpy(dtype=float),
        azimuth_deg=position["azimuth"].to_numpy(dtype=float),
        dni_extra_w_m2=np.asarray(dni_extra, dtype=float),
        ghi_clear_w_m2=np.nan_to_num(clear_sky["ghi"].to_numpy(dtype=float)),
    )


def ghi_w_m2(ghi_clear_w_m2: FloatArray, cloud_percent: FloatArray) -> FloatArray:
    """Global horizontal irradiance under cloud (Kasten and Czeplak, 1980), W/m².

    ``GHI = GHI_clear × (1 - 0.75 (cloud / 100) ^ 3.4)``.

    Parameters
    ----------
    ghi_clear_w_m2
        Clear-sky global horizontal irradiance, W/m².
    cloud_percent
        Cloud cover, %.
    """
    result: FloatArray = ghi_clear_w_m2 * (1.0 - 0.75 * (cloud_percent / 100.0) ** 3.4)
    return result
