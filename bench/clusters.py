"""Generated clusters for the scale benchmarks: the demo cluster's pieces, repeated.

A generated cluster keeps every asset of the demo cluster (WtE, biogas CHP,
district heating, public buildings) and adds copies of its ordinary members
with their connection points, of its PV plants and battery, and of its street
lighting circuits with their lighting connection points, until the counts
asked for are reached. Forecasts are closed forms (a PV bell, day-shaped
loads, a midday price dip), the same as the optimisation tests use.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from cluster.config import (
    Battery,
    ClusterConfig,
    ConnectionPoint,
    LightingCircuit,
    LoadProfile,
    Member,
    MemberKind,
    PVPlant,
    load_demo_config,
)
from cluster.timegrid import range_steps
from cluster.timeseries import SeriesId
from optimisation.inputs import PlanningInputs

#: A working Wednesday (no Polish public holiday) on which every tier starts.
BENCH_DAY = date(2027, 6, 16)

#: Members never copied: the municipalities own the lighting, the WtE owner is unique.
_UNIQUE_MEMBERS = frozenset({"ztpo"})


def _copy_id(asset_id: str, round_no: int) -> str:
    return f"{asset_id}-g{round_no}"


def generate_cluster(*, n_members: int, n_pv: int, n_batteries: int,
                     n_lighting_circuits: int) -> ClusterConfig:  # fmt: skip
    """A cluster of ``n_members`` members built from copies of the demo cluster's pieces.

    Parameters
    ----------
    n_members
        Members in total (at least the demo's); copies of the demo's public
        buildings, companies, businesses and housing cooperatives, each with a
        copy of its connection points.
    n_pv
        PV plants in total; copies sit at copied connection points.
    n_batteries
        Batteries in total; copies of the demo battery at copies of its point.
    n_lighting_circuits
        Street lighting circuits in total; copies come in whole lighting
        connection points (the last one possibly partly filled).
    """
    demo = load_demo_config()
    templates = [
        m for m in demo.members
        if m.kind is not MemberKind.MUNICIPALITY and m.id not in _UNIQUE_MEMBERS
    ]  # fmt: skip
    ordinary_points = [cp for cp in demo.connection_points
                       if cp.profile is not LoadProfile.STREET_LIGHTING]  # fmt: skip
    lighting_points = [cp for cp in demo.connection_points
                       if cp.profile is LoadProfile.STREET_LIGHTING]  # fmt: skip
    members: list[Member] = list(demo.members)
    points: list[ConnectionPoint] = list(demo.connection_points)
    copied_points: dict[tuple[str, int], str] = {}
    round_no = 0
    while len(members) < n_members:
        round_no += 1
        for member in templates:
            if len(members) >= n_members:
                break
            members.append(member.model_copy(update={"id": _copy_id(member.id, round_no)}))
            for cp in ordinary_points:
                if cp.member == member.id:
                    new_id = _copy_id(cp.id, round_no)
                    copied_points[(cp.id, round_no)] = new_id
                    points.append(cp.model_copy(
                        update={"id": new_id, "member": _copy_id(member.id, round_no)}
                    ))  # fmt: skip
    rounds = round_no
    pv_plants: list[PVPlant] = list(demo.assets.pv_plants)
    batteries: list[Battery] = list(demo.assets.batteries)
    for round_no in range(1, rounds + 1):
        for plant in demo.assets.pv_plants:
            cp_id = copied_points.get((plant.connection_point, round_no))
            if cp_id is not None and len(pv_plants) < n_pv:
                pv_plants.append(plant.model_copy(
                    update={"id": _copy_id(plant.id, round_no), "connection_point": cp_id}
                ))  # fmt: skip
        for battery in demo.assets.batteries:
            cp_id = copied_points.get((battery.connection_point, round_no))
            if cp_id is not None and len(batteries) < n_batteries:
                batteries.append(battery.model_copy(
                    update={"id": _copy_id(battery.id, round_no), "connection_point": cp_id}
                ))  # fmt: skip
    circuits: list[LightingCircuit] = list(demo.assets.lighting_circuits)
    round_no = 0
    while len(circuits) < n_lighting_circuits:
        round_no += 1
        for cp in lighting_points:
            on_point = [c for c in demo.assets.lighting_circuits if c.connection_point == cp.id]
            room = n_lighting_circuits - len(circuits)
            if room <= 0:
                break
            new_cp = _copy_id(cp.id, round_no)
            points.append(cp.model_copy(update={"id": new_cp}))
            circuits.extend(
                c.model_copy(update={"id": _copy_id(c.id, round_no), "connection_point": new_cp})
                for c in on_point[:room]
            )
    assets = demo.assets.model_copy(update={
        "pv_plants": pv_plants, "batteries": batteries, "lighting_circuits": circuits,
    })  # fmt: skip
    return demo.model_copy(
        update={"members": members, "connection_points": points, "assets": assets}
    )


def _local_hours(config: ClusterConfig, steps: pd.DatetimeIndex) -> np.ndarray:
    local = steps.tz_convert(config.cluster.zone)
    return np.asarray(local.hour + local.minute / 60.0, dtype=float)


def _pv_bell(hours: np.ndarray, peak_kw: float) -> np.ndarray:
    phase = (hours - 5.0) / 15.0
    return np.where((phase > 0) & (phase < 1), peak_kw * np.sin(np.pi * phase), 0.0)


def _traffic_share(hours: np.ndarray) -> np.ndarray:
    profile = [0.08, 0.05, 0.04, 0.04, 0.07, 0.20, 0.55, 0.95, 0.90, 0.70, 0.62, 0.62, 0.65,
               0.70, 0.80, 0.95, 1.00, 0.90, 0.70, 0.50, 0.38, 0.30, 0.20, 0.13, 0.08]  # fmt: skip
    return np.interp(hours, np.arange(25.0), profile)


def synthetic_inputs(config: ClusterConfig, n_days: int = 1, *,
                     day: date = BENCH_DAY) -> PlanningInputs:  # fmt: skip
    """``n_days`` local days from ``day`` with closed-form forecasts and prices.

    Loads swing between 60 % and 100 % of each point's mean demand (kW) over
    the day; lighting points draw their circuits' full power (kW) from 21:00
    to 04:30; PV is a bell at 75 % of peak power; the WtE is available at
    75 % of its maximum; the biogas inflow swings around 2 MW of gas; heat
    demand is a summer day's; the day-ahead price dips below zero at midday.
    """
    zone = config.cluster.zone
    start = pd.Timestamp(day.isoformat(), tz=zone)
    end = pd.Timestamp((day + timedelta(days=n_days)).isoformat(), tz=zone)
    steps = range_steps(start, end, config.cluster.step_minutes)
    hours = _local_hours(config, steps)
    columns: dict[str, np.ndarray] = {}
    daytime = 0.6 + 0.4 * np.sin(np.pi * np.clip((hours - 6.0) / 14.0, 0.0, 1.0))
    night = ((hours >= 21.0) | (hours < 4.5)).astype(float)
    circuit_kw: dict[str, float] = {}
    for circuit in config.assets.lighting_circuits:
        cp_id = circuit.connection_point
        circuit_kw[cp_id] = circuit_kw.get(cp_id, 0.0) + circuit.full_power_kw
    for cp in config.connection_points:
        if cp.profile is LoadProfile.STREET_LIGHTING:
            columns[SeriesId.load(cp.id)] = night * circuit_kw.get(cp.id, 0.0)
        else:
            columns[SeriesId.load(cp.id)] = cp.annual_consumption_mwh * 1000.0 / 8760.0 * daytime
    for plant in config.assets.pv_plants:
        columns[SeriesId.pv(plant.id)] = np.minimum(
            _pv_bell(hours, 0.75 * plant.kwp), plant.inverter_limit_kw
        )
    for wte in config.assets.wte_chps:
        columns[SeriesId.wte(wte.id)] = np.full(len(steps), 0.75 * wte.electric_max_kw)
    for chp in config.assets.biogas_chps:
        columns[SeriesId.biogas_inflow(chp.id)] = 2000.0 + 300.0 * np.sin(2 * np.pi * hours / 24)
    for network in config.assets.district_heating:
        mean_kw = network.annual_heat_demand_mwh * 1000.0 / 8760.0
        morning = np.exp(-(((hours - 6.5) / 1.5) ** 2))
        columns[SeriesId.heat_demand(network.id)] = 0.35 * mean_kw * (1.0 + 0.3 * morning)
    seasonal = 7.5 - 10.0 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 15) / 365.0)
    columns[SeriesId.TEMPERATURE_C] = seasonal + 5.0 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)
    columns[SeriesId.LAMPS_ON_FRACTION] = night
    for circuit in config.assets.lighting_circuits:
        columns[SeriesId.traffic(circuit.id)] = (
            circuit.peak_traffic_vehicles_per_hour * _traffic_share(hours)
        )
    forecasts = pd.DataFrame(columns, index=steps)
    price = (420.0 - 460.0 * np.exp(-(((hours - 13.0) / 2.5) ** 2))
             + 330.0 * np.exp(-(((hours - 20.0) / 1.5) ** 2)))  # fmt: skip
    return PlanningInputs(
        config, day, steps, forecasts,
        pd.Series(price, index=steps, name=SeriesId.DAY_AHEAD_PRICE),
    )  # fmt: skip
