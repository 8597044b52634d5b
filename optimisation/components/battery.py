"""Batteries: charge, discharge, state of charge, no simultaneous charge and discharge.

A battery may carry a cycle cost on the energy it discharges, for wear.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from scipy import sparse

from cluster.config import Battery
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.step_rows import StepTerms, priced_sum
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs
from optimisation.rows import LinearRows


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
        Discharge minus charge per step, kW (positive discharging).
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
    net_discharge_kw: StepTerms
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

    Its power limits and state-of-charge dynamics are one block of rows,
    ``rows`` (the charge limits, the discharge limits, then the dynamics, one
    per step each), built from arrays; ``end_of_day_soc`` is a row of its own
    (a declared soft group).

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

        block.rows = _battery_rows(
            horizon.n_steps, power, eta, step_h, soc_initial,
            [*block.charge_kw.values(), *block.discharge_kw.values(),
             *block.is_charging.values(), *block.soc_kwh.values()],
        )  # fmt: skip
        block.end_of_day_soc = pyo.Constraint(expr=block.soc_kwh[last] >= soc_end_min)
        discharge = list(block.discharge_kw.values())
        cycle_price = battery.cycle_cost_pln_per_mwh * step_h / 1000.0
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
            net_discharge_kw=StepTerms.total(
                [
                    StepTerms.of_variables(discharge),
                    StepTerms.of_variables(list(block.charge_kw.values()), -1.0),
                ],
                horizon.n_steps,
            ),
            cycle_cost_pln=priced_sum(discharge, cycle_price),
        )
    return handles


def _battery_rows(n_steps: int, power_kw: float, efficiency: float, step_h: float,
                  soc_initial_kwh: float, columns: list[Any]) -> LinearRows:  # fmt: skip
    r"""The rows over ``[p^{ch}, p^{dis}, b, e]`` (``T`` columns each, step by step).

    :math:`p^{ch}_t - P b_t \le 0`, then :math:`p^{dis}_t + P b_t \le P`, then
    :math:`e_t - e_{t-1} - \eta \Delta t\,p^{ch}_t + \Delta t / \eta\,p^{dis}_t = 0`
    with :math:`e_{-1}` moved to the right-hand side of step 0 as :math:`e^{init}`.
    """
    n = n_steps
    steps = np.arange(n)
    charge, discharge, charging, soc = steps, n + steps, 2 * n + steps, 3 * n + steps
    ones = np.ones(n)
    rows = [steps, steps, n + steps, n + steps, 2 * n + steps, 2 * n + steps, 2 * n + steps,
            2 * n + steps[1:]]  # fmt: skip
    cols = [charge, charging, discharge, charging, soc, charge, discharge, soc[:-1]]
    values = [ones, -power_kw * ones, ones, power_kw * ones, ones,
              -efficiency * step_h * ones, step_h / efficiency * ones, -ones[1:]]  # fmt: skip
    matrix = sparse.coo_array(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(3 * n, 4 * n)
    ).tocsr()
    dynamics = np.zeros(n)
    dynamics[0] = soc_initial_kwh
    lower = np.concatenate([np.full(2 * n, -np.inf), dynamics])
    upper = np.concatenate([np.zeros(n), np.full(n, power_kw), dynamics])
    return LinearRows(matrix, lower, upper, columns)
