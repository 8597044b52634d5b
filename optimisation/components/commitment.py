"""Unit commitment: an engine's output held between its limits while it runs, zero when off."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo


def add_output_limits(block: Any, step_set: Any, min_kw: float, max_kw: float) -> None:
    r"""Tie a unit's output to its running state: :math:`\underline P\,u_t \le p_t \le \bar P\,u_t`.

    Adds the constraints ``block.output_above_min`` and ``block.output_below_max``
    on the block's variables ``output_kw`` (kW) and ``on`` (binary, running).

    Parameters
    ----------
    block
        The unit's Pyomo block, with ``output_kw`` and ``on`` indexed by ``step_set``.
    step_set
        The planning steps.
    min_kw
        Lowest output while running, kW (electric).
    max_kw
        Highest output, kW (electric).
    """
    block.output_above_min = pyo.Constraint(
        step_set, rule=lambda b, t: b.output_kw[t] >= min_kw * b.on[t]
    )
    block.output_below_max = pyo.Constraint(
        step_set, rule=lambda b, t: b.output_kw[t] <= max_kw * b.on[t]
    )
