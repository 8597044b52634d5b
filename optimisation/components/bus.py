"""How an asset's power reaches the balance of its connection point."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from optimisation.components.step_rows import StepTerms


class InjectionKind(StrEnum):
    """What an injection is, for the schedule's columns.

    ``generation`` goes into ``generation_kw``, ``storage`` (net discharge)
    into ``battery_net_kw``, ``load`` (a controllable demand, injected as a
    negative power) into ``load_kw``.
    """

    GENERATION = "generation"
    STORAGE = "storage"
    LOAD = "load"


@dataclass(frozen=True)
class Injection:
    """A power an asset puts onto its connection point's bus.

    Attributes
    ----------
    asset_id
        The asset's id.
    connection_point
        The id of the connection point it sits behind.
    kind
        Which schedule column the power belongs to.
    power_kw
        Power into the bus per step, kW; consumption is negative.
    """

    asset_id: str
    connection_point: str
    kind: InjectionKind
    power_kw: StepTerms
