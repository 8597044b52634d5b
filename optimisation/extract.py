"""From a solved model to a :class:`~cluster.schedule.Schedule` of plain frames.

A city-sized plan has hundreds of thousands of values. They are read by one
:class:`_Evaluator` that walks each expression once with the same arithmetic
Pyomo's own evaluation applies (so every value is the one ``pyo.value`` gives)
but remembers the named sub-expressions it has met, and the rows of each table
are collected as arrays and framed once at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.base.expression import IndexedExpression, NamedExpressionData
from pyomo.core.base.var import IndexedVar, VarData
from pyomo.core.expr.base import ExpressionBase
from pyomo.core.expr.numeric_expr import (
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
)
from pyomo.core.expr.numvalue import NumericConstant

from cluster.schedule import ASSET_COLUMNS, CLUSTER_COLUMNS, CONNECTION_POINT_COLUMNS, Schedule
from optimisation.components.building import setpoint_plan_c
from optimisation.components.bus import InjectionKind
from optimisation.components.costs import CostComponent
from optimisation.components.step_rows import StepTerms, variable_values
from optimisation.errors import NoPlanError, OptimisationError
from optimisation.inputs import PlanningInputs
from optimisation.model import ClusterModel
from optimisation.solve import SolveResult

#: Values closer to zero than this are solver noise and reported as 0.
NOISE = 1e-7

# What a missing value (a variable without one) or an undefined operation raises mid-walk.
_NO_VALUE_ERRORS = (TypeError, ValueError, ArithmeticError)
# Marks a named expression whose value is not computed yet (None is a value: "none").
_NOT_YET = object()


def _clean(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    return np.where(np.abs(array) < NOISE, 0.0, array)


def _no_value_error(what: str) -> OptimisationError:
    return OptimisationError(
        f"{what} holds no value although the solve reported a plan",
        fix="solve the model again; report it if this repeats",
    )


class _Evaluator:
    """Values of the variables and expressions of one solved model.

    Every expression node is computed with the operation ``pyo.value`` applies
    to it (its ``_apply_operation``; negations, products and linear sums are
    written out, being most of the plants' and costs' expressions), on its
    arguments in their order, so the values are the ones ``pyo.value`` gives.
    A named expression (a Pyomo ``Expression``) is computed once however many
    others refer to it. How to value a node is looked up by its class, chosen
    when a class is first met.
    """

    def __init__(self) -> None:
        self._named: dict[int, Any] = {}
        self._by_class = _HowToValue(self)

    def value(self, node: Any) -> Any:
        """The value of a number, variable, parameter or expression (``None`` for none)."""
        return self._by_class[node.__class__](node)

    def step_values(self, component: Any, positions: range) -> np.ndarray:
        """Values of a step-indexed Pyomo component (variable, expression or parameter)."""
        try:
            if isinstance(component, IndexedVar):
                by_step = component.extract_values()
                raw = [by_step[t] for t in positions]
            else:
                raw = self._node_values(component, positions)
        except _NO_VALUE_ERRORS:
            raw = [None]
        if None in raw:
            raise _no_value_error(getattr(component, "name", str(component)))
        return _clean(raw)

    def _node_values(self, component: Any, positions: range) -> list[Any]:
        """Values of a step-indexed component that is not a variable."""
        by_class = self._by_class
        # One pass over the component's data rather than a lookup per step.
        nodes = list(map(dict(component.items()).__getitem__, positions))
        if isinstance(component, IndexedExpression):
            # Often met before inside another expression: those values are looked up at once.
            named = self._named
            raw = [named.get(id(node), _NOT_YET) for node in nodes]
            if _NOT_YET not in raw:
                return raw
        return [by_class[node.__class__](node) for node in nodes]

    def named_value(self, node: Any) -> Any:
        """The value of a named expression, computed on its first use."""
        key = id(node)
        result = self._named.get(key, _NOT_YET)
        if result is _NOT_YET:
            (inner,) = node.args
            result = self._named[key] = self._by_class[inner.__class__](inner)
        return result

    def operation_value(self, node: Any) -> Any:
        """The value of an expression node from the values of its arguments."""
        by_class = self._by_class
        return node._apply_operation([by_class[arg.__class__](arg) for arg in node.args])

    def negation_value(self, node: Any) -> Any:
        """The value of ``-x``: the operation of ``NegationExpression``, without its call."""
        (arg,) = node.args
        return -self._by_class[arg.__class__](arg)

    def product_value(self, node: Any) -> Any:
        """The value of ``x * y``: the operation of ``ProductExpression``, without its call."""
        left, right = node.args
        by_class = self._by_class
        return by_class[left.__class__](left) * by_class[right.__class__](right)

    def linear_value(self, node: Any) -> Any:
        """The value of a linear sum, its number-times-variable terms multiplied out directly."""
        by_class = self._by_class
        terms = [
            # Pyomo's own readers of linear sums take a term's coefficient and variable so too.
            arg._args_[0] * arg._args_[1].value
            if arg.__class__ is MonomialTermExpression
            and arg._args_[0].__class__ in native_numeric_types
            else by_class[arg.__class__](arg)
            for arg in node.args
        ]
        return node._apply_operation(terms)


class _HowToValue(dict[type, Callable[[Any], Any]]):
    """How an :class:`_Evaluator` values a node, by the node's class."""

    def __init__(self, evaluator: _Evaluator) -> None:
        super().__init__()
        self._evaluator = evaluator

    def __missing__(self, node_class: type) -> Callable[[Any], Any]:
        how: Callable[[Any], Any]
        if node_class in native_numeric_types:
            how = _itself
        elif issubclass(node_class, (VarData, NumericConstant)):
            how = _value_attribute
        elif issubclass(node_class, NamedExpressionData):
            how = self._evaluator.named_value
        elif node_class is LinearExpression:
            how = self._evaluator.linear_value
        elif node_class is NegationExpression:
            how = self._evaluator.negation_value
        elif node_class is ProductExpression or node_class is MonomialTermExpression:
            how = self._evaluator.product_value
        elif issubclass(node_class, ExpressionBase):
            how = self._evaluator.operation_value
        else:
            # Parameters, and numbers Pyomo knows that Python does not call so (numpy scalars).
            how = _pyomo_value
        self[node_class] = how
        return how


def _itself(node: Any) -> Any:
    return node


def _value_attribute(node: Any) -> Any:
    return node.value


def _pyomo_value(node: Any) -> Any:
    return pyo.value(node, exception=False)


class _AssetRows:
    """The rows of the asset table, gathered per asset and quantity and framed once.

    Parameters
    ----------
    steps
        The model's steps (UTC step starts).
    """

    def __init__(self, steps: pd.DatetimeIndex) -> None:
        self._steps = steps
        self._all_steps = np.arange(len(steps))
        self._positions: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._labels: list[tuple[str, str, str]] = []

    def add(self, asset_id: str, quantity: str, unit: str, values: np.ndarray,
            positions: Sequence[int] | np.ndarray | None = None) -> None:  # fmt: skip
        """One quantity of an asset, at every step or at ``positions`` only (in that unit)."""
        self._positions.append(
            self._all_steps if positions is None else np.asarray(positions, dtype=np.intp)
        )
        self._values.append(np.asarray(values, dtype=float))
        self._labels.append((asset_id, quantity, unit))

    def frame(self) -> pd.DataFrame:
        """The rows as a frame of :data:`~cluster.schedule.ASSET_COLUMNS`."""
        if not self._values:
            return pd.DataFrame({column: [] for column in ASSET_COLUMNS})
        counts = [len(positions) for positions in self._positions]
        assets, quantities, units = zip(*self._labels, strict=True)
        columns = {
            "ts": self._steps.take(np.concatenate(self._positions)),
            "asset": _repeated(assets, counts),
            "quantity": _repeated(quantities, counts),
            "value": np.concatenate(self._values),
            "unit": _repeated(units, counts),
        }
        return pd.DataFrame({column: columns[column] for column in ASSET_COLUMNS})


def _repeated(labels: Sequence[str], counts: Sequence[int] | int) -> Any:
    """Each label repeated ``counts`` times (the same count for all when an int), as text."""
    # Labels are turned into text once each and then repeated by Arrow, not once per
    # row; pandas' own take on text costs ten times as much.
    text = pa.array(list(labels), type=pa.large_string())
    return pd.array(text.take(np.repeat(np.arange(len(labels)), counts)), dtype="str")


def _variable_values(variables: Sequence[Any], positions: range, what: str) -> np.ndarray:
    """The values of a variable per step, read at once; ``what`` names them if one has none."""
    try:
        return _clean(variable_values(variables)[positions])
    except TypeError:
        raise _no_value_error(what) from None


def _terms_kw(many: Sequence[StepTerms], positions: range,
              what: Callable[[int], str]) -> np.ndarray:  # fmt: skip
    """Values of powers given as entries over variables, one row each: evaluated all at once.

    ``what(k)`` names the ``k``-th power for the message when a variable holds no value.
    """
    try:
        return _clean(StepTerms.values_of(many, len(positions))[:, positions])
    except TypeError:
        for k, terms in enumerate(many):
            try:
                terms.values()
            except TypeError:
                raise _no_value_error(what(k)) from None
        raise


def _injected_kw(model: ClusterModel, positions: range) -> dict[str, np.ndarray]:
    """Every asset's power onto its bus at the plan, kW per step, by asset id: all at once.

    The connection points' columns sum them; the asset rows of PV plants,
    lighting circuits and buildings are read from them.
    """
    injections = [i for handle in model.connection_points.values() for i in handle.injections]
    powers = _terms_kw([i.power_kw for i in injections], positions,
                       lambda k: f"the power of {injections[k].asset_id}")  # fmt: skip
    return {injection.asset_id: power for injection, power in zip(injections, powers, strict=True)}


def _connection_point_frame(model: ClusterModel, positions: range,
                            injected_kw: Mapping[str, np.ndarray]) -> pd.DataFrame:  # fmt: skip
    handles = list(model.connection_points.values())
    n_points, n_steps = len(handles), len(positions)
    injections = [injection for handle in handles for injection in handle.injections]
    powers = np.array([injected_kw[i.asset_id] for i in injections]).reshape(-1, n_steps)
    point_of = np.repeat(np.arange(n_points), [len(handle.injections) for handle in handles])
    kinds = np.array([injection.kind for injection in injections], dtype=object)

    def total(kind: InjectionKind) -> np.ndarray:
        """The points' sums of one kind of injection, a row per point, kW."""
        sums = np.zeros((n_points, n_steps))
        chosen = kinds == kind
        np.add.at(sums, point_of[chosen], powers[chosen])
        return sums

    # A controllable load is injected as negative power; it belongs to the load column.
    load = np.array([handle.load_kw for handle in handles]).reshape(n_points, -1)[:, positions]
    imports = _terms_kw([h.imports for h in handles], positions,
                        lambda k: f"the import at {handles[k].connection_point.id}")  # fmt: skip
    exports = [
        np.zeros(n_steps) if handle.never_exports else _variable_values(
            handle.export_kw, positions, f"the export at {handle.connection_point.id}")
        for handle in handles
    ]  # fmt: skip
    columns = {
        "load_kw": _clean(load - total(InjectionKind.LOAD)),
        "generation_kw": total(InjectionKind.GENERATION),
        "battery_net_kw": total(InjectionKind.STORAGE),
        "import_kw": imports,
        "export_kw": np.array(exports).reshape(n_points, n_steps),
    }
    ids = [handle.connection_point.id for handle in handles]
    capacities = np.array([handle.connection_point.contracted_capacity_kw for handle in handles])
    frame = {
        "ts": model.horizon.steps.take(np.tile(np.asarray(positions), n_points)),
        "connection_point": _repeated(ids, n_steps),
        **{column: values.ravel() for column, values in columns.items()},
        "contracted_capacity_kw": np.repeat(capacities, n_steps),
    }
    return pd.DataFrame({column: frame[column] for column in CONNECTION_POINT_COLUMNS})


def _plant_rows(model: ClusterModel, values: _Evaluator, positions: range,
                rows: _AssetRows) -> None:  # fmt: skip
    """Rows of the waste-to-energy plants, the heat networks and the biogas engines."""
    for chp_id, wte in model.wte_chps.items():
        # Binaries within the solver's integrality tolerance are reported as 0 or 1.
        rows.add(chp_id, "on", "-", np.round(values.step_values(wte.on, positions)))
        rows.add(chp_id, "output_kw", "kW", values.step_values(wte.output_kw, positions))
        rows.add(chp_id, "heat_kw", "kW", values.step_values(wte.heat_kw, positions))
        rows.add(chp_id, "start", "-", np.round(values.step_values(wte.start, positions)))
    for network_id, network in model.district_heating.items():
        for quantity, unit, component in (
            ("boiler_kw", "kW", network.boiler_kw),
            ("store_level_kwh", "kWh", network.store_level_kwh),
            ("dump_kw", "kW", network.dump_kw),
            ("gas_cost", "PLN", network.gas_cost_pln),
        ):
            rows.add(network_id, quantity, unit, values.step_values(component, positions))
    for chp_id, biogas in model.biogas_chps.items():
        for quantity, unit, component in (
            ("output_kw", "kW", biogas.output_kw),
            ("holder_kwh", "kWh", biogas.holder_kwh),
            ("flare_kw", "kW", biogas.flare_kw),
        ):
            rows.add(chp_id, quantity, unit, values.step_values(component, positions))


def _building_rows(model: ClusterModel, positions: range, injected_kw: Mapping[str, np.ndarray],
                   rows: _AssetRows) -> None:  # fmt: skip
    """Rows of the buildings and of their zones (asset ``<building>/<zone>``)."""
    step_h = model.horizon.step_hours
    buildings = list(model.buildings.items())
    zones = [zone for _, building in buildings for zone in building.zones.values()]
    zone_kw = iter(_terms_kw([z.electric_kw for z in zones], positions,
                             lambda k: f"the electric power of {zones[k].asset_id}"))  # fmt: skip
    for building_id, building in buildings:
        # Its electric power is what it draws from its bus.
        rows.add(building_id, "electric_kw", "kW", _clean(-injected_kw[building_id]))
        rows.add(building_id, "in_load_forecast_kw", "kW", _clean(building.baseline_electric_kw))
        for zone in building.zones.values():
            name = zone.asset_id
            temp = _variable_values(zone.temp_c, positions, f"the temperature of {name}")
            slack = f"the comfort slack of {name}"
            outside = (_variable_values(zone.too_cold_k, positions, slack)
                       + _variable_values(zone.too_warm_k, positions, slack))  # fmt: skip
            setpoint = np.array([
                setpoint_plan_c(float(v), low, high)
                for v, low, high in zip(temp, zone.band_min_c, zone.band_max_c, strict=True)
            ])  # fmt: skip
            rows.add(zone.asset_id, "setpoint_c", "degC", setpoint)
            rows.add(zone.asset_id, "temp_c", "degC", temp)
            heat = _variable_values(zone.heat_kw, positions, f"the heat of {name}")
            rows.add(zone.asset_id, "heat_kw", "kW", heat)
            rows.add(zone.asset_id, "electric_kw", "kW", next(zone_kw))
            rows.add(zone.asset_id, "comfort_violation_kh", "K h", _clean(outside * step_h))


def _lighting_rows(model: ClusterModel, positions: range, injected_kw: Mapping[str, np.ndarray],
                   rows: _AssetRows) -> None:  # fmt: skip
    """Rows of the street-lighting circuits; ``class`` and ``min_dim_pct`` where lamps burn."""
    circuits = list(model.lighting_circuits.items())
    # The dim level is a sum of binaries: within the solver's tolerance of a whole %.
    dims = np.round(_terms_kw([c.dim_pct for _, c in circuits], positions,
                              lambda k: f"the dim level of {circuits[k][0]}"), 6)  # fmt: skip
    # The circuits share the lamps' burning times: worked out once per distinct one.
    burning: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    steps = np.asarray(positions)
    for (circuit_id, circuit), dim in zip(circuits, dims, strict=True):
        found = burning.get(id(circuit.on_fraction))
        if found is None:
            burns = np.asarray(circuit.on_fraction, dtype=float)[steps] > 0
            found = burning[id(circuit.on_fraction)] = (burns.astype(float), steps[burns])
        on, lit = found
        classes = np.array([c.number for c in circuit.classes if c is not None], dtype=float)
        floors = np.asarray(circuit.min_dim_pct, dtype=float)[lit]
        rows.add(circuit_id, "dim_pct", "%", dim)
        rows.add(circuit_id, "on", "-", on)
        # Its power is what it draws from its cabinet's bus.
        rows.add(circuit_id, "power_kw", "kW", _clean(-injected_kw[circuit_id]))
        rows.add(circuit_id, "in_load_forecast_kw", "kW", _clean(circuit.in_forecast_kw))
        rows.add(circuit_id, "class", "-", classes, lit)
        rows.add(circuit_id, "min_dim_pct", "%", floors, lit)


def _asset_frame(model: ClusterModel, values: _Evaluator, positions: range,
                 injected_kw: Mapping[str, np.ndarray]) -> pd.DataFrame:  # fmt: skip
    rows = _AssetRows(model.horizon.steps)
    for plant_id, pv in model.pv_plants.items():
        available = _clean(pv.available_kw)
        output = injected_kw[plant_id]
        rows.add(plant_id, "available_kw", "kW", available)
        rows.add(plant_id, "output_kw", "kW", output)
        rows.add(plant_id, "curtailed_kw", "kW", _clean(available - output))
    for battery_id, battery in model.batteries.items():
        for quantity, unit, component in (
            ("charge_kw", "kW", battery.charge_kw),
            ("discharge_kw", "kW", battery.discharge_kw),
            ("soc_kwh", "kWh", battery.soc_kwh),
        ):
            rows.add(battery_id, quantity, unit, values.step_values(component, positions))
    _plant_rows(model, values, positions, rows)
    _building_rows(model, positions, injected_kw, rows)
    _lighting_rows(model, positions, injected_kw, rows)
    return rows.frame()


def _cluster_frame(model: ClusterModel, values: _Evaluator, points: pd.DataFrame,
                   positions: range) -> pd.DataFrame:  # fmt: skip
    purchasing = model.purchasing
    by_step = points.assign(net_import_kw=points["import_kw"] - points["export_kw"]).groupby("ts")
    totals = by_step[["net_import_kw", "load_kw", "generation_kw"]].sum()
    frame = pd.DataFrame(
        {
            "price_pln_per_mwh": purchasing.price_pln_per_mwh,
            "block_kw": _clean(purchasing.block_kw),
            "day_ahead_buy_kw": values.step_values(purchasing.buy_kw, positions),
            "day_ahead_sell_kw": values.step_values(purchasing.sell_kw, positions),
            "net_import_kw": _clean(totals["net_import_kw"].reindex(model.horizon.steps)),
            "load_kw": _clean(totals["load_kw"].reindex(model.horizon.steps)),
            "local_generation_kw": _clean(totals["generation_kw"].reindex(model.horizon.steps)),
        },
        index=pd.DatetimeIndex(model.horizon.steps, name="ts"),
    )
    return frame.loc[:, list(CLUSTER_COLUMNS)]


def _cost_frame(model: ClusterModel, values: _Evaluator) -> pd.DataFrame:
    totals = dict.fromkeys(CostComponent, 0.0)
    for term in model.cost_terms:
        try:
            cost_pln = values.value(term.expression)
        except _NO_VALUE_ERRORS:
            cost_pln = None
        if cost_pln is None:
            raise _no_value_error(f"the {term.component} cost of {term.owner}")
        totals[term.component] += float(cost_pln)
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
        If ``inputs`` are not the ones the model was built from, or a
        variable of the plan holds no value.
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
    # The model's objects all stay alive: a paused collector skips needless full scans of them.
    with PauseGC():
        return _schedule(model, inputs, result)


def _schedule(model: ClusterModel, inputs: PlanningInputs, result: SolveResult) -> Schedule:
    """The schedule of :func:`extract_schedule`, from a model known to hold a plan."""
    positions = range(model.horizon.n_steps)
    values = _Evaluator()
    injected_kw = _injected_kw(model, positions)
    points = _connection_point_frame(model, positions, injected_kw)
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
        assets=_asset_frame(model, values, positions, injected_kw),
        cluster=_cluster_frame(model, values, points, positions),
        costs=_cost_frame(model, values),
        meta=meta,
    )
