"""Synthetic day-ahead prices shaped like the Polish market (TGE), PLN/MWh.

The price of a quarter-hour is a daily level (higher in winter and on cold
days, lower on windy days) plus the clock's shape (a night trough, a morning
peak on working days, an evening peak that is highest on winter evenings)
minus a midday sag that grows with sunshine, deeper in late spring and
summer and on weekends, when sunny weekend middays can go below zero.
"""

from __future__ import annotations

import numpy as np

from adapters.demo.calendar import LocalCalendar, hour_bump
from adapters.demo.noise import FloatArray, smooth_noise, standard_normal, stream_key
from adapters.demo.weather import Weather, late_spring_weight, winter_weight

# The harmonised bounds of the European day-ahead auction, as PLN/MWh at about
# 4.3 PLN/EUR: the clearing price never leaves them.
PRICE_FLOOR_PLN_PER_MWH = -2150.0
PRICE_CAP_PLN_PER_MWH = 21500.0
_DAY_S = 86_400


def day_ahead_price_pln_per_mwh(
    calendar: LocalCalendar,
    weather: Weather,
    ghi_clear_w_m2: FloatArray,
    seed: int,
) -> FloatArray:
    """The day-ahead price of every step, PLN/MWh.

    Parameters
    ----------
    calendar
        Local calendar of the steps.
    weather
        Weather at the cluster's site, standing in for the country's.
    ghi_clear_w_m2
        Clear-sky global horizontal irradiance, W/m²: with the cloud cover it
        gives the country's solar output, which pushes midday prices down.
    seed
        The history's seed.
    """
    seconds = calendar.seconds
    hour = calendar.local_hour
    winter = winter_weight(seconds)
    late_spring = late_spring_weight(seconds)
    working = calendar.working
    saturday = calendar.saturday
    day_key = calendar.local_day

    level = (
        490.0
        + 90.0 * winter
        + 5.0 * np.maximum(0.0, 5.0 - weather.daily_temp_c)
        + 35.0 * smooth_noise(stream_key(seed, "price/level-2d"), seconds, 2 * _DAY_S)
        + 25.0 * standard_normal(stream_key(seed, "price/level-day"), day_key)
    )
    day_type = np.where(working, 0.0, np.where(saturday, -35.0, -70.0))
    night = -(120.0 + 30.0 * (1.0 - winter)) * hour_bump(hour, 3.5, 2.2)
    morning = np.where(working, 70.0, 25.0) * hour_bump(hour, np.where(working, 8.0, 9.5), 1.3)
    # The evening peak follows sunset: early and high in winter, late in summer.
    evening_centre_h = 18.3 + 2.2 * (1.0 - winter)
    evening_height = (190.0 + 260.0 * winter) * (
        1.0 + 0.15 * standard_normal(stream_key(seed, "price/evening-day"), day_key)
    )
    evening = evening_height * np.where(working, 1.0, 0.85) * hour_bump(hour, evening_centre_h, 1.5)
    # A smoother cloud field than the site's: the country's PV sees many skies.
    national_sun = ghi_clear_w_m2 / 1000.0 * (1.0 - 0.6 * weather.cloud_pct / 100.0)
    sag_depth = (180.0 + 200.0 * late_spring) * np.where(
        working, 1.0, np.where(saturday, 1.45, 1.75)
    )
    wind = np.clip(-30.0 * (weather.wind_m_s - 4.0), -150.0, 40.0)
    hourly_noise = 18.0 * standard_normal(stream_key(seed, "price/hour"), seconds // 3600)
    step_noise = 10.0 * standard_normal(stream_key(seed, "price/step"), seconds)
    price = (
        level
        + day_type
        + night
        + morning
        + evening
        - sag_depth * national_sun
        + wind
        + hourly_noise
        + step_noise
    )
    result: FloatArray = np.clip(price, PRICE_FLOOR_PLN_PER_MWH, PRICE_CAP_PLN_PER_MWH)
    return result
