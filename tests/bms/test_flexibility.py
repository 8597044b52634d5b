"""The optimiser's building flexibility: models and bands from the config, held zones out."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from bms.flexibility import SetpointHold, exclusion_reason, zone_flexibility
from cluster.timegrid import day_steps
from tests.bms.support import CLUSTER, ZONE

STEPS = day_steps(date(2027, 3, 10), ZONE)
OWN = 12


def test_every_zone_comes_with_its_configuration_and_occupancy() -> None:
    plan = zone_flexibility(CLUSTER, STEPS, own_priority=OWN)
    assert plan.excluded == () and plan.excluded_ids == frozenset()
    assert [(z.building_id, z.zone_id) for z in plan.zones] == [
        ("bldg-school", "z1"), ("bldg-school", "z2"), ("bldg-hall", "z1"), ("bldg-hall", "z2"),
    ]  # fmt: skip
    school = plan.zones[0]
    assert school.zone is CLUSTER.assets.buildings[0].zones[0]  # band and model as configured
    local = pd.DatetimeIndex(school.occupied.index).tz_convert(ZONE)
    assert len(school.occupied) == 96
    # The school is in use 07:00-16:00 on this Wednesday, the hall 07:00-17:00.
    assert list(local[school.occupied.to_numpy()].hour.unique()) == list(range(7, 16))
    assert plan.zones[2].occupied.sum() == 40


def test_a_zone_held_above_klaster_s_priority_is_excluded_and_says_why() -> None:
    holds = {
        ("bldg-school", "z1"): SetpointHold("bldg-school", "z1", 5, 23.0),
        ("bldg-school", "z2"): SetpointHold("bldg-school", "z2", OWN, 21.0),
        ("bldg-hall", "z1"): SetpointHold("bldg-hall", "z1", 16, 21.0),
        # bldg-hall/z2 was not read at all
    }
    plan = zone_flexibility(CLUSTER, STEPS, own_priority=OWN, holds=holds)
    assert [(z.building_id, z.zone_id) for z in plan.zones] == [
        ("bldg-school", "z2"), ("bldg-hall", "z1"),
    ]  # fmt: skip
    assert plan.excluded_ids == {("bldg-school", "z1"), ("bldg-hall", "z2")}
    reasons = {(e.building_id, e.zone_id): e.reason for e in plan.excluded}
    assert reasons[("bldg-school", "z1")].startswith("priority 5 holds the setpoint at 23 °C")
    assert "unknown" in reasons[("bldg-hall", "z2")]


@pytest.mark.parametrize(
    ("active", "excluded"), [(None, False), (16, False), (13, False), (12, False), (9, True)]
)
def test_only_a_priority_above_klaster_s_excludes(active: int | None, excluded: bool) -> None:
    reason = exclusion_reason(SetpointHold("b", "z", active), OWN)
    assert (reason is not None) is excluded
