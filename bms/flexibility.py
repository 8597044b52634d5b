"""What the optimiser may shift in each building zone, and which zones it must leave alone.

The building flexibility of the day-ahead MILP moves zone setpoints within
the comfort band (pre-heat before opening, coast after closing) on each
zone's first-order thermal model. Band and model are the zone's own in the
cluster configuration (``comfort``, ``thermal_capacitance_kwh_per_k``,
``thermal_resistance_k_per_kw``, ``heating_max_kw``, ``heating``, ``cop``),
and occupancy per step follows the one rule of :mod:`cluster.occupancy`:
the checks, the rig and the planner read the same numbers.

A zone whose setpoint a higher BACnet priority than klaster's holds (an
operator, critical equipment) is excluded: klaster could not move it, and a
plan that counts on it would be wrong. So is a zone whose priority array
could not be read, when holds were read at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from cluster.assets import BmsZone
from cluster.config import ClusterConfig
from cluster.occupancy import occupied_steps


@dataclass(frozen=True)
class SetpointHold:
    """Who holds a zone's setpoint: the priority in control (None: no slot, the default)."""

    building_id: str
    zone_id: str
    active_priority: int | None
    value_c: float | None = None


@dataclass(frozen=True)
class ZoneFlexibility:
    """One zone the optimiser may shift: its configuration and its occupancy per step.

    ``zone`` carries the comfort band and the thermal model as configured;
    ``occupied`` is indexed by the steps asked for (True: the building is in use).
    """

    building_id: str
    zone: BmsZone
    occupied: pd.Series

    @property
    def zone_id(self) -> str:
        """The zone's id within its building."""
        return self.zone.id


@dataclass(frozen=True)
class ExcludedZone:
    """A zone left out of the flexibility, and why (for the energy manager's report)."""

    building_id: str
    zone_id: str
    reason: str


@dataclass(frozen=True)
class FlexibilityPlan:
    """The zones the optimiser may shift and those it must not."""

    zones: tuple[ZoneFlexibility, ...]
    excluded: tuple[ExcludedZone, ...]

    @property
    def excluded_ids(self) -> frozenset[tuple[str, str]]:
        """(building id, zone id) of every excluded zone."""
        return frozenset((e.building_id, e.zone_id) for e in self.excluded)


def exclusion_reason(hold: SetpointHold | None, own_priority: int) -> str | None:
    """Why a zone must be left alone, or None when klaster's priority would be in control.

    Parameters
    ----------
    hold
        The zone's setpoint hold as read; None when it could not be read.
    own_priority
        klaster's BACnet priority (8-16).
    """
    if hold is None:
        return "who holds the setpoint is unknown: its priority array was not read"
    if hold.active_priority is not None and hold.active_priority < own_priority:
        held = f" at {hold.value_c:g} °C" if hold.value_c is not None else ""
        return (
            f"priority {hold.active_priority} holds the setpoint{held}, above klaster's "
            f"{own_priority}: klaster's commands would not act"
        )
    return None


def zone_flexibility(
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
    *,
    own_priority: int,
    holds: Mapping[tuple[str, str], SetpointHold] | None = None,
) -> FlexibilityPlan:
    """Every zone with its occupancy over ``steps``, less the zones held above klaster.

    Parameters
    ----------
    config
        The cluster configuration.
    steps
        The optimisation steps (UTC).
    own_priority
        klaster's BACnet priority (the allow-list's ``bacnet_priority``).
    holds
        Setpoint holds read from the controllers, by (building id, zone id);
        None when none were read (every zone is then included).
    """
    info = config.cluster
    included: list[ZoneFlexibility] = []
    excluded: list[ExcludedZone] = []
    for building in config.assets.buildings:
        in_use = occupied_steps(building.occupancy, steps, info.zone, info.country)
        occupied = pd.Series(in_use, index=steps, name="occupied")
        for zone in building.zones:
            if holds is not None:
                reason = exclusion_reason(holds.get((building.id, zone.id)), own_priority)
                if reason is not None:
                    excluded.append(ExcludedZone(building.id, zone.id, reason))
                    continue
            included.append(ZoneFlexibility(building.id, zone, occupied))
    return FlexibilityPlan(tuple(included), tuple(excluded))
