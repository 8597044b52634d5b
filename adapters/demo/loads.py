"""Synthetic demand of a connection point by load profile, kW.

A profile is a base level (what runs when the building is closed) plus
opening-hour windows per day type, modified by school breaks, heating by
heat pumps in cold weather and cooling in hot weather. The shape is scaled
so that a year's energy matches the connection point's
``annual_consumption_mwh``: the scale comes from the shape's mean over
fixed reference years, so it does not depend on the range generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from adapters.demo.calendar import LocalCalendar, hour_window
from adapters.demo.noise import FloatArray, smooth_noise, standard_normal, stream_key
from adapters.demo.weather import Site, Weather, reference_conditions, winter_weight
from cluster.config import LoadProfile

Window = tuple[float, float, float]
"""Opening hours as (open hour, close hour, level relative to the open-hours level)."""

HEATING_BASE_C = 15.0
_HOURS_PER_YEAR = 8765.82
_DAY_S = 86_400


@dataclass(frozen=True)
class ProfileShape:
    """The shape of one load profile, relative to its open-hours level.

    Attributes
    ----------
    base
        Level when closed (night, weekends), fraction of the open-hours level.
    working, saturday, sunday
        Opening windows on working days, Saturdays and on Sundays and public
        holidays; where windows overlap the higher level counts.
    school_break
        Windows that replace ``working`` on working days of a school break,
        or None when breaks do not matter.
    closed_weekdays
        Weekdays (Monday = 0) with no opening at all, e.g. a theatre's Monday.
    off_season_months
        Months with no opening windows (a theatre's summer), only the base.
    heating_per_k
        Extra load per kelvin of the daily temperature below 15 °C, fraction
        per K: electric heating and heat pumps.
    cooling_per_k
        Extra load per kelvin above ``cooling_base_c``, fraction per K.
    cooling_base_c
        Outdoor temperature above which cooling runs, °C.
    winter_boost
        Extra load in midwinter (lighting, longer evenings), fraction.
    noise
        Relative standard deviation of the quarter-hour noise.
    """

    base: float
    working: tuple[Window, ...] = ()
    saturday: tuple[Window, ...] = ()
    sunday: tuple[Window, ...] = ()
    school_break: tuple[Window, ...] | None = None
    closed_weekdays: tuple[int, ...] = ()
    off_season_months: tuple[int, ...] = ()
    heating_per_k: float = 0.0
    cooling_per_k: float = 0.0
    cooling_base_c: float = 22.0
    winter_boost: float = 0.0
    noise: float = 0.04


PROFILE_SHAPES: dict[LoadProfile, ProfileShape] = {
    LoadProfile.OFFICE: ProfileShape(
        base=0.30, working=((7, 16, 1.0),), heating_per_k=0.015, cooling_per_k=0.03
    ),
    LoadProfile.SCHOOL: ProfileShape(
        base=0.20,
        working=((7.5, 15, 1.0), (15, 20, 0.45)),
        school_break=((8, 14, 0.35),),
        heating_per_k=0.012,
    ),
    LoadProfile.KINDERGARTEN: ProfileShape(
        base=0.22, working=((6, 17, 1.0),), school_break=((6.5, 16, 0.6),), heating_per_k=0.012
    ),
    LoadProfile.SPORTS_POOL: ProfileShape(
        base=0.55,
        working=((6, 22, 1.0),),
        saturday=((7, 22, 1.0),),
        sunday=((8, 21, 0.95),),
        heating_per_k=0.008,
        noise=0.03,
    ),
    LoadProfile.LIBRARY: ProfileShape(
        base=0.25,
        working=((9, 19, 1.0),),
        saturday=((9, 14, 0.8),),
        heating_per_k=0.012,
        cooling_per_k=0.02,
    ),
    LoadProfile.THEATRE: ProfileShape(
        base=0.25,
        working=((10, 16, 0.5), (17.5, 23, 1.0)),
        saturday=((17, 23, 1.0),),
        sunday=((15, 21, 1.0),),
        closed_weekdays=(0,),
        off_season_months=(7, 8),
        heating_per_k=0.01,
        cooling_per_k=0.02,
        noise=0.05,
    ),
    LoadProfile.CARE_HOME: ProfileShape(
        base=0.60,
        working=((6, 22, 1.0),),
        saturday=((6, 22, 1.0),),
        sunday=((6, 22, 1.0),),
        heating_per_k=0.01,
        cooling_per_k=0.015,
        noise=0.03,
    ),
    LoadProfile.INDUSTRY_TWO_SHIFT: ProfileShape(
        base=0.30,
        working=((6, 22, 1.0),),
        saturday=((6, 14, 0.6),),
        heating_per_k=0.004,
        noise=0.04,
    ),
    # Cold storage: compressors work harder the warmer it is outside.
    LoadProfile.INDUSTRY_CONTINUOUS: ProfileShape(
        base=1.0, cooling_per_k=0.008, cooling_base_c=10.0, noise=0.03
    ),
    LoadProfile.RETAIL: ProfileShape(
        base=0.35,
        working=((8, 21, 1.0),),
        saturday=((8, 21, 1.0),),
        # Most Sundays are closed to trade in Poland.
        heating_per_k=0.006,
        cooling_per_k=0.03,
        cooling_base_c=20.0,
    ),
    LoadProfile.RESIDENTIAL: ProfileShape(
        base=0.45,
        working=((6, 8.5, 0.75), (16.5, 23, 1.0)),
        saturday=((8, 13, 0.8), (16.5, 23, 1.0)),
        sunday=((8.5, 13, 0.85), (16, 22.5, 1.0)),
        heating_per_k=0.02,
        winter_boost=0.15,
        noise=0.05,
    ),
    LoadProfile.WASTEWATER: ProfileShape(
        base=0.80,
        working=((8, 20, 1.0),),
        saturday=((8, 20, 1.0),),
        sunday=((9, 20, 1.0),),
        noise=0.03,
    ),
    LoadProfile.PLANT_AUXILIARY: ProfileShape(base=1.0, noise=0.03),
    LoadProfile.NONE: ProfileShape(base=1.0, noise=0.04),
}


def _windows_level(hour: FloatArray, windows: tuple[Window, ...]) -> FloatArray:
    level = np.zeros(hour.shape)
    for open_h, close_h, height in windows:
        level = np.maximum(level, height * hour_window(hour, open_h, close_h))
    return level


def profile_shape(profile: LoadProfile, calendar: LocalCalendar, weather: Weather) -> FloatArray:
    """The deterministic shape of a profile (no per-point noise), open-hours level = 1.

    Parameters
    ----------
    profile
        The connection point's load profile; street lighting is not a shape
        (see :mod:`adapters.demo.lighting`) and gives the flat shape here.
    calendar
        Local calendar of the steps.
    weather
        Weather of the steps.
    """
    shape = PROFILE_SHAPES.get(profile, PROFILE_SHAPES[LoadProfile.NONE])
    hour = calendar.local_hour
    working = _windows_level(hour, shape.working)
    in_break = calendar.working & calendar.school_break
    if shape.school_break is not None:
        working = np.where(in_break, _windows_level(hour, shape.school_break), working)
    opening = np.where(
        calendar.working,
        working,
        np.where(
            calendar.saturday,
            _windows_level(hour, shape.saturday),
            _windows_level(hour, shape.sunday),
        ),
    )
    if shape.closed_weekdays:
        opening = np.where(np.isin(calendar.weekday, shape.closed_weekdays), 0.0, opening)
    if shape.off_season_months:
        opening = np.where(np.isin(calendar.month, shape.off_season_months), 0.0, opening)
    level = shape.base + (1.0 - shape.base) * opening
    heating_k = np.maximum(0.0, HEATING_BASE_C - weather.daily_temp_c)
    cooling_k = np.maximum(0.0, weather.temp_c - shape.cooling_base_c)
    climate = (
        1.0
        + shape.heating_per_k * heating_k
        + shape.cooling_per_k * cooling_k
        + shape.winter_boost * winter_weight(calendar.seconds)
    )
    result: FloatArray = level * climate
    return result


@lru_cache(maxsize=16)
def reference_mean_shape(profile: LoadProfile, site: Site, seed: int) -> float:
    """The hourly mean of :func:`profile_shape` over the reference years.

    Dividing by it turns a shape into multiples of the mean load, so the
    scale of a series is the same whatever range is generated
    (:func:`adapters.demo.weather.reference_conditions`).
    """
    calendar, weather = reference_conditions(site, seed)
    return float(profile_shape(profile, calendar, weather).mean())


def load_kw(
    series_key: str,
    profile: LoadProfile,
    annual_consumption_mwh: float,
    calendar: LocalCalendar,
    weather: Weather,
    site: Site,
    seed: int,
) -> FloatArray:
    """A connection point's demand, kW, averaging ``annual_consumption_mwh`` over a year.

    Parameters
    ----------
    series_key
        The series id: it keys this point's own noise.
    profile
        Its load profile.
    annual_consumption_mwh
        Its yearly energy, MWh.
    calendar, weather
        Local calendar and weather of the steps.
    site
        The cluster's site (for the scale's reference years).
    seed
        The history's seed.
    """
    shape = PROFILE_SHAPES.get(profile, PROFILE_SHAPES[LoadProfile.NONE])
    mean_kw = annual_consumption_mwh * 1000.0 / _HOURS_PER_YEAR
    relative = profile_shape(profile, calendar, weather) / reference_mean_shape(profile, site, seed)
    seconds = calendar.seconds
    # Each point wanders on its own: a slow drift, a level per day, and
    # quarter-hour noise, all with mean 1 so the yearly energy is kept.
    drift = 1.0 + 0.04 * smooth_noise(stream_key(seed, f"{series_key}/drift"), seconds, 10 * _DAY_S)
    daily = 1.0 + 0.04 * standard_normal(stream_key(seed, f"{series_key}/day"), calendar.local_day)
    step = 1.0 + shape.noise * standard_normal(stream_key(seed, f"{series_key}/step"), seconds)
    result: FloatArray = np.maximum(mean_kw * relative * drift * daily * step, 0.0)
    return result
