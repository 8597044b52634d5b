"""Batteries: charge, discharge, state of charge, no simultaneous charge and discharge.

A battery may carry a cycle cost on the energy it discharges, for wear.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from cluster.config import Battery
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


@dataclass(frozen=True)
class BatteryHandle:
    """The model of one battery.

    Attributes
    ----------
    battery
        The battery's configuration.
    block
        Its Pyomo block.
    efficiency
        One-way efficiency, the square root of the round-trip efficiency.
    soc_initial_kwh, soc_end_min_kwh
        Energy stored at the start, and the least allowed at the end, kWh.
    charge_kw, discharge_kw
        Variables: power into and out of the battery per step, kW (both >= 0).
    is_charging
        Binary variable per step: 1 allows charging, 0 allows discharging.
    soc_kwh
        Variable: energy stored at the END of each step, kWh.
    net_discharge_kw
        Expression: discharge minus charge per step, kW (positive discharging).
    cycle_cost_pln
        Expression: the wear cost of the energy discharged over the planned steps, PLN.
    """

    battery: Battery
    block: Any
    efficiency: float
    soc_initial_kwh: float
    soc_end_min_kwh: float
    charge_kw: Any
    discharge_kw: Any
    is_charging: Any
    soc_kwh: Any
    net_discharge_kw: Any
    cycle_cost_pln: Any

    @property
    def injection(self) -> Injection:
        """The battery's net discharge on its connection point's bus."""
        return Injection(
            self.battery.id,
            self.battery.connection_point,
            InjectionKind.STORAGE,
            self.net_discharge_kw,
        )

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The cycle cost."""
        return (CostTerm(CostComponent.BATTERY_CYCLE, self.battery.id, self.cycle_cost_pln),)


def add_batteries(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    inputs: PlanningInputs,
    end_soc_pct: Mapping[str, float],
) -> dict[str, BatteryHandle]:
    r"""Add one block per battery, as ``model.batteries[battery_id]``.

    For every step :math:`t` (:math:`T` steps, :math:`t = 0 \dots T-1`):

    .. math::

        0 \le p^{ch}_t \le P\,b_t, \qquad 0 \le p^{dis}_t \le P\,(1 - b_t),
        \qquad b_t \in \{0, 1\}

        e_t = e_{t-1} + \left(\eta\,p^{ch}_t - p^{dis}_t / \eta\right)\Delta t,
        \qquad e_{-1} = e^{init}

        E\,s^{min} \le e_t \le E\,s^{max}, \qquad e_{T-1} \ge e^{end}

        K^{cycle} = \sum_t p^{dis}_t\,\Delta t / 1000 \cdot c

    - :math:`p^{ch}_t, p^{dis}_t` charge and discharge power, kW;
    - :math:`b_t` 1 when the battery may charge, 0 when it may discharge, so
      it never does both in one step (which would burn energy in losses);
    - :math:`P` rated power ``power_kw``, kW; :math:`E` capacity
      ``energy_kwh``, kWh;
    - :math:`\eta = \sqrt{\eta^{rt}}` one-way efficiency from the round-trip
      efficiency :math:`\eta^{rt}` (``round_trip_efficiency``);
    - :math:`e_t` energy stored at the end of step :math:`t`, kWh;
      :math:`\Delta t` step length, h;
    - :math:`s^{min}, s^{max}` ``soc_min_pct``, ``soc_max_pct`` / 100;
    - :math:`e^{init} = E\,s^{init}` from ``soc_initial_pct``;
    - :math:`e^{end}` the end-of-day floor: ``end_soc_pct[battery_id]`` % of
      :math:`E` when given (checked to lie within the limits), else
      :math:`e^{init}`, so a plan cannot sell the stored energy without
      putting it back;
    - :math:`c` ``cycle_cost_pln_per_mwh``, PLN per MWh discharged (wear);
      0 by default, so cycling is free unless declared.
    """
    batteries = inputs.config.assets.batteries
    model.batteries = pyo.Block([b.id for b in batteries])
    step_h = horizon.step_hours
    last = horizon.n_steps - 1
    handles: dict[str, BatteryHandle] = {}
    for battery in batteries:
        block = model.batteries[battery.id]
        power = battery.power_kw
        capacity = battery.energy_kwh
        eta = math.sqrt(battery.round_trip_efficiency)
        soc_initial = capacity * battery.soc_initial_pct / 100.0
        soc_end_min = capacity * end_soc_pct.get(battery.id, battery.soc_initial_pct) / 100.0
        soc_bounds = (
            capacity * battery.soc_min_pct / 100.0,
            capacity * battery.soc_max_pct / 100.0,
        )

        block.charge_kw = pyo.Var(horizon.step_set, bounds=(0.0, power))
        block.discharge_kw = pyo.Var(horizon.step_set, bounds=(0.0, power))
        block.is_charging = pyo.Var(horizon.step_set, domain=pyo.Binary)
        block.soc_kwh = pyo.Var(horizon.step_set, bounds=soc_bounds)

        block.charge_only_when_charging = pyo.Constraint(
            horizon.step_set, rule=lambda b, t, p=power: b.charge_kw[t] <= p * b.is_charging[t]
        )
        block.discharge_only_when_not_charging = pyo.Constraint(
            horizon.step_set,
            rule=lambda b, t, p=power: b.discharge_kw[t] <= p * (1 - b.is_charging[t]),
        )

        def soc_dynamics(b: Any, t: int, eta: float = eta, start: float = soc_initial) -> Any:
            previous = start if t == 0 else b.soc_kwh[t - 1]
            flow = eta * b.charge_kw[t] - b.discharge_kw[t] / eta
            return b.soc_kwh[t] == previous + flow * step_h

        block.soc_dynamics = pyo.Constraint(horizon.step_set, rule=soc_dynamics)
        block.end_of_day_soc = pyo.Constraint(expr=block.soc_kwh[last] >= soc_end_min)
        block.net_discharge_kw = pyo.Expression(
            horizon.step_set, rule=lambda b, t: b.discharge_kw[t] - b.charge_kw[t]
        )
        cycle_price = battery.cycle_cost_pln_per_mwh * step_h / 1000.0
        block.cycle_cost_pln = pyo.Expression(
            expr=cycle_price * sum(block.discharge_kw[t] for t in horizon.step_set)
        )
        handles[battery.id] = BatteryHandle(
            battery=battery,
            block=block,
            efficiency=eta,
            soc_initial_kwh=soc_initial,
            soc_end_min_kwh=soc_end_min,
            charge_kw=block.charge_kw,
            discharge_kw=block.discharge_kw,
            is_charging=block.is_charging,
            soc_kwh=block.soc_kwh,
            net_discharge_kw=block.net_discharge_kw,
            cycle_cost_pln=block.cycle_cost_pln,
        )
    return handles
