"""Connection points: the bus balance, the export limit and the distribution tariff."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression
from scipy import sparse

from cluster.config import ConnectionPoint, Tariff
from cluster.tariffs import days_in_month, energy_rate_pln_per_mwh
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs
from optimisation.rows import LinearRows
from optimisation.standard_form import linear_terms


@dataclass(frozen=True)
class ConnectionPointHandle:
    """The model of one connection point.

    At a point with nothing to decide (:attr:`is_known`) the variables and
    expressions below are numbers instead: tuples of kW per step or hour, and
    PLN.

    Attributes
    ----------
    connection_point, tariff
        Its configuration and its distribution tariff.
    block
        Its Pyomo block.
    load_kw
        Forecast demand per step, kW.
    energy_rate_pln_per_mwh
        Distribution energy rate per step, PLN/MWh.
    injections
        The assets' powers on its bus.
    import_kw, export_kw
        Variables: power drawn from and fed into the grid per step, kW.
    overrun_kw
        Variable: the largest overrun of the contracted capacity in each
        clock hour, kW.
    headroom_kw
        Variable: the largest import above the contracted capacity less the
        headroom in each clock hour, kW; ``None`` without a headroom (or
        where the import cannot reach it).
    distribution_energy_pln, capacity_overrun_pln
        Expressions: the distribution energy charge and the overrun charge, PLN.
    capacity_headroom_pln
        Expression: the headroom's penalty, PLN; ``None`` without a headroom.
    capacity_fixed_share_pln
        The day's share of the monthly capacity charge, PLN (a constant).
    """

    connection_point: ConnectionPoint
    tariff: Tariff
    block: Any
    load_kw: tuple[float, ...]
    energy_rate_pln_per_mwh: tuple[float, ...]
    injections: tuple[Injection, ...]
    import_kw: Any
    export_kw: Any
    overrun_kw: Any
    distribution_energy_pln: Any
    capacity_overrun_pln: Any
    capacity_fixed_share_pln: float
    headroom_kw: Any = None
    capacity_headroom_pln: Any = None

    @property
    def is_known(self) -> bool:
        """True when the point has nothing to decide and its handle holds numbers, not variables."""
        return isinstance(self.import_kw, tuple)

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
    r"""Add one block per connection point, as ``model.connection_points[cp_id]``.

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

    A point with no asset on its bus and a forecast load never below zero
    has a single solution of these equations; it gets numbers, not variables
    (see :func:`_known_point`).

    Parameters
    ----------
    model
        The model to add the blocks to.
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

    model.connection_points = pyo.Block([cp.id for cp in config.connection_points])
    handles: dict[str, ConnectionPointHandle] = {}
    for cp in config.connection_points:
        block = model.connection_points[cp.id]
        tariff = tariffs[cp.tariff]
        load = loads[cp.id]
        rate = rates[tariff.id]
        on_bus = tuple(by_point[cp.id])
        capacity = cp.contracted_capacity_kw
        overrun_price = tariff.overrun_multiplier * tariff.capacity_rate_pln_per_kw_month
        headroom_limit_kw = capacity * (1.0 - capacity_headroom_pct / 100.0)
        fixed_share_pln = capacity * tariff.capacity_rate_pln_per_kw_month / days
        if not on_bus and min(load, default=0.0) >= 0.0:
            handles[cp.id] = _known_point(
                cp, tariff, block, load, rate, horizon, overrun_price, fixed_share_pln,
                headroom_limit_kw if capacity_headroom_pct > 0 else None,
            )  # fmt: skip
            continue

        block.import_kw = pyo.Var(horizon.step_set, domain=pyo.NonNegativeReals)
        block.export_kw = pyo.Var(horizon.step_set, bounds=(0.0, cp.export_limit_kw))
        block.overrun_kw = pyo.Var(horizon.hour_set, domain=pyo.NonNegativeReals)
        import_kw = at_each_step(block.import_kw, horizon)
        export_kw = at_each_step(block.export_kw, horizon)
        overrun_kw = list(block.overrun_kw.values())

        block.bus_balance = _bus_balance_rows(horizon, load, on_bus, import_kw, export_kw)
        block.hourly_overrun = _hourly_overrun_rows(horizon, capacity, import_kw, overrun_kw)
        block.distribution_energy_pln = pyo.Expression(
            expr=LinearExpression(
                linear_coefs=[step_h / 1000.0 * rate[t] for t in horizon.step_set],
                linear_vars=import_kw,
            )
        )
        block.capacity_overrun_pln = pyo.Expression(
            expr=overrun_price * LinearExpression(overrun_kw)
        )
        headroom_kw = headroom_pln = None
        if capacity_headroom_pct > 0 and _import_can_reach(headroom_limit_kw, load, on_bus):
            block.headroom_kw = pyo.Var(horizon.hour_set, domain=pyo.NonNegativeReals)
            block.hourly_headroom = _hourly_overrun_rows(
                horizon, headroom_limit_kw, import_kw, list(block.headroom_kw.values())
            )
            block.capacity_headroom_pln = pyo.Expression(
                expr=overrun_price * LinearExpression(list(block.headroom_kw.values()))
            )
            headroom_kw, headroom_pln = block.headroom_kw, block.capacity_headroom_pln
        handles[cp.id] = ConnectionPointHandle(
            connection_point=cp,
            tariff=tariff,
            block=block,
            load_kw=load,
            energy_rate_pln_per_mwh=rate,
            injections=on_bus,
            import_kw=block.import_kw,
            export_kw=block.export_kw,
            overrun_kw=block.overrun_kw,
            distribution_energy_pln=block.distribution_energy_pln,
            capacity_overrun_pln=block.capacity_overrun_pln,
            capacity_fixed_share_pln=fixed_share_pln,
            headroom_kw=headroom_kw,
            capacity_headroom_pln=headroom_pln,
        )
    return handles


def _known_point(
    cp: ConnectionPoint,
    tariff: Tariff,
    block: Any,
    load_kw: tuple[float, ...],
    rate: tuple[float, ...],
    horizon: Horizon,
    overrun_price: float,
    fixed_share_pln: float,
    headroom_limit_kw: float | None,
) -> ConnectionPointHandle:
    r"""A point with nothing to decide: no asset on its bus and a forecast load never below 0.

    Its equations have one solution, and the handle holds it as numbers, with
    no variable and no row: :math:`p^{imp}_t = L_t`, :math:`p^{exp}_t = 0`,
    :math:`o_h = \max(0, \max_{t \in h} L_t - C)` and likewise :math:`g_h`.
    (Exporting while importing more would only add distribution charges, so
    no optimum does it.) On a city, more than half of the points are such
    plain consumers; as variables they were most of the model's size.
    """
    step_h = horizon.step_hours
    load = np.asarray(load_kw, dtype=float)
    hour_peak_kw = np.zeros(len(horizon.hour_set))
    np.maximum.at(hour_peak_kw, np.asarray(horizon.hour_of_step, dtype=int), load)
    overrun_kw = tuple(np.maximum(hour_peak_kw - cp.contracted_capacity_kw, 0.0).tolist())
    headroom_kw = headroom_pln = None
    if headroom_limit_kw is not None and _import_can_reach(headroom_limit_kw, load, ()):
        headroom_kw = tuple(np.maximum(hour_peak_kw - headroom_limit_kw, 0.0).tolist())
        headroom_pln = overrun_price * sum(headroom_kw)
    return ConnectionPointHandle(
        connection_point=cp,
        tariff=tariff,
        block=block,
        load_kw=load_kw,
        energy_rate_pln_per_mwh=rate,
        injections=(),
        import_kw=load_kw,
        export_kw=(0.0,) * horizon.n_steps,
        overrun_kw=overrun_kw,
        distribution_energy_pln=float(step_h / 1000.0 * np.dot(rate, load)),
        capacity_overrun_pln=overrun_price * sum(overrun_kw),
        capacity_fixed_share_pln=fixed_share_pln,
        headroom_kw=headroom_kw,
        capacity_headroom_pln=headroom_pln,
    )


def at_each_step(component: Any, horizon: Horizon) -> list[Any]:
    """A step-indexed component's data (variable, expression or value) of every step, in order.

    Rows that refer to the same step's data of many components are built
    faster from these lists than by indexing each component for every row.

    Parameters
    ----------
    component
        A Pyomo component indexed by the horizon's steps (variable,
        expression or parameter).
    horizon
        The planned steps.
    """
    if isinstance(component, tuple):
        return list(component)
    if component.index_set() is horizon.step_set and len(component) == horizon.n_steps:
        return list(component.values())
    return [component[t] for t in horizon.step_set]


def _bus_balance_rows(
    horizon: Horizon,
    load_kw: tuple[float, ...],
    on_bus: tuple[Injection, ...],
    import_kw: list[Any],
    export_kw: list[Any],
) -> LinearRows:
    r"""One point's bus balance per step, :math:`p^{imp}_t - p^{exp}_t + \sum_a q_{a,t} = L_t`.

    Parameters
    ----------
    horizon
        The planned steps.
    load_kw
        Forecast demand :math:`L_t` per step, kW.
    on_bus
        The injections :math:`q_{a,t}` onto the point's bus, kW; their
        constants move to the right-hand side.
    import_kw, export_kw
        The point's import and export variable of each step, kW.
    """
    n_steps = horizon.n_steps
    steps = list(range(n_steps))
    variables = [*import_kw, *export_kw]
    column_of = {id(var): j for j, var in enumerate(variables)}
    rows, columns = steps + steps, steps + [n_steps + t for t in steps]
    coefficients = [1.0] * n_steps + [-1.0] * n_steps
    right_hand_side = list(load_kw)
    for injection in on_bus:
        for t, power in enumerate(at_each_step(injection.power_kw, horizon)):
            terms, constant = linear_terms(power)
            right_hand_side[t] -= constant
            for var, coefficient in terms:
                column = column_of.setdefault(id(var), len(variables))
                if column == len(variables):
                    variables.append(var)
                rows.append(t)
                columns.append(column)
                coefficients.append(coefficient)
    matrix = sparse.coo_array(
        (coefficients, (rows, columns)), shape=(n_steps, len(variables))
    ).tocsr()
    return LinearRows(matrix, right_hand_side, right_hand_side, variables)


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


def _hourly_overrun_rows(
    horizon: Horizon, capacity_kw: float, import_kw: list[Any], overrun_kw: list[Any]
) -> LinearRows:
    r"""One point's overrun per step, :math:`p^{imp}_t - o_{h(t)} \le C`.

    Parameters
    ----------
    horizon
        The planned steps and the hour of each.
    capacity_kw
        Contracted capacity :math:`C` (less the headroom for the headroom's rows), kW.
    import_kw, overrun_kw
        The point's import variable of each step and overrun (or headroom)
        variable of each hour, kW.
    """
    n_steps = horizon.n_steps
    return LinearRows(
        _overrun_matrix(horizon.hour_of_step),
        np.full(n_steps, -np.inf),
        np.full(n_steps, capacity_kw),
        [*import_kw, *overrun_kw],
    )


@functools.cache
def _overrun_matrix(hour_of_step: tuple[int, ...]) -> sparse.csr_array:
    """Row ``t``: +1 on column ``t`` (the step's import), -1 on column ``n + h(t)`` (its hour's)."""
    n_steps = len(hour_of_step)
    steps = np.arange(n_steps)
    columns = np.column_stack([steps, n_steps + np.asarray(hour_of_step)]).ravel()
    coefficients = np.tile([1.0, -1.0], n_steps)
    matrix = sparse.csr_array(
        (coefficients, columns, np.arange(0, 2 * n_steps + 1, 2)),
        shape=(n_steps, n_steps + max(hour_of_step, default=-1) + 1),
    )
    # Shared by every point's rows: nothing may change it in place.
    for array in (matrix.data, matrix.indices, matrix.indptr):
        array.flags.writeable = False
    return matrix
