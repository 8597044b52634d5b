"""Settling a day against what really happened: the fixed commands meet the actual day.

:func:`settle_day` builds the day's model on the actual values (loads, PV,
plant availability, heat demand, biogas inflow, outdoor temperature, when
the lamps burned, traffic, prices), fixes every here-and-now command of
:class:`~optimisation.evaluation.decisions.Decisions`, and solves what is
left, which is what reacts in reality:

- **batteries**: charge and discharge as commanded; the state of charge follows;
- **waste-to-energy**: committed and loaded as commanded, except where the
  plant was in fact unavailable (it trips); the start-ups follow;
- **building zones**: each zone's own thermostat heats to the commanded
  setpoint under the actual weather (:func:`cluster.thermal.heating_power_kw`
  and :func:`cluster.thermal.zone_temperature_c`, the model the planner and
  the rig share); heat, room temperature and electricity follow;
- **street lighting**: every circuit runs at its commanded dim level
  whenever the lamps actually burn; the class each step actually needed
  (from the actual traffic and darkness) is the floor it is checked against;
- **left to the grid and local controllers** (the solve): import and export
  at every connection point, the day-ahead trades around the blocks, PV
  curtailment, the heat network's boiler, store and cooler, and the biogas
  engine with its holder.

Settling through the same model, instead of a second cost function, keeps
one definition of every tariff, block, margin, fee and overrun rule. The
re-solve is small: with the commands fixed, only the biogas engine keeps
binaries. A connection point with a battery or a WtE plant behind it may
export above its limit in the settlement: the commands were fixed against
a forecast load, and reality is not infeasible; what crossed the limit is
reported (:attr:`DayMetrics.export_over_limit_mwh`).

The cost compared is money: the schedule's costs without the declared
penalties (comfort, heat dump, flare), and for a member outside the cluster
(``standalone=True``) the joint purchase is replaced by what each member
pays alone: its own supplier's price for what it imports
(``standalone_price_pln_per_mwh``) and the day-ahead price less a trader's
fee for what it exports (``settlement.standalone_sell_fee_pln_per_mwh``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from cluster.config import ClusterConfig
from cluster.schedule import Schedule
from cluster.summary import connection_point_peaks, energy_totals
from cluster.thermal import heating_power_kw, zone_temperature_c
from cluster.timeseries import SeriesId
from optimisation.components.costs import CostComponent
from optimisation.components.emissions import Co2Pricing
from optimisation.components.lighting import IDLE_DIM_PCT
from optimisation.errors import OptimisationError
from optimisation.evaluation.decisions import Decisions, FloatArray
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ClusterModel, ModelOptions, build_model
from optimisation.solve import SolveOptions, solve

#: A room this far outside its band, K, still counts as in it (the sensor's resolution).
COMFORT_TOLERANCE_K = 0.05
#: Cost rows that are declared penalties of the planner, not money paid.
PENALTIES = frozenset(
    {
        CostComponent.COMFORT_PENALTY,
        CostComponent.HEAT_DUMP,
        CostComponent.FLARE,
        CostComponent.CAPACITY_HEADROOM,
    }
)
#: Cost rows of the joint purchase, replaced for members outside the cluster.
JOINT_PURCHASE = frozenset(
    {CostComponent.BLOCKS, CostComponent.DAY_AHEAD_PURCHASE, CostComponent.DAY_AHEAD_SALE}
)


class SettlementError(OptimisationError):
    """A day that could not be settled against its actual values."""


@dataclass(frozen=True)
class DayMetrics:
    """What a day cost and how it went, for one way of running the cluster.

    Attributes
    ----------
    cost_pln
        Money paid, PLN (revenue negative), see :func:`money_cost_pln`.
    overrun_steps
        Connection-point quarter-hours with import above the contracted capacity.
    overrun_charge_pln
        The overrun charge of the day, PLN.
    load_mwh, local_mwh
        The cluster's consumption and the part of it met by its own
        generation in the same step, MWh.
    imported_mwh, exported_mwh
        Energy through the connection points' meters, MWh.
    export_over_limit_mwh
        Export above the connection points' export limits, MWh.
    lighting_mwh
        Energy of the street lighting, MWh.
    lit_circuit_steps, below_class_steps
        Circuit-steps with lamps burning, and those of them dimmed below what
        the step's actual class needs.
    occupied_zone_h, comfort_violation_zone_h
        Zone-hours while occupied, and those of them that ended outside the
        comfort band by more than :data:`COMFORT_TOLERANCE_K`, h.
    co2_t
        CO2 of the cluster's net draw from the grid and the gas burned, t.
    """

    cost_pln: float
    overrun_steps: int
    overrun_charge_pln: float
    load_mwh: float
    local_mwh: float
    imported_mwh: float
    exported_mwh: float
    export_over_limit_mwh: float
    lighting_mwh: float
    lit_circuit_steps: int
    below_class_steps: int
    occupied_zone_h: float
    comfort_violation_zone_h: float
    co2_t: float


@dataclass(frozen=True)
class RealisedDay:
    """A settled day: the schedule as it happened and its metrics.

    Attributes
    ----------
    schedule
        The realised day in the form of a schedule (fixed commands, actual
        physics, the grid's and local controllers' reaction).
    metrics
        Its figures.
    wall_time_s
        Time the settlement took (build, solve, extraction), s.
    """

    schedule: Schedule
    metrics: DayMetrics
    wall_time_s: float


def realise_zone(
    outdoor_c: FloatArray,
    gains_kw: FloatArray,
    setpoints_c: FloatArray,
    initial_temp_c: float,
    capacitance_kwh_per_k: float,
    resistance_k_per_kw: float,
    heating_max_kw: float,
    step_h: float,
) -> tuple[FloatArray, FloatArray]:
    """Heat and end-of-step room temperature of a zone whose thermostat follows setpoints.

    Parameters
    ----------
    outdoor_c
        Actual outdoor temperature per step, °C.
    gains_kw
        Internal gains per step, kW.
    setpoints_c
        The commanded setpoint per step, °C.
    initial_temp_c
        Room temperature before the first step, °C.
    capacitance_kwh_per_k, resistance_k_per_kw
        The zone's C (kWh/K) and R (K/kW).
    heating_max_kw
        Largest heat output, kW.
    step_h
        Step length, h.

    Returns
    -------
    tuple
        Heat delivered per step (kW) and room temperature at the end of each step (°C).
    """
    heat = np.zeros(len(outdoor_c))
    temp = np.zeros(len(outdoor_c))
    now = initial_temp_c
    for t in range(len(heat)):
        args = (float(outdoor_c[t]), float(gains_kw[t]))
        heat[t] = heating_power_kw(now, float(setpoints_c[t]), args[0], args[1],
                                   capacitance_kwh_per_k, resistance_k_per_kw,
                                   heating_max_kw, step_h)  # fmt: skip
        now = zone_temperature_c(now, args[0], float(heat[t]), args[1],
                                 capacitance_kwh_per_k, resistance_k_per_kw, step_h)  # fmt: skip
        temp[t] = now
    return heat, temp


def _deactivate_constraints(block: Any) -> None:
    for constraint in block.component_objects(pyo.Constraint, descend_into=False):
        constraint.deactivate()


def _fix_batteries(model: ClusterModel, decisions: Decisions) -> None:
    step_h = model.horizon.step_hours
    for battery_id, handle in model.batteries.items():
        power = handle.battery.power_kw
        charge = np.clip(decisions.battery_charge_kw[battery_id], 0.0, power)
        discharge = np.clip(decisions.battery_discharge_kw[battery_id], 0.0, power)
        eta = handle.efficiency
        flow_kwh = (eta * charge - discharge / eta) * step_h
        low, high = handle.soc_kwh[0].bounds
        soc = np.clip(handle.soc_initial_kwh + np.cumsum(flow_kwh), low, high)
        for t in range(model.horizon.n_steps):
            handle.charge_kw[t].fix(float(charge[t]))
            handle.discharge_kw[t].fix(float(discharge[t]))
            handle.is_charging[t].fix(1.0 if charge[t] > 0 else 0.0)
            handle.soc_kwh[t].fix(float(soc[t]))
        _deactivate_constraints(handle.block)


def _fix_wte(model: ClusterModel, decisions: Decisions) -> None:
    for chp_id, handle in model.wte_chps.items():
        chp = handle.chp
        # The plant trips where it was in fact unavailable, whatever it was told.
        on = (decisions.wte_on[chp_id] > 0.5) & np.asarray(handle.available, dtype=bool)
        output = np.where(
            on, np.clip(decisions.wte_output_kw[chp_id], chp.electric_min_kw, chp.electric_max_kw),
            0.0,
        )  # fmt: skip
        before = np.concatenate([[handle.initial.on], on[:-1]])
        start = on & ~before
        for t in range(model.horizon.n_steps):
            handle.on[t].fix(float(on[t]))
            handle.start[t].fix(float(start[t]))
            handle.output_kw[t].fix(float(output[t]))
        _deactivate_constraints(handle.block)


def _fix_zones(model: ClusterModel, decisions: Decisions) -> tuple[float, float]:
    """Run every zone's thermostat on its setpoints; returns (occupied, violated) zone-hours."""
    step_h = model.horizon.step_hours
    occupied_h = violated_h = 0.0
    for building in model.buildings.values():
        for zone in building.zones.values():
            if zone.initial_temp_c is None:
                raise SettlementError(
                    f"zone {zone.asset_id} has no room temperature to start the day from",
                    fix="give every zone's start temperature in zone_initial_temp_c",
                )
            config = zone.zone
            heat, temp = realise_zone(
                np.asarray(zone.outdoor_c), np.asarray(zone.gains_kw),
                decisions.setpoint_c[zone.asset_id], zone.initial_temp_c,
                config.thermal_capacitance_kwh_per_k, config.thermal_resistance_k_per_kw,
                config.heating_max_kw, step_h,
            )  # fmt: skip
            for t in range(model.horizon.n_steps):
                zone.heat_kw[t].fix(float(heat[t]))
                zone.temp_c[t].fix(float(temp[t]))
                zone.dynamics[t].deactivate()
            occupied = np.asarray(zone.occupied, dtype=bool)
            outside = (temp < np.asarray(zone.band_min_c) - COMFORT_TOLERANCE_K) | (
                temp > np.asarray(zone.band_max_c) + COMFORT_TOLERANCE_K
            )
            occupied_h += float(occupied.sum()) * step_h
            violated_h += float((occupied & outside).sum()) * step_h
    return occupied_h, violated_h


def _commanded_dim_pct(
    config: ClusterConfig, decisions: Decisions, n_steps: int
) -> dict[str, np.ndarray]:
    """Every circuit's commanded dim level per step, %; full output where none was sent."""
    idle = np.full(n_steps, float(IDLE_DIM_PCT))
    return {
        circuit.id: np.nan_to_num(
            np.asarray(decisions.dim_pct.get(circuit.id, idle), dtype=float),
            nan=float(IDLE_DIM_PCT),
        )
        for circuit in config.assets.lighting_circuits
    }


def _lighting_outcome(model: ClusterModel) -> tuple[float, int, int]:
    """A model's lighting built on commanded levels: (energy MWh, lit steps, steps below class)."""
    step_h = model.horizon.step_hours
    energy_mwh = 0.0
    lit_steps = below = 0
    for handle in model.lighting_circuits.values():
        # Built on given levels, the power and dim level are constants: no solve needed.
        power_kw, dim_pct = handle.power_kw.values().tolist(), handle.dim_pct.values().tolist()
        for t, fraction in enumerate(handle.on_fraction):
            energy_mwh += power_kw[t] * step_h / 1000.0
            if fraction > 0:
                lit_steps += 1
                below += int(dim_pct[t] < handle.min_dim_pct[t] - 1e-6)
    return energy_mwh, lit_steps, below


def _lift_export_limits(model: ClusterModel) -> None:
    """Let the points whose fixed plant or storage could push them over their limit export."""
    assets = model.inputs.config.assets
    pushed = {b.connection_point for b in assets.batteries}
    pushed |= {c.connection_point for c in assets.wte_chps}
    for cp_id in pushed:
        export = model.connection_points[cp_id].export_kw
        for t in range(model.horizon.n_steps):
            export[t].setub(None)


def money_cost_pln(schedule: Schedule, config: ClusterConfig, *, standalone: bool) -> float:
    """What a realised day cost in money, PLN.

    The schedule's cost rows without :data:`PENALTIES`. With ``standalone``
    the rows of :data:`JOINT_PURCHASE` are replaced by each member's own
    supply: for every connection point and step

    .. math::

        K = \\sum_{c,t} \\Delta t / 1000 \\left(p^{imp}_{c,t}\\,\\pi_{m(c)}
            - p^{exp}_{c,t}\\,(\\lambda_t - \\phi)\\right)

    with :math:`\\pi_{m}` the member's ``standalone_price_pln_per_mwh`` (the
    cluster's ``settlement.standalone_price_pln_per_mwh`` when unset),
    :math:`\\lambda_t` the day-ahead price and :math:`\\phi`
    ``settlement.standalone_sell_fee_pln_per_mwh`` (PLN/MWh), :math:`\\Delta t` h.

    Parameters
    ----------
    schedule
        A realised (or planned) schedule.
    config
        The cluster.
    standalone
        Price every member's energy on its own instead of the joint purchase.
    """
    costs = schedule.costs
    dropped = PENALTIES | (JOINT_PURCHASE if standalone else frozenset())
    kept = ~costs["component"].isin([str(c) for c in dropped])
    total = float(costs.loc[kept, "cost_pln"].sum())
    if not standalone:
        return total
    step_h = schedule.step_minutes / 60.0
    terms = config.settlement
    members = {m.id: m for m in config.members}
    price = {
        cp.id: terms.standalone_price_for(members[cp.member]) for cp in config.connection_points
    }
    points = schedule.connection_points
    day_ahead = schedule.cluster["price_pln_per_mwh"].reindex(pd.DatetimeIndex(points["ts"]))
    sell = day_ahead.to_numpy(dtype=float) - terms.standalone_sell_fee_pln_per_mwh
    buy = points["connection_point"].map(price).to_numpy(dtype=float)
    energy = points["import_kw"].to_numpy(dtype=float) * buy
    energy -= points["export_kw"].to_numpy(dtype=float) * sell
    return total + float(energy.sum()) * step_h / 1000.0


def _export_over_limit_mwh(schedule: Schedule, config: ClusterConfig) -> float:
    limits = {cp.id: cp.export_limit_kw for cp in config.connection_points}
    points = schedule.connection_points
    over = points["export_kw"] - points["connection_point"].map(limits)
    return float(over.clip(lower=0).sum()) * schedule.step_minutes / 60.0 / 1000.0


def settle_day(
    config: ClusterConfig,
    day: date,
    steps: pd.DatetimeIndex,
    actual: pd.DataFrame,
    decisions: Decisions,
    options: ModelOptions,
    *,
    co2: Co2Pricing,
    standalone: bool = False,
    solve_options: SolveOptions | None = None,
) -> RealisedDay:
    """Settle one day's fixed commands against its actual values.

    Parameters
    ----------
    config
        The cluster, with each battery's ``soc_initial_pct`` at its state before the day.
    day, steps
        The local day and its UTC step starts.
    actual
        Actual values on ``steps``: the columns of
        :attr:`~optimisation.inputs.PlanningInputs.forecasts` (kW, °C,
        vehicles/h, lamps-on fraction) and ``SeriesId.DAY_AHEAD_PRICE`` (PLN/MWh).
    decisions
        The commands of the day.
    options
        The state before the day (``wte_initial``, ``gas_holder_initial_pct``,
        ``heat_store_initial_pct``, ``battery_end_soc_pct``, and a
        ``zone_initial_temp_c`` for every zone).
    co2
        The emission factors counted (its price is not charged in the cost).
    standalone
        Price energy as every member alone (the uncoordinated baseline).
    solve_options
        Solver settings for the settlement.

    Raises
    ------
    SettlementError
        If a zone has no start temperature, or the settlement has no solution.
    """
    inputs = PlanningInputs(
        config=config,
        day=day,
        steps=steps,
        forecasts=actual.drop(columns=[SeriesId.DAY_AHEAD_PRICE]),
        day_ahead_price_pln_per_mwh=actual[SeriesId.DAY_AHEAD_PRICE],
    )
    started = time.perf_counter()
    zero_price = dataclasses.replace(co2, price_pln_per_t=0.0)
    # Money only: the headroom is a planning penalty against forecast error.
    settling = dataclasses.replace(
        options,
        co2=zero_price,
        excluded_zones=frozenset(),
        capacity_headroom_pct=0.0,
        lighting_dim_pct=_commanded_dim_pct(config, decisions, len(steps)),
    )
    model = build_model(inputs, settling)
    _fix_batteries(model, decisions)
    _fix_wte(model, decisions)
    occupied_h, violated_h = _fix_zones(model, decisions)
    lighting_mwh, lit_steps, below = _lighting_outcome(model)
    _lift_export_limits(model)
    result = solve(model, solve_options)
    if not result.has_plan:
        raise SettlementError(
            f"the settlement of {day} against its actual values ended {result.status} "
            f"({result.termination})",
            fix="check the actual heat demand and plant limits of the day "
            "(the heat network's boiler must cover what the fixed WtE heat does not)",
        )
    schedule = extract_schedule(model, inputs, result)
    totals = energy_totals(schedule)
    peaks = connection_point_peaks(schedule)
    overrun = schedule.costs.loc[
        schedule.costs["component"] == str(CostComponent.CAPACITY_OVERRUN), "cost_pln"
    ]
    metrics = DayMetrics(
        cost_pln=money_cost_pln(schedule, config, standalone=standalone),
        overrun_steps=int(peaks["overrun_steps"].sum()),
        overrun_charge_pln=float(overrun.sum()),
        load_mwh=totals.load_mwh,
        local_mwh=totals.local_share * totals.load_mwh,
        imported_mwh=totals.imported_mwh,
        exported_mwh=totals.exported_mwh,
        export_over_limit_mwh=_export_over_limit_mwh(schedule, config),
        lighting_mwh=lighting_mwh,
        lit_circuit_steps=lit_steps,
        below_class_steps=below,
        occupied_zone_h=occupied_h,
        comfort_violation_zone_h=violated_h,
        co2_t=float(schedule.meta.get("co2_t", math.nan)),
    )
    return RealisedDay(schedule, metrics, time.perf_counter() - started)
