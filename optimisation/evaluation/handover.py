r"""The room temperature a planned day must hand over to the next one.

A day planned from the rooms' measured temperatures has no reason of its own
to leave them warm at midnight: tomorrow lies beyond its horizon. Yet a heavy
zone warms slowly, and a Monday morning can only be met from a Sunday
evening, and in a cold spell a weekend at setback may not be made up in one
day. :func:`handover_temp_c` is the least room temperature at the end of the
day from which the zone's heating, at full power from midnight, keeps the
next :data:`LOOKAHEAD_DAYS` days inside their comfort band;
:func:`add_handover` asks the plan for it, as a declared soft limit.

With full heat :math:`\bar Q` from the start, the RC step of
:func:`cluster.thermal.zone_temperature_c` gives at the end of step :math:`t`

.. math::

    T_t = a^{t+1} T_0 + c_t, \qquad
    c_t = \sum_{s \le t} a^{t-s} (1 - a) \left(\theta_s + R (\bar Q + g_s)\right),
    \qquad a = e^{-\Delta t / (R C)}

so the band :math:`\underline T_t` holds in every step from
:math:`T_0 \ge \max_t (\underline T_t - c_t) / a^{t+1}`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from cluster.config import BmsZone, ClusterConfig
from cluster.occupancy import internal_gains_kw, occupied_steps
from cluster.thermal import retention
from optimisation.components.building import comfort_bands
from optimisation.evaluation.decisions import FloatArray
from optimisation.model import ClusterModel

#: Days ahead a hand-over looks: in a cold spell a heavy zone left at its setback
#: over a weekend cannot recover by Monday morning, so Friday must already know.
LOOKAHEAD_DAYS = 3


def handover_temp_c(
    zone: BmsZone,
    occupied: np.ndarray,
    outdoor_c: FloatArray,
    step_h: float,
) -> float:
    """The least temperature at the start of a day from which full heat holds its band, °C.

    Never above the occupied band's upper edge: no day is asked for more than comfort.

    Parameters
    ----------
    zone
        The zone.
    occupied
        Whether its building is occupied in each step of the next day.
    outdoor_c
        Outdoor temperature of each step of the next day, °C (a forecast).
    step_h
        Step length, h.
    """
    a = retention(zone, step_h)
    low, _high = comfort_bands(zone, occupied)
    gains = np.array([internal_gains_kw(zone, bool(o)) for o in occupied])
    drive = (1.0 - a) * (
        outdoor_c + zone.thermal_resistance_k_per_kw * (zone.heating_max_kw + gains)
    )
    reached = np.zeros(len(occupied))
    level = 0.0
    for t in range(len(occupied)):
        level = a * level + drive[t]
        reached[t] = level
    kept = a ** np.arange(1, len(occupied) + 1)
    needed = float(np.max((low - reached) / kept))
    return min(needed, zone.comfort.occupied_max_c)


def handover_temps_c(
    config: ClusterConfig, next_steps: pd.DatetimeIndex, outdoor_c: FloatArray
) -> dict[str, float]:
    """:func:`handover_temp_c` of every zone by zone asset id, for the days of ``next_steps``.

    Parameters
    ----------
    config
        The cluster.
    next_steps
        UTC step starts of the days ahead (see :data:`LOOKAHEAD_DAYS`).
    outdoor_c
        Outdoor temperature of each of those steps, °C (a forecast).
    """
    info = config.cluster
    step_h = info.step_minutes / 60.0
    temps: dict[str, float] = {}
    for building in config.assets.buildings:
        occupied = occupied_steps(building.occupancy, next_steps, info.zone, info.country)
        for zone in building.zones:
            temps[f"{building.id}/{zone.id}"] = handover_temp_c(zone, occupied, outdoor_c, step_h)
    return temps


def add_handover(model: ClusterModel, temps_c: Mapping[str, float]) -> None:
    r"""Ask every planned zone to end the day at least at its hand-over temperature.

    A soft limit :math:`T_{T-1} + s \ge T^{hand}`, :math:`s \ge 0`, charged
    at the comfort penalty for one hour per kelvin short (a kelvin short at
    midnight costs about an hour outside the band the next morning).

    Parameters
    ----------
    model
        A built model (before its solve).
    temps_c
        Hand-over temperature by zone asset id, °C; zones not named get none.
    """
    last = model.horizon.n_steps - 1
    penalty = model.options.comfort_penalty_pln_per_kh * 1.0
    wanted = [
        (zone.temp_c[last], float(temp_c))
        for building in model.buildings.values()
        for zone in building.zones.values()
        if (temp_c := temps_c.get(zone.asset_id)) is not None
    ]
    if not wanted:
        return
    m = model.model
    m.handover_short_k = pyo.Var(range(len(wanted)), domain=pyo.NonNegativeReals)
    m.handover = pyo.Constraint(
        range(len(wanted)),
        rule=lambda _, k: wanted[k][0] + m.handover_short_k[k] >= wanted[k][1],
    )
    model.objective.expr = model.objective.expr + penalty * sum(m.handover_short_k.values())
