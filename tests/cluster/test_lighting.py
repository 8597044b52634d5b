"""Road lighting classes: CEN/TR 13201-1 selection and the dim level a class needs."""

from __future__ import annotations

import re

import pytest

from cluster.config import HourRange, demo_config_text, parse_config
from cluster.errors import ConfigError
from cluster.lighting import (
    DEFAULT_WEIGHTING_TABLE,
    AmbientLuminosity,
    ClassSystem,
    LightingClass,
    classes_per_step,
    parse_lighting_class,
    required_dim_pct,
    select_class,
    step_class,
    traffic_option,
    weighting_table,
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


# --- the class of each step of the night -----------------------------------------------


@pytest.mark.parametrize(
    ("system", "vehicles", "expected"),
    [
        ("M", 800.0, "very_high"),  # 80 % of a 1000 vehicles/h peak
        ("M", 750.0, "very_high"),  # bands include their lower bound
        ("M", 749.0, "high"),
        ("M", 500.0, "high"),
        ("M", 300.0, "moderate"),
        ("M", 100.0, "low"),
        ("M", 99.0, "very_low"),
        ("M", 0.0, "very_low"),
        ("P", 600.0, "busy"),
        ("P", 150.0, "normal"),
        ("P", 149.0, "quiet"),
    ],
)
def test_traffic_option_by_share_of_the_peak(
    system: ClassSystem, vehicles: float, expected: str
) -> None:
    assert traffic_option(system, vehicles, 1000.0) == expected


def test_a_road_without_a_known_peak_counts_as_busiest() -> None:
    assert traffic_option("M", 3.0, 0.0) == "very_high"
    assert traffic_option("P", 0.0, 0.0) == "busy"


def test_ambient_luminosity_by_local_hour() -> None:
    town = AmbientLuminosity()  # high, then moderate from 22:00 to 06:00
    assert [town.option(h) for h in (18, 21, 22, 0, 5, 6)] == [
        "high", "high", "moderate", "moderate", "moderate", "high",
    ]  # fmt: skip
    village = AmbientLuminosity(active="moderate", quiet="low",
                                quiet_hours=HourRange(start=23, end=5))  # fmt: skip
    assert [village.option(h) for h in (22, 23, 4, 5)] == ["moderate", "low", "low", "moderate"]


def test_a_national_table_overrides_single_values() -> None:
    table = weighting_table({"M": {"traffic_volume": {"very_low": -2.0}}})
    assert table["M"]["traffic_volume"]["very_low"] == -2.0
    assert table["M"]["traffic_volume"]["low"] == -0.5  # the rest stays the TR's
    assert DEFAULT_WEIGHTING_TABLE["M"]["traffic_volume"]["very_low"] == -1  # untouched
    assert weighting_table({}) is DEFAULT_WEIGHTING_TABLE


# AFTER_MIDNIGHT without its traffic and ambient options: fixed options weighing 2.
SIDE_STREET = {k: v for k, v in EVENING_STREET.items()
               if k not in ("traffic_volume", "ambient_luminosity")}  # fmt: skip


def test_step_class_joins_the_road_with_the_steps_options() -> None:
    # 6 - (2 + 0.5 + 1) = 2.5 -> M2, brighter than the M3 design: held at M3.
    assert step_class(M3, SIDE_STREET, "high", "high") == M3
    # 6 - (2 - 0.5 + 0) = 4.5 -> M4; 6 - (2 - 1 - 1) = 6 -> M6.
    assert step_class(M3, SIDE_STREET, "low", "moderate") == M4
    assert step_class(M3, SIDE_STREET, "very_low", "low") == LightingClass("M", 6)
    # An option the road fixes wins over the step's.
    fixed = SIDE_STREET | {"ambient_luminosity": "high"}
    assert step_class(M3, fixed, "very_low", "low") == M4  # 6 - (2 - 1 + 1) = 4


def test_classes_per_step_through_a_night() -> None:
    # Evening, 22:00, midnight, 04:00: traffic 40 %, 20 %, 5 %, 12 % of the peak.
    classes = classes_per_step(
        M3, SIDE_STREET, [400.0, 200.0, 50.0, 120.0], 1000.0, [20, 22, 0, 4], AmbientLuminosity()
    )
    assert [str(c) for c in classes] == ["M3", "M4", "M5", "M4"]


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('lighting_weighting = { M = { trafic_volume = { low = -1 } } }',
         "cluster.lighting_weighting.M.trafic_volume", "did you mean 'traffic_volume'"),
        ('lighting_weighting = { M = { traffic_volume = { lowest = -1 } } }',
         "cluster.lighting_weighting.M.traffic_volume.lowest", "very_low"),
        ('lighting_weighting = { X = { traffic_volume = { low = -1 } } }',
         "cluster.lighting_weighting.X", "use one of: M, P"),
    ],
)  # fmt: skip
def test_a_weighting_table_with_unknown_names_is_refused(text: str, key: str, words: str) -> None:
    source = demo_config_text().replace('country = "PL"', f'country = "PL"\n{text}', 1)
    with pytest.raises(ConfigError) as caught:
        parse_config(source, source="kof.toml")
    message = str(caught.value)
    assert key in message and words in message


def test_an_unknown_ambient_luminosity_option_is_refused() -> None:
    source = demo_config_text().replace(
        'design_class = "M2"', 'design_class = "M2"\nambient_luminosity = { quiet = "dark" }', 1
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(source, source="kof.toml")
    message = str(caught.value)
    assert "ambient_luminosity.quiet" in message and "'dark'" in message
