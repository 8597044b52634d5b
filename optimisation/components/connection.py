"""Connection points: the bus balance, the export limit and the distribution tariff."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from cluster.config import ConnectionPoint, Tariff
from cluster.tariffs import days_in_month, energy_rate_pln_per_mwh
from optimisation.components.bus import Injection
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


@dataclass(frozen=True)
class ConnectionPointHandle:
    """The model of one connection point.

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
    distribution_energy_pln, capacity_overrun_pln
        Expressions: the distribution energy charge and the overrun charge, PLN.
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

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The point's distribution charges; the fixed capacity share is only reported."""
        owner = self.connection_point.id
        return (
            CostTerm(CostComponent.DISTRIBUTION_ENERGY, owner, self.distribution_energy_pln),
            CostTerm(CostComponent.CAPACITY_OVERRUN, owner, self.capacity_overrun_pln),
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
) -> dict[str, ConnectionPointHandle]:
    r"""Add one block per connection point, as ``model.connection_points[cp_id]``.

    For every step :math:`t` and clock hour :math:`h`:

    .. math::

        L_t - \sum_{a} q_{a,t} = p^{imp}_t - p^{exp}_t,
        \qquad p^{imp}_t \ge 0, \qquad 0 \le p^{exp}_t \le \bar P^{exp}

        o_h \ge p^{imp}_t - C \quad \forall t \in h, \qquad o_h \ge 0

        K^{dist} = \sum_t p^{imp}_t\,\Delta t / 1000 \cdot r_t,
        \qquad K^{over} = m\,k \sum_h o_h,
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
    - :math:`r_t` the tariff zone's energy rate, PLN/MWh; :math:`\Delta t` step, h;
    - :math:`k` ``capacity_rate_pln_per_kw_month``, PLN/(kW·month);
      :math:`m` ``overrun_multiplier``; :math:`D` days in the planned month.

    :math:`K^{over}` is the ``hourly_max_sum`` rule restricted to the planned
    hours. The ``ten_largest`` rule is charged on the same hourly peaks: which
    overruns are the month's ten largest is not known within one day, and the
    hourly peaks are an upper bound on that charge, so the plan stays on the
    safe side.
    """
    config = inputs.config
    zone = config.cluster.zone
    country = config.cluster.country
    step_h = horizon.step_hours
    rates = {
        tariff.id: tuple(
            float(r) for r in energy_rate_pln_per_mwh(tariff, horizon.steps, zone, country)
        )
        for tariff in config.tariffs
    }
    days = days_in_month(inputs.day)
    by_point: dict[str, list[Injection]] = {cp.id: [] for cp in config.connection_points}
    for injection in injections:
        by_point[injection.connection_point].append(injection)

    model.connection_points = pyo.Block([cp.id for cp in config.connection_points])
    handles: dict[str, ConnectionPointHandle] = {}
    for cp in config.connection_points:
        block = model.connection_points[cp.id]
        tariff = config.tariff_of(cp)
        load = tuple(float(v) for v in inputs.load_kw(cp.id))
        rate = rates[tariff.id]
        on_bus = tuple(by_point[cp.id])
        capacity = cp.contracted_capacity_kw

        block.import_kw = pyo.Var(horizon.step_set, domain=pyo.NonNegativeReals)
        block.export_kw = pyo.Var(horizon.step_set, bounds=(0.0, cp.export_limit_kw))
        block.overrun_kw = pyo.Var(horizon.hour_set, domain=pyo.NonNegativeReals)

        def bus_balance(b: Any, t: int, load: tuple[float, ...] = load,
                        on_bus: tuple[Injection, ...] = on_bus) -> Any:  # fmt: skip
            injected = sum(injection.power_kw[t] for injection in on_bus)
            return load[t] - injected == b.import_kw[t] - b.export_kw[t]

        block.bus_balance = pyo.Constraint(horizon.step_set, rule=bus_balance)
        block.hourly_overrun = pyo.Constraint(
            horizon.step_set,
            rule=lambda b, t, c=capacity: (
                b.overrun_kw[horizon.hour_of_step[t]] >= b.import_kw[t] - c
            ),
        )
        block.distribution_energy_pln = pyo.Expression(
            expr=sum(block.import_kw[t] * (step_h / 1000.0 * rate[t]) for t in horizon.step_set)
        )
        overrun_price = tariff.overrun_multiplier * tariff.capacity_rate_pln_per_kw_month
        block.capacity_overrun_pln = pyo.Expression(
            expr=overrun_price * sum(block.overrun_kw[h] for h in horizon.hour_set)
        )
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
            capacity_fixed_share_pln=capacity * tariff.capacity_rate_pln_per_kw_month / days,
        )
    return handles
