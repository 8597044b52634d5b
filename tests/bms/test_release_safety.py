"""Releasing a point: the same refusals as a write, without a value or a step."""

from __future__ import annotations

import pytest

from bms.safety import AllowedWrite, WritePolicy, check_release
from cluster.points import Point, PointKind

SETPOINT = Point(id="setpoint", kind=PointKind.TEMPERATURE_SETPOINT, writable=True,
                 min_value=16, max_value=26)  # fmt: skip
SENSOR = Point(id="room_temp", kind=PointKind.TEMPERATURE, min_value=-10, max_value=50)
POLICY = WritePolicy(
    bacnet_priority=12,
    points=[AllowedWrite(point="bldg-a/z1/setpoint", min_value=18, max_value=24, max_step=2)],
)


@pytest.mark.parametrize(
    ("point_id", "point", "priority", "reason"),
    [
        ("bldg-a/z1/setpoint", SETPOINT, None, ""),
        ("bldg-a/z1/setpoint", SETPOINT, 16, ""),
        ("bldg-a/z1/setpoint", SETPOINT, 6, "priority 6 is reserved"),
        ("bldg-a/z1/setpoint", SETPOINT, 8, "allow_priority_8"),
        ("bldg-a/z2/setpoint", SETPOINT, None, "not on the allow-list"),
        ("bldg-a/z1/room_temp", SENSOR, None, "not a writable point"),
    ],
)
def test_release_checks(point_id: str, point: Point, priority: int | None, reason: str) -> None:
    check = check_release(POLICY, point_id, point, priority=priority)
    assert check.allowed is (reason == "")
    assert reason in check.reason
