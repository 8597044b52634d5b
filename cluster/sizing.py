"""Whether a building's heating is big enough for the site's winter.

Heating is sized (PN-EN 12831) to hold a room at its set temperature on the
design day, when the outdoor temperature is the site's design outdoor
temperature. In the first-order model of a zone (:class:`~cluster.assets.BmsZone`)
the steady-state heat loss is ``(T_room - T_out) / R``, so without internal
gains a zone needs ``(T_min - T_design) / R`` kW to hold its band minimum.
A zone with less will fall below its band on the coldest days whatever the
planner does; that is a fact to plan around rather than a broken
configuration, so it is reported as a warning, not an error.

The same holds for the grid connection: heat pumps and electric heating at full
output can draw more than the connection point's contracted capacity, and every
cold day then pays capacity-overrun charges. That too is reported as a warning.
"""

from __future__ import annotations

import math

from cluster.assets import BmsZone
from cluster.config import ClusterConfig
from cluster.errors import ConfigProblem
from cluster.thermal import heating_electricity_kw

#: Heat installed above the steady design load so that a zone set back overnight
#: warms up again in time (the reheat allowance of PN-EN 12831 for intermittent
#: heating), as a share of the design load.
REHEAT_ALLOWANCE = 0.15


def held_temp_c(zone: BmsZone) -> float:
    """The warmest band minimum a zone must hold, °C (normally the occupied one).

    Parameters
    ----------
    zone
        The zone and its comfort band (°C).
    """
    return max(zone.comfort.occupied_min_c, zone.comfort.unoccupied_min_c)


def design_heat_load_kw(zone: BmsZone, design_outdoor_temp_c: float) -> float:
    """Heat that holds a zone at its band minimum on the design day, kW.

    ``(T_min - T_design) / R``, steady state, without internal gains (a
    building may be empty on the coldest day).

    Parameters
    ----------
    zone
        The zone: thermal resistance R (K/kW) and comfort band (°C).
    design_outdoor_temp_c
        The site's design outdoor temperature, °C.
    """
    return (held_temp_c(zone) - design_outdoor_temp_c) / zone.thermal_resistance_k_per_kw


def heating_sizing_warnings(config: ClusterConfig) -> list[ConfigProblem]:
    """Every BMS zone whose heating cannot hold its band minimum on the design day.

    A zone is undersized when ``heating_max_kw`` is below
    :func:`design_heat_load_kw` at the cluster's ``design_outdoor_temp_c``.

    Parameters
    ----------
    config
        The cluster; its ``cluster.design_outdoor_temp_c`` (°C) is the design day.

    Returns
    -------
    list of ConfigProblem
        One per undersized zone, in configuration order: the key of its
        ``heating_max_kw``, the installed and needed heat (kW), and the fix.
    """
    design_c = config.cluster.design_outdoor_temp_c
    warnings: list[ConfigProblem] = []
    for b, building in enumerate(config.assets.buildings):
        for z, zone in enumerate(building.zones):
            needed_kw = design_heat_load_kw(zone, design_c)
            if zone.heating_max_kw >= needed_kw:
                continue
            with_reheat_kw = math.ceil(needed_kw * (1.0 + REHEAT_ALLOWANCE))
            zone_label = f"{building.id}/{zone.id}" + (f" ({zone.name})" if zone.name else "")
            warnings.append(
                ConfigProblem(
                    f"assets.buildings[{b}](id={building.id}).zones[{z}](id={zone.id})"
                    ".heating_max_kw",
                    f"heating of zone {zone_label} is {zone.heating_max_kw:g} kW, but holding "
                    f"{held_temp_c(zone):g} °C at the design outdoor temperature "
                    f"{design_c:g} °C needs {needed_kw:.1f} kW; the zone will fall below its "
                    "comfort band on the coldest days",
                    f"raise heating_max_kw to at least {math.ceil(needed_kw)} kW, or "
                    f"{with_reheat_kw} kW with a {REHEAT_ALLOWANCE:.0%} reheat allowance for "
                    "night setback (PN-EN 12831); or, if the building really is undersized, "
                    "leave it and expect comfort shortfalls in cold spells",
                )
            )
    return warnings


def contracted_capacity_warnings(config: ClusterConfig) -> list[ConfigProblem]:
    """Every connection point whose contracted capacity is below its heating's electric maximum.

    The electric maximum is the sum over the electrically heated BMS zones of
    the buildings behind the point of
    :func:`~cluster.thermal.heating_electricity_kw` at ``heating_max_kw``
    (heat pumps: heat / COP; direct electric: heat). The rest of the
    building's load comes on top, so a point warned about overruns its
    contracted capacity whenever the heating runs flat out.

    Parameters
    ----------
    config
        The cluster: connection points (``contracted_capacity_kw``, kW) and buildings.

    Returns
    -------
    list of ConfigProblem
        One per such point, in configuration order: the key of its
        ``contracted_capacity_kw``, the contracted capacity and the electric
        maximum (kW), and the fix.
    """
    warnings: list[ConfigProblem] = []
    for c, cp in enumerate(config.connection_points):
        heating_kw = sum(
            heating_electricity_kw(zone.heating_max_kw, zone.heating, zone.cop)
            for building in config.assets.buildings
            if building.connection_point == cp.id
            for zone in building.zones
        )
        if cp.contracted_capacity_kw >= heating_kw:
            continue
        warnings.append(
            ConfigProblem(
                f"connection_points[{c}](id={cp.id}).contracted_capacity_kw",
                f"contracted capacity of {cp.id} is {cp.contracted_capacity_kw:g} kW, but the "
                f"heat pumps and electric heating behind it draw up to {heating_kw:.1f} kW at "
                "full output; on cold days the plan must either pay capacity-overrun "
                "charges or hold the heating back (no night setback, slow reheating)",
                f"raise contracted_capacity_kw to at least {math.ceil(heating_kw)} kW plus the "
                "building's own peak load, or lower heating_max_kw of its electrically "
                "heated zones",
            )
        )
    return warnings
