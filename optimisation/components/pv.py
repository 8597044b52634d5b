"""PV plants: output up to the available power, the rest curtailed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from cluster.config import PVPlant
from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.step_rows import StepTerms
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


@dataclass(frozen=True)
class PVPlantHandle:
    """The model of one PV plant.

    Attributes
    ----------
    plant
        The plant's configuration.
    available_kw
        Available output per step (forecast, capped at the inverter limit), kW.
    output_kw
        Variable of each step: output delivered, kW (data of ``model.pv_output_kw``).
    """

    plant: PVPlant
    available_kw: tuple[float, ...]
    output_kw: tuple[Any, ...]

    @property
    def injection(self) -> Injection:
        """The plant's output on its connection point's bus."""
        return Injection(
            self.plant.id,
            self.plant.connection_point,
            InjectionKind.GENERATION,
            StepTerms.of_variables(self.output_kw),
        )


def add_pv_plants(
    model: pyo.ConcreteModel, horizon: Horizon, inputs: PlanningInputs
) -> dict[str, PVPlantHandle]:
    r"""Add the PV plants' output, one variable for all plants, as ``model.pv_output_kw``.

    Step ``t`` of the ``k``-th plant is ``k × T + t``. Bounds and
    definitions, for every step :math:`t`:

    .. math::

        0 \le p^{pv}_t \le \bar p^{pv}_t, \qquad c^{pv}_t = \bar p^{pv}_t - p^{pv}_t

    - :math:`\bar p^{pv}_t` available output, kW: the forecast
      ``SeriesId.pv(plant)``, capped at ``inverter_limit_kw`` in case the
      forecast overshoots it;
    - :math:`p^{pv}_t` output delivered, kW (``output_kw``); the inverter's
      active-power limit curtails the rest;
    - :math:`c^{pv}_t` curtailed power, kW (the schedule's ``curtailed_kw``).

    Curtailment has no cost of its own: the plant earns through the balance
    (less import, or a sale), so the optimiser curtails only when a kWh
    delivered is worth less than nothing, e.g. at negative prices or against
    an export limit.
    """
    plants = inputs.config.assets.pv_plants
    n = horizon.n_steps
    model.pv_output_kw = pyo.Var(range(len(plants) * n), domain=pyo.NonNegativeReals)
    outputs = list(model.pv_output_kw.values())
    handles: dict[str, PVPlantHandle] = {}
    for k, plant in enumerate(plants):
        forecast = inputs.series(SeriesId.pv(plant.id))
        available = tuple(np.minimum(forecast, plant.inverter_limit_kw).tolist())
        output = tuple(outputs[k * n : (k + 1) * n])
        for var, most in zip(output, available, strict=True):
            var.setub(most)
        handles[plant.id] = PVPlantHandle(plant=plant, available_kw=available, output_kw=output)
    return handles
