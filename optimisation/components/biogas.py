"""The biogas CHP: an engine fed from a gas holder, with a flare for gas it cannot hold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from cluster.config import BiogasCHP
from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.commitment import add_output_limits
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.step_rows import StepTerms
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


def holder_initial_kwh(chp: BiogasCHP, override_pct: float | None = None) -> float:
    """Gas held before the first step, kWh: ``override_pct`` % of the holder when given."""
    pct = chp.gas_holder_initial_pct if override_pct is None else override_pct
    return chp.gas_holder_kwh * pct / 100.0


@dataclass(frozen=True)
class BiogasHandle:
    """The model of one biogas CHP.

    Attributes
    ----------
    chp
        The engine's configuration.
    block
        Its Pyomo block.
    inflow_kw
        Forecast biogas inflow per step, kW of gas.
    holder_initial_kwh
        Gas held before the first step, kWh.
    on
        Binary variable per step: the engine is running.
    output_kw
        Variable: electric output per step, kW.
    gas_use_kw
        Expression: gas burned by the engine per step, kW of gas.
    holder_kwh
        Variable: gas held at the END of each step, kWh.
    flare_kw
        Variable: gas burned in the flare per step, kW of gas.
    flaring
        Binary variable per step: the flare may burn (only with the holder full).
    flare_penalty_pln
        Expression: the flare's penalty over the planned steps, PLN.
    """

    chp: BiogasCHP
    block: Any
    inflow_kw: tuple[float, ...]
    holder_initial_kwh: float
    on: Any
    output_kw: Any
    gas_use_kw: Any
    holder_kwh: Any
    flare_kw: Any
    flaring: Any
    flare_penalty_pln: Any

    @property
    def injection(self) -> Injection:
        """The engine's electric output on its connection point's bus."""
        return Injection(
            self.chp.id,
            self.chp.connection_point,
            InjectionKind.GENERATION,
            StepTerms.of_variables(list(self.output_kw.values())),
        )

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The flare's penalty."""
        return (CostTerm(CostComponent.FLARE, self.chp.id, self.flare_penalty_pln),)


def add_biogas_chps(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    inputs: PlanningInputs,
    holder_initial_pct: Mapping[str, float],
) -> dict[str, BiogasHandle]:
    r"""Add one block per biogas CHP, as ``model.biogas_chps[chp_id]``.

    For every step :math:`t` (:math:`T` steps, :math:`t = 0 \dots T-1`):

    .. math::

        \underline P\,u_t \le p_t \le \bar P\,u_t, \qquad u_t \in \{0, 1\},
        \qquad g_t = p_t / \eta

        v_t = v_{t-1} + (G_t - g_t - f_t)\,\Delta t,
        \qquad v_{-1} = v^{init}, \qquad 0 \le v_t \le V, \qquad v_{T-1} \ge v^{init}

        0 \le f_t \le G_t\,y_t, \qquad v_t \ge V\,y_t, \qquad y_t \in \{0, 1\}

        K^{flare} = \sum_t f_t\,\Delta t / 1000 \cdot \pi^{flare}

    - :math:`p_t` electric output, kW; :math:`\underline P, \bar P`
      ``engine_min_kw``, ``engine_max_kw``, kW (electric); :math:`u_t` running;
    - :math:`g_t` gas burned by the engine, kW of gas; :math:`\eta`
      ``electric_efficiency`` (electric output over gas input);
    - :math:`G_t` biogas inflow ``SeriesId.biogas_inflow(chp)``, kW of gas;
    - :math:`v_t` gas held at the end of step :math:`t`, kWh; :math:`V`
      ``gas_holder_kwh``; :math:`v^{init}` ``holder_initial_pct[chp_id]`` (else
      ``gas_holder_initial_pct``) % of :math:`V`. The holder must end the day
      at least as full as it began, so a plan cannot burn tomorrow's gas;
    - :math:`f_t` gas burned in the flare, kW of gas; :math:`y_t` the flare
      may burn, which it may only in a step that ends with the holder full,
      and never more than flows in; :math:`\pi^{flare}`
      ``flare_penalty_pln_per_mwh``, PLN per MWh of gas;
    - :math:`\Delta t` step, h.
    """
    chps = inputs.config.assets.biogas_chps
    model.biogas_chps = pyo.Block([c.id for c in chps])
    step_h = horizon.step_hours
    last = horizon.n_steps - 1
    handles: dict[str, BiogasHandle] = {}
    for chp in chps:
        block = model.biogas_chps[chp.id]
        inflow = tuple(float(v) for v in inputs.series(SeriesId.biogas_inflow(chp.id)))
        initial = holder_initial_kwh(chp, holder_initial_pct.get(chp.id))
        capacity = chp.gas_holder_kwh
        eta = chp.electric_efficiency

        block.on = pyo.Var(horizon.step_set, domain=pyo.Binary)
        block.output_kw = pyo.Var(horizon.step_set, bounds=(0.0, chp.engine_max_kw))
        block.holder_kwh = pyo.Var(horizon.step_set, bounds=(0.0, capacity))
        block.flare_kw = pyo.Var(horizon.step_set, domain=pyo.NonNegativeReals)
        block.flaring = pyo.Var(horizon.step_set, domain=pyo.Binary)

        add_output_limits(block, horizon.step_set, chp.engine_min_kw, chp.engine_max_kw)
        block.gas_use_kw = pyo.Expression(
            horizon.step_set, rule=lambda b, t, eta=eta: b.output_kw[t] / eta
        )

        def holder_dynamics(b: Any, t: int, inflow: tuple[float, ...] = inflow,
                            start: float = initial) -> Any:  # fmt: skip
            previous = start if t == 0 else b.holder_kwh[t - 1]
            flow = inflow[t] - b.gas_use_kw[t] - b.flare_kw[t]
            return b.holder_kwh[t] == previous + flow * step_h

        block.holder_dynamics = pyo.Constraint(horizon.step_set, rule=holder_dynamics)
        block.end_of_day_holder = pyo.Constraint(expr=block.holder_kwh[last] >= initial)
        block.flare_only_when_flaring = pyo.Constraint(
            horizon.step_set,
            rule=lambda b, t, inflow=inflow: b.flare_kw[t] <= inflow[t] * b.flaring[t],
        )
        block.flare_only_when_full = pyo.Constraint(
            horizon.step_set, rule=lambda b, t, v=capacity: b.holder_kwh[t] >= v * b.flaring[t]
        )
        penalty = chp.flare_penalty_pln_per_mwh * step_h / 1000.0
        block.flare_penalty_pln = pyo.Expression(
            expr=penalty * sum(block.flare_kw[t] for t in horizon.step_set)
        )
        handles[chp.id] = BiogasHandle(
            chp=chp,
            block=block,
            inflow_kw=inflow,
            holder_initial_kwh=initial,
            on=block.on,
            output_kw=block.output_kw,
            gas_use_kw=block.gas_use_kw,
            holder_kwh=block.holder_kwh,
            flare_kw=block.flare_kw,
            flaring=block.flaring,
            flare_penalty_pln=block.flare_penalty_pln,
        )
    return handles
