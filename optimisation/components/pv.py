"""PV plants: output up to the available power, the rest curtailed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from cluster.config import PVPlant
from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


@dataclass(frozen=True)
class PVPlantHandle:
    """The model of one PV plant.

    Attributes
    ----------
    plant
        The plant's configuration.
    block
        Its Pyomo block.
    available_kw
        Available output per step (forecast, capped at the inverter limit), kW.
    output_kw
        Variable: output delivered per step, kW.
    curtailed_kw
        Expression: available minus delivered per step, kW.
    """

    plant: PVPlant
    block: Any
    available_kw: tuple[float, ...]
    output_kw: Any
    curtailed_kw: Any

    @property
    def injection(self) -> Injection:
        """The plant's output on its connection point's bus."""
        return Injection(
            self.plant.id, self.plant.connection_point, InjectionKind.GENERATION, self.output_kw
        )


def add_pv_plants(
    model: pyo.ConcreteModel, horizon: Horizon, inputs: PlanningInputs
) -> dict[str, PVPlantHandle]:
    r"""Add one block per PV plant, as ``model.pv_plants[plant_id]``.

    Bounds and definitions, for every step :math:`t`:

    .. math::

        0 \le p^{pv}_t \le \bar p^{pv}_t, \qquad c^{pv}_t = \bar p^{pv}_t - p^{pv}_t

    - :math:`\bar p^{pv}_t` available output, kW: the forecast
      ``SeriesId.pv(plant)``, capped at ``inverter_limit_kw`` in case the
      forecast overshoots it;
    - :math:`p^{pv}_t` output delivered, kW (variable ``output_kw``); the
      inverter's active-power limit curtails the rest;
    - :math:`c^{pv}_t` curtailed power, kW (expression ``curtailed_kw``).

    Curtailment has no cost of its own: the plant earns through the balance
    (less import, or a sale), so the optimiser curtails only when a kWh
    delivered is worth less than nothing, e.g. at negative prices or against
    an export limit.
    """
    plants = inputs.config.assets.pv_plants
    model.pv_plants = pyo.Block([p.id for p in plants])
    handles: dict[str, PVPlantHandle] = {}
    for plant in plants:
        block = model.pv_plants[plant.id]
        forecast = inputs.series(SeriesId.pv(plant.id))
        available = tuple(float(min(v, plant.inverter_limit_kw)) for v in forecast)
        block.output_kw = pyo.Var(
            horizon.step_set,
            domain=pyo.NonNegativeReals,
            bounds=lambda _b, t, avail=available: (0.0, avail[t]),
        )
        output = list(block.output_kw.values())
        block.curtailed_kw = pyo.Expression(
            horizon.step_set, rule=lambda _b, t, avail=available, out=output: avail[t] - out[t]
        )
        handles[plant.id] = PVPlantHandle(
            plant=plant,
            block=block,
            available_kw=available,
            output_kw=block.output_kw,
            curtailed_kw=block.curtailed_kw,
        )
    return handles
