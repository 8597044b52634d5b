"""The cluster balance: what the connection points draw net is what the cluster buys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from scipy import sparse

from optimisation.components.connection import ConnectionPointHandle, at_each_step
from optimisation.components.purchasing import PurchasingHandle
from optimisation.horizon import Horizon
from optimisation.rows import LinearRows


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
    nets out here: that is the cluster sharing local energy. The points with
    nothing to decide (:attr:`ConnectionPointHandle.is_known`) add their
    known net import as a number.
    """
    block = model.cluster_balance = pyo.Block()
    n_steps = horizon.n_steps
    # Columns: each deciding point's import and export per step, then buy and sell.
    variables: list[Any] = []
    coefficients: list[float] = []
    # The points with nothing to decide draw a known net power: one number per step.
    known_net_kw = np.zeros(n_steps)
    for cp in connection_points.values():
        if cp.is_known:
            known_net_kw += np.subtract(cp.import_kw, cp.export_kw)
            continue
        variables += at_each_step(cp.import_kw, horizon) + at_each_step(cp.export_kw, horizon)
        coefficients += [1.0] * n_steps + [-1.0] * n_steps
    variables += at_each_step(purchasing.buy_kw, horizon)
    variables += at_each_step(purchasing.sell_kw, horizon)
    coefficients += [-1.0] * n_steps + [1.0] * n_steps
    # Column j belongs to step j mod n_steps: every group above is one step-ordered run.
    rows = np.arange(len(variables)) % n_steps
    matrix = sparse.csc_array(
        (coefficients, rows, np.arange(len(variables) + 1)), shape=(n_steps, len(variables))
    ).tocsr()
    right_hand_side = np.asarray(purchasing.block_kw, dtype=float) - known_net_kw
    block.power_balance = LinearRows(matrix, right_hand_side, right_hand_side, variables)
    return ClusterBalanceHandle(block=block, power_balance=block.power_balance)
