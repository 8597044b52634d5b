"""District heat: demand met by waste-to-energy heat, a gas boiler, a heat store and a cooler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from cluster.config import DistrictHeating
from cluster.timeseries import SeriesId
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.wte import WteHandle
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


def store_initial_kwh(network: DistrictHeating, override_pct: float | None = None) -> float:
    """Heat stored before the first step, kWh: ``override_pct`` % of the store when given."""
    pct = network.heat_store_initial_pct if override_pct is None else override_pct
    return network.heat_store_kwh * pct / 100.0


@dataclass(frozen=True)
class DistrictHeatHandle:
    """The model of one district-heating network.

    Attributes
    ----------
    network
        The network's configuration.
    block
        Its Pyomo block.
    demand_kw
        Forecast heat demand per step, kW.
    feeding_chps
        Ids of the waste-to-energy plants whose heat goes into the network.
    store_initial_kwh
        Heat stored before the first step, kWh.
    boiler_kw
        Variable: heat from the gas boiler per step, kW.
    store_charge_kw
        Variable: net heat into the store per step, kW (negative when discharging).
    store_level_kwh
        Variable: heat stored at the END of each step, kWh.
    dump_kw
        Variable: heat rejected in the emergency cooler per step, kW.
    gas_mwh
        Expression: natural gas burned by the boiler per step, MWh.
    gas_cost_pln
        Expression: cost of that gas per step, PLN.
    total_gas_cost_pln, total_gas_mwh, dump_penalty_pln
        Expressions over the planned steps: gas cost (PLN), gas burned (MWh)
        and the cooler's penalty (PLN).
    """

    network: DistrictHeating
    block: Any
    demand_kw: tuple[float, ...]
    feeding_chps: tuple[str, ...]
    store_initial_kwh: float
    boiler_kw: Any
    store_charge_kw: Any
    store_level_kwh: Any
    dump_kw: Any
    gas_mwh: Any
    gas_cost_pln: Any
    total_gas_cost_pln: Any
    total_gas_mwh: Any
    dump_penalty_pln: Any

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The boiler's gas and the cooler's penalty."""
        owner = self.network.id
        return (
            CostTerm(CostComponent.GAS, owner, self.total_gas_cost_pln),
            CostTerm(CostComponent.HEAT_DUMP, owner, self.dump_penalty_pln),
        )


def add_district_heating(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    inputs: PlanningInputs,
    wte_chps: Mapping[str, WteHandle],
    store_initial_pct: Mapping[str, float],
) -> dict[str, DistrictHeatHandle]:
    r"""Add one block per district-heating network, as ``model.district_heating[network_id]``.

    For every step :math:`t` (:math:`T` steps, :math:`t = 0 \dots T-1`):

    .. math::

        \sum_{w} h_{w,t} + q^{gb}_t - q^{st}_t - q^{dump}_t = D_t

        e_t = e_{t-1}\,(1 - \lambda\,\Delta t) + q^{st}_t\,\Delta t,
        \qquad e_{-1} = e^{init}, \qquad 0 \le e_t \le E, \qquad e_{T-1} \ge e^{init}

        0 \le q^{gb}_t \le \bar Q^{gb}, \qquad 0 \le q^{dump}_t \le \bar Q^{dump}

        g_t = q^{gb}_t\,\Delta t / (1000\,\eta^{gb}),
        \qquad K^{gas} = \sum_t g_t\,\pi^{gas},
        \qquad K^{dump} = \sum_t q^{dump}_t\,\Delta t / 1000 \cdot \pi^{dump}

    - :math:`D_t` heat demand ``SeriesId.heat_demand(network)``, kW;
    - :math:`h_{w,t}` heat of waste-to-energy plant :math:`w` whose
      ``district_heating`` is this network, kW;
    - :math:`q^{gb}_t` gas boiler heat, kW; :math:`\bar Q^{gb}` ``gas_boiler_max_kw``;
      :math:`\eta^{gb}` ``gas_boiler_efficiency``; :math:`g_t` gas burned, MWh;
      :math:`\pi^{gas}` ``gas_price_pln_per_mwh`` (per MWh of gas);
    - :math:`q^{st}_t` net heat into the store, kW (negative when it
      discharges); :math:`e_t` heat stored at the end of step :math:`t`, kWh;
      :math:`E` ``heat_store_kwh``; :math:`\lambda` ``heat_store_loss_pct_per_hour`` / 100,
      1/h; :math:`e^{init}` ``store_initial_pct[network_id]`` (else
      ``heat_store_initial_pct``) % of :math:`E`. The store must end the day
      at least as full as it began, so a plan cannot spend stored heat it
      does not put back;
    - :math:`q^{dump}_t` heat rejected in the emergency cooler, kW;
      :math:`\bar Q^{dump}` ``emergency_cooler_kw`` (0 when the network
      declares none: then plant heat beyond demand must go into the store);
      :math:`\pi^{dump}` ``heat_dump_penalty_pln_per_mwh``;
    - :math:`\Delta t` step, h.

    The store has no power limit of its own (a tank's charge rate is set by
    the network's pumps, far above the plant's heat) and the same heat in and
    out in one step is a no-op, so one net flow per step suffices.
    """
    networks = inputs.config.assets.district_heating
    model.district_heating = pyo.Block([n.id for n in networks])
    step_h = horizon.step_hours
    last = horizon.n_steps - 1
    handles: dict[str, DistrictHeatHandle] = {}
    for network in networks:
        block = model.district_heating[network.id]
        demand = tuple(float(v) for v in inputs.series(SeriesId.heat_demand(network.id)))
        feeding = tuple(w for w in wte_chps.values() if w.chp.district_heating == network.id)
        initial = store_initial_kwh(network, store_initial_pct.get(network.id))
        keep = 1.0 - network.heat_store_loss_pct_per_hour / 100.0 * step_h

        block.boiler_kw = pyo.Var(horizon.step_set, bounds=(0.0, network.gas_boiler_max_kw))
        block.store_charge_kw = pyo.Var(horizon.step_set, domain=pyo.Reals)
        block.store_level_kwh = pyo.Var(horizon.step_set, bounds=(0.0, network.heat_store_kwh))
        block.dump_kw = pyo.Var(horizon.step_set, bounds=(0.0, network.emergency_cooler_kw))

        def heat_balance(b: Any, t: int, demand: tuple[float, ...] = demand,
                         feeding: tuple[WteHandle, ...] = feeding) -> Any:  # fmt: skip
            chp_heat = sum(w.heat_kw[t] for w in feeding)
            return chp_heat + b.boiler_kw[t] - b.store_charge_kw[t] - b.dump_kw[t] == demand[t]

        def store_dynamics(b: Any, t: int, keep: float = keep, start: float = initial) -> Any:
            previous = start if t == 0 else b.store_level_kwh[t - 1]
            return b.store_level_kwh[t] == previous * keep + b.store_charge_kw[t] * step_h

        block.heat_balance = pyo.Constraint(horizon.step_set, rule=heat_balance)
        block.store_dynamics = pyo.Constraint(horizon.step_set, rule=store_dynamics)
        block.end_of_day_store = pyo.Constraint(expr=block.store_level_kwh[last] >= initial)
        block.gas_mwh = pyo.Expression(
            horizon.step_set,
            rule=lambda b, t, eta=network.gas_boiler_efficiency: (
                b.boiler_kw[t] * step_h / 1000.0 / eta
            ),
        )
        block.gas_cost_pln = pyo.Expression(
            horizon.step_set,
            rule=lambda b, t, price=network.gas_price_pln_per_mwh: b.gas_mwh[t] * price,
        )
        block.total_gas_mwh = pyo.Expression(expr=sum(block.gas_mwh[t] for t in horizon.step_set))
        block.total_gas_cost_pln = pyo.Expression(
            expr=sum(block.gas_cost_pln[t] for t in horizon.step_set)
        )
        penalty = network.heat_dump_penalty_pln_per_mwh * step_h / 1000.0
        block.dump_penalty_pln = pyo.Expression(
            expr=penalty * sum(block.dump_kw[t] for t in horizon.step_set)
        )
        handles[network.id] = DistrictHeatHandle(
            network=network,
            block=block,
            demand_kw=demand,
            feeding_chps=tuple(w.chp.id for w in feeding),
            store_initial_kwh=initial,
            boiler_kw=block.boiler_kw,
            store_charge_kw=block.store_charge_kw,
            store_level_kwh=block.store_level_kwh,
            dump_kw=block.dump_kw,
            gas_mwh=block.gas_mwh,
            gas_cost_pln=block.gas_cost_pln,
            total_gas_cost_pln=block.total_gas_cost_pln,
            total_gas_mwh=block.total_gas_mwh,
            dump_penalty_pln=block.dump_penalty_pln,
        )
    return handles
