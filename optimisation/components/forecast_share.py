"""Loads a connection point's forecast already holds but a component plans itself.

A connection point's load forecast is learned from its meter, so it holds
every demand behind the point as it ran before klaster planned it: the
heating of a building's zones under their own thermostats, the street lamps
of a cabinet at full power. A component that plans such a demand puts its
planned power on the bus, and the estimate of the same demand in the
forecast must come off, or the demand is counted twice. Each such component
states its estimate as a :class:`ForecastShare`; :func:`add_forecast_corrections`
takes the sum off each point's forecast, never more than the forecast itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.step_rows import StepTerms
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs


@dataclass(frozen=True)
class ForecastShare:
    """One asset's demand as the load forecast of its connection point holds it.

    Attributes
    ----------
    asset_id, connection_point
        The asset and the point whose forecast holds its demand.
    in_forecast_kw
        The estimate, kW per step (>= 0).
    """

    asset_id: str
    connection_point: str
    in_forecast_kw: tuple[float, ...]


@dataclass(frozen=True)
class ForecastCorrectionHandle:
    """What comes off one connection point's load forecast.

    Attributes
    ----------
    connection_point
        The point's id.
    removed_kw
        Power taken off the forecast per step, kW (numbers, >= 0).
    """

    connection_point: str
    removed_kw: tuple[float, ...]

    @property
    def injection(self) -> Injection:
        """The correction on the point's bus: a load that is no longer there."""
        return Injection(
            f"{self.connection_point}/forecast_correction",
            self.connection_point,
            InjectionKind.LOAD,
            StepTerms.numbers(self.removed_kw),
        )


def removed_from_forecast_kw(
    load_kw: np.ndarray, shares: Iterable[ForecastShare], n_steps: int
) -> np.ndarray:
    r"""What comes off one point's forecast: :math:`r_t = \min(L_t, \sum_a s_{a,t})`, kW.

    Parameters
    ----------
    load_kw
        The point's load forecast :math:`L_t`, kW.
    shares
        The estimates :math:`s_{a,t}` of the demands behind the point, kW.
    n_steps
        Number of steps.
    """
    total = np.zeros(n_steps)
    for share in shares:
        total += np.asarray(share.in_forecast_kw, dtype=float)
    return np.minimum(np.asarray(load_kw, dtype=float), np.maximum(total, 0.0))


def add_forecast_corrections(
    horizon: Horizon,
    inputs: PlanningInputs,
    shares: Iterable[ForecastShare],
) -> Mapping[str, ForecastCorrectionHandle]:
    r"""What comes off the forecast of each connection point with a planned demand in it.

    For every step :math:`t` of a point with forecast :math:`L_t` (kW) and
    estimates :math:`s_{a,t}` (kW) of the planned demands behind it:

    .. math::

        r_t = \min\left(L_t,\ \sum_a s_{a,t}\right) \ge 0

    goes onto the point's bus as a power of :math:`+r_t` (a load that is no
    longer there), so the bus sees :math:`L_t - r_t` plus the planned
    demands, which their components inject as negative powers. The cap keeps the
    rest of the forecast from going below zero when the estimate exceeds
    what the meter ever showed.
    """
    by_point: dict[str, list[ForecastShare]] = {}
    for share in shares:
        by_point.setdefault(share.connection_point, []).append(share)
    loads_kw = inputs.loads_kw(by_point)
    return {
        cp_id: ForecastCorrectionHandle(
            cp_id,
            tuple(
                removed_from_forecast_kw(loads_kw[cp_id], by_point[cp_id], horizon.n_steps).tolist()
            ),
        )
        for cp_id in sorted(by_point)
    }
