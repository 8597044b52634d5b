"""Days to plan in the optimisation tests: hand-sized clusters and the demo cluster.

Forecasts are simple closed forms (constants, sinusoids, a PV bell), so a test
knows exactly what went in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from cluster.config import (
    Assets,
    Battery,
    ClusterConfig,
    ClusterInfo,
    ConnectionPoint,
    LoadProfile,
    Member,
    MemberKind,
    SupplyContract,
    Tariff,
    TariffZone,
    WasteToEnergyCHP,
    load_demo_config,
)
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from optimisation.inputs import PlanningInputs

#: A Wednesday that is a working day in Poland (no public holiday).
WORKING_DAY = date(2027, 6, 16)
#: Spring DST day in Europe/Warsaw (92 quarter-hours) and autumn one (100).
SPRING_DST_DAY = date(2027, 3, 28)
AUTUMN_DST_DAY = date(2027, 10, 31)


def flat_tariff(rate_pln_per_mwh: float, capacity_rate_pln_per_kw_month: float) -> Tariff:
    """A one-zone tariff with the Polish default overrun rule (10 × rate, hourly maxima)."""
    return Tariff(
        id="flat",
        group="C21",
        zones=[TariffZone(name="all day", rate_pln_per_mwh=rate_pln_per_mwh)],
        capacity_rate_pln_per_kw_month=capacity_rate_pln_per_kw_month,
    )


def one_point_config(
    *,
    tariff: Tariff,
    contracted_capacity_kw: float,
    export_limit_kw: float,
    contract: SupplyContract,
    assets: Assets,
) -> ClusterConfig:
    """A cluster of one member with one connection point ``cp`` behind which all assets sit."""
    return ClusterConfig(
        cluster=ClusterInfo(name="tiny", latitude_deg=50.87, longitude_deg=20.63),
        members=[Member(id="member", name="Member", kind=MemberKind.BUSINESS)],
        tariffs=[tariff],
        connection_points=[
            ConnectionPoint(
                id="cp",
                member="member",
                tariff=tariff.id,
                contracted_capacity_kw=contracted_capacity_kw,
                export_limit_kw=export_limit_kw,
            )
        ],
        supply_contract=contract,
        assets=assets,
    )


def wte_plant(asset_id: str, connection_point: str, max_kw: float, *,
              min_kw: float | None = None, daily_min_waste_mwh: float = 0.0
              ) -> WasteToEnergyCHP:  # fmt: skip
    """A waste-to-energy CHP at 25 % electric efficiency, free to start, ramping in a step.

    Without ``min_kw`` it may run down to 1 kW; ``daily_min_waste_mwh`` is its
    must-burn fuel energy per day, MWh.
    """
    return WasteToEnergyCHP(
        id=asset_id,
        connection_point=connection_point,
        electric_min_kw=min(1.0, max_kw) if min_kw is None else min_kw,
        electric_max_kw=max_kw,
        ramp_kw_per_hour=max_kw * 4,
        start_cost_pln=0.0,
        heat_to_power_ratio=0.0,
        electric_efficiency=0.25,
        daily_min_waste_mwh=daily_min_waste_mwh,
    )


def short_day_inputs(
    config: ClusterConfig,
    series: Mapping[str, Sequence[float]],
    price_pln_per_mwh: Sequence[float],
    day: date = WORKING_DAY,
) -> PlanningInputs:
    """Inputs for the first ``len(price_pln_per_mwh)`` quarter-hours of local ``day``."""
    n_steps = len(price_pln_per_mwh)
    steps = day_steps(day, config.cluster.zone)[:n_steps]
    forecasts = pd.DataFrame(
        {k: np.asarray(v, dtype=float) for k, v in series.items()}, index=steps
    )
    price = pd.Series(np.asarray(price_pln_per_mwh, dtype=float), index=steps)
    return PlanningInputs(config, day, steps, forecasts, price)


def local_hours(config: ClusterConfig, steps: pd.DatetimeIndex) -> np.ndarray:
    """Local clock time of each step as fractional hours (0-24)."""
    local = steps.tz_convert(config.cluster.zone)
    return np.asarray(local.hour + local.minute / 60.0, dtype=float)


def pv_bell(hours: np.ndarray, peak_kw: float, sunrise: float = 5.0,
            sunset: float = 20.0) -> np.ndarray:  # fmt: skip
    """A clear-sky-like PV curve: a sine half-wave between sunrise and sunset, kW."""
    phase = (hours - sunrise) / (sunset - sunrise)
    return np.where((phase > 0) & (phase < 1), peak_kw * np.sin(np.pi * phase), 0.0)


def demo_price(hours: np.ndarray) -> np.ndarray:
    """A sunny day-ahead shape, PLN/MWh: ~420 at night, below zero at midday, ~750 at 20:00."""
    midday_dip = 460.0 * np.exp(-(((hours - 13.0) / 2.5) ** 2))
    evening_peak = 330.0 * np.exp(-(((hours - 20.0) / 1.5) ** 2))
    return 420.0 - midday_dip + evening_peak


def outdoor_temp_c(day: date, hours: np.ndarray) -> np.ndarray:
    """A Kielce-like outdoor temperature, °C.

    The daily mean runs from -2.5 °C in mid-January to 17.5 °C in mid-July;
    the day swings 5 K either side of it, coolest at 03:00, warmest at 15:00.
    """
    seasonal = 7.5 - 10.0 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 15) / 365.0)
    return seasonal + 5.0 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)


def traffic_share(hours: np.ndarray) -> np.ndarray:
    """Traffic on a working day as a share of the peak hour: 5-8 % after midnight, 1 at 16:00."""
    profile = [0.08, 0.05, 0.04, 0.04, 0.07, 0.20, 0.55, 0.95, 0.90, 0.70, 0.62, 0.62, 0.65,
               0.70, 0.80, 0.95, 1.00, 0.90, 0.70, 0.50, 0.38, 0.30, 0.20, 0.13, 0.08]  # fmt: skip
    return np.interp(hours, np.arange(25.0), profile)


def demo_inputs(day: date = WORKING_DAY, *, load_scale: float = 1.0) -> PlanningInputs:
    """A day of the demo cluster with synthetic forecasts and prices.

    Loads follow a day-shaped sinusoid around each point's mean annual demand
    (× ``load_scale``); street lighting burns its circuits' full power at
    night; PV is a bell at 75 % of peak power; the waste-to-energy plant is
    available all day (its forecast: 75 % of its maximum), the biogas inflow
    swings around 2 MW of gas and the district heat demand is a summer day's
    (hot water and losses): 0.35 × the annual mean with a morning peak. The
    outdoor temperature is :func:`outdoor_temp_c`, lamps burn from 21:00 to
    04:30 and every lit road carries :func:`traffic_share` of its peak traffic.
    """
    config = load_demo_config()
    steps = day_steps(day, config.cluster.zone, config.cluster.step_minutes)
    hours = local_hours(config, steps)
    columns: dict[str, np.ndarray] = {}
    daytime = 0.6 + 0.4 * np.sin(np.pi * np.clip((hours - 6.0) / 14.0, 0.0, 1.0))
    night = ((hours >= 21.0) | (hours < 4.5)).astype(float)
    for cp in config.connection_points:
        if cp.profile is LoadProfile.STREET_LIGHTING:
            circuits = [a for a in config.assets.lighting_circuits if a.connection_point == cp.id]
            columns[SeriesId.load(cp.id)] = night * sum(c.full_power_kw for c in circuits)
        else:
            mean_kw = cp.annual_consumption_mwh * 1000.0 / 8760.0
            columns[SeriesId.load(cp.id)] = load_scale * mean_kw * daytime
    for plant in config.assets.pv_plants:
        columns[SeriesId.pv(plant.id)] = np.minimum(
            pv_bell(hours, 0.75 * plant.kwp), plant.inverter_limit_kw
        )
    for wte in config.assets.wte_chps:
        columns[SeriesId.wte(wte.id)] = np.full(len(steps), 0.75 * wte.electric_max_kw)
    for chp in config.assets.biogas_chps:
        columns[SeriesId.biogas_inflow(chp.id)] = 2000.0 + 300.0 * np.sin(2 * np.pi * hours / 24)
    for network in config.assets.district_heating:
        mean_kw = network.annual_heat_demand_mwh * 1000.0 / 8760.0
        morning = np.exp(-(((hours - 6.5) / 1.5) ** 2))
        columns[SeriesId.heat_demand(network.id)] = 0.35 * mean_kw * (1.0 + 0.3 * morning)
    columns[SeriesId.TEMPERATURE_C] = outdoor_temp_c(day, hours)
    columns[SeriesId.LAMPS_ON_FRACTION] = night
    for circuit in config.assets.lighting_circuits:
        peak = circuit.peak_traffic_vehicles_per_hour
        columns[SeriesId.traffic(circuit.id)] = peak * traffic_share(hours)
    forecasts = pd.DataFrame(columns, index=steps)
    price = pd.Series(demo_price(hours), index=steps, name=SeriesId.DAY_AHEAD_PRICE)
    return PlanningInputs(config, day, steps, forecasts, price)


def hundred_kw_point_inputs(load_kw: list[float], price_pln_per_mwh: list[float],
                            batteries: list[Battery]) -> PlanningInputs:  # fmt: skip
    """One point of 100 kW contracted capacity and its load and prices per step.

    Distribution 100 PLN/MWh, capacity rate 12 PLN/(kW·month), no export, no
    purchase margin or fee.
    """
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=100.0, capacity_rate_pln_per_kw_month=12.0),
        contracted_capacity_kw=100.0,
        export_limit_kw=0.0,
        contract=SupplyContract(),
        assets=Assets(batteries=batteries),
    )
    return short_day_inputs(config, {SeriesId.load("cp"): load_kw}, price_pln_per_mwh)
