"""The waste-to-energy CHP: unit commitment, ramps, start-ups and the must-burn waste."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyomo.environ as pyo

from cluster.config import WasteToEnergyCHP
from cluster.outages import available_fraction, outage_windows
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.commitment import add_output_limits
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.step_rows import StepTerms
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs

#: A forecast below this share of the minimum stable load means the plant is
#: expected off in that step (an outage). A running plant never delivers less
#: than its minimum stable load, so a forecast well below it says "not running"
#: even when it is not exactly zero.
UNAVAILABLE_BELOW_SHARE_OF_MIN = 0.5


@dataclass(frozen=True)
class WteState:
    """The state of a waste-to-energy plant just before the first planned step.

    Attributes
    ----------
    on
        True when the plant is running.
    output_kw
        Its electric output, kW; ``None`` when not known, in which case the
        first step is not ramp-limited.
    """

    on: bool
    output_kw: float | None = None


@dataclass(frozen=True)
class WasteDay:
    """The waste that must be burned over the planned steps of one local day.

    Attributes
    ----------
    day
        The local calendar day.
    positions
        Positions of the planned steps that fall in it.
    share_of_day
        Planned steps over the day's steps (92, 96 or 100 quarter-hours).
    required_mwh
        Fuel energy to burn in those steps, MWh: ``daily_min_waste_mwh`` ×
        ``share_of_day`` × the mean share of the plant its planned outages
        leave in them, or 0 when the plant is unavailable in all of them.
    exempt
        True when the plant is unavailable in every planned step of the day,
        so the minimum does not apply (a planned outage).
    """

    day: date
    positions: tuple[int, ...]
    share_of_day: float
    required_mwh: float
    exempt: bool


def initial_state(chp: WasteToEnergyCHP, override: WteState | None = None) -> WteState:
    """The state before the first step: ``override`` when given, else the configuration's."""
    if override is not None:
        return override
    return WteState(on=chp.initially_on, output_kw=chp.initial_output_kw)


def planned_share(chp: WasteToEnergyCHP, inputs: PlanningInputs) -> np.ndarray:
    """The share of the plant its planned outages leave in each step, 0-1 (1 outside them)."""
    windows = outage_windows(chp.planned_outages, inputs.config.cluster.zone)
    return available_fraction(inputs.steps, inputs.config.cluster.step_minutes, windows)


def planned_max_kw(chp: WasteToEnergyCHP, inputs: PlanningInputs) -> np.ndarray:
    """The most the plant may deliver in each step by its planned derates, kW."""
    most_kw: np.ndarray = chp.electric_max_kw * planned_share(chp, inputs)
    return most_kw


def available_steps(chp: WasteToEnergyCHP, inputs: PlanningInputs) -> np.ndarray:
    """Whether the plant may run in each step (boolean per step).

    The forecast ``SeriesId.wte(chp)`` is read as availability: below
    :data:`UNAVAILABLE_BELOW_SHARE_OF_MIN` × ``electric_min_kw`` the plant is
    unavailable (an outage), otherwise it may run anywhere in its range. A
    planned derate below the minimum stable load leaves it unavailable too.
    """
    forecast_kw = inputs.series(SeriesId.wte(chp.id))
    available: np.ndarray = forecast_kw >= UNAVAILABLE_BELOW_SHARE_OF_MIN * chp.electric_min_kw
    return available & (planned_max_kw(chp, inputs) >= chp.electric_min_kw)


def waste_days(
    chp: WasteToEnergyCHP, inputs: PlanningInputs, available: np.ndarray
) -> tuple[WasteDay, ...]:
    """The must-burn requirement of every local day the planned steps touch."""
    zone = inputs.config.cluster.zone
    step_minutes = inputs.config.cluster.step_minutes
    local_days = [ts.date() for ts in inputs.steps.tz_convert(zone)]
    # A planned derate or outage lowers the day's minimum pro rata: the
    # waste it cannot burn is planned for (stored or sent elsewhere).
    share_left = planned_share(chp, inputs)
    days: list[WasteDay] = []
    for day in dict.fromkeys(local_days):
        positions = tuple(t for t, d in enumerate(local_days) if d == day)
        share = len(positions) / len(day_steps(day, zone, step_minutes))
        exempt = not bool(available[list(positions)].any())
        planned = float(share_left[list(positions)].mean())
        required = 0.0 if exempt else chp.daily_min_waste_mwh * share * planned
        days.append(WasteDay(day, positions, share, required, exempt))
    return tuple(days)


def start_up_limit_kw(chp: WasteToEnergyCHP, step_h: float) -> float:
    """The most the plant can deliver in the step it starts or the step before it stops, kW."""
    return max(chp.electric_min_kw, chp.ramp_kw_per_hour * step_h)


@dataclass(frozen=True)
class WteHandle:
    """The model of one waste-to-energy CHP.

    Attributes
    ----------
    chp
        The plant's configuration.
    block
        Its Pyomo block.
    available
        Whether the plant may run, per step.
    initial
        Its state before the first step.
    waste_days
        The must-burn requirement per local day.
    on, start
        Binary variables per step: running, and started in this step.
    output_kw
        Variable: electric output per step, kW.
    heat_kw
        Expression: heat output per step, kW.
    waste_mwh
        Expression: fuel (waste) energy burned per step, MWh.
    start_cost_pln
        Expression: start-up cost of the planned steps, PLN.
    """

    chp: WasteToEnergyCHP
    block: Any
    available: tuple[bool, ...]
    initial: WteState
    waste_days: tuple[WasteDay, ...]
    on: Any
    start: Any
    output_kw: Any
    heat_kw: Any
    waste_mwh: Any
    start_cost_pln: Any

    @property
    def injection(self) -> Injection:
        """The plant's electric output on its connection point's bus."""
        return Injection(
            self.chp.id,
            self.chp.connection_point,
            InjectionKind.GENERATION,
            StepTerms.of_variables(list(self.output_kw.values())),
        )

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The start-up cost."""
        return (CostTerm(CostComponent.WTE_START, self.chp.id, self.start_cost_pln),)


def add_wte_chps(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    inputs: PlanningInputs,
    initial: Mapping[str, WteState],
) -> dict[str, WteHandle]:
    r"""Add one block per waste-to-energy CHP, as ``model.wte_chps[chp_id]``.

    For every step :math:`t` (:math:`t = 0 \dots T-1`, the state before the
    first step written :math:`t = -1`):

    .. math::

        \underline P\,u_t \le p_t \le \bar P\,u_t, \qquad u_t \in \{0, 1\},
        \qquad u_t = 0 \text{ where } a_t = 0

        p_t \le \phi_t\,\bar P\,u_t \quad \text{where } \phi_t < 1

        s_t \ge u_t - u_{t-1}, \qquad s_t \le u_t, \qquad s_t \le 1 - u_{t-1},
        \qquad s_t \in \{0, 1\}

        p_t - p_{t-1} \le R\,\Delta t\,u_{t-1} + S\,s_t

        p_{t-1} - p_t \le R\,\Delta t\,u_t + S\,(s_t - u_t + u_{t-1})

        h_t = r\,p_t

        \sum_{t \in d} p_t\,\Delta t / (1000\,\eta) \ge W\,\frac{|d|}{N_d}\,\bar\phi_d
        \quad \text{for every local day } d \text{ not wholly unavailable}

        K^{start} = C \sum_t s_t

    - :math:`p_t` electric output, kW; :math:`h_t` heat output, kW, delivered
      to the plant's ``district_heating`` network (without one it is not modelled);
    - :math:`u_t` running, :math:`s_t` started in step :math:`t`; the three
      start constraints make :math:`s_t = \max(0, u_t - u_{t-1})` exactly, so
      :math:`s_t - u_t + u_{t-1}` is 1 exactly when the plant stops;
    - :math:`\underline P, \bar P` ``electric_min_kw``, ``electric_max_kw``, kW;
    - :math:`a_t` availability: the forecast ``SeriesId.wte(chp)`` is at least
      :data:`UNAVAILABLE_BELOW_SHARE_OF_MIN` × :math:`\underline P`, and
      :math:`\phi_t\,\bar P \ge \underline P`;
    - :math:`\phi_t` the share of the plant its ``planned_outages`` leave in
      step :math:`t` (``available_fraction``, 1 outside them), :math:`\bar\phi_d`
      its mean over the planned steps of day :math:`d`;
    - :math:`R` ``ramp_kw_per_hour``, kW/h; :math:`\Delta t` step, h;
      :math:`S = \max(\underline P, R\,\Delta t)` the ramp allowed in the step
      the plant starts (from 0) and in the step before it stops (to 0), so a
      start goes straight to the minimum stable load;
    - :math:`u_{-1}, p_{-1}` the initial state (``initial[chp_id]``, else
      ``initially_on``/``initial_output_kw``); when :math:`p_{-1}` is unknown
      the ramp constraints of step 0 are left out;
    - :math:`r` ``heat_to_power_ratio``; :math:`\eta` ``electric_efficiency``;
    - :math:`W` ``daily_min_waste_mwh``, MWh of fuel; :math:`|d|` planned
      steps of day :math:`d`, :math:`N_d` its steps (92, 96 or 100). The
      minimum has no slack: a day that cannot burn it is refused before the
      build (:mod:`optimisation.consistency`) or solves infeasible. A day on
      which the plant is unavailable in every planned step (an outage) has no
      minimum;
    - :math:`C` ``start_cost_pln``, PLN per start.

    Burning waste has no cost of its own here: the waste is delivered anyway,
    and the plant earns through the electricity and heat it delivers.
    """
    chps = inputs.config.assets.wte_chps
    model.wte_chps = pyo.Block([c.id for c in chps])
    step_h = horizon.step_hours
    handles: dict[str, WteHandle] = {}
    for chp in chps:
        block = model.wte_chps[chp.id]
        available = tuple(bool(a) for a in available_steps(chp, inputs))
        state = initial_state(chp, initial.get(chp.id))
        days = waste_days(chp, inputs, np.asarray(available))
        p_min, p_max = chp.electric_min_kw, chp.electric_max_kw
        ramp = chp.ramp_kw_per_hour * step_h
        jump = start_up_limit_kw(chp, step_h)
        on_before = 1.0 if state.on else 0.0
        output_before = state.output_kw if state.on else 0.0

        block.on = pyo.Var(
            horizon.step_set,
            domain=pyo.Binary,
            bounds=lambda _b, t, a=available: (0, 1 if a[t] else 0),
        )
        block.start = pyo.Var(horizon.step_set, domain=pyo.Binary)
        block.output_kw = pyo.Var(horizon.step_set, bounds=(0.0, p_max))

        def previous_on(b: Any, t: int, before: float = on_before) -> Any:
            return before if t == 0 else b.on[t - 1]

        add_output_limits(block, horizon.step_set, p_min, p_max)
        derated = planned_max_kw(chp, inputs)
        block.output_below_planned_max = pyo.Constraint(
            [t for t in horizon.step_set if derated[t] < p_max],
            rule=lambda b, t, most=derated: b.output_kw[t] <= float(most[t]) * b.on[t],
        )
        block.start_when_switched_on = pyo.Constraint(
            horizon.step_set, rule=lambda b, t: b.start[t] >= b.on[t] - previous_on(b, t)
        )
        block.start_only_when_on = pyo.Constraint(
            horizon.step_set, rule=lambda b, t: b.start[t] <= b.on[t]
        )
        block.start_only_after_off = pyo.Constraint(
            horizon.step_set, rule=lambda b, t: b.start[t] <= 1 - previous_on(b, t)
        )

        def ramp_up(b: Any, t: int, ramp: float = ramp, jump: float = jump,
                    before: float | None = output_before) -> Any:  # fmt: skip
            if t == 0 and before is None:
                return pyo.Constraint.Skip
            previous = before if t == 0 else b.output_kw[t - 1]
            return b.output_kw[t] - previous <= ramp * previous_on(b, t) + jump * b.start[t]

        def ramp_down(b: Any, t: int, ramp: float = ramp, jump: float = jump,
                      before: float | None = output_before) -> Any:  # fmt: skip
            if t == 0 and before is None:
                return pyo.Constraint.Skip
            previous = before if t == 0 else b.output_kw[t - 1]
            stops = b.start[t] - b.on[t] + previous_on(b, t)
            return previous - b.output_kw[t] <= ramp * b.on[t] + jump * stops

        block.ramp_up = pyo.Constraint(horizon.step_set, rule=ramp_up)
        block.ramp_down = pyo.Constraint(horizon.step_set, rule=ramp_down)
        block.heat_kw = pyo.Expression(
            horizon.step_set, rule=lambda b, t, r=chp.heat_to_power_ratio: r * b.output_kw[t]
        )
        block.waste_mwh = pyo.Expression(
            horizon.step_set,
            rule=lambda b, t, eta=chp.electric_efficiency: b.output_kw[t] * step_h / 1000.0 / eta,
        )
        binding_days = [d for d in days if d.required_mwh > 0]
        block.must_burn = pyo.Constraint(
            range(len(binding_days)),
            rule=lambda b, i, days=binding_days: (
                sum(b.waste_mwh[t] for t in days[i].positions) >= days[i].required_mwh
            ),
        )
        block.start_cost_pln = pyo.Expression(
            expr=chp.start_cost_pln * sum(block.start[t] for t in horizon.step_set)
        )
        handles[chp.id] = WteHandle(
            chp=chp,
            block=block,
            available=available,
            initial=state,
            waste_days=days,
            on=block.on,
            start=block.start,
            output_kw=block.output_kw,
            heat_kw=block.heat_kw,
            waste_mwh=block.waste_mwh,
            start_cost_pln=block.start_cost_pln,
        )
    return handles
