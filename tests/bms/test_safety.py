"""The write-safety rules: allow-list, bounds, step, priority; refusals never clamp."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bms.safety import AllowedWrite, WritePolicy, check_write, load_write_policy
from cluster.errors import ConfigError
from cluster.points import Point, PointKind

SETPOINT = Point(id="setpoint", kind=PointKind.TEMPERATURE_SETPOINT, writable=True,
                 min_value=16, max_value=26)  # fmt: skip
SENSOR = Point(id="room_temp", kind=PointKind.TEMPERATURE, min_value=-10, max_value=50)
POLICY = WritePolicy(
    bacnet_priority=12,
    points=[AllowedWrite(point="bldg-a/z1/setpoint", min_value=18, max_value=24, max_step=2)],
)


@pytest.mark.parametrize(
    ("point_id", "point", "value", "current", "priority", "reason"),
    [
        ("bldg-a/z1/setpoint", SETPOINT, 21.0, 20.0, None, ""),
        ("bldg-a/z1/setpoint", SETPOINT, 21.0, 20.0, 5, "priority 5 is reserved"),
        ("bldg-a/z1/setpoint", SETPOINT, 21.0, 20.0, 1, "priority 1 is reserved"),
        ("bldg-a/z1/setpoint", SETPOINT, 21.0, 20.0, 8, "allow_priority_8"),
        ("bldg-a/z1/setpoint", SETPOINT, 21.0, 20.0, 17, "does not exist"),
        ("bldg-a/z2/setpoint", SETPOINT, 21.0, 20.0, None, "not on the allow-list"),
        ("bldg-a/z1/room_temp", SENSOR, 21.0, 20.0, None, "not a writable point"),
        ("bldg-a/z1/setpoint", SETPOINT, math.nan, 20.0, None, "not a finite number"),
        ("bldg-a/z1/setpoint", SETPOINT, math.inf, 20.0, None, "not a finite number"),
        ("bldg-a/z1/setpoint", SETPOINT, 25.0, 24.0, None, "outside the allow-list bounds"),
        ("bldg-a/z1/setpoint", SETPOINT, 17.5, 18.0, None, "outside the allow-list bounds"),
        ("bldg-a/z1/setpoint", SETPOINT, 23.5, 20.0, None, "exceeds max_step 2"),
        ("bldg-a/z1/setpoint", SETPOINT, 21.0, None, None, "could not be read"),
        ("bldg-a/z1/setpoint", SETPOINT, 22.0, 20.0, 16, ""),
    ],
)
def test_check_write(
    point_id: str, point: Point, value: float, current: float | None, priority: int | None,
    reason: str,
) -> None:  # fmt: skip
    check = check_write(POLICY, point_id, point, value, current, priority=priority)
    assert check.allowed is (reason == "")
    assert reason in check.reason


def test_point_bounds_apply_even_when_the_allow_list_is_wider() -> None:
    wide = WritePolicy(points=[AllowedWrite(point="bldg-a/z1/setpoint", min_value=10,
                                            max_value=30, max_step=20)])  # fmt: skip
    check = check_write(wide, "bldg-a/z1/setpoint", SETPOINT, 28.0, 22.0)
    assert not check.allowed and "point's bounds" in check.reason


def test_priority_8_needs_the_sites_agreement() -> None:
    with pytest.raises(ValueError, match="allow_priority_8"):
        WritePolicy(bacnet_priority=9, manual_priority=8)
    agreed = WritePolicy(
        bacnet_priority=9, manual_priority=8, allow_priority_8=True, points=POLICY.points
    )
    assert check_write(agreed, "bldg-a/z1/setpoint", SETPOINT, 21.0, 20.0, priority=8).allowed


def test_manual_changes_must_be_stronger_than_dispatch() -> None:
    with pytest.raises(ValueError, match="must be stronger"):
        WritePolicy(bacnet_priority=12, manual_priority=13)


def test_policy_file_round_trip_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "allow.toml"
    good.write_text(
        'bacnet_priority = 13\n[[points]]\npoint = "battery-kof/power_setpoint"\n'
        "min_value = -800\nmax_value = 800\nmax_step = 400\nrelease_value = 0\n"
    )
    policy = load_write_policy(good)
    assert policy.bacnet_priority == 13
    assert policy.entry("battery-kof/power_setpoint") is not None

    bad = tmp_path / "bad.toml"
    bad.write_text("bacnet_priority = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_write_policy(bad)
    assert "bacnet_priority" in str(caught.value) and str(bad) in str(caught.value)

    with pytest.raises(ConfigError, match="does not exist"):
        load_write_policy(tmp_path / "missing.toml")

    twice = tmp_path / "twice.toml"
    entry = '[[points]]\npoint = "a/b"\nmin_value = 0\nmax_value = 1\nmax_step = 1\n'
    twice.write_text(entry + entry)
    with pytest.raises(ConfigError, match="listed twice"):
        load_write_policy(twice)
