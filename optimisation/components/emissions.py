"""CO2: the emissions of what the cluster draws from the grid and the gas its boilers burn."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.district_heat import DistrictHeatHandle
from optimisation.components.purchasing import PurchasingHandle
from optimisation.errors import PlanningInputError
from optimisation.horizon import Horizon

#: CO2 of natural gas burned, kg per MWh of gas (IPCC 2006 default for natural
#: gas, 56.1 t/TJ × 3.6 GJ/MWh).
NATURAL_GAS_KG_PER_MWH = 201.96

_OWNER = "cluster"


@dataclass(frozen=True)
class Co2Pricing:
    """A price on CO2 and the emission factors it applies to.

    Attributes
    ----------
    price_pln_per_t
        Price of a tonne of CO2, PLN/t.
    grid_import_kg_per_mwh
        CO2 per MWh the cluster draws from the public grid, kg/MWh; take the
        factor for end users of the current national emission report (in
        Poland KOBiZE's).
    natural_gas_kg_per_mwh
        CO2 per MWh of natural gas burned, kg/MWh (default
        :data:`NATURAL_GAS_KG_PER_MWH`). Biogas and waste are not charged: the
        biogas is biogenic, and the waste burns whatever the plan says.
    """

    price_pln_per_t: float
    grid_import_kg_per_mwh: float
    natural_gas_kg_per_mwh: float = NATURAL_GAS_KG_PER_MWH

    def __post_init__(self) -> None:
        for name in ("price_pln_per_t", "grid_import_kg_per_mwh", "natural_gas_kg_per_mwh"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise PlanningInputError(
                    f"the CO2 pricing's {name} must be a finite number >= 0, got {value}",
                    fix=f"give {name} as a non-negative number, or leave the CO2 price out",
                )


@dataclass(frozen=True)
class EmissionsHandle:
    """The cluster's CO2.

    Attributes
    ----------
    pricing
        The price and factors used.
    block
        The Pyomo block ``model.emissions``.
    grid_draw_kw
        Variable: power the cluster as a whole draws from the grid per step,
        kW (its net purchase when positive, else 0).
    co2_t
        Expression: tonnes of CO2 over the planned steps.
    co2_cost_pln
        Expression: their price, PLN.
    purchasing, district_heating, step_hours
        What the emissions are counted on, and the step length, h.
    """

    pricing: Co2Pricing
    block: Any
    grid_draw_kw: Any
    co2_t: Any
    co2_cost_pln: Any
    purchasing: PurchasingHandle
    district_heating: tuple[DistrictHeatHandle, ...]
    step_hours: float

    def planned_co2_t(self) -> float:
        """Tonnes of CO2 of a solved plan, counted from its purchases and gas.

        Counted from the plan rather than read from :attr:`co2_t`: at a CO2
        price of 0 the draw variable is free to lie above the net purchase.
        """
        purchasing = self.purchasing
        grid_mwh = 0.0
        for t, block_kw in enumerate(purchasing.block_kw):
            net_kw = block_kw + pyo.value(purchasing.buy_kw[t]) - pyo.value(purchasing.sell_kw[t])
            grid_mwh += max(0.0, net_kw) * self.step_hours / 1000.0
        gas_mwh = sum(float(pyo.value(n.total_gas_mwh)) for n in self.district_heating)
        kg = self.pricing.grid_import_kg_per_mwh * grid_mwh
        kg += self.pricing.natural_gas_kg_per_mwh * gas_mwh
        return kg / 1000.0

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The CO2 cost."""
        return (CostTerm(CostComponent.CO2, _OWNER, self.co2_cost_pln),)


def add_emissions(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    pricing: Co2Pricing,
    purchasing: PurchasingHandle,
    district_heating: Iterable[DistrictHeatHandle],
) -> EmissionsHandle:
    r"""Add the cluster's CO2 and its price, as ``model.emissions``.

    .. math::

        d_t \ge B_t + p^{buy}_t - p^{sell}_t, \qquad d_t \ge 0

        M = \left(\varepsilon^{grid} \sum_t d_t\,\Delta t / 1000
            + \varepsilon^{gas} \sum_n \sum_t g_{n,t}\right) / 1000,
        \qquad K^{CO2} = \pi^{CO2}\,M

    - :math:`d_t` the cluster's draw from the grid, kW: its net purchase
      (take-or-pay blocks :math:`B_t` plus day-ahead purchase less sale, kW)
      when positive; energy one member exports and another imports in the
      same step is local and emits nothing here, and a net export earns no
      credit;
    - :math:`g_{n,t}` gas burned by the boiler of network :math:`n`, MWh;
    - :math:`\varepsilon^{grid}, \varepsilon^{gas}` ``grid_import_kg_per_mwh``,
      ``natural_gas_kg_per_mwh``, kg/MWh; :math:`M` CO2, t;
    - :math:`\pi^{CO2}` ``price_pln_per_t``, PLN/t; :math:`\Delta t` step, h.
    """
    step_h = horizon.step_hours
    networks = tuple(district_heating)
    block = model.emissions = pyo.Block()
    block.grid_draw_kw = pyo.Var(horizon.step_set, domain=pyo.NonNegativeReals)
    block.grid_draw_above_net_purchase = pyo.Constraint(
        horizon.step_set,
        rule=lambda b, t: (
            b.grid_draw_kw[t]
            >= purchasing.block_kw[t] + purchasing.buy_kw[t] - purchasing.sell_kw[t]
        ),
    )
    grid_mwh = sum(block.grid_draw_kw[t] for t in horizon.step_set) * step_h / 1000.0
    gas_mwh = sum(n.total_gas_mwh for n in networks)
    block.co2_t = pyo.Expression(
        expr=(pricing.grid_import_kg_per_mwh * grid_mwh + pricing.natural_gas_kg_per_mwh * gas_mwh)
        / 1000.0
    )
    block.co2_cost_pln = pyo.Expression(expr=pricing.price_pln_per_t * block.co2_t)
    return EmissionsHandle(
        pricing=pricing,
        block=block,
        grid_draw_kw=block.grid_draw_kw,
        co2_t=block.co2_t,
        co2_cost_pln=block.co2_cost_pln,
        purchasing=purchasing,
        district_heating=networks,
        step_hours=step_h,
    )
