"""Road lighting classes: CEN/TR 13201-1 selection and the dim level a class needs."""

from __future__ import annotations

import re

import pytest

from cluster.lighting import (
    DEFAULT_WEIGHTING_TABLE,
    ClassSystem,
    LightingClass,
    parse_lighting_class,
    required_dim_pct,
    select_class,
)

M3, M4, M5 = LightingClass("M", 3), LightingClass("M", 4), LightingClass("M", 5)
STEPS = [30, 50, 70, 85, 100]

# Hand-worked examples with the CEN/TR 13201-1 example weighting values.
# The class number is 6 minus the sum, kept within 1..6; a sum that ends in .5
# gives the brighter (lower) class.
EVENING_STREET = {
    "design_speed": "moderate",  # -1
    "traffic_volume": "high",  # +0.5
    "traffic_composition": "mixed",  # +1
    "separation_of_carriageways": "no",  # +1
    "junction_density": "high",  # +1
    "parked_vehicles": "not_present",  # 0
    "ambient_luminosity": "moderate",  # 0
    "navigational_task": "easy",  # 0
}  # sum 2.5 -> 6 - 2.5 = 3.5 -> M3
AFTER_MIDNIGHT = EVENING_STREET | {
    "traffic_volume": "low",  # -0.5 instead of +0.5
    "ambient_luminosity": "low",  # -1 instead of 0
}  # sum -1 + -0.5 + 1 + 1 + 1 + 0 - 1 + 0 = 0.5 -> 5.5 -> M5
ARTERIAL = {
    "design_speed": "high",  # +1
    "traffic_volume": "moderate",  # 0
    "traffic_composition": "mixed",  # +1
    "separation_of_carriageways": "no",  # +1
    "junction_density": "moderate",  # 0
    "parked_vehicles": "not_present",  # 0
    "ambient_luminosity": "moderate",  # 0
    "navigational_task": "difficult",  # +1
}  # sum 4 -> M2
BUSY_CITY_CENTRE = {
    "design_speed": "high",  # +1
    "traffic_volume": "very_high",  # +1
    "traffic_composition": "mixed_high_non_motorised",  # +2
    "separation_of_carriageways": "no",  # +1
    "junction_density": "high",  # +1
    "parked_vehicles": "present",  # +1
    "ambient_luminosity": "high",  # +1
    "navigational_task": "very_difficult",  # +2
}  # sum 10 -> -4 -> kept at M1
QUIET_LANE = {
    "design_speed": "low",  # -2
    "traffic_volume": "very_low",  # -1
    "traffic_composition": "motorised_only",  # 0
    "ambient_luminosity": "low",  # -1
}  # sum -4 -> 10 -> kept at M6
FOOTPATH = {
    "travel_speed": "low",  # +1
    "use_intensity": "normal",  # 0
    "traffic_composition": "pedestrians_motorised",  # +1
    "parked_vehicles": "not_present",  # 0
    "ambient_luminosity": "moderate",  # 0
    "facial_recognition": "not_necessary",  # 0
}  # sum 2 -> P4
PARK_PATH_AT_NIGHT = {
    "travel_speed": "very_low",  # 0
    "use_intensity": "quiet",  # -1
    "traffic_composition": "pedestrians_only",  # 0
    "ambient_luminosity": "low",  # -1
}  # sum -2 -> 8 -> kept at P6


@pytest.mark.parametrize(
    ("system", "parameters", "expected"),
    [
        ("M", EVENING_STREET, "M3"),
        ("M", AFTER_MIDNIGHT, "M5"),
        ("M", ARTERIAL, "M2"),
        ("M", BUSY_CITY_CENTRE, "M1"),
        ("M", QUIET_LANE, "M6"),
        ("M", {}, "M6"),  # parameters left out weigh 0: 6 - 0
        ("P", FOOTPATH, "P4"),
        ("P", PARK_PATH_AT_NIGHT, "P6"),
    ],
)
def test_select_class_by_hand_worked_sums(
    system: ClassSystem, parameters: dict[str, str], expected: str
) -> None:
    assert str(select_class(system, parameters)) == expected


def test_select_class_with_a_national_table() -> None:
    # A country that weighs only speed, and more heavily: 6 - 3 = 3.
    table = {"M": {"design_speed": {"high": 3.0, "low": 0.0}}}
    assert select_class("M", {"design_speed": "high"}, table) == M3
    assert select_class("M", {"design_speed": "low"}, table) == LightingClass("M", 6)


def test_default_table_is_the_tr_example() -> None:
    assert DEFAULT_WEIGHTING_TABLE["M"]["design_speed"]["very_high"] == 2
    assert DEFAULT_WEIGHTING_TABLE["M"]["traffic_volume"]["very_low"] == -1
    assert DEFAULT_WEIGHTING_TABLE["P"]["use_intensity"]["quiet"] == -1


@pytest.mark.parametrize(
    ("text", "expected"), [("M3", M3), (" m5 ", M5), ("P1", LightingClass("P", 1))]
)
def test_parse_lighting_class(text: str, expected: LightingClass) -> None:
    assert parse_lighting_class(text) == expected


@pytest.mark.parametrize("text", ["M7", "M0", "C3", "P", "", "M10", "3"])
def test_parse_rejects_unknown_classes(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape("use M1..M6 or P1..P6")):
        parse_lighting_class(text)


def test_required_levels_from_en_13201() -> None:
    assert [LightingClass("M", n).required_level for n in range(1, 7)] == [
        2.0, 1.5, 1.0, 0.75, 0.5, 0.3,
    ]  # fmt: skip
    assert [LightingClass("P", n).required_level for n in range(1, 7)] == [
        15.0, 10.0, 7.5, 5.0, 3.0, 2.0,
    ]  # fmt: skip


def test_lower_class_numbers_sort_first() -> None:
    assert sorted([M5, M3, M4]) == [M3, M4, M5]
    assert str(M4) == "M4"


@pytest.mark.parametrize(
    ("needed", "design", "steps", "expected_pct"),
    [
        (M5, M3, STEPS, 50),  # 0.5 / 1.0 cd/m² = 50 %: exactly a step
        (M4, M3, STEPS, 85),  # 0.75 / 1.0 = 75 %: the next step up is 85
        (LightingClass("M", 6), M3, STEPS, 30),  # 0.3 / 1.0 = 30 %: exactly the lowest step
        (M3, M3, STEPS, 100),  # the design class needs full output
        (LightingClass("M", 2), M3, STEPS, 100),  # brighter than the design: full output
        (M5, LightingClass("M", 2), STEPS, 50),  # 0.5 / 1.5 = 33 %: the next step is 50
        (LightingClass("P", 5), LightingClass("P", 3), STEPS, 50),  # 3 / 7.5 lx = 40 %
        (M5, M3, [100, 30, 70], 70),  # unsorted steps; 50 % needs the 70 % step
        (M5, M3, (20, 100), 100),  # a tuple of steps; nothing between 50 and 100
    ],
)
def test_required_dim_pct_is_the_lowest_step_that_delivers_the_class(
    needed: LightingClass,
    design: LightingClass,
    steps: list[int] | tuple[int, ...],
    expected_pct: int,
) -> None:
    assert required_dim_pct(needed, design, steps) == expected_pct


def test_required_dim_pct_refuses_mixed_systems() -> None:
    with pytest.raises(ValueError, match="cannot compare"):
        required_dim_pct(LightingClass("P", 4), M3, STEPS)
