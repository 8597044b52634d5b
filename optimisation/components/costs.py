"""Cost terms: what each component adds to the day's cost."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CostComponent(StrEnum):
    """The rows of a schedule's cost table."""

    BLOCKS = "blocks"
    DAY_AHEAD_PURCHASE = "day_ahead_purchase"
    DAY_AHEAD_SALE = "day_ahead_sale"
    DISTRIBUTION_ENERGY = "distribution_energy"
    CAPACITY_OVERRUN = "capacity_overrun"
    CAPACITY_HEADROOM = "capacity_headroom"
    CAPACITY_FIXED_SHARE = "capacity_fixed_share"
    WTE_START = "wte_start"
    GAS = "gas"
    HEAT_DUMP = "heat_dump"
    FLARE = "flare"
    BATTERY_CYCLE = "battery_cycle"
    CO2 = "co2"
    BUILDING_DISTRICT_HEAT = "building_district_heat"
    COMFORT_PENALTY = "comfort_penalty"


@dataclass(frozen=True)
class CostTerm:
    """One contribution to a cost component, PLN for the planned steps.

    Attributes
    ----------
    component
        The cost row it adds to.
    owner
        What it belongs to: an asset or connection point id, or ``"cluster"``.
    expression
        A Pyomo scalar expression (or a plain number), PLN; revenue is negative.
    optimised
        True when the term is part of the objective; False for costs that are
        only reported (they do not depend on any decision).
    """

    component: CostComponent
    owner: str
    expression: Any
    optimised: bool = True
