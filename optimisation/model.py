"""The orchestrator: checks the inputs, then calls every component's builder in order.

The model is a recipe. Each component adds its variables and rows and returns
typed handles; assets meet at their connection point's bus through
:class:`~optimisation.components.bus.Injection` records, connection points
meet the joint purchase in the cluster balance, and the objective is the sum
of every component's :class:`~optimisation.components.costs.CostTerm`. A new
component is one more builder called here, one more field of
:class:`ClusterModel`, and its injections and cost terms added to the lists.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.var import VarData

from optimisation.components.balance import ClusterBalanceHandle, add_cluster_balance
from optimisation.components.battery import BatteryHandle, add_batteries
from optimisation.components.biogas import BiogasHandle, add_biogas_chps
from optimisation.components.building import (
    BuildingHandle,
    add_buildings,
    check_building_inputs,
)
from optimisation.components.bus import Injection
from optimisation.components.connection import ConnectionPointHandle, add_connection_points
from optimisation.components.costs import CostTerm
from optimisation.components.district_heat import DistrictHeatHandle, add_district_heating
from optimisation.components.emissions import Co2Pricing, EmissionsHandle, add_emissions
from optimisation.components.forecast_share import (
    ForecastCorrectionHandle,
    add_forecast_corrections,
)
from optimisation.components.lighting import (
    LightingCircuitHandle,
    add_lighting,
    check_lighting_inputs,
)
from optimisation.components.purchasing import PurchasingHandle, add_purchasing
from optimisation.components.pv import PVPlantHandle, add_pv_plants
from optimisation.components.wte import WteHandle, WteState, add_wte_chps
from optimisation.consistency import check_consistency
from optimisation.errors import PlanningInputError
from optimisation.horizon import Horizon, define_horizon
from optimisation.inputs import PlanningInputs
from optimisation.rows import LinearRows

#: Headroom a plan keeps below every contracted capacity by default, % of it.
DEFAULT_CAPACITY_HEADROOM_PCT = 5.0


@dataclass(frozen=True)
class ModelOptions:
    """Choices about how the day is modelled (the data itself is in the inputs).

    Attributes
    ----------
    battery_end_soc_pct
        End-of-day state-of-charge floor per battery id, % of its capacity;
        a battery not named must end at least at its initial state of charge.
    wte_initial
        State of a waste-to-energy plant before the first step, per plant id
        (e.g. measured); a plant not named starts from its configuration.
    gas_holder_initial_pct, heat_store_initial_pct
        Gas holder level per biogas CHP id and heat store level per
        district-heating network id before the first step, % of capacity;
        the configuration's when not named.
    co2
        A price on CO2 with its emission factors; ``None`` leaves CO2 out.
    comfort_penalty_pln_per_kh
        Penalty of a building zone outside its comfort band, PLN per kelvin-hour:
        high enough that comfort gives way only where the band cannot be held.
    zone_initial_temp_c
        Room temperature before the first step per zone asset id
        ``<building>/<zone>`` (e.g. measured), °C; a zone not named starts at
        its configured ``initial_temp_c``, else the day is planned periodic.
    excluded_zones
        Zone asset ids ``<building>/<zone>`` left out of the building
        flexibility, e.g. because a higher BACnet priority holds their setpoint
        so klaster's commands would not act: they get no setpoint plan and
        their heating stays in the connection point's load forecast.
    capacity_headroom_pct
        Headroom kept below every connection point's contracted capacity, %
        of it: import into the headroom is a declared penalty at the overrun
        price (see :func:`~optimisation.components.connection.add_connection_points`),
        so a plan made on forecasts leaves room for the actual demand coming
        out higher. 0 turns it off, as for a plan on known values or a settlement.
    lighting_dim_pct
        Dim levels given per lighting circuit id, % per step (e.g. as
        commanded, for a settlement): such a circuit is not planned, whatever
        its floor; its lamps burn at these levels.
    """

    battery_end_soc_pct: Mapping[str, float] = field(default_factory=dict)
    wte_initial: Mapping[str, WteState] = field(default_factory=dict)
    gas_holder_initial_pct: Mapping[str, float] = field(default_factory=dict)
    heat_store_initial_pct: Mapping[str, float] = field(default_factory=dict)
    co2: Co2Pricing | None = None
    comfort_penalty_pln_per_kh: float = 1000.0
    zone_initial_temp_c: Mapping[str, float] = field(default_factory=dict)
    excluded_zones: frozenset[str] = frozenset()
    capacity_headroom_pct: float = DEFAULT_CAPACITY_HEADROOM_PCT
    lighting_dim_pct: Mapping[str, Sequence[float] | np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSize:
    """How large a model is: variables (of which binary) and constraints."""

    n_variables: int
    n_binaries: int
    n_constraints: int


@dataclass(frozen=True)
class ClusterModel:
    """A built model of one planned day, with handles on every component.

    Attributes
    ----------
    model
        The Pyomo model; each component is a block of it.
    inputs, options
        What it was built from.
    horizon
        Its steps and hours.
    pv_plants, batteries, wte_chps, district_heating, biogas_chps, connection_points
        Handles by asset or connection point id.
    purchasing, cluster_balance
        The joint purchase and the cluster balance.
    emissions
        The cluster's CO2, when priced.
    buildings, lighting_circuits
        Handles by building and circuit id.
    forecast_corrections
        What comes off each connection point's load forecast because a
        component plans that demand itself, by connection point id.
    cost_terms
        Every cost term; the objective is the sum of the optimised ones.
    build_time_s
        Wall time the checks and the build took, s.
    """

    model: pyo.ConcreteModel
    inputs: PlanningInputs
    options: ModelOptions
    horizon: Horizon
    pv_plants: Mapping[str, PVPlantHandle]
    batteries: Mapping[str, BatteryHandle]
    wte_chps: Mapping[str, WteHandle]
    district_heating: Mapping[str, DistrictHeatHandle]
    biogas_chps: Mapping[str, BiogasHandle]
    connection_points: Mapping[str, ConnectionPointHandle]
    purchasing: PurchasingHandle
    cluster_balance: ClusterBalanceHandle
    emissions: EmissionsHandle | None
    buildings: Mapping[str, BuildingHandle]
    lighting_circuits: Mapping[str, LightingCircuitHandle]
    forecast_corrections: Mapping[str, ForecastCorrectionHandle]
    cost_terms: tuple[CostTerm, ...]
    build_time_s: float

    @property
    def objective(self) -> pyo.Objective:
        """The objective: total cost of the planned steps, PLN."""
        return self.model.total_cost_pln

    def size(self) -> ModelSize:
        """Count the active variables, binaries and constraints."""
        # Component by component: Pyomo's walk over every data object of the
        # model costs more than the counting itself.
        n_variables = n_binaries = n_constraints = 0
        for var in self.model.component_objects(pyo.Var, active=True):
            n_variables += len(var)
            n_binaries += sum(map(VarData.is_binary, var.values()))
        for constraint in self.model.component_objects(pyo.Constraint, active=True):
            if isinstance(constraint, LinearRows):
                # Read from the rows' flags, without making their row objects.
                n_constraints += int(constraint.active_rows().sum())
            else:
                n_constraints += sum(map(attrgetter("active"), constraint.values()))
        return ModelSize(n_variables, n_binaries, n_constraints)


def check_options(inputs: PlanningInputs, options: ModelOptions) -> None:
    """Check the options against the configuration.

    Raises
    ------
    PlanningInputError
        If an end-of-day target names an unknown battery or lies outside its
        state-of-charge limits, given dim levels name an unknown lighting
        circuit, do not cover the day or lie outside 0-100 %, or the capacity
        headroom is not a share from 0 up to 100 %.
    """
    if not 0.0 <= options.capacity_headroom_pct < 100.0:
        raise PlanningInputError(
            f"the capacity headroom {options.capacity_headroom_pct} % is not a share "
            "of the contracted capacity",
            fix="set ModelOptions.capacity_headroom_pct from 0 (none) up to below 100",
        )
    circuits = {c.id for c in inputs.config.assets.lighting_circuits}
    for circuit_id, dim_pct in options.lighting_dim_pct.items():
        if circuit_id not in circuits:
            raise PlanningInputError(
                f"dim levels are given for {circuit_id!r}, which is not a lighting circuit "
                "of the cluster",
                fix=f"use one of the circuit ids: {', '.join(sorted(circuits)) or '(none)'}",
            )
        if len(dim_pct) != len(inputs.steps):
            raise PlanningInputError(
                f"{len(dim_pct)} dim levels are given for lighting circuit {circuit_id!r}, "
                f"the day has {len(inputs.steps)} steps",
                fix="give one dim level (%) per step of the day",
            )
        levels = np.asarray(dim_pct, dtype=float)
        if not (np.isfinite(levels).all() and levels.min(initial=0.0) >= 0.0
                and levels.max(initial=0.0) <= 100.0):  # fmt: skip
            raise PlanningInputError(
                f"the dim levels given for lighting circuit {circuit_id!r} are not all "
                "from 0 to 100 %",
                fix="give every step a level from 0 to 100 (100 = full output where no "
                "command was sent)",
            )
    batteries = {b.id: b for b in inputs.config.assets.batteries}
    for battery_id, target_pct in options.battery_end_soc_pct.items():
        battery = batteries.get(battery_id)
        if battery is None:
            raise PlanningInputError(
                f"an end-of-day state of charge is set for {battery_id!r}, "
                "which is not a battery of the cluster",
                fix=f"use one of the battery ids: {', '.join(sorted(batteries)) or '(none)'}",
            )
        if not battery.soc_min_pct <= target_pct <= battery.soc_max_pct:
            raise PlanningInputError(
                f"the end-of-day state of charge {target_pct} % set for battery {battery_id!r} "
                f"lies outside its limits {battery.soc_min_pct}-{battery.soc_max_pct} %",
                fix="set a target between soc_min_pct and soc_max_pct",
            )


def build_model(inputs: PlanningInputs, options: ModelOptions | None = None) -> ClusterModel:
    """Check the inputs and build the day's MILP.

    Parameters
    ----------
    inputs
        Configuration, steps, forecasts (kW) and day-ahead prices (PLN/MWh).
    options
        Modelling choices; the defaults when ``None``.

    Raises
    ------
    PlanningInputError
        If the inputs or options cannot be planned with (see
        :func:`~optimisation.consistency.check_consistency`).
    """
    # The build allocates hundreds of thousands of Pyomo objects that all stay
    # alive: a paused collector skips the repeated full scans of them.
    with PauseGC():
        return _build_model(inputs, options or ModelOptions(), time.perf_counter())


def _build_model(inputs: PlanningInputs, options: ModelOptions, started: float) -> ClusterModel:
    """Build the model of :func:`build_model`, the build started at ``started`` (s)."""
    check_options(inputs, options)
    check_consistency(inputs, options)
    check_building_inputs(inputs, options.zone_initial_temp_c)
    check_lighting_inputs(inputs)

    model = pyo.ConcreteModel(name=f"klaster {inputs.day.isoformat()}")
    horizon = define_horizon(model, inputs)
    pv_plants = add_pv_plants(model, horizon, inputs)
    batteries = add_batteries(model, horizon, inputs, options.battery_end_soc_pct)
    wte_chps = add_wte_chps(model, horizon, inputs, options.wte_initial)
    district_heating = add_district_heating(
        model, horizon, inputs, wte_chps, options.heat_store_initial_pct
    )
    biogas_chps = add_biogas_chps(model, horizon, inputs, options.gas_holder_initial_pct)
    buildings = add_buildings(
        model,
        horizon,
        inputs,
        options.comfort_penalty_pln_per_kh,
        options.zone_initial_temp_c,
        excluded_zones=options.excluded_zones,
    )
    lighting_circuits = add_lighting(model, horizon, inputs, options.lighting_dim_pct)
    forecast_corrections = add_forecast_corrections(
        horizon,
        inputs,
        [
            *(h.forecast_share for h in buildings.values()),
            *(h.forecast_share for h in lighting_circuits.values()),
        ],
    )
    injections: list[Injection] = [
        *(h.injection for h in pv_plants.values()),
        *(h.injection for h in batteries.values()),
        *(h.injection for h in wte_chps.values()),
        *(h.injection for h in biogas_chps.values()),
        *(h.injection for h in buildings.values()),
        *(h.injection for h in lighting_circuits.values()),
        *(h.injection for h in forecast_corrections.values()),
    ]
    connection_points = add_connection_points(
        model, horizon, inputs, injections, options.capacity_headroom_pct
    )
    purchasing = add_purchasing(model, horizon, inputs)
    cluster_balance = add_cluster_balance(model, horizon, connection_points, purchasing)
    emissions = None
    if options.co2 is not None:
        emissions = add_emissions(
            model, horizon, options.co2, purchasing, district_heating.values()
        )

    cost_terms = (
        *purchasing.cost_terms,
        *(term for cp in connection_points.values() for term in cp.cost_terms),
        *(term for battery in batteries.values() for term in battery.cost_terms),
        *(term for chp in wte_chps.values() for term in chp.cost_terms),
        *(term for network in district_heating.values() for term in network.cost_terms),
        *(term for chp in biogas_chps.values() for term in chp.cost_terms),
        *(emissions.cost_terms if emissions is not None else ()),
        *(term for building in buildings.values() for term in building.cost_terms),
    )
    model.total_cost_pln = pyo.Objective(
        expr=sum(term.expression for term in cost_terms if term.optimised), sense=pyo.minimize
    )
    return ClusterModel(
        model=model,
        inputs=inputs,
        options=options,
        horizon=horizon,
        pv_plants=pv_plants,
        batteries=batteries,
        wte_chps=wte_chps,
        district_heating=district_heating,
        biogas_chps=biogas_chps,
        connection_points=connection_points,
        purchasing=purchasing,
        cluster_balance=cluster_balance,
        emissions=emissions,
        buildings=buildings,
        lighting_circuits=lighting_circuits,
        forecast_corrections=forecast_corrections,
        cost_terms=cost_terms,
        build_time_s=time.perf_counter() - started,
    )
