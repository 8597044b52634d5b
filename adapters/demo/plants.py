"""Synthetic output of the cluster's plants: PV, waste-to-energy, biogas, district heat."""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pvlib

from adapters.demo.calendar import LocalCalendar, hour_bump
from adapters.demo.noise import (
    FloatArray,
    IntArray,
    smooth_noise,
    standard_normal,
    stream_key,
    uniform,
)
from adapters.demo.weather import Site, SolarGeometry, Weather, reference_conditions, winter_weight
from cluster.config import BiogasCHP, DistrictHeating, PVPlant, WasteToEnergyCHP

PV_GAMMA_PER_K = -0.0037
"""Temperature coefficient of the modules' DC power, 1/K."""
GROUND_ALBEDO = 0.2
WTE_OUTAGE_DAYS = 14
"""Length of the yearly planned maintenance outage of a WtE plant, days."""
WTE_TRIPS_PER_DAY = 1.0 / 250.0
"""Chance that a WtE plant trips and stays off for a local day."""
BIOGAS_ELECTRIC_SHARE_OF_MAX = 0.65
"""Mean electric output the biogas inflow supports, as a share of the engine's maximum."""
HEAT_DEMAND_BASE_C = 15.0
# Hot water and network losses as kelvin-equivalents of heating degrees: the
# summer floor of the heat demand.
_HEAT_BASE_LOAD_K = 3.5
_HOURS_PER_YEAR = 8765.82
_DAY_S = 86_400
_EPOCH = date(1970, 1, 1)


def plane_of_array_inputs(
    geometry: SolarGeometry, ghi_w_m2: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Direct normal and diffuse horizontal irradiance from GHI (Erbs), W/m².

    Computed once per range and shared by every plant.

    Parameters
    ----------
    geometry
        Solar position of the steps.
    ghi_w_m2
        Global horizontal irradiance, W/m².
    """
    parts = pvlib.irradiance.erbs(ghi_w_m2, geometry.zenith_deg, geometry.day_of_year)
    return np.asarray(parts["dni"], dtype=float), np.asarray(parts["dhi"], dtype=float)


def pv_power_kw(
    plant: PVPlant,
    geometry: SolarGeometry,
    ghi_w_m2: FloatArray,
    dni_w_m2: FloatArray,
    dhi_w_m2: FloatArray,
    weather: Weather,
) -> FloatArray:
    """A PV plant's available AC output, kW: PVWatts behind its inverter limit.

    Hay-Davies transposition to the plant's tilt and azimuth, Faiman cell
    temperature, PVWatts DC power with a -0.37 %/K coefficient, the plant's
    loss fraction, clipped at the inverter limit; zero when the sun is down.

    Parameters
    ----------
    plant
        The PV plant.
    geometry
        Solar position of the steps.
    ghi_w_m2, dni_w_m2, dhi_w_m2
        Global horizontal, direct normal and diffuse horizontal irradiance, W/m².
    weather
        Air temperature (°C) and wind (m/s) for the cell temperature.
    """
    irradiance = pvlib.irradiance.get_total_irradiance(
        plant.tilt_deg,
        plant.azimuth_deg,
        geometry.zenith_deg,
        geometry.azimuth_deg,
        dni_w_m2,
        ghi_w_m2,
        dhi_w_m2,
        dni_extra=geometry.dni_extra_w_m2,
        albedo=GROUND_ALBEDO,
        model="haydavies",
    )
    poa_w_m2 = np.nan_to_num(np.asarray(irradiance["poa_global"], dtype=float))
    cell_c = pvlib.temperature.faiman(poa_w_m2, weather.temp_c, weather.wind_m_s)
    dc_kw = pvlib.pvsystem.pvwatts_dc(poa_w_m2, cell_c, plant.kwp, PV_GAMMA_PER_K)
    ac_kw = np.clip(np.asarray(dc_kw, dtype=float) * (1.0 - plant.loss_fraction), 0.0, None)
    ac_kw = np.minimum(ac_kw, plant.inverter_limit_kw)
    result: FloatArray = np.where(geometry.zenith_deg < 90.0, ac_kw, 0.0)
    return result


def _wte_outage_days(chp: WasteToEnergyCHP, days: IntArray, seed: int) -> IntArray:
    """The local days (days since 1970-01-01) among ``days`` on which the plant is off."""
    # The maintenance window opens on the same day each year, in May or June
    # when the heat demand is lowest; which day is fixed per plant and seed.
    window_start_doy = 128 + stream_key(seed, f"wte/{chp.id}/outage") % 35
    dates = [_EPOCH + timedelta(days=int(d)) for d in days]
    planned = np.array(
        [0 <= (d - date(d.year, 1, 1)).days - window_start_doy < WTE_OUTAGE_DAYS for d in dates],
        dtype=bool,
    )
    tripped = uniform(stream_key(seed, f"wte/{chp.id}/trip"), days) < WTE_TRIPS_PER_DAY
    return days[planned | tripped]


def wte_power_kw(
    chp: WasteToEnergyCHP, calendar: LocalCalendar, zone: ZoneInfo, seed: int
) -> FloatArray:
    """A waste-to-energy CHP's electric output, kW.

    Between the minimum and maximum output when running, high enough on
    average to burn ``daily_min_waste_mwh`` a day, more in winter when the
    heat is wanted, drifting slowly; zero during a two-week maintenance
    outage each year and on rare trip days, ramping down and up at
    ``ramp_kw_per_hour`` round them.

    Parameters
    ----------
    chp
        The plant.
    calendar
        Local calendar of the steps.
    zone
        The cluster's time zone: outages start and end at local midnight.
    seed
        The history's seed.
    """
    seconds = calendar.seconds
    must_burn_kw = chp.daily_min_waste_mwh * chp.electric_efficiency * 1000.0 / 24.0
    floor_kw = min(max(must_burn_kw * 1.03, chp.electric_min_kw), chp.electric_max_kw)
    share = np.clip(
        0.35
        + 0.2 * winter_weight(seconds)
        + 0.12 * smooth_noise(stream_key(seed, f"wte/{chp.id}/5d"), seconds, 5 * _DAY_S)
        + 0.05 * smooth_noise(stream_key(seed, f"wte/{chp.id}/1d"), seconds, _DAY_S),
        0.05,
        0.95,
    )
    step = 1.0 + 0.01 * standard_normal(stream_key(seed, f"wte/{chp.id}/step"), seconds)
    power_kw = np.clip(
        (floor_kw + (chp.electric_max_kw - floor_kw) * share) * step,
        chp.electric_min_kw,
        chp.electric_max_kw,
    )
    if seconds.size == 0:
        return power_kw
    # Outage days near the range matter too: the ramp round them reaches in.
    ramp_days = math.ceil(chp.electric_max_kw / chp.ramp_kw_per_hour / 24.0) + 1
    days = np.arange(
        int(calendar.local_day.min()) - ramp_days,
        int(calendar.local_day.max()) + ramp_days + 1,
        dtype=np.int64,
    )
    distance_h = np.full(seconds.shape, np.inf)
    for day in _wte_outage_days(chp, days, seed):
        first = _EPOCH + timedelta(days=int(day))
        start_s = pd.Timestamp(first, tz=zone).tz_convert("UTC").timestamp()
        end_s = pd.Timestamp(first + timedelta(days=1), tz=zone).tz_convert("UTC").timestamp()
        outside_s = np.maximum(np.maximum(start_s - seconds, seconds - end_s), 0.0)
        distance_h = np.minimum(distance_h, outside_s / 3600.0)
    result: FloatArray = np.minimum(power_kw, chp.ramp_kw_per_hour * distance_h)
    return np.where(distance_h <= 0.0, 0.0, result)


def biogas_inflow_kw(chp: BiogasCHP, calendar: LocalCalendar, seed: int) -> FloatArray:
    """Biogas energy flowing into a CHP's gas holder, kW of gas.

    Enough on average for the engine to run at 65 % of its maximum electric
    output; a little more in the afternoon after the day's sludge feeding and
    in the warm months, drifting over weeks.

    Parameters
    ----------
    chp
        The biogas engine.
    calendar
        Local calendar of the steps.
    seed
        The history's seed.
    """
    seconds = calendar.seconds
    mean_kw = BIOGAS_ELECTRIC_SHARE_OF_MAX * chp.engine_max_kw / chp.electric_efficiency
    # The bump averages 3√(2π)/24 ≈ 0.313 over a day; subtracting it keeps the mean.
    daily = 1.0 + 0.06 * (hour_bump(calendar.local_hour, 15.0, 3.0) - 0.313)
    seasonal = 1.0 + 0.05 * (0.5 - winter_weight(seconds))
    drift = (
        1.0
        + 0.08 * smooth_noise(stream_key(seed, f"biogas/{chp.id}/7d"), seconds, 7 * _DAY_S)
        + 0.04 * smooth_noise(stream_key(seed, f"biogas/{chp.id}/1d"), seconds, _DAY_S)
    )
    step = 1.0 + 0.03 * standard_normal(stream_key(seed, f"biogas/{chp.id}/step"), seconds)
    result: FloatArray = np.maximum(mean_kw * daily * seasonal * drift * step, 0.0)
    return result


def _heat_shape(calendar: LocalCalendar, weather: Weather) -> FloatArray:
    effective_c = 0.8 * weather.daily_temp_c + 0.2 * weather.temp_c
    heating_k = np.maximum(0.0, HEAT_DEMAND_BASE_C - effective_c)
    hour = calendar.local_hour
    daily = (
        1.0
        + 0.12 * hour_bump(hour, 6.5, 1.5)
        + 0.05 * hour_bump(hour, 19.0, 2.0)
        - 0.08 * hour_bump(hour, 2.5, 2.0)
    )
    result: FloatArray = (heating_k + _HEAT_BASE_LOAD_K) * daily
    return result


@lru_cache(maxsize=16)
def _reference_mean_heat_shape(site: Site, seed: int) -> float:
    calendar, weather = reference_conditions(site, seed)
    return float(_heat_shape(calendar, weather).mean())


def heat_demand_kw(
    network: DistrictHeating, calendar: LocalCalendar, weather: Weather, site: Site, seed: int
) -> FloatArray:
    """A district-heating network's heat demand, kW, averaging its annual demand.

    Heating degrees below 15 °C plus a hot-water-and-losses base, a morning
    peak and a night dip, scaled so that a year's demand is about
    ``annual_heat_demand_mwh``.

    Parameters
    ----------
    network
        The district-heating network.
    calendar, weather
        Local calendar and weather of the steps.
    site
        The cluster's site (for the scale's reference years).
    seed
        The history's seed.
    """
    mean_kw = network.annual_heat_demand_mwh * 1000.0 / _HOURS_PER_YEAR
    relative = _heat_shape(calendar, weather) / _reference_mean_heat_shape(site, seed)
    step = 1.0 + 0.02 * standard_normal(
        stream_key(seed, f"heat/{network.id}/step"), calendar.seconds
    )
    result: FloatArray = np.maximum(mean_kw * relative * step, 0.0)
    return result
