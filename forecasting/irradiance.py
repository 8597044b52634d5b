"""The sun and the sky over a site: solar position, clear sky, cloud to irradiance.

The physical half of the PV and street-lighting forecasts (:mod:`forecasting.pv`,
:mod:`forecasting.lighting`), built on pvlib:

- the sun's position at the middle of each step (NREL SPA), which stands for
  the step's mean better than its start;
- clear-sky irradiance by Ineichen and Perez with the Linke turbidity of the
  site's climatology (pvlib's monthly maps, interpolated through the year);
- global horizontal irradiance under cloud from the clear sky and the cloud
  cover (Kasten and Czeplak), for weather forecasts that give cloud only;
- its split into direct and diffuse parts (Erbs) and the irradiance on a
  tilted plane (Hay and Davies).

Many series share one time index (every plant of a cluster), so the sky of
an index is computed once per process and reused.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

from cluster.config import ClusterInfo
from forecasting.grid import FloatArray

#: How many indexes' skies a process keeps.
_CACHE_SIZE = 8
#: Ground reflectance of grass and roofs, 0-1.
DEFAULT_ALBEDO = 0.2


@dataclass(frozen=True)
class Site:
    """Where the sun is seen from.

    Attributes
    ----------
    latitude_deg
        Latitude, degrees north.
    longitude_deg
        Longitude, degrees east.
    altitude_m
        Height above sea level, m.
    """

    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0

    @classmethod
    def of_cluster(cls, info: ClusterInfo) -> Site:
        """The site of a cluster's configuration."""
        return cls(info.latitude_deg, info.longitude_deg, info.altitude_m)


@dataclass(frozen=True)
class Sky:
    """The sun's position and the clear sky at the middle of each step.

    Attributes
    ----------
    steps
        UTC step starts.
    zenith_deg, apparent_elevation_deg, azimuth_deg
        Solar position, degrees (apparent: with refraction).
    dni_extra_w_m2
        Extraterrestrial normal irradiance, W/m².
    ghi_clear_w_m2, dni_clear_w_m2, dhi_clear_w_m2
        Clear-sky global horizontal, direct normal and diffuse horizontal
        irradiance, W/m²; zero when the sun is down.
    """

    steps: pd.DatetimeIndex
    zenith_deg: FloatArray
    apparent_elevation_deg: FloatArray
    azimuth_deg: FloatArray
    dni_extra_w_m2: FloatArray
    ghi_clear_w_m2: FloatArray
    dni_clear_w_m2: FloatArray
    dhi_clear_w_m2: FloatArray

    @property
    def sun_up(self) -> np.ndarray:
        """Whether the sun's centre is above the horizon (true zenith below 90°)."""
        return self.zenith_deg < 90.0

    @property
    def day_of_year(self) -> np.ndarray:
        """UTC day of the year of each step's middle, 1-366."""
        return np.asarray(self.steps.day_of_year, dtype=np.int64)


_cache: OrderedDict[tuple[object, ...], Sky] = OrderedDict()


def sky_at(steps: pd.DatetimeIndex, site: Site, step_minutes: int) -> Sky:
    """Solar position and clear sky for every step (memoised per index and site).

    Parameters
    ----------
    steps
        UTC step starts.
    site
        Where the sun is seen from.
    step_minutes
        Step length, minutes: the sun is placed at the middle of each step.
    """
    steps = pd.DatetimeIndex(steps).tz_convert("UTC")
    key = (hash(steps.asi8.tobytes()), len(steps), site, step_minutes)
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    sky = _compute_sky(steps, site, step_minutes)
    _cache[key] = sky
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return sky


def _compute_sky(steps: pd.DatetimeIndex, site: Site, step_minutes: int) -> Sky:
    middle = steps + pd.Timedelta(minutes=step_minutes / 2)
    if len(middle) == 0:
        empty = np.zeros(0)
        return Sky(steps, empty, empty, empty, empty, empty, empty, empty)
    position = pvlib.solarposition.get_solarposition(
        middle, site.latitude_deg, site.longitude_deg, site.altitude_m
    )
    dni_extra = pvlib.irradiance.get_extra_radiation(np.asarray(middle.day_of_year))
    airmass = pvlib.atmosphere.get_relative_airmass(position["apparent_zenith"])
    pressure = pvlib.atmosphere.alt2pres(site.altitude_m)
    absolute_airmass = pvlib.atmosphere.get_absolute_airmass(airmass, pressure)
    with warnings.catch_warnings():
        # pvlib's lookup reads the day of the year by a pandas name being retired.
        warnings.filterwarnings("ignore", message=".*dayofyear is deprecated")
        turbidity = pvlib.clearsky.lookup_linke_turbidity(
            middle, site.latitude_deg, site.longitude_deg
        )
    clear = pvlib.clearsky.ineichen(
        position["apparent_zenith"],
        absolute_airmass,
        turbidity,
        altitude=site.altitude_m,
        dni_extra=dni_extra,
    )
    zenith = position["zenith"].to_numpy(dtype=float)
    up = zenith < 90.0

    def daylight(column: str) -> FloatArray:
        values = np.nan_to_num(np.asarray(clear[column], dtype=float))
        result: FloatArray = np.where(up, values, 0.0)
        return result

    return Sky(
        steps=steps,
        zenith_deg=zenith,
        apparent_elevation_deg=position["apparent_elevation"].to_numpy(dtype=float),
        azimuth_deg=position["azimuth"].to_numpy(dtype=float),
        dni_extra_w_m2=np.asarray(dni_extra, dtype=float),
        ghi_clear_w_m2=daylight("ghi"),
        dni_clear_w_m2=daylight("dni"),
        dhi_clear_w_m2=daylight("dhi"),
    )


def ghi_from_cloud(ghi_clear_w_m2: FloatArray, cloud_pct: FloatArray) -> FloatArray:
    """Global horizontal irradiance under cloud (Kasten and Czeplak, 1980), W/m².

    ``GHI = GHI_clear × (1 - 0.75 (cloud / 100) ^ 3.4)``.

    Parameters
    ----------
    ghi_clear_w_m2
        Clear-sky global horizontal irradiance, W/m².
    cloud_pct
        Total cloud cover, % (0-100).
    """
    cover = np.clip(np.asarray(cloud_pct, dtype=float), 0.0, 100.0) / 100.0
    result: FloatArray = ghi_clear_w_m2 * (1.0 - 0.75 * cover**3.4)
    return result


def clear_sky_index(ghi_w_m2: FloatArray, ghi_clear_w_m2: FloatArray) -> FloatArray:
    """GHI over its clear-sky value (about 1 under a clear sky, lower under cloud).

    Kept within 0-1.5 and set to 1 where the clear sky gives under 10 W/m²
    (night and the very low sun), where the ratio says nothing.

    Parameters
    ----------
    ghi_w_m2, ghi_clear_w_m2
        Global horizontal irradiance and its clear-sky value, W/m².
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.asarray(ghi_w_m2, dtype=float) / ghi_clear_w_m2
    result: FloatArray = np.where(ghi_clear_w_m2 >= 10.0, np.clip(ratio, 0.0, 1.5), 1.0)
    return result


def plane_of_array_w_m2(
    sky: Sky,
    ghi_w_m2: FloatArray,
    tilt_deg: float,
    azimuth_deg: float,
    albedo: float = DEFAULT_ALBEDO,
) -> FloatArray:
    """Irradiance on a tilted plane from the global horizontal irradiance, W/m².

    GHI is split into direct normal and diffuse horizontal parts by Erbs'
    correlation, and transposed with the Hay-Davies sky model.

    Parameters
    ----------
    sky
        The sun's position for the steps.
    ghi_w_m2
        Global horizontal irradiance, W/m².
    tilt_deg
        The plane's tilt from horizontal, degrees.
    azimuth_deg
        The direction the plane faces, degrees clockwise from north (180 = south).
    albedo
        Ground reflectance, 0-1.
    """
    ghi = np.where(sky.sun_up, np.maximum(np.nan_to_num(ghi_w_m2), 0.0), 0.0)
    parts = pvlib.irradiance.erbs(ghi, sky.zenith_deg, sky.day_of_year)
    irradiance = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        sky.zenith_deg,
        sky.azimuth_deg,
        np.asarray(parts["dni"], dtype=float),
        ghi,
        np.asarray(parts["dhi"], dtype=float),
        dni_extra=sky.dni_extra_w_m2,
        albedo=albedo,
        model="haydavies",
    )
    result: FloatArray = np.where(
        sky.sun_up, np.nan_to_num(np.asarray(irradiance["poa_global"], dtype=float)), 0.0
    )
    return result
