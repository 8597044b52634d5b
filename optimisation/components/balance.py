"""The cluster balance: what the connection points draw net is what the cluster buys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from optimisation.components.connection import ConnectionPointHandle, at_each_step
from optimisation.components.purchasing import PurchasingHandle
from optimisation.horizon import Horizon


@dataclass(frozen=True)
class ClusterBalanceHandle:
    """The cluster balance.

    Attributes
    ----------
    block
        The Pyomo block ``model.cluster_balance``.
    power_balance
        The balance constraint per step; its dual is the cluster's marginal
        price of power, PLN per kW and step.
    """

    block: Any
    power_balance: Any


def add_cluster_balance(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    connection_points: Mapping[str, ConnectionPointHandle],
    purchasing: PurchasingHandle,
) -> ClusterBalanceHandle:
    r"""Add the cluster's power balance, as ``model.cluster_balance``.

    For every step :math:`t`:

    .. math::

        \sum_{c} \left(p^{imp}_{c,t} - p^{exp}_{c,t}\right) = B_t + p^{buy}_t - p^{sell}_t

    - :math:`p^{imp}_{c,t}, p^{exp}_{c,t}` import and export at connection
      point :math:`c`, kW;
    - :math:`B_t` power of the take-or-pay blocks, kW;
    - :math:`p^{buy}_t, p^{sell}_t` day-ahead purchase and sale, kW.

    Energy exported at one point and imported at another in the same step
    nets out here: that is the cluster sharing local energy.
    """
    block = model.cluster_balance = pyo.Block()
    deciding = [cp for cp in connection_points.values() if not cp.is_known]
    imports = [at_each_step(cp.import_kw, horizon) for cp in deciding]
    exports = [at_each_step(cp.export_kw, horizon) for cp in deciding]
    # The points with nothing to decide draw a known net power: one number per step.
    known_net_kw = np.zeros(horizon.n_steps)
    for cp in connection_points.values():
        if cp.is_known:
            known_net_kw += np.subtract(cp.import_kw, cp.export_kw)
    known_kw = known_net_kw.tolist()
    buy_kw = at_each_step(purchasing.buy_kw, horizon)
    sell_kw = at_each_step(purchasing.sell_kw, horizon)
    block_kw = purchasing.block_kw

    def power_balance(b: Any, t: int) -> Any:
        # One flat sum of every point's terms, rather than a sum of per-point sums.
        terms: list[Any] = []
        for point_import, point_export in zip(imports, exports, strict=True):
            terms.append(point_import[t])
            terms.append(MonomialTermExpression((-1, point_export[t])))
        terms.append(MonomialTermExpression((-1, buy_kw[t])))
        terms.append(sell_kw[t])
        return LinearExpression(terms) == block_kw[t] - known_kw[t]

    block.power_balance = pyo.Constraint(horizon.step_set, rule=power_balance)
    return ClusterBalanceHandle(block=block, power_balance=block.power_balance)
