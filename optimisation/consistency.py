"""Checks made before a model is built, so that a day that cannot be planned says why.

:func:`check_consistency` runs :func:`~optimisation.inputs.check_inputs` (the
time grid, the indexes, NaN, infinity, signs), then looks for forecasts in the
wrong unit and for limits that cannot all hold: a waste-to-energy plant that
cannot burn its daily minimum in the hours it is available, heat it must make
that its network cannot take, a heat demand that the plant, the boiler and
the store together cannot meet, a battery that cannot reach its end-of-day
target, or an initial state outside an asset's limits. Each message names the
asset, the field and the steps, and says how to fix it. The checks are
necessary conditions only: a day that passes may still be infeasible through
the interplay of limits, which the solve then reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from cluster.config import Battery, ClusterConfig, DistrictHeating, WasteToEnergyCHP
from cluster.timeseries import SeriesId
from optimisation.components.district_heat import store_initial_kwh
from optimisation.components.wte import (
    UNAVAILABLE_BELOW_SHARE_OF_MIN,
    WteState,
    available_steps,
    initial_state,
    start_up_limit_kw,
    waste_days,
)
from optimisation.errors import PlanningInputError
from optimisation.inputs import PlanningInputs, check_inputs

if TYPE_CHECKING:
    from optimisation.model import ModelOptions

#: A forecast whose peak lies this many times below (or above) the scale its
#: asset's configuration implies is taken for a unit mistake (MW or W as kW).
UNIT_MISTAKE_FACTOR = 200.0
#: Slack on comparisons of energies, kWh, so that rounding never refuses a day.
TOLERANCE_KWH = 1e-3
_HOURS_PER_YEAR = 8760.0


def check_consistency(inputs: PlanningInputs, options: ModelOptions) -> None:
    """Check that the inputs and options describe a day that can be planned.

    Raises
    ------
    PlanningInputError
        On the first problem found, naming the asset, the field and the
        steps concerned, with the fix.
    """
    check_inputs(inputs)
    config = inputs.config
    _check_state_options(config, options)
    _check_units(inputs)
    for battery in config.assets.batteries:
        _check_battery(battery, inputs, options.battery_end_soc_pct.get(battery.id))
    for engine in config.assets.biogas_chps:
        _check_range(
            f"biogas CHP {engine.id!r}", "engine", engine.engine_min_kw, engine.engine_max_kw
        )
    networks = {n.id: n for n in config.assets.district_heating}
    for chp in config.assets.wte_chps:
        owner = f"waste-to-energy CHP {chp.id!r}"
        _check_range(owner, "electric", chp.electric_min_kw, chp.electric_max_kw)
        if chp.district_heating is not None and chp.district_heating not in networks:
            raise PlanningInputError(
                f"{owner} sends its heat to district_heating {chp.district_heating!r}, "
                "which is not a district-heating network of the cluster",
                fix=f"use one of: {', '.join(sorted(networks)) or '(none)'}",
            )
        state = initial_state(chp, options.wte_initial.get(chp.id))
        _check_wte_state(chp, state, "the initial state")
        _check_wte_can_stop(chp, state, inputs)
        _check_wte_daily_minimum(chp, state, inputs)
    for network in networks.values():
        store_pct = options.heat_store_initial_pct.get(network.id)
        _check_heat_supply(network, inputs, store_pct)
        _check_heat_surplus(network, inputs, store_pct)


# --- helpers -----------------------------------------------------------------------------


def _when(inputs: PlanningInputs, positions: np.ndarray | list[int]) -> str:
    """The steps at ``positions`` in words, in local time."""
    local = inputs.steps.tz_convert(inputs.config.cluster.zone)
    chosen = [int(p) for p in positions]
    first, last = local[chosen[0]], local[chosen[-1]]
    if len(chosen) == 1:
        return f"step {chosen[0]} ({first:%Y-%m-%d %H:%M} local)"
    return (
        f"{len(chosen)} steps from step {chosen[0]} ({first:%Y-%m-%d %H:%M} local) "
        f"to step {chosen[-1]} ({last:%Y-%m-%d %H:%M})"
    )


def _check_range(owner: str, prefix: str, low: float, high: float) -> None:
    if low > high:
        raise PlanningInputError(
            f"{owner} has {prefix}_min_kw {low} above {prefix}_max_kw {high}",
            fix=f"lower {prefix}_min_kw or raise {prefix}_max_kw",
        )


def _check_percent(owner: str, name: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise PlanningInputError(
            f"the {name} given for {owner} is {value} %, outside 0-100 %",
            fix=f"give {name} as a percentage between 0 and 100 (a measured level)",
        )


def _unknown(kind: str, given: str, known: Mapping[str, object], option: str) -> None:
    if given not in known:
        raise PlanningInputError(
            f"ModelOptions.{option} names {given!r}, which is not a {kind} of the cluster",
            fix=f"use one of: {', '.join(sorted(known)) or '(none)'}",
        )


def _check_state_options(config: ClusterConfig, options: ModelOptions) -> None:
    chps = {c.id: c for c in config.assets.wte_chps}
    for chp_id in options.wte_initial:
        _unknown("waste-to-energy CHP", chp_id, chps, "wte_initial")
    engines = {c.id: c for c in config.assets.biogas_chps}
    for chp_id, pct in options.gas_holder_initial_pct.items():
        _unknown("biogas CHP", chp_id, engines, "gas_holder_initial_pct")
        _check_percent(f"biogas CHP {chp_id!r}", "gas_holder_initial_pct", pct)
    networks = {n.id: n for n in config.assets.district_heating}
    for network_id, pct in options.heat_store_initial_pct.items():
        _unknown("district-heating network", network_id, networks, "heat_store_initial_pct")
        _check_percent(f"district-heating network {network_id!r}", "heat_store_initial_pct", pct)


# --- units ---------------------------------------------------------------------------------


def _check_scale(inputs: PlanningInputs, series_id: str, owner: str, field: str,
                 scale_kw: float, *, may_be_small: bool = False) -> None:  # fmt: skip
    """Refuse a forecast whose peak is ~1000 × off the scale its configuration implies."""
    if series_id not in inputs.forecasts.columns or scale_kw <= 0:
        return
    peak_kw = float(np.max(inputs.series(series_id), initial=0.0))
    if not may_be_small and 0.0 < peak_kw < scale_kw / UNIT_MISTAKE_FACTOR:
        raise PlanningInputError(
            f"forecast {series_id!r} of {owner} peaks at {peak_kw:.4g} kW, less than "
            f"1/{UNIT_MISTAKE_FACTOR:.0f} of the {scale_kw:.0f} kW its {field} implies: "
            "it looks like MW given as kW",
            fix="give the forecast in kW (MW × 1000)",
        )
    if peak_kw > scale_kw * UNIT_MISTAKE_FACTOR:
        raise PlanningInputError(
            f"forecast {series_id!r} of {owner} peaks at {peak_kw:.4g} kW, more than "
            f"{UNIT_MISTAKE_FACTOR:.0f} × the {scale_kw:.0f} kW its {field} implies: "
            "it looks like W given as kW",
            fix="give the forecast in kW (W / 1000)",
        )


def _check_units(inputs: PlanningInputs) -> None:
    config = inputs.config
    assets = config.assets
    for cp in config.connection_points:
        mean_kw = cp.annual_consumption_mwh * 1000.0 / _HOURS_PER_YEAR
        _check_scale(inputs, SeriesId.load(cp.id), f"connection point {cp.id!r}",
                     "annual_consumption_mwh", mean_kw)  # fmt: skip
    for plant in assets.pv_plants:
        # A dark winter day's PV is legitimately tiny: only a too-large forecast is refused.
        _check_scale(inputs, SeriesId.pv(plant.id), f"PV plant {plant.id!r}", "kwp",
                     plant.kwp, may_be_small=True)  # fmt: skip
    for chp in assets.wte_chps:
        _check_scale(inputs, SeriesId.wte(chp.id), f"waste-to-energy CHP {chp.id!r}",
                     "electric_max_kw", chp.electric_max_kw)  # fmt: skip
    for engine in assets.biogas_chps:
        _check_scale(inputs, SeriesId.biogas_inflow(engine.id), f"biogas CHP {engine.id!r}",
                     "engine_max_kw / electric_efficiency",
                     engine.engine_max_kw / engine.electric_efficiency)  # fmt: skip
    for network in assets.district_heating:
        _check_scale(inputs, SeriesId.heat_demand(network.id),
                     f"district-heating network {network.id!r}", "annual_heat_demand_mwh",
                     network.annual_heat_demand_mwh * 1000.0 / _HOURS_PER_YEAR)  # fmt: skip


# --- batteries -----------------------------------------------------------------------------


def _check_battery(battery: Battery, inputs: PlanningInputs, end_pct: float | None) -> None:
    owner = f"battery {battery.id!r}"
    low, high, start = battery.soc_min_pct, battery.soc_max_pct, battery.soc_initial_pct
    if low > high:
        raise PlanningInputError(
            f"{owner} has soc_min_pct {low} above soc_max_pct {high}: no state of charge "
            "satisfies both",
            fix="swap soc_min_pct and soc_max_pct",
        )
    if not low <= start <= high:
        raise PlanningInputError(
            f"{owner} starts at soc_initial_pct {start}, outside its limits {low}-{high} % "
            "(soc_min_pct-soc_max_pct)",
            fix="give the measured state of charge within the limits, or widen the limits",
        )
    target_pct = start if end_pct is None else end_pct
    rise_kwh = battery.energy_kwh * (target_pct - start) / 100.0
    hours = len(inputs.steps) * inputs.step_hours
    most_kwh = math.sqrt(battery.round_trip_efficiency) * battery.power_kw * hours
    if rise_kwh > most_kwh + TOLERANCE_KWH:
        raise PlanningInputError(
            f"{owner} cannot reach its end-of-day state of charge {target_pct} %: from "
            f"soc_initial_pct {start} % that is {rise_kwh:.1f} kWh more, but at power_kw "
            f"{battery.power_kw} and round_trip_efficiency {battery.round_trip_efficiency} it "
            f"can store at most {most_kwh:.1f} kWh in the {len(inputs.steps)} planned steps",
            fix="lower the target in ModelOptions.battery_end_soc_pct, or plan more steps",
        )


# --- waste-to-energy -----------------------------------------------------------------------


def _check_wte_state(chp: WasteToEnergyCHP, state: WteState, what: str) -> None:
    owner = f"waste-to-energy CHP {chp.id!r}"
    output = state.output_kw
    if output is None:
        return
    if not state.on and output != 0:
        raise PlanningInputError(
            f"{what} of {owner} is off with an output of {output} kW",
            fix="give output 0 for a plant that is off, or mark it on",
        )
    if state.on and not chp.electric_min_kw <= output <= chp.electric_max_kw:
        raise PlanningInputError(
            f"{what} of {owner} is on at {output} kW, outside its running range "
            f"{chp.electric_min_kw}-{chp.electric_max_kw} kW (electric_min_kw-electric_max_kw)",
            fix="give the output measured before the first step, or leave it unknown (None)",
        )


def _check_wte_can_stop(chp: WasteToEnergyCHP, state: WteState, inputs: PlanningInputs) -> None:
    """A plant running at the start must be able to ramp down before its first outage step."""
    available = available_steps(chp, inputs)
    if not state.on or state.output_kw is None or available.all():
        return
    first_off = int(np.argmin(available))
    step_h = inputs.step_hours
    lowest_kw = state.output_kw - chp.ramp_kw_per_hour * step_h * first_off
    stop_kw = start_up_limit_kw(chp, step_h)
    if lowest_kw > stop_kw + TOLERANCE_KWH:
        raise PlanningInputError(
            f"waste-to-energy CHP {chp.id!r} runs at {state.output_kw} kW before the first "
            f"step and cannot ramp down (ramp_kw_per_hour {chp.ramp_kw_per_hour}) to the "
            f"{stop_kw:.0f} kW it may stop from before it is unavailable at "
            f"{_when(inputs, [first_off])}",
            fix=f"check the availability forecast {SeriesId.wte(chp.id)!r} (below "
            f"{UNAVAILABLE_BELOW_SHARE_OF_MIN} × electric_min_kw means unavailable) and the "
            "initial output",
        )


def most_output_kw(chp: WasteToEnergyCHP, state: WteState, available: np.ndarray,
                   step_h: float) -> np.ndarray:  # fmt: skip
    """An upper bound on the plant's output in each step, kW, from its ramps and outages.

    Forward from the initial state the output can rise by at most
    ``ramp_kw_per_hour`` × step (from the start-up limit after a start);
    backward from each outage it must come down to the start-up limit
    before the plant stops.
    """
    n = len(available)
    ramp = chp.ramp_kw_per_hour * step_h
    jump = min(chp.electric_max_kw, start_up_limit_kw(chp, step_h))
    forward = np.zeros(n)
    # Running with an unknown output: the first step is not ramp-limited.
    before = 0.0
    if state.on:
        before = chp.electric_max_kw if state.output_kw is None else state.output_kw
    for t in range(n):
        if available[t]:
            forward[t] = min(chp.electric_max_kw, before + ramp) if before > 0 else jump
        before = forward[t]
    backward = np.full(n, chp.electric_max_kw)
    for t in range(n - 2, -1, -1):
        backward[t] = backward[t + 1] + ramp if available[t + 1] else jump
    return np.where(available, np.minimum(forward, backward), 0.0)


def _check_wte_daily_minimum(chp: WasteToEnergyCHP, state: WteState,
                             inputs: PlanningInputs) -> None:  # fmt: skip
    available = available_steps(chp, inputs)
    step_h = inputs.step_hours
    most_kw = most_output_kw(chp, state, available, step_h)
    for day in waste_days(chp, inputs, available):
        if day.required_mwh <= 0:
            continue
        positions = list(day.positions)
        most_mwh = float(most_kw[positions].sum()) * step_h / 1000.0 / chp.electric_efficiency
        if day.required_mwh <= most_mwh + TOLERANCE_KWH / 1000.0:
            continue
        off = [p for p in positions if not available[p]]
        outage = f"; it is unavailable in {_when(inputs, off)}" if off else ""
        raise PlanningInputError(
            f"waste-to-energy CHP {chp.id!r} cannot burn its daily_min_waste_mwh on {day.day}: "
            f"{chp.daily_min_waste_mwh} MWh × {len(positions)} planned of the day's "
            f"{round(len(positions) / day.share_of_day)} steps = {day.required_mwh:.1f} MWh of "
            f"waste, but at electric_max_kw {chp.electric_max_kw}, ramp_kw_per_hour "
            f"{chp.ramp_kw_per_hour} and electric_efficiency {chp.electric_efficiency} it "
            f"burns at most {most_mwh:.1f} MWh in those steps{outage}",
            fix=f"lower daily_min_waste_mwh for this day, or check the availability forecast "
            f"{SeriesId.wte(chp.id)!r} (below {UNAVAILABLE_BELOW_SHARE_OF_MIN} × "
            "electric_min_kw means unavailable)",
        )


# --- district heat -------------------------------------------------------------------------


def _feeding(network: DistrictHeating, config: ClusterConfig) -> list[WasteToEnergyCHP]:
    return [c for c in config.assets.wte_chps if c.district_heating == network.id]


def _check_heat_supply(network: DistrictHeating, inputs: PlanningInputs,
                       store_pct: float | None) -> None:  # fmt: skip
    """Demand must be met by the plants' largest heat, the boiler and what the store can hold."""
    step_h = inputs.step_hours
    demand_kw = inputs.series(SeriesId.heat_demand(network.id))
    supply_kw = np.full(len(demand_kw), network.gas_boiler_max_kw)
    for chp in _feeding(network, inputs.config):
        supply_kw += chp.heat_to_power_ratio * chp.electric_max_kw * available_steps(chp, inputs)
    keep = 1.0 - network.heat_store_loss_pct_per_hour / 100.0 * step_h
    level_kwh = store_initial_kwh(network, store_pct)
    for t, (demand, supply) in enumerate(zip(demand_kw, supply_kw, strict=True)):
        level_kwh = min(network.heat_store_kwh, level_kwh * keep + (supply - demand) * step_h)
        if level_kwh < -TOLERANCE_KWH:
            short = np.flatnonzero(demand_kw > supply_kw)
            raise PlanningInputError(
                f"district-heating network {network.id!r} cannot meet its heat demand at "
                f"{_when(inputs, [t])}: {demand:.0f} kW asked, at most {supply:.0f} kW from the "
                f"waste-to-energy heat and gas_boiler_max_kw {network.gas_boiler_max_kw}, and "
                f"the heat store (heat_store_kwh {network.heat_store_kwh}) is empty by then; "
                f"demand exceeds that supply in {_when(inputs, short)}",
                fix=f"check that the forecast {SeriesId.heat_demand(network.id)!r} is in kW, "
                "or raise gas_boiler_max_kw to the network's real boiler capacity",
            )


def _check_heat_surplus(network: DistrictHeating, inputs: PlanningInputs,
                        store_pct: float | None) -> None:  # fmt: skip
    """The heat of the waste that must be burned must fit into demand, store and cooler."""
    step_h = inputs.step_hours
    forced_kwh = 0.0
    for chp in _feeding(network, inputs.config):
        available = available_steps(chp, inputs)
        waste_mwh = sum(d.required_mwh for d in waste_days(chp, inputs, available))
        forced_kwh += waste_mwh * 1000.0 * chp.electric_efficiency * chp.heat_to_power_ratio
    if forced_kwh <= 0:
        return
    hours = len(inputs.steps) * step_h
    demand_kwh = float(inputs.series(SeriesId.heat_demand(network.id)).sum()) * step_h
    room_kwh = network.heat_store_kwh - store_initial_kwh(network, store_pct)
    losses_kwh = network.heat_store_loss_pct_per_hour / 100.0 * network.heat_store_kwh * hours
    cooler_kwh = network.emergency_cooler_kw * hours
    takes_kwh = demand_kwh + room_kwh + losses_kwh + cooler_kwh
    if forced_kwh > takes_kwh + TOLERANCE_KWH:
        raise PlanningInputError(
            f"district-heating network {network.id!r} cannot take the heat of the waste its "
            f"plants must burn in the {len(inputs.steps)} planned steps: "
            f"{forced_kwh / 1000:.1f} MWh of heat (daily_min_waste_mwh × electric_efficiency × "
            f"heat_to_power_ratio) against at most {takes_kwh / 1000:.1f} MWh taken (demand "
            f"{demand_kwh / 1000:.1f}, heat store room and losses "
            f"{(room_kwh + losses_kwh) / 1000:.1f}, emergency_cooler_kw "
            f"{network.emergency_cooler_kw} × {hours:g} h)",
            fix="declare the network's emergency_cooler_kw, check that the forecast "
            f"{SeriesId.heat_demand(network.id)!r} is in kW, or lower daily_min_waste_mwh",
        )
