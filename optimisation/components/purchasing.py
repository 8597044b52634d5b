"""Joint purchasing: take-or-pay blocks, and day-ahead purchases and sales for the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from cluster.config import SupplyContract
from cluster.tariffs import block_power_kw
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs

_OWNER = "cluster"


@dataclass(frozen=True)
class PurchasingHandle:
    """The coordinator's purchases for the whole cluster.

    Attributes
    ----------
    contract
        The supply contract.
    block
        The Pyomo block ``model.purchasing``.
    price_pln_per_mwh
        Day-ahead price per step, PLN/MWh.
    block_kw
        Power delivered by all take-or-pay blocks per step, kW.
    blocks_cost_pln
        What the blocks cost over the planned steps, PLN (a constant).
    buy_kw, sell_kw
        Variables: power bought on and sold to the day-ahead market per step, kW.
    purchase_cost_pln, sale_revenue_pln
        Expressions: day-ahead purchase cost and sale revenue, PLN (both >= 0
        at non-negative prices).
    """

    contract: SupplyContract
    block: Any
    price_pln_per_mwh: tuple[float, ...]
    block_kw: tuple[float, ...]
    blocks_cost_pln: float
    buy_kw: Any
    sell_kw: Any
    purchase_cost_pln: Any
    sale_revenue_pln: Any

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """Blocks, day-ahead purchases and (negative) day-ahead sales."""
        return (
            CostTerm(CostComponent.BLOCKS, _OWNER, self.blocks_cost_pln),
            CostTerm(CostComponent.DAY_AHEAD_PURCHASE, _OWNER, self.purchase_cost_pln),
            CostTerm(CostComponent.DAY_AHEAD_SALE, _OWNER, -self.sale_revenue_pln),
        )


def add_purchasing(
    model: pyo.ConcreteModel, horizon: Horizon, inputs: PlanningInputs
) -> PurchasingHandle:
    r"""Add the joint purchase as ``model.purchasing``.

    .. math::

        B_t = \sum_k B_{k,t}, \qquad p^{buy}_t \ge 0, \qquad p^{sell}_t \ge 0

        K^{blocks} = \sum_t \sum_k B_{k,t}\,\Delta t / 1000 \cdot \pi_k

        K^{buy} = \sum_t p^{buy}_t\,\Delta t / 1000 \cdot (\lambda_t + \mu),
        \qquad R^{sell} = \sum_t p^{sell}_t\,\Delta t / 1000 \cdot (\lambda_t - \phi)

    - :math:`B_{k,t}` power of take-or-pay block :math:`k` in step :math:`t`,
      kW (``power_kw`` in the block's hours and days, else 0); :math:`\pi_k`
      its price, PLN/MWh;
    - :math:`p^{buy}_t, p^{sell}_t` day-ahead purchase and sale, kW;
    - :math:`\lambda_t` day-ahead price, PLN/MWh; :math:`\mu`
      ``day_ahead_margin_pln_per_mwh``; :math:`\phi` ``sell_back_fee_pln_per_mwh``;
    - :math:`\Delta t` step length, h.

    A sale covers both block energy the cluster does not use (take-or-pay:
    paid for anyway) and local surplus. Buying and selling in one step loses
    :math:`\mu + \phi` per MWh, so the optimiser does not do both.
    """
    config = inputs.config
    contract = config.supply_contract
    zone = config.cluster.zone
    country = config.cluster.country
    step_h = horizon.step_hours
    price = tuple(float(p) for p in inputs.day_ahead_price_pln_per_mwh.to_numpy(dtype=float))
    block_total = [0.0] * horizon.n_steps
    blocks_cost = 0.0
    for supply_block in contract.blocks:
        power = block_power_kw(supply_block, horizon.steps, zone, country).to_numpy(dtype=float)
        blocks_cost += float(power.sum()) * step_h / 1000.0 * supply_block.price_pln_per_mwh
        block_total = [total + float(p) for total, p in zip(block_total, power, strict=True)]

    block = model.purchasing = pyo.Block()
    block.buy_kw = pyo.Var(horizon.step_set, domain=pyo.NonNegativeReals)
    block.sell_kw = pyo.Var(horizon.step_set, domain=pyo.NonNegativeReals)
    margin = contract.day_ahead_margin_pln_per_mwh
    fee = contract.sell_back_fee_pln_per_mwh
    block.purchase_cost_pln = pyo.Expression(
        expr=sum(
            block.buy_kw[t] * (step_h / 1000.0 * (price[t] + margin)) for t in horizon.step_set
        )
    )
    block.sale_revenue_pln = pyo.Expression(
        expr=sum(block.sell_kw[t] * (step_h / 1000.0 * (price[t] - fee)) for t in horizon.step_set)
    )
    return PurchasingHandle(
        contract=contract,
        block=block,
        price_pln_per_mwh=price,
        block_kw=tuple(block_total),
        blocks_cost_pln=blocks_cost,
        buy_kw=block.buy_kw,
        sell_kw=block.sell_kw,
        purchase_cost_pln=block.purchase_cost_pln,
        sale_revenue_pln=block.sale_revenue_pln,
    )
