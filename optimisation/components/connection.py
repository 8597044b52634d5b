"""Connection points: the bus balance, the export limit and the distribution tariff."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pyomo.environ as pyo

from cluster.config import ConnectionPoint, Tariff
from cluster.tariffs import days_in_month, energy_rate_pln_per_mwh
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.step_rows import StepRows, StepTerms, priced_sum
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs
from optimisation.standard_form import column_bounds


@dataclass(frozen=True)
class ConnectionPointHandle:
    """The model of one connection point.

    At a point that never exports (:attr:`never_exports`) the import of each
    step is its load less what its assets inject (they only draw): terms in
    their variables, or a number; ``export_kw`` is zeros. Where nothing at all
    is left to decide, the overrun, headroom and charges are numbers too.

    Attributes
    ----------
    connection_point, tariff
        Its configuration and its distribution tariff.
    load_kw
        Forecast demand per step, kW.
    energy_rate_pln_per_mwh
        Distribution energy rate per step, PLN/MWh.
    injections
        The assets' powers on its bus.
    never_exports
        True when the point cannot export: no import or export variables of its own.
    imports
        Power drawn from the grid per step as entries over variables, kW:
        its import variable, or what its assets draw.
    export_kw
        Power fed into the grid per step, kW: a variable, or 0.0 at a point
        that never exports.
    overrun_kw
        The largest overrun of the contracted capacity in each clock hour,
        kW: a variable or a number per hour.
    headroom_kw
        The largest import above the contracted capacity less the headroom in
        each clock hour, kW, a variable or a number per hour; ``None`` without
        a headroom (or where the import cannot reach it).
    distribution_energy_pln, capacity_overrun_pln
        The distribution energy charge and the overrun charge, PLN:
        expressions, or numbers.
    capacity_headroom_pln
        The headroom's penalty, PLN; ``None`` without a headroom.
    capacity_fixed_share_pln
        The day's share of the monthly capacity charge, PLN (a constant).
    """

    connection_point: ConnectionPoint
    tariff: Tariff
    load_kw: tuple[float, ...]
    energy_rate_pln_per_mwh: tuple[float, ...]
    injections: tuple[Injection, ...]
    never_exports: bool
    imports: StepTerms
    export_kw: tuple[Any, ...]
    overrun_kw: tuple[Any, ...]
    distribution_energy_pln: Any
    capacity_overrun_pln: Any
    capacity_fixed_share_pln: float
    headroom_kw: tuple[Any, ...] | None = None
    capacity_headroom_pln: Any = None

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The point's distribution charges and headroom penalty.

        The fixed capacity share is only reported.
        """
        owner = self.connection_point.id
        headroom = (
            ()
            if self.capacity_headroom_pln is None
            else (CostTerm(CostComponent.CAPACITY_HEADROOM, owner, self.capacity_headroom_pln),)
        )
        return (
            CostTerm(CostComponent.DISTRIBUTION_ENERGY, owner, self.distribution_energy_pln),
            CostTerm(CostComponent.CAPACITY_OVERRUN, owner, self.capacity_overrun_pln),
            *headroom,
            CostTerm(
                CostComponent.CAPACITY_FIXED_SHARE,
                owner,
                self.capacity_fixed_share_pln,
                optimised=False,
            ),
        )


def add_connection_points(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    inputs: PlanningInputs,
    injections: Iterable[Injection],
    capacity_headroom_pct: float = 0.0,
) -> dict[str, ConnectionPointHandle]:
    r"""Add the connection points' variables and rows, one component of each kind for all points.

    For every step :math:`t` and clock hour :math:`h`:

    .. math::

        L_t - \sum_{a} q_{a,t} = p^{imp}_t - p^{exp}_t,
        \qquad p^{imp}_t \ge 0, \qquad 0 \le p^{exp}_t \le \bar P^{exp}

        o_h \ge p^{imp}_t - C \quad \forall t \in h, \qquad o_h \ge 0

        g_h \ge p^{imp}_t - (C - H) \quad \forall t \in h, \qquad g_h \ge 0
        \qquad \text{(only when } H > 0\text{)}

        K^{dist} = \sum_t p^{imp}_t\,\Delta t / 1000 \cdot r_t,
        \qquad K^{over} = m\,k \sum_h o_h,
        \qquad K^{head} = m\,k \sum_h g_h,
        \qquad K^{fix} = C\,k / D

    - :math:`L_t` forecast demand ``SeriesId.load(cp)``, kW (0 without a forecast);
    - :math:`q_{a,t}` power of asset :math:`a` behind the point onto its bus,
      kW: PV output and fixed generation positive, battery net discharge
      (discharge minus charge);
    - :math:`p^{imp}_t, p^{exp}_t` import and export at the meter, kW;
      :math:`\bar P^{exp}` ``export_limit_kw``, kW;
    - :math:`C` ``contracted_capacity_kw``, kW; :math:`o_h` the largest
      quarter-hour overrun in hour :math:`h`, kW (hours are UTC ``floor("h")``
      groups: the repeated autumn hour counts twice, as the meter sees it);
    - :math:`H` the headroom, ``capacity_headroom_pct`` / 100 of :math:`C`, kW;
      :math:`g_h` the largest import above :math:`C - H` in hour :math:`h`, kW;
    - :math:`r_t` the tariff zone's energy rate, PLN/MWh; :math:`\Delta t` step, h;
    - :math:`k` ``capacity_rate_pln_per_kw_month``, PLN/(kW·month);
      :math:`m` ``overrun_multiplier``; :math:`D` days in the planned month.

    :math:`K^{over}` is the ``hourly_max_sum`` rule restricted to the planned
    hours. The ``ten_largest`` rule is charged on the same hourly peaks: which
    overruns are the month's ten largest is not known within one day, and the
    hourly peaks are an upper bound on that charge, so the plan stays on the
    safe side.

    :math:`K^{head}` is a declared soft penalty, not money: a plan made on
    forecasts that fills the contracted capacity to the last kW pays the
    overrun charge whenever the actual demand comes out a little higher, so
    the last :math:`H` kW below :math:`C` are priced as if they were overrun
    (and an overrun twice). :math:`K^{over}` stays the tariff's charge. With
    :math:`H = 0` there are no :math:`g_h` and the model is the same as
    without a headroom.

    A point whose assets can only draw (heating, lamps; no generation or
    storage) never exports, so :math:`p^{imp}_t = L_t - \sum_a q_{a,t}` is
    taken as it is, with no import or export variable and no bus balance (see
    :func:`_imports_without_export`); with nothing to decide at all it is a
    number, and so are its overruns and charges (see :func:`_known_point`).

    Parameters
    ----------
    model
        The model to add the variables and rows to.
    horizon
        The planned steps and hours.
    inputs
        Configuration and forecasts (kW).
    injections
        The assets' powers onto their connection point's bus, kW.
    capacity_headroom_pct
        Headroom :math:`H` kept below every contracted capacity, % of it; 0
        for none.
    """
    config = inputs.config
    zone = config.cluster.zone
    country = config.cluster.country
    step_h = horizon.step_hours
    tariffs = {tariff.id: tariff for tariff in config.tariffs}
    rates = {
        tariff.id: tuple(
            float(r) for r in energy_rate_pln_per_mwh(tariff, horizon.steps, zone, country)
        )
        for tariff in config.tariffs
    }
    loads = {cp_id: tuple(load.tolist()) for cp_id, load in inputs.loads_kw().items()}
    days = days_in_month(inputs.day)
    by_point: dict[str, list[Injection]] = {cp.id: [] for cp in config.connection_points}
    for injection in injections:
        by_point[injection.connection_point].append(injection)

    handles: dict[str, ConnectionPointHandle] = {}
    points: list[_Point] = []
    injected = [
        StepTerms.total([injection.power_kw for injection in by_point[cp.id]], horizon.n_steps)
        for cp in config.connection_points
    ]
    drawn = _imports_without_export([loads[cp.id] for cp in config.connection_points], injected)
    for k, cp in enumerate(config.connection_points):
        tariff = tariffs[cp.tariff]
        capacity_rate = tariff.capacity_rate_pln_per_kw_month
        point = _Point(
            cp, tariff, loads[cp.id], rates[tariff.id], tuple(by_point[cp.id]), injected[k],
            drawn_kw=drawn[k],
            overrun_price_pln_per_kw=tariff.overrun_multiplier * capacity_rate,
            fixed_share_pln=cp.contracted_capacity_kw * capacity_rate / days,
            headroom_limit_kw=(
                cp.contracted_capacity_kw * (1.0 - capacity_headroom_pct / 100.0)
                if capacity_headroom_pct > 0 else None
            ),
        )  # fmt: skip
        if point.drawn_kw is not None and point.drawn_kw.n_entries == 0:
            handles[cp.id] = _known_point(point, point.drawn_kw, horizon)
        else:
            points.append(point)

    # The variables of all points of one kind are one component, and their rows of
    # one kind one matrix: a block, variables and rows per point cost more to build
    # than the rows themselves.
    exports = _add_import_and_export(model, horizon, [p for p in points if p.drawn_kw is None])
    imports = {
        p.connection_point.id: p.drawn_kw or exports[p.connection_point.id][0] for p in points
    }
    overrun_kw, headroom_kw = _add_hourly_maxima(
        model,
        horizon,
        [(imports[p.connection_point.id], p.connection_point.contracted_capacity_kw, p)
         for p in points],
        [(imports[p.connection_point.id], p.headroom_limit_kw, p) for p in points
         if p.headroom_limit_kw is not None
         and _import_can_reach(p.headroom_limit_kw, p.load_kw, p.on_bus)],
    )  # fmt: skip
    for point in points:
        cp = point.connection_point
        price = point.overrun_price_pln_per_kw
        overrun, headroom = overrun_kw[cp.id], headroom_kw.get(cp.id)
        handles[cp.id] = ConnectionPointHandle(
            connection_point=cp,
            tariff=point.tariff,
            load_kw=point.load_kw,
            energy_rate_pln_per_mwh=point.rate,
            injections=point.on_bus,
            never_exports=point.drawn_kw is not None,
            imports=imports[cp.id],
            export_kw=exports[cp.id][1] if cp.id in exports else (0.0,) * horizon.n_steps,
            overrun_kw=overrun,
            distribution_energy_pln=imports[cp.id].weighted_sum(
                [step_h / 1000.0 * r for r in point.rate]
            ),
            capacity_overrun_pln=priced_sum(overrun, price),
            capacity_fixed_share_pln=point.fixed_share_pln,
            headroom_kw=headroom,
            capacity_headroom_pln=(None if headroom is None else priced_sum(headroom, price)),
        )
    return {cp.id: handles[cp.id] for cp in config.connection_points}


@dataclass(frozen=True)
class _Point:
    """What the builder knows of one connection point before its variables are added."""

    connection_point: ConnectionPoint
    tariff: Tariff
    load_kw: tuple[float, ...]
    rate: tuple[float, ...]
    on_bus: tuple[Injection, ...]
    #: The assets' power onto the bus, kW.
    injected: StepTerms
    #: What it draws, at a point that never exports; None at one that may.
    drawn_kw: StepTerms | None
    overrun_price_pln_per_kw: float
    fixed_share_pln: float
    headroom_limit_kw: float | None


def _add_import_and_export(
    model: pyo.ConcreteModel, horizon: Horizon, points: list[_Point]
) -> dict[str, tuple[StepTerms, tuple[Any, ...]]]:
    """Import and export variables and the bus balance of the points that may export.

    As ``model.point_import_kw``, ``model.point_export_kw`` (step ``t`` of
    the ``k``-th point at ``k × T + t``) and ``model.bus_balance``.

    Returns
    -------
    dict
        Point id → its import and its export variable of each step, kW.
    """
    if not points:
        return {}
    n = horizon.n_steps
    model.point_import_kw = pyo.Var(range(len(points) * n), domain=pyo.NonNegativeReals)
    model.point_export_kw = pyo.Var(range(len(points) * n), domain=pyo.NonNegativeReals)
    import_vars = list(model.point_import_kw.values())
    export_vars = list(model.point_export_kw.values())
    rows = StepRows(len(points) * n)
    right_hand_side = []
    by_point: dict[str, tuple[StepTerms, tuple[Any, ...]]] = {}
    for k, point in enumerate(points):
        first = k * n
        imports = StepTerms.of_variables(import_vars[first : first + n])
        exports = tuple(export_vars[first : first + n])
        for export in exports:
            export.setub(point.connection_point.export_limit_kw)
        rows.add_block(first, imports)
        rows.add_block(first, StepTerms.of_variables(exports), -1.0)
        rows.add_block(first, point.injected)
        right_hand_side.append(np.asarray(point.load_kw) - point.injected.constant)
        by_point[point.connection_point.id] = (imports, exports)
    balance_kw = np.concatenate(right_hand_side)
    model.bus_balance = rows.build(balance_kw, balance_kw)
    return by_point


def _add_hourly_maxima(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    overrun: list[tuple[StepTerms, float, _Point]],
    headroom: list[tuple[StepTerms, float, _Point]],
) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    r"""Per point and clock hour the largest import above its limit, :math:`o_h` and :math:`g_h`.

    The rows are :math:`p^{imp}_t - o_{h(t)} \le C` for the overrun and
    :math:`p^{imp}_t - g_{h(t)} \le C - H` for the headroom; the variables
    ``model.point_overrun_kw`` and ``model.point_headroom_kw`` (hour ``h`` of
    the ``k``-th point at ``k × H + h``), the rows one block,
    ``model.hourly_maxima`` (the overrun's, then the headroom's; step ``t``
    of the ``k``-th point at ``k × T + t``): a point's import is in both, and
    the compiler looks each of its variables up once.

    Parameters
    ----------
    overrun, headroom
        Per point its import :math:`p^{imp}_t` (kW), its limit (kW) and the point.

    Returns
    -------
    tuple
        The overrun's and the headroom's variables of each hour, kW, by point id.
    """
    n, n_hours = horizon.n_steps, len(horizon.hour_set)
    rows = StepRows((len(overrun) + len(headroom)) * n)
    upper: list[np.ndarray] = []
    maxima: list[dict[str, tuple[Any, ...]]] = []
    for name, limits in (("overrun", overrun), ("headroom", headroom)):
        by_point: dict[str, tuple[Any, ...]] = {}
        maxima.append(by_point)
        if not limits:
            continue
        variable = pyo.Var(range(len(limits) * n_hours), domain=pyo.NonNegativeReals)
        model.add_component(f"point_{name}_kw", variable)
        hourly_vars = list(variable.values())
        for k, (imports, limit_kw, point) in enumerate(limits):
            hourly = tuple(hourly_vars[k * n_hours : (k + 1) * n_hours])
            first = len(upper) * n
            rows.add_block(first, imports)
            rows.add_block(
                first, StepTerms.of_variables(hourly, step_of=horizon.hour_of_step), -1.0
            )
            upper.append(limit_kw - imports.constant)
            by_point[point.connection_point.id] = hourly
    if upper:
        upper_kw = np.concatenate(upper)
        model.hourly_maxima = rows.build(np.full(len(upper_kw), -np.inf), upper_kw)
    return maxima[0], maxima[1]


def _known_point(point: _Point, imports: StepTerms, horizon: Horizon) -> ConnectionPointHandle:
    r"""A point with nothing to decide: it never exports and its import is a number each step.

    Its equations have one solution, and the handle holds it as numbers, with
    no variable and no row: :math:`p^{imp}_t` as given, :math:`p^{exp}_t = 0`,
    :math:`o_h = \max(0, \max_{t \in h} p^{imp}_t - C)` and likewise
    :math:`g_h`. On a city, more than half of the points are such plain
    consumers; as variables they were most of the model's size.
    """
    cp = point.connection_point
    step_h = horizon.step_hours
    imported = imports.constant
    hour_peak_kw = np.zeros(len(horizon.hour_set))
    np.maximum.at(hour_peak_kw, np.asarray(horizon.hour_of_step, dtype=int), imported)
    overrun_kw = tuple(np.maximum(hour_peak_kw - cp.contracted_capacity_kw, 0.0).tolist())
    limit_kw = point.headroom_limit_kw
    headroom_kw = headroom_pln = None
    if limit_kw is not None and np.max(imported, initial=0.0) > limit_kw:
        headroom_kw = tuple(np.maximum(hour_peak_kw - limit_kw, 0.0).tolist())
        headroom_pln = point.overrun_price_pln_per_kw * sum(headroom_kw)
    return ConnectionPointHandle(
        connection_point=cp,
        tariff=point.tariff,
        load_kw=point.load_kw,
        energy_rate_pln_per_mwh=point.rate,
        injections=point.on_bus,
        never_exports=True,
        imports=imports,
        export_kw=(0.0,) * horizon.n_steps,
        overrun_kw=overrun_kw,
        distribution_energy_pln=float(step_h / 1000.0 * np.dot(point.rate, imported)),
        capacity_overrun_pln=point.overrun_price_pln_per_kw * sum(overrun_kw),
        capacity_fixed_share_pln=point.fixed_share_pln,
        headroom_kw=headroom_kw,
        capacity_headroom_pln=headroom_pln,
    )


def _imports_without_export(
    loads_kw: Sequence[tuple[float, ...]], injected: Sequence[StepTerms]
) -> list[StepTerms | None]:
    r"""Per point its import :math:`L_t - \sum_a q_{a,t}` if it can never be below zero; else None.

    It cannot when its constant is at least zero and each variable can only
    add to it (a non-negative variable with a positive coefficient, or a
    non-positive one with a negative coefficient): the assets behind the
    point only draw (heating, lamps) and what comes off the forecast never
    exceeds it. Such a point never exports (exporting while importing more
    would only add distribution charges), so its import is that sum as it is,
    with no variable and no bus balance of its own. The variables' bounds of
    all points are read in one go.
    """
    drawn = [
        q.scaled(-1.0, np.asarray(load, dtype=float))
        for load, q in zip(loads_kw, injected, strict=True)
    ]
    found: list[StepTerms | None] = [d if (d.constant >= 0).all() else None for d in drawn]
    checked = [k for k, d in enumerate(found) if d is not None and d.n_entries]
    lower, upper, _ = column_bounds(list(chain.from_iterable(drawn[k].variables for k in checked)))
    first = 0
    for k in checked:
        terms = drawn[k]
        column = terms.columns + first
        first += len(terms.variables)
        # Each entry adds when its variable's bounds keep its sign: >= 0 under a
        # positive coefficient, <= 0 under a negative one.
        adds = np.where(terms.coefficients > 0, lower[column] >= 0, True)
        adds &= np.where(terms.coefficients < 0, upper[column] <= 0, True)
        if not adds.all():
            found[k] = None
    return found


def _import_can_reach(limit_kw: float, load_kw: Any, on_bus: Iterable[Injection]) -> bool:
    """Whether a point's import may come above ``limit_kw`` (kW) in some step.

    Without a controllable load or storage on its bus a point imports at most
    its forecast load (generation only lowers it), so a headroom below a limit
    that load never reaches would add rows that can never bind: on a region
    of thousands of plain consumers, gigabytes of them.
    """
    if any(injection.kind is not InjectionKind.GENERATION for injection in on_bus):
        return True
    return bool(np.max(load_kw, initial=0.0) > limit_kw)
