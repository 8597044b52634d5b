"""Occupancy on the Polish calendar, the policy laid on a zone's instants, the policy file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from bms.occupancy import occupancy_frame, occupied_hours
from bms.policies import BmsPolicy, load_bms_policy, zone_context
from cluster.config import BuildingUse, load_demo_config
from cluster.errors import ConfigError
from tests.bms.support import SCHOOL, ZONE

DEMO = load_demo_config()
CITY_HALL = next(b for b in DEMO.assets.buildings if b.id == "bldg-city-hall")
CARE_HOME = next(b for b in DEMO.assets.buildings if b.id == "bldg-care-home")
#: A demo school that closes in school breaks (the test cluster's school does not).
DEMO_SCHOOL = next(b for b in DEMO.assets.buildings if b.id == "bldg-sp-1")


def at(*local: str) -> pd.DatetimeIndex:
    """UTC instants of local wall-clock times in Europe/Warsaw."""
    return pd.DatetimeIndex([pd.Timestamp(t, tz=ZONE) for t in local]).tz_convert("UTC")


def test_a_school_is_open_in_its_hours_on_working_days_only() -> None:
    # Wednesday 2027-03-10; Saturday 2027-03-13; 07:00-16:00 on working days.
    frame = occupancy_frame(
        SCHOOL, at("2027-03-10 06:59", "2027-03-10 07:00", "2027-03-10 15:59",
                    "2027-03-10 16:00", "2027-03-13 10:00"), ZONE,
    )  # fmt: skip
    assert frame["occupied"].tolist() == [False, True, True, False, False]
    assert frame["day_closed"].tolist() == [False, False, False, False, True]
    assert frame["day_label"].tolist()[-1] == "Saturday"


def test_public_holidays_and_school_breaks_close_a_school_but_not_a_care_home() -> None:
    # 6 January is Epiphany, a public holiday; 2027-01-18 starts the winter break
    # (the third Monday of January) of Świętokrzyskie.
    instants = at("2027-01-06 10:00", "2027-01-19 10:00", "2027-01-12 10:00")
    school = occupancy_frame(DEMO_SCHOOL, instants, ZONE)
    assert school["occupied"].tolist() == [False, False, True]
    assert occupancy_frame(SCHOOL, instants, ZONE)["occupied"].tolist() == [False, True, True]
    assert school["day_label"].tolist() == ["public holiday", "school break", "working day"]
    # The city hall closes on holidays but not in school breaks; the care home never closes.
    assert occupancy_frame(CITY_HALL, instants, ZONE)["occupied"].tolist() == [False, True, True]
    assert occupancy_frame(CARE_HOME, instants, ZONE)["occupied"].all()


def test_opening_hours_stay_on_the_local_clock_across_dst() -> None:
    # Winter: 07:00 CET is 06:00 UTC; summer (from 28 March 2027): 07:00 CEST is 05:00 UTC.
    utc = pd.DatetimeIndex(
        ["2027-03-24 05:30", "2027-03-24 06:00", "2027-04-07 04:30", "2027-04-07 05:00"], tz="UTC"
    )
    assert occupancy_frame(SCHOOL, utc, ZONE)["occupied"].tolist() == [False, True, False, True]


def test_occupied_hours_per_day() -> None:
    hours = occupied_hours(SCHOOL, [date(2027, 3, 10), date(2027, 3, 13)], ZONE)
    assert hours.to_dict() == {date(2027, 3, 10): 9.0, date(2027, 3, 13): 0.0}
    # The care home round the clock: 23 h on the spring DST day.
    care = occupied_hours(CARE_HOME, [date(2027, 3, 28), date(2027, 3, 29)], ZONE)
    assert care.to_dict() == {date(2027, 3, 28): 23.0, date(2027, 3, 29): 24.0}


def test_zone_context_preheat_setback_and_bands() -> None:
    # A school: pre-heat 2 h before 07:00, setback 0.5 h after 16:00 (the defaults).
    instants = at(*(f"2027-03-10 {t}" for t in
                    ("04:45", "05:00", "07:05", "10:00", "16:15", "16:30", "22:00")))  # fmt: skip
    context = zone_context(instants, SCHOOL, SCHOOL.zones[0], BmsPolicy(), ZONE)
    assert context["preheat"].tolist() == [False, True, False, False, False, False, False]
    assert context["setback_due"].tolist() == [True, False, False, False, False, True, True]
    # Occupied band 20-24 °C while open (after the first quarter-hour), 16-27 °C otherwise.
    assert context["band_min_c"].tolist() == [16.0, 16.0, 16.0, 20.0, 16.0, 16.0, 16.0]
    assert context["band_max_c"].tolist() == [27.0, 27.0, 27.0, 24.0, 27.0, 27.0, 27.0]
    assert (context["setback_c"] == 16.0).all()


def test_a_policy_file_changes_limits_and_building_types(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        "[rules]\noverride_max_hours = 8\n\n[uses.school]\npreheat_hours = 3\n", encoding="utf-8"
    )
    policy = load_bms_policy(path)
    assert policy.rules.override_max_hours == 8
    assert policy.use(BuildingUse.SCHOOL).preheat_hours == 3
    assert policy.use(BuildingUse.SPORTS_POOL).preheat_hours == 3.0  # the pool's default
    assert policy.use(BuildingUse.CARE_HOME).setback_grace_hours == 0.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[rules]\noverride_max_hour = 8\n", "rules.override_max_hour"),
        ("[uses.stadium]\npreheat_hours = 1\n", "uses.stadium"),
        ("[rules]\nheating_on_pct = 0\n", "rules.heating_on_pct"),
    ],
)
def test_a_wrong_policy_file_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_bms_policy(path)
    assert key in str(raised.value)


def test_a_missing_policy_file_says_how_to_go_on(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="leave --policy out"):
        load_bms_policy(tmp_path / "nope.toml")
