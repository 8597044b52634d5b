"""The protocol-agnostic point model: units, bounds and their checks."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from cluster.errors import ConfigValueError
from cluster.points import UNIT_OF_KIND, Point, PointKind, SignConvention, point

DIM_LEVEL = point("dim_level", PointKind.DIM_LEVEL, writable=True, min_value=30, max_value=100)
METER_POWER = point("meter_power", PointKind.ACTIVE_POWER, SignConvention.IMPORT_POSITIVE)


@pytest.mark.parametrize(
    ("value", "inside"),
    [
        (30.0, True),  # bounds are inclusive
        (100.0, True),
        (65.5, True),
        (29.999, False),
        (100.001, False),
        (-50.0, False),
        (math.nan, False),
        (math.inf, False),
        (-math.inf, False),
    ],
)
def test_within_bounds(value: float, inside: bool) -> None:
    assert DIM_LEVEL.within_bounds(value) is inside


@pytest.mark.parametrize(
    ("value", "inside"), [(-1e6, True), (0.0, True), (1e6, True), (math.nan, False)]
)
def test_unbounded_point_accepts_any_finite_value(value: float, inside: bool) -> None:
    assert METER_POWER.within_bounds(value) is inside


def test_one_sided_bound() -> None:
    energy = point("meter_energy", PointKind.ENERGY, min_value=0)
    assert energy.within_bounds(1e9)
    assert not energy.within_bounds(-0.1)


@pytest.mark.parametrize(
    ("kind", "unit"),
    [
        (PointKind.ACTIVE_POWER, "kW"),
        (PointKind.HEAT_POWER, "kW"),
        (PointKind.ENERGY, "kWh"),
        (PointKind.DIM_LEVEL, "%"),
        (PointKind.STATE_OF_CHARGE, "%"),
        (PointKind.TEMPERATURE_SETPOINT, "degC"),
    ],
)
def test_unit_follows_the_kind(kind: PointKind, unit: str) -> None:
    assert point("p", kind).unit == unit


def test_every_kind_has_a_unit() -> None:
    assert set(UNIT_OF_KIND) == set(PointKind)


def test_point_carries_its_sign_convention() -> None:
    assert METER_POWER.sign is SignConvention.IMPORT_POSITIVE
    assert point("room_temp", PointKind.TEMPERATURE).sign is SignConvention.NONE


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"writable": True, "min_value": 0}, "max_value", "needs both min_value and max_value"),
        ({"writable": True}, "min_value", "needs both min_value and max_value"),
        ({"min_value": 10, "max_value": 5}, "min_value", "min_value 10.0 is above max_value 5.0"),
        ({"max_value": math.nan}, "max_value", "max_value must be a finite number"),
        ({"min_value": -math.inf}, "min_value", "min_value must be a finite number"),
    ],
)
def test_invalid_bounds_are_rejected_naming_the_field(
    fields: dict[str, object], field: str, fragment: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Point.model_validate({"id": "setpoint", "kind": "power_setpoint", **fields})
    (error,) = raised.value.errors()
    cause = error["ctx"]["error"]
    assert isinstance(cause, ConfigValueError)
    assert cause.field == field
    assert fragment in cause.message
    assert cause.fix


def test_writable_point_with_bounds_is_valid_and_frozen() -> None:
    assert DIM_LEVEL.writable
    with pytest.raises(ValidationError):
        DIM_LEVEL.min_value = 0  # type: ignore[misc]


@pytest.mark.parametrize("bad_id", ["", "Room Temp", "-x"])
def test_point_id_is_lower_case(bad_id: str) -> None:
    with pytest.raises(ValidationError):
        point(bad_id, PointKind.TEMPERATURE)
