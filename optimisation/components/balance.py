"""The cluster balance: what the connection points draw net is what the cluster buys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimisation.components.connection import ConnectionPointHandle
from optimisation.components.purchasing import PurchasingHandle
from optimisation.components.step_rows import StepRows, StepTerms
from optimisation.horizon import Horizon


@dataclass(frozen=True)
class ClusterBalanceHandle:
    """The cluster balance.

    Attributes
    ----------
    block
        The Pyomo block ``model.cluster_balance``.
    power_balance
        The balance rows, one per step (:class:`~optimisation.rows.LinearRows`).
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
    nets out here: that is the cluster sharing local energy. A point that
    never exports (:attr:`ConnectionPointHandle.never_exports`) adds its
    import as what it draws: numbers, or expressions of its assets' variables.
    """
    block = model.cluster_balance = pyo.Block()
    rows = StepRows(horizon.n_steps)
    right_hand_side = np.array(purchasing.block_kw, dtype=float)
    for cp in connection_points.values():
        rows.add_block(0, cp.imports)
        right_hand_side -= cp.imports.constant
        if not cp.never_exports:
            rows.add_block(0, StepTerms.of_variables(cp.export_kw), -1.0)
    rows.add_block(0, StepTerms.of_variables(list(purchasing.buy_kw.values())), -1.0)
    rows.add_block(0, StepTerms.of_variables(list(purchasing.sell_kw.values())))
    block.power_balance = rows.build(right_hand_side, right_hand_side)
    return ClusterBalanceHandle(block=block, power_balance=block.power_balance)
