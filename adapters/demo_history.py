"""Deterministic synthetic history of a cluster: weather, prices, loads, plants and meters.

:func:`generate_history` is a pure function of ``(seed, instant)``: a given
quarter-hour has the same values whatever range it is generated in, so a
year can be generated in pieces, a rig can generate just today, and a test
can generate two overlapping ranges and compare them. Randomness is hashed
from (seed, series, time) rather than drawn from a generator
(:mod:`adapters.demo.noise`).

It reads everything from the :class:`~cluster.config.ClusterConfig`: the
site, the connection points with their profiles and annual energy, and every
asset; the built-in demo cluster is only the usual input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapters.demo.calendar import local_calendar
from adapters.demo.lighting import lamps_on, street_lighting_load_kw, traffic_vehicles_per_hour
from adapters.demo.loads import load_kw
from adapters.demo.meters import UNIT_KWH, meter_series_ids, metered_energy_kwh
from adapters.demo.noise import FloatArray
from adapters.demo.plants import (
    biogas_inflow_kw,
    heat_demand_kw,
    plane_of_array_inputs,
    pv_power_kw,
    wte_power_kw,
)
from adapters.demo.prices import day_ahead_price_pln_per_mwh
from adapters.demo.weather import Site, ghi_w_m2, solar_geometry, weather_at
from cluster.config import ClusterConfig, ConnectionPoint, LoadProfile
from cluster.errors import KlasterError
from cluster.timeseries import READING_COLUMNS, Quality, SeriesId

DEMO_SEED: int = 2027
"""The seed of the demo history."""

UNIT_KW = "kW"
UNIT_DEG_C = "degC"
UNIT_PERCENT = "%"
UNIT_W_M2 = "W/m2"
UNIT_PLN_PER_MWH = "PLN/MWh"
UNIT_PER_HOUR = "1/h"


class DemoHistoryError(KlasterError):
    """A request for synthetic history that cannot be met as asked."""


def _has_load_series(connection_point: ConnectionPoint) -> bool:
    return (
        connection_point.annual_consumption_mwh > 0
        or connection_point.profile is LoadProfile.STREET_LIGHTING
    )


def _series_units(config: ClusterConfig, meters: bool = True) -> dict[str, str]:
    """Every generated series id with its unit, in output order."""
    assets = config.assets
    units = {
        SeriesId.TEMPERATURE_C: UNIT_DEG_C,
        SeriesId.CLOUD_PCT: UNIT_PERCENT,
        SeriesId.GHI_W_M2: UNIT_W_M2,
        SeriesId.DAY_AHEAD_PRICE: UNIT_PLN_PER_MWH,
    }
    units |= {
        SeriesId.load(cp.id): UNIT_KW for cp in config.connection_points if _has_load_series(cp)
    }
    units |= {SeriesId.pv(plant.id): UNIT_KW for plant in assets.pv_plants}
    units |= {SeriesId.wte(chp.id): UNIT_KW for chp in assets.wte_chps}
    units |= {SeriesId.biogas_inflow(chp.id): UNIT_KW for chp in assets.biogas_chps}
    units |= {SeriesId.heat_demand(net.id): UNIT_KW for net in assets.district_heating}
    units |= {SeriesId.traffic(c.id): UNIT_PER_HOUR for c in assets.lighting_circuits}
    if meters:
        units |= {series_id: UNIT_KWH for series_id in meter_series_ids(config)}
    return units


def history_series_ids(config: ClusterConfig, *, meters: bool = True) -> list[str]:
    """Every series :func:`generate_history` produces for a cluster, in output order.

    Weather (temperature, cloud, GHI) and the day-ahead price; the load of
    every connection point with an annual consumption or a street-lighting
    profile; each PV plant's output; each WtE plant's electric output; each
    biogas CHP's gas inflow; each district-heating network's demand; the
    traffic on each lit road; the billing meters of the connection points
    (:func:`adapters.demo.meters.meter_series_ids`: import everywhere, export
    where a point may export, curtailment where its generation can exceed the
    export limit), kWh per step, unless ``meters`` is False.
    """
    return list(_series_units(config, meters))


def _steps(config: ClusterConfig, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    for name, instant in (("start", start), ("end", end)):
        if instant.tzinfo is None:
            raise DemoHistoryError(
                f"the {name} of the history range, {instant}, has no time zone",
                fix="give both ends with a zone, e.g. pd.Timestamp('2026-01-01', tz='UTC')",
            )
    step = f"{config.cluster.step_minutes}min"
    first = start.tz_convert("UTC").ceil(step)
    return pd.date_range(first, end.tz_convert("UTC"), freq=step, inclusive="left", name="ts")


def _generate(
    config: ClusterConfig, times: pd.DatetimeIndex, seed: int, meters: bool
) -> dict[str, FloatArray]:
    info = config.cluster
    site = Site(info.latitude_deg, info.longitude_deg, info.altitude_m, info.timezone, info.country)
    calendar = local_calendar(times, info.zone, info.country)
    seconds = calendar.seconds
    weather = weather_at(seconds, seed, info.longitude_deg)
    geometry = solar_geometry(times, site, info.step_minutes)
    ghi = ghi_w_m2(geometry.ghi_clear_w_m2, weather.cloud_pct)
    burning = lamps_on(geometry.apparent_elevation_deg, weather.cloud_pct)
    assets = config.assets
    series: dict[str, FloatArray] = {
        SeriesId.TEMPERATURE_C: weather.temp_c,
        SeriesId.CLOUD_PCT: weather.cloud_pct,
        SeriesId.GHI_W_M2: ghi,
        SeriesId.DAY_AHEAD_PRICE: day_ahead_price_pln_per_mwh(
            calendar, weather, geometry.ghi_clear_w_m2, seed
        ),
    }
    for cp in config.connection_points:
        if not _has_load_series(cp):
            continue
        series_id = SeriesId.load(cp.id)
        if cp.profile is LoadProfile.STREET_LIGHTING:
            circuits = [c for c in assets.lighting_circuits if c.connection_point == cp.id]
            series[series_id] = street_lighting_load_kw(
                circuits, cp.annual_consumption_mwh, burning, seconds, seed
            )
        else:
            series[series_id] = load_kw(
                series_id, cp.profile, cp.annual_consumption_mwh, calendar, weather, site, seed
            )
    if assets.pv_plants:
        dni, dhi = plane_of_array_inputs(geometry, ghi)
        for plant in assets.pv_plants:
            series[SeriesId.pv(plant.id)] = pv_power_kw(plant, geometry, ghi, dni, dhi, weather)
    for wte in assets.wte_chps:
        series[SeriesId.wte(wte.id)] = wte_power_kw(wte, calendar, info.zone, seed)
    for biogas in assets.biogas_chps:
        series[SeriesId.biogas_inflow(biogas.id)] = biogas_inflow_kw(biogas, calendar, seed)
    for network in assets.district_heating:
        series[SeriesId.heat_demand(network.id)] = heat_demand_kw(
            network, calendar, weather, site, seed
        )
    for circuit in assets.lighting_circuits:
        series[SeriesId.traffic(circuit.id)] = traffic_vehicles_per_hour(
            circuit, calendar, info.step_minutes, seed
        )
    if meters:
        series |= metered_energy_kwh(config, series, len(times))
    return series


def generate_wide(
    config: ClusterConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
    seed: int = DEMO_SEED,
    *,
    meters: bool = True,
) -> pd.DataFrame:
    """Synthetic history as a wide frame: UTC index ``ts``, one column per series id.

    The same values as :func:`generate_history`, columns in the order of
    :func:`history_series_ids`.

    Parameters
    ----------
    config
        The cluster.
    start, end
        The range ``[start, end)``, timezone-aware; steps lie on the grid of
        ``config.cluster.step_minutes`` (the first is ``start`` rounded up).
    seed
        Which history: the same seed always gives the same values.
    meters
        Include the billing meters (settlement needs them, planning does not).

    Raises
    ------
    DemoHistoryError
        If ``start`` or ``end`` has no time zone.
    """
    times = _steps(config, start, end)
    ids = history_series_ids(config, meters=meters)
    if len(times) == 0:
        values: dict[str, FloatArray] = {sid: np.zeros(0) for sid in ids}
    else:
        values = _generate(config, times, seed, meters)
    frame = pd.DataFrame({sid: values[sid] for sid in ids}, index=times)
    frame.columns.name = "series_id"
    return frame


def generate_history(
    config: ClusterConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
    seed: int = DEMO_SEED,
    *,
    meters: bool = True,
) -> pd.DataFrame:
    """Synthetic history as a long readings frame of :data:`~cluster.timeseries.READING_COLUMNS`.

    One row per series and step of ``[start, end)``, series in the order of
    :func:`history_series_ids`, each in time order; ``ts`` is UTC, ``quality``
    is :attr:`~cluster.timeseries.Quality.SYNTHETIC`. A pure function of
    ``(seed, step)``: overlapping ranges agree exactly.

    Parameters
    ----------
    config
        The cluster.
    start, end
        The range ``[start, end)``, timezone-aware; steps lie on the grid of
        ``config.cluster.step_minutes`` (the first is ``start`` rounded up).
    seed
        Which history: the same seed always gives the same values.
    meters
        Include the billing meters (settlement needs them, planning does not).

    Raises
    ------
    DemoHistoryError
        If ``start`` or ``end`` has no time zone.
    """
    wide = generate_wide(config, start, end, seed, meters=meters)
    units = _series_units(config, meters)
    ids = list(wide.columns)
    times = pd.DatetimeIndex(wide.index).tz_convert(None)
    codes = pd.Series(np.repeat(np.arange(len(ids)), len(wide.index)))
    # Mapping integer codes through a dict builds the string columns far
    # faster than repeating the strings themselves.
    frame = pd.DataFrame(
        {
            "series_id": codes.map(dict(enumerate(ids))),
            "ts": pd.DatetimeIndex(np.tile(times.to_numpy(), len(ids))).tz_localize("UTC"),
            "value": wide.to_numpy(dtype=float).T.reshape(-1),
            "unit": codes.map(dict(enumerate(units[i] for i in ids))),
            "quality": np.full(len(codes), int(Quality.SYNTHETIC), dtype=np.int64),
        }
    )
    return frame[list(READING_COLUMNS)]
