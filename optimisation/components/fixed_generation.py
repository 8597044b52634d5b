"""Waste-to-energy and biogas CHPs as fixed injections taken from their forecasts.

This is the first, simplest model of the two CHPs: their electric output is a
given, not a decision. The full model replaces this builder with unit
commitment of the waste-to-energy plant (minimum stable load, ramps, start-up
cost, must-burn waste, district heat) and a gas holder that lets the biogas
engine shift its output; both put their output on the bus through the same
:class:`~optimisation.components.bus.Injection`, so nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyomo.environ as pyo

from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


class FixedSource(StrEnum):
    """Which kind of plant a fixed injection stands for."""

    WASTE_TO_ENERGY = "waste_to_energy"
    BIOGAS = "biogas"


@dataclass(frozen=True)
class FixedGenerationHandle:
    """One plant whose electric output is fixed in advance.

    Attributes
    ----------
    asset_id, connection_point
        The plant's id and the connection point it feeds.
    source
        The kind of plant.
    block
        Its Pyomo block.
    output_kw
        Electric output per step, kW.
    output_param
        The same values as a Pyomo parameter indexed by step.
    """

    asset_id: str
    connection_point: str
    source: FixedSource
    block: Any
    output_kw: tuple[float, ...]
    output_param: Any

    @property
    def injection(self) -> Injection:
        """The plant's output on its connection point's bus."""
        return Injection(
            self.asset_id, self.connection_point, InjectionKind.GENERATION, self.output_param
        )


def fixed_outputs_kw(inputs: PlanningInputs) -> list[tuple[str, str, FixedSource, list[float]]]:
    r"""The electric output of every CHP, kW, as (asset id, connection point, source, values).

    - waste-to-energy: :math:`p_t = \min(\bar p, f^{wte}_t)` with the
      forecast :math:`f^{wte}_t` (``SeriesId.wte``) and ``electric_max_kw``
      :math:`\bar p`;
    - biogas: :math:`p_t = \min(\bar p, \eta\,g_t)` with the gas inflow
      :math:`g_t` (``SeriesId.biogas_inflow``, kW of gas), the electric
      efficiency :math:`\eta` and ``engine_max_kw`` :math:`\bar p`: the engine
      burns the gas as it comes (no gas holder, no minimum load).
    """
    config = inputs.config
    outputs: list[tuple[str, str, FixedSource, list[float]]] = []
    for wte in config.assets.wte_chps:
        forecast = inputs.series(SeriesId.wte(wte.id))
        values = [float(min(wte.electric_max_kw, v)) for v in forecast]
        outputs.append((wte.id, wte.connection_point, FixedSource.WASTE_TO_ENERGY, values))
    for chp in config.assets.biogas_chps:
        inflow = inputs.series(SeriesId.biogas_inflow(chp.id))
        values = [float(min(chp.engine_max_kw, v * chp.electric_efficiency)) for v in inflow]
        outputs.append((chp.id, chp.connection_point, FixedSource.BIOGAS, values))
    return outputs


def add_fixed_generation(
    model: pyo.ConcreteModel, horizon: Horizon, inputs: PlanningInputs
) -> dict[str, FixedGenerationHandle]:
    r"""Add one block per CHP, as ``model.fixed_generation[asset_id]``.

    The block holds the parameter :math:`p_t` (kW) of
    :func:`fixed_outputs_kw`, injected at the plant's connection point in
    every step; it adds no variable and no constraint.
    """
    outputs = fixed_outputs_kw(inputs)
    model.fixed_generation = pyo.Block([asset_id for asset_id, *_ in outputs])
    handles: dict[str, FixedGenerationHandle] = {}
    for asset_id, connection_point, source, values in outputs:
        block = model.fixed_generation[asset_id]
        block.output_kw = pyo.Param(
            horizon.step_set, initialize=dict(enumerate(values)), within=pyo.NonNegativeReals
        )
        handles[asset_id] = FixedGenerationHandle(
            asset_id=asset_id,
            connection_point=connection_point,
            source=source,
            block=block,
            output_kw=tuple(values),
            output_param=block.output_kw,
        )
    return handles
