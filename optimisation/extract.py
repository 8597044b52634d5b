"""From a solved model to a :class:`~cluster.schedule.Schedule` of plain frames."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from cluster.schedule import ASSET_COLUMNS, CLUSTER_COLUMNS, CONNECTION_POINT_COLUMNS, Schedule
from optimisation.components.building import setpoint_plan_c
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.costs import CostComponent
from optimisation.errors import NoPlanError, OptimisationError
from optimisation.inputs import PlanningInputs
from optimisation.model import ClusterModel
from optimisation.solve import SolveResult

#: Values closer to zero than this are solver noise and reported as 0.
NOISE = 1e-7


def _clean(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    return np.where(np.abs(array) < NOISE, 0.0, array)


def _values(component: Any, positions: range) -> np.ndarray:
    """Values of a step-indexed Pyomo component (variable, expression or parameter)."""
    raw = [pyo.value(component[t], exception=False) for t in positions]
    if any(v is None for v in raw):
        raise OptimisationError(
            f"{component.name} holds no value although the solve reported a plan",
            fix="solve the model again; report it if this repeats",
        )
    return _clean(raw)


def _sum_injections(injections: Iterable[Injection], kind: InjectionKind,
                    positions: range) -> np.ndarray:  # fmt: skip
    total = np.zeros(len(positions))
    for injection in injections:
        if injection.kind is kind:
            total += _values(injection.power_kw, positions)
    return total


def _connection_point_frame(model: ClusterModel, positions: range) -> pd.DataFrame:
    steps = model.horizon.steps
    frames = []
    for handle in model.connection_points.values():
        on_bus = handle.injections
        # A controllable load is injected as negative power; it belongs to the load column.
        flexible_load = -_sum_injections(on_bus, InjectionKind.LOAD, positions)
        frames.append(
            pd.DataFrame(
                {
                    "ts": steps,
                    "connection_point": handle.connection_point.id,
                    "load_kw": _clean(np.asarray(handle.load_kw) + flexible_load),
                    "generation_kw": _sum_injections(on_bus, InjectionKind.GENERATION, positions),
                    "battery_net_kw": _sum_injections(on_bus, InjectionKind.STORAGE, positions),
                    "import_kw": _values(handle.import_kw, positions),
                    "export_kw": _values(handle.export_kw, positions),
                    "contracted_capacity_kw": handle.connection_point.contracted_capacity_kw,
                }
            )
        )
    return pd.concat(frames, ignore_index=True).loc[:, list(CONNECTION_POINT_COLUMNS)]


def _asset_rows(steps: pd.DatetimeIndex, asset_id: str, quantity: str, unit: str,
                values: np.ndarray) -> pd.DataFrame:  # fmt: skip
    return pd.DataFrame(
        {"ts": steps, "asset": asset_id, "quantity": quantity, "value": values, "unit": unit}
    )


def _plant_frames(model: ClusterModel, positions: range) -> list[pd.DataFrame]:
    """Rows of the waste-to-energy plants, the heat networks and the biogas engines."""
    steps = model.horizon.steps
    frames: list[pd.DataFrame] = []
    for chp_id, wte in model.wte_chps.items():
        frames += [
            # Binaries within the solver's integrality tolerance are reported as 0 or 1.
            _asset_rows(steps, chp_id, "on", "-", np.round(_values(wte.on, positions))),
            _asset_rows(steps, chp_id, "output_kw", "kW", _values(wte.output_kw, positions)),
            _asset_rows(steps, chp_id, "heat_kw", "kW", _values(wte.heat_kw, positions)),
            _asset_rows(steps, chp_id, "start", "-", np.round(_values(wte.start, positions))),
        ]
    for network_id, network in model.district_heating.items():
        frames += [
            _asset_rows(steps, network_id, quantity, unit, _values(component, positions))
            for quantity, unit, component in (
                ("boiler_kw", "kW", network.boiler_kw),
                ("store_level_kwh", "kWh", network.store_level_kwh),
                ("dump_kw", "kW", network.dump_kw),
                ("gas_cost", "PLN", network.gas_cost_pln),
            )
        ]
    for chp_id, biogas in model.biogas_chps.items():
        frames += [
            _asset_rows(steps, chp_id, quantity, unit, _values(component, positions))
            for quantity, unit, component in (
                ("output_kw", "kW", biogas.output_kw),
                ("holder_kwh", "kWh", biogas.holder_kwh),
                ("flare_kw", "kW", biogas.flare_kw),
            )
        ]
    return frames


def _building_frames(model: ClusterModel, positions: range) -> list[pd.DataFrame]:
    """Rows of the buildings and of their zones (asset ``<building>/<zone>``)."""
    steps = model.horizon.steps
    step_h = model.horizon.step_hours
    frames: list[pd.DataFrame] = []
    for building_id, building in model.buildings.items():
        electric = _values(building.electric_kw, positions)
        baseline = _clean(building.baseline_electric_kw)
        frames += [
            _asset_rows(steps, building_id, "electric_kw", "kW", electric),
            _asset_rows(steps, building_id, "in_load_forecast_kw", "kW", baseline),
        ]
        for zone in building.zones.values():
            temp = _values(zone.temp_c, positions)
            outside = _values(zone.too_cold_k, positions) + _values(zone.too_warm_k, positions)
            setpoint = np.array([
                setpoint_plan_c(float(v), low, high)
                for v, low, high in zip(temp, zone.band_min_c, zone.band_max_c, strict=True)
            ])  # fmt: skip
            frames += [
                _asset_rows(steps, zone.asset_id, "setpoint_c", "degC", setpoint),
                _asset_rows(steps, zone.asset_id, "temp_c", "degC", temp),
                _asset_rows(steps, zone.asset_id, "heat_kw", "kW",
                            _values(zone.heat_kw, positions)),
                _asset_rows(steps, zone.asset_id, "electric_kw", "kW",
                            _values(zone.electric_kw, positions)),
                _asset_rows(steps, zone.asset_id, "comfort_violation_kh", "K h",
                            _clean(outside * step_h)),
            ]  # fmt: skip
    return frames


def _lighting_frames(model: ClusterModel, positions: range) -> list[pd.DataFrame]:
    """Rows of the street-lighting circuits; ``class`` and ``min_dim_pct`` where lamps burn."""
    steps = model.horizon.steps
    frames: list[pd.DataFrame] = []
    for circuit_id, circuit in model.lighting_circuits.items():
        # The dim level is a sum of binaries: within the solver's tolerance of a whole %.
        dim = np.round(_values(circuit.dim_pct, positions), 6)
        lit = [t for t in positions if circuit.on_fraction[t] > 0]
        classes = np.array([c.number for c in circuit.classes if c is not None], dtype=float)
        floors = np.array([circuit.min_dim_pct[t] for t in lit], dtype=float)
        frames += [
            _asset_rows(steps, circuit_id, "dim_pct", "%", dim),
            _asset_rows(steps, circuit_id, "on", "-", np.array(circuit.on, dtype=float)),
            _asset_rows(steps, circuit_id, "power_kw", "kW", _values(circuit.power_kw, positions)),
            _asset_rows(steps, circuit_id, "in_load_forecast_kw", "kW",
                        _clean(circuit.in_forecast_kw)),
            _asset_rows(steps[lit], circuit_id, "class", "-", classes),
            _asset_rows(steps[lit], circuit_id, "min_dim_pct", "%", floors),
        ]  # fmt: skip
    return frames


def _asset_frame(model: ClusterModel, positions: range) -> pd.DataFrame:
    steps = model.horizon.steps
    frames: list[pd.DataFrame] = []
    for plant_id, pv in model.pv_plants.items():
        available = _clean(pv.available_kw)
        output = _values(pv.output_kw, positions)
        frames += [
            _asset_rows(steps, plant_id, "available_kw", "kW", available),
            _asset_rows(steps, plant_id, "output_kw", "kW", output),
            _asset_rows(steps, plant_id, "curtailed_kw", "kW", _clean(available - output)),
        ]
    for battery_id, battery in model.batteries.items():
        frames += [
            _asset_rows(steps, battery_id, quantity, unit, _values(component, positions))
            for quantity, unit, component in (
                ("charge_kw", "kW", battery.charge_kw),
                ("discharge_kw", "kW", battery.discharge_kw),
                ("soc_kwh", "kWh", battery.soc_kwh),
            )
        ]
    frames += _plant_frames(model, positions)
    frames += _building_frames(model, positions)
    frames += _lighting_frames(model, positions)
    if not frames:
        return pd.DataFrame({column: [] for column in ASSET_COLUMNS})
    return pd.concat(frames, ignore_index=True).loc[:, list(ASSET_COLUMNS)]


def _cluster_frame(model: ClusterModel, points: pd.DataFrame, positions: range) -> pd.DataFrame:
    purchasing = model.purchasing
    by_step = points.assign(net_import_kw=points["import_kw"] - points["export_kw"]).groupby("ts")
    totals = by_step[["net_import_kw", "load_kw", "generation_kw"]].sum()
    frame = pd.DataFrame(
        {
            "price_pln_per_mwh": purchasing.price_pln_per_mwh,
            "block_kw": _clean(purchasing.block_kw),
            "day_ahead_buy_kw": _values(purchasing.buy_kw, positions),
            "day_ahead_sell_kw": _values(purchasing.sell_kw, positions),
            "net_import_kw": _clean(totals["net_import_kw"].reindex(model.horizon.steps)),
            "load_kw": _clean(totals["load_kw"].reindex(model.horizon.steps)),
            "local_generation_kw": _clean(totals["generation_kw"].reindex(model.horizon.steps)),
        },
        index=pd.DatetimeIndex(model.horizon.steps, name="ts"),
    )
    return frame.loc[:, list(CLUSTER_COLUMNS)]


def _cost_frame(model: ClusterModel) -> pd.DataFrame:
    totals = dict.fromkeys(CostComponent, 0.0)
    for term in model.cost_terms:
        totals[term.component] += float(pyo.value(term.expression))
    return pd.DataFrame(
        {
            "component": [str(component) for component in totals],
            "cost_pln": _clean(totals.values()),
        }
    )


def extract_schedule(model: ClusterModel, inputs: PlanningInputs, result: SolveResult) -> Schedule:
    """The plan held by a solved model, as a :class:`~cluster.schedule.Schedule`.

    Powers are kW, a battery's ``soc_kwh``, a heat store's ``store_level_kwh``
    and a gas holder's ``holder_kwh`` are the energy held at the END of each
    step, kWh, and costs are PLN (revenue negative). The
    ``capacity_fixed_share`` cost row is reported but was not optimised: the
    objective is the total less that row. Values within :data:`NOISE` of zero
    are written as 0.

    Raises
    ------
    NoPlanError
        If the solve ended without a plan (infeasible, unbounded, no solution).
    OptimisationError
        If ``inputs`` are not the ones the model was built from.
    """
    if not result.has_plan:
        raise NoPlanError(
            f"the solve ended {result.status} ({result.termination}): there is no plan to extract",
            fix="check the forecasts and limits of the day (an infeasible day usually means "
            "generation that cannot be exported or stored), or allow more solver time",
        )
    if not inputs.steps.equals(model.horizon.steps):
        raise OptimisationError(
            "the inputs given do not match the steps the model was built from",
            fix="extract with the same PlanningInputs that were passed to build_model",
        )
    positions = range(model.horizon.n_steps)
    points = _connection_point_frame(model, positions)
    meta: dict[str, Any] = {
        "cluster": inputs.config.cluster.name,
        "n_steps": model.horizon.n_steps,
        "build_time_s": model.build_time_s,
        **result.as_meta(),
    }
    if model.emissions is not None:
        meta["co2_t"] = model.emissions.planned_co2_t()
    return Schedule(
        day=inputs.day,
        timezone=inputs.config.cluster.timezone,
        step_minutes=inputs.config.cluster.step_minutes,
        connection_points=points,
        assets=_asset_frame(model, positions),
        cluster=_cluster_frame(model, points, positions),
        costs=_cost_frame(model),
        meta=meta,
    )
