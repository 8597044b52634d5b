"""The protocol-agnostic point model.

A point is one value of an asset that klaster reads or writes: a power, an
energy counter, a temperature, a setpoint. It says what the value means (kind,
unit, sign convention) and whether and within which bounds it may be written.
How a point is reached on a device (Modbus register, BACnet object) is the
business of a device map in ``adapters/``, never of the point.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cluster.errors import ConfigValueError


class PointKind(StrEnum):
    """What a point measures or commands; each kind has one unit and sign convention."""

    ACTIVE_POWER = "active_power"
    ENERGY = "energy"
    HEAT_POWER = "heat_power"
    STATE_OF_CHARGE = "state_of_charge"
    TEMPERATURE = "temperature"
    TEMPERATURE_SETPOINT = "temperature_setpoint"
    POWER_SETPOINT = "power_setpoint"
    POWER_LIMIT = "power_limit"
    DIM_LEVEL = "dim_level"
    ON_OFF = "on_off"
    OCCUPANCY = "occupancy"
    VALVE_POSITION = "valve_position"
    STATUS = "status"
    COUNT = "count"
    FLOW = "flow"
    VOLUME = "volume"


#: The one unit each kind is stored in inside klaster.
UNIT_OF_KIND: dict[PointKind, str] = {
    PointKind.ACTIVE_POWER: "kW",
    PointKind.ENERGY: "kWh",
    PointKind.HEAT_POWER: "kW",
    PointKind.STATE_OF_CHARGE: "%",
    PointKind.TEMPERATURE: "degC",
    PointKind.TEMPERATURE_SETPOINT: "degC",
    PointKind.POWER_SETPOINT: "kW",
    PointKind.POWER_LIMIT: "%",
    PointKind.DIM_LEVEL: "%",
    PointKind.ON_OFF: "bool",
    PointKind.OCCUPANCY: "bool",
    PointKind.VALVE_POSITION: "%",
    PointKind.STATUS: "code",
    PointKind.COUNT: "1",
    PointKind.FLOW: "kg/h",
    PointKind.VOLUME: "m3",
}


class SignConvention(StrEnum):
    """How the sign of a power reads, written once per point.

    ``import_positive``: at a connection point, import from the grid is positive.
    ``generation_positive``: a generator's output is positive.
    ``discharge_positive``: a battery's power is positive when discharging.
    ``consumption_positive``: a load's demand is positive.
    ``none``: the value has no direction (temperatures, levels, states).
    """

    IMPORT_POSITIVE = "import_positive"
    GENERATION_POSITIVE = "generation_positive"
    DISCHARGE_POSITIVE = "discharge_positive"
    CONSUMPTION_POSITIVE = "consumption_positive"
    NONE = "none"


class Point(BaseModel):
    """One readable, and perhaps writable, value of an asset.

    Parameters
    ----------
    id
        Unique within its asset; the full id is ``<asset id>/<point id>``.
    kind
        What the value means; fixes the unit (see :data:`UNIT_OF_KIND`).
    sign
        The sign convention of the value.
    writable
        Whether klaster may ever command this point. Writing also needs the
        site's allow-list; ``writable`` only says the point is a command.
    min_value, max_value
        Plausible (for reads) and permitted (for writes) range, in the kind's unit.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: PointKind
    sign: SignConvention = SignConvention.NONE
    writable: bool = False
    min_value: float | None = None
    max_value: float | None = None

    @property
    def unit(self) -> str:
        """The unit the value is stored in."""
        return UNIT_OF_KIND[self.kind]

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Self:
        for name in ("min_value", "max_value"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ConfigValueError(
                    f"{name} must be a finite number, got {value}",
                    fix=f"write a finite number in {self.unit}, or leave {name} out for no bound",
                    field=name,
                )
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ConfigValueError(
                f"min_value {self.min_value} is above max_value {self.max_value}",
                fix="swap min_value and max_value",
                field="min_value",
            )
        if self.writable and (self.min_value is None or self.max_value is None):
            # A command klaster cannot check against a range is never sent, so
            # a writable point without both bounds would be useless and unsafe.
            missing = "min_value" if self.min_value is None else "max_value"
            raise ConfigValueError(
                "a writable point needs both min_value and max_value, "
                "so that every command can be checked before it is sent",
                fix=f"add min_value and max_value (in {self.unit}) to this point, "
                "or set writable = false",
                field=missing,
            )
        return self

    def within_bounds(self, value: float) -> bool:
        """True when ``value`` is finite and inside the point's range."""
        if not math.isfinite(value):
            return False
        if self.min_value is not None and value < self.min_value:
            return False
        return not (self.max_value is not None and value > self.max_value)


def point(
    id: str,
    kind: PointKind,
    sign: SignConvention = SignConvention.NONE,
    *,
    writable: bool = False,
    min_value: float | None = None,
    max_value: float | None = None,
) -> Point:
    """Build a :class:`Point`; a short spelling for the default point lists."""
    return Point(
        id=id, kind=kind, sign=sign, writable=writable, min_value=min_value, max_value=max_value
    )
