"""The cluster configuration: a table of bad files and their messages, and the demo cluster."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cluster.config import (
    ClusterConfig,
    MemberKind,
    load_config,
    load_demo_config,
    parse_config,
)
from cluster.errors import ConfigError, KlasterError
from cluster.outages import outage_windows
from cluster.points import PointKind
from tests.clusters import COMFORT_TABLE, FLAT_TARIFF, WTE_8MW, cluster_header, pv_school

# A minimal valid cluster, in parts so that a test can drop one part whole.
CLUSTER = cluster_header("Test cluster")
MEMBERS = """\
[[members]]
id = "city"
name = "Gmina Testowa"
kind = "municipality"

[[members]]
id = "school"
name = "Szkoła Testowa"
kind = "public_building"
"""
REST = "\n".join(
    [
        FLAT_TARIFF,
        """\
[[tariffs]]
id = "c22a"
group = "C22a"
capacity_rate_pln_per_kw_month = 12.6
[[tariffs.zones]]
name = "peak"
rate_pln_per_mwh = 172.0
days = "working_days"
hours = [{ start = 7, end = 13 }, { start = 16, end = 21 }]
[[tariffs.zones]]
name = "off-peak"
rate_pln_per_mwh = 64.0

[supply_contract]
blocks = [{ name = "base", power_kw = 500.0, price_pln_per_mwh = 465.0 }]

[[connection_points]]
id = "cp-a"
member = "city"
tariff = "c22a"
contracted_capacity_kw = 9000.0

[[connection_points]]
id = "cp-b"
member = "school"
tariff = "c21"
contracted_capacity_kw = 120.0
""",
        pv_school("cp-b"),
        """\
[[assets.batteries]]
id = "battery"
connection_point = "cp-a"
power_kw = 100.0
energy_kwh = 200.0
""",
        WTE_8MW
        + """\
district_heating = "dh"

[[assets.district_heating]]
id = "dh"
connection_point = "cp-a"
annual_heat_demand_mwh = 160000.0
gas_boiler_max_kw = 45000.0

[[assets.lighting_circuits]]
id = "light-1"
connection_point = "cp-a"
municipality = "city"
luminaires = 100
luminaire_w = 80.0
design_class = "M3"
road = { design_speed = "moderate", traffic_composition = "mixed" }

[[assets.buildings]]
id = "bldg-school"
connection_point = "cp-b"
use = "school"
occupancy = { working_days = { start = 7, end = 16 } }
[[assets.buildings.zones]]
id = "z1"
floor_area_m2 = 900.0
thermal_capacitance_kwh_per_k = 80.0
thermal_resistance_k_per_kw = 0.065
heating_max_kw = 55.0
"""
        + COMFORT_TABLE,
    ]
)
BASE = CLUSTER + "\n" + MEMBERS + "\n" + REST

SECOND_ZONE_Z1 = """
[[assets.buildings.zones]]
id = "z1"
floor_area_m2 = 300.0
thermal_capacitance_kwh_per_k = 27.0
thermal_resistance_k_per_kw = 0.2
heating_max_kw = 18.0
[assets.buildings.zones.comfort]
occupied_min_c = 20.0
occupied_max_c = 24.0
unoccupied_min_c = 16.0
unoccupied_max_c = 27.0
"""
THIRD_CP_NAMED_CP_B = """
[[connection_points]]
id = "cp-b"
member = "city"
tariff = "c21"
contracted_capacity_kw = 40.0
"""


def edit(old: str, new: str) -> str:
    """BASE with the one occurrence of ``old`` replaced by ``new``."""
    assert BASE.count(old) == 1, f"{old!r} must occur exactly once in BASE"
    return BASE.replace(old, new)


def line_number_of(text: str, fragment: str) -> int:
    """The 1-based number of the line holding ``fragment``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


class Case(NamedTuple):
    """One bad configuration and the problem it must produce."""

    text: str
    key: str
    message: str
    fix: str
    problems: int = 1


PV = "assets.pv_plants[0](id=pv-school)"
LIGHT = "assets.lighting_circuits[0](id=light-1)"
WTE = "assets.wte_chps[0](id=wte)"
SYNTAX_ERROR = edit("kwp = 50.0", "kwp = = 50.0")
POWER_LIMIT_WITHOUT_BOUNDS = (
    'points = [{ id = "power_limit", kind = "power_limit", writable = true }]'
)

BAD_CONFIGS = {
    "toml syntax error": Case(
        SYNTAX_ERROR,
        "(syntax)",
        f"at line {line_number_of(SYNTAX_ERROR, 'kwp = = ')}, column 7): kwp = = 50.0",
        f"correct the TOML syntax on line {line_number_of(SYNTAX_ERROR, 'kwp = = ')}",
    ),
    "unknown top-level table (typo)": Case(
        edit("[supply_contract]", "[suply_contract]"),
        "suply_contract",
        "unknown key 'suply_contract'",
        "did you mean 'supply_contract'?",
    ),
    "unknown key in an entry (typo) also leaves the real key missing": Case(
        edit("inverter_limit_kw = 45.0", "inverter_limt_kw = 45.0"),
        f"{PV}.inverter_limt_kw",
        "unknown key 'inverter_limt_kw'",
        "did you mean 'inverter_limit_kw'?",
        problems=2,
    ),
    "top-level key written under a table": Case(
        edit("longitude_deg = 20.63\n", "longitude_deg = 20.63\nconnection_points = []\n"),
        "cluster.connection_points",
        "unknown key 'connection_points'",
        "belongs at the top level: move it above the first [table] header",
    ),
    "missing required key": Case(
        edit('tariff = "c21"\ncontracted_capacity_kw = 120.0', "contracted_capacity_kw = 120.0"),
        "connection_points[1](id=cp-b).tariff",
        "the required key 'tariff' is missing",
        "add tariff = <value> here",
    ),
    "missing [cluster] table": Case(
        BASE.replace(CLUSTER, ""),
        "cluster",
        "the required key 'cluster' is missing",
        "add a [cluster] table",
    ),
    "negative contracted capacity": Case(
        edit("contracted_capacity_kw = 120.0", "contracted_capacity_kw = -120.0"),
        "connection_points[1](id=cp-b).contracted_capacity_kw",
        "must be greater than 0, got -120",
        "use a value above 0",
    ),
    "unknown member reference": Case(
        edit('member = "school"', 'member = "schol"'),
        "connection_points[1](id=cp-b).member",
        "no member has id 'schol'",
        "did you mean 'school'? Otherwise use one of the member ids: city, school",
    ),
    "malformed member reference is reported once, not also as unknown": Case(
        edit('member = "school"', 'member = "School A"'),
        "connection_points[1](id=cp-b).member",
        "'School A' is not a valid id",
        "lower-case letters",
    ),
    "unknown tariff reference": Case(
        edit('tariff = "c21"', 'tariff = "g12"'),
        "connection_points[1](id=cp-b).tariff",
        "no tariff has id 'g12'",
        "use one of the tariff ids: c21, c22a",
    ),
    "duplicate connection point id": Case(
        BASE + THIRD_CP_NAMED_CP_B,
        "connection_points[2](id=cp-b).id",
        "id 'cp-b' is already used by connection_points[1](id=cp-b)",
        "give every entry its own id",
    ),
    "asset on an unknown connection point": Case(
        edit('connection_point = "cp-b"\nkwp', 'connection_point = "cp-c"\nkwp'),
        f"{PV}.connection_point",
        "no connection point has id 'cp-c'",
        "use one of the connection point ids: cp-a, cp-b",
    ),
    "unknown time zone": Case(
        edit('"Europe/Warsaw"', '"Europe/Kielce"'),
        "cluster.timezone",
        "unknown time zone 'Europe/Kielce'",
        "IANA time-zone name such as 'Europe/Warsaw'",
    ),
    "step of 20 minutes": Case(
        edit("step_minutes = 15", "step_minutes = 20"),
        "cluster.step_minutes",
        "must be one of 15, 30 or 60, got 20",
        "use one of the values named",
    ),
    "battery initial state of charge above its maximum": Case(
        edit(
            "energy_kwh = 200.0", "energy_kwh = 200.0\nsoc_max_pct = 90.0\nsoc_initial_pct = 95.0"
        ),
        "assets.batteries[0](id=battery).soc_initial_pct",
        "soc_initial_pct 95.0 lies outside the permitted state of charge",
        "set soc_initial_pct between 10.0 and 90.0",
    ),
    "WtE minimum load above its maximum": Case(
        edit("electric_min_kw = 4000.0", "electric_min_kw = 9000.0"),
        "assets.wte_chps[0](id=wte).electric_min_kw",
        "electric_min_kw 9000.0 is above electric_max_kw 8000.0",
        "lower electric_min_kw or raise electric_max_kw",
    ),
    "WtE on an unknown district-heating network": Case(
        edit('district_heating = "dh"', 'district_heating = "dh-north"'),
        "assets.wte_chps[0](id=wte).district_heating",
        "no district-heating network has id 'dh-north'",
        "use one of the district-heating network ids: dh",
    ),
    "tariff zone for working days only leaves weekends without a rate": Case(
        edit("rate_pln_per_mwh = 148.0", 'rate_pln_per_mwh = 148.0\ndays = "working_days"'),
        "tariffs[0](id=c21).zones",
        "no zone covers hour 00:00-01:00 of a non-working day (weekend or public holiday)",
        "add a catch-all zone as the last [[tariffs.zones]] entry",
    ),
    "empty hour range": Case(
        edit("{ start = 7, end = 13 }", "{ start = 7, end = 7 }"),
        "tariffs[1](id=c22a).zones[0].hours[0].end",
        "start and end are both 7: the hour range is empty",
        "make end differ from start",
    ),
    "bad tariff group name": Case(
        edit('group = "C21"', 'group = "X21"'),
        "tariffs[0](id=c21).group",
        "'X21' is not a Polish tariff group name",
        "such as B23, C21, C22a, C12o or G11",
    ),
    "lighting design class M7": Case(
        edit('design_class = "M3"', 'design_class = "M7"'),
        f"{LIGHT}.design_class",
        "unknown lighting class 'M7'",
        "M1..M6 for roads with motorised traffic, P1..P6",
    ),
    "unknown road parameter": Case(
        edit('design_speed = "moderate"', 'desing_speed = "moderate"'),
        f"{LIGHT}.road.desing_speed",
        "'desing_speed' is not a road parameter of the M classes' weighting table",
        "did you mean 'design_speed'?",
    ),
    "unknown road option": Case(
        edit('design_speed = "moderate"', 'design_speed = "fast"'),
        f"{LIGHT}.road.design_speed",
        "road parameter 'design_speed' has no option 'fast'",
        "use one of: high, low, moderate, very_high",
    ),
    "dim steps without 100 %": Case(
        edit('design_class = "M3"', 'design_class = "M3"\ndim_steps_pct = [30, 50, 80]'),
        f"{LIGHT}.dim_steps_pct",
        "has no 100 % step",
        "add 100 to dim_steps_pct",
    ),
    "writable point without bounds": Case(
        edit("inverter_limit_kw = 45.0", f"inverter_limit_kw = 45.0\n{POWER_LIMIT_WITHOUT_BOUNDS}"),
        f"{PV}.points[0](id=power_limit).min_value",
        "a writable point needs both min_value and max_value",
        "add min_value and max_value (in %) to this point",
    ),
    "point minimum above its maximum": Case(
        edit(
            "inverter_limit_kw = 45.0",
            "inverter_limit_kw = 45.0\n"
            'points = [{ id = "ac_power", kind = "active_power", min_value = 50, max_value = 0 }]',
        ),
        f"{PV}.points[0](id=ac_power).min_value",
        "min_value 50.0 is above max_value 0.0",
        "swap min_value and max_value",
    ),
    "point bound inf": Case(
        edit(
            "inverter_limit_kw = 45.0",
            "inverter_limit_kw = 45.0\n"
            'points = [{ id = "ac_power", kind = "active_power", max_value = inf }]',
        ),
        f"{PV}.points[0](id=ac_power).max_value",
        "max_value must be a finite number, got inf",
        "write a finite number in kW, or leave max_value out",
    ),
    "nan kWp": Case(
        edit("kwp = 50.0", "kwp = nan"),
        f"{PV}.kwp",
        "must be a finite number, got nan",
        "nan and inf are not allowed here",
    ),
    "inf contracted capacity": Case(
        edit("contracted_capacity_kw = 120.0", "contracted_capacity_kw = inf"),
        "connection_points[1](id=cp-b).contracted_capacity_kw",
        "must be a finite number, got inf",
        "nan and inf are not allowed here",
    ),
    "duplicate zone ids in a building": Case(
        BASE + SECOND_ZONE_Z1,
        "assets.buildings[0](id=bldg-school).zones[1](id=z1).id",
        "id 'z1' is already used by assets.buildings[0](id=bldg-school).zones[0](id=z1)",
        "give every zone of a building its own id",
    ),
    "text where a number belongs": Case(
        edit("kwp = 50.0", 'kwp = "50 kWp"'),
        f"{PV}.kwp",
        "must be a number, got '50 kWp'",
        "without quotes or units",
    ),
    "fraction where a whole number belongs": Case(
        edit("luminaires = 100", "luminaires = 100.5"),
        f"{LIGHT}.luminaires",
        "must be a whole number, got 100.5",
        "without a decimal point",
    ),
    "unknown member kind": Case(
        edit('kind = "municipality"', 'kind = "city"'),
        "members[0](id=city).kind",
        "must be one of 'public_building', 'municipal_company', 'business', "
        "'housing_cooperative' or 'municipality', got 'city'",
        "use one of the values named",
    ),
    "hour past midnight in an occupancy": Case(
        edit("working_days = { start = 7, end = 16 }", "working_days = { start = 7, end = 26 }"),
        "assets.buildings[0](id=bldg-school).occupancy.working_days.end",
        "must be at most 24, got 26",
        "use a value of at most 24",
    ),
    "planned outage that ends before it starts": Case(
        edit(
            "daily_min_waste_mwh = 520.0",
            "daily_min_waste_mwh = 520.0\n"
            'planned_outages = [{ start = "2027-02-03T06:00", end = "2027-02-01T18:00" }]',
        ),
        f"{WTE}.planned_outages[0].end",
        "end 2027-02-01T18:00 is not after start 2027-02-03T06:00",
        "a later local time than its start",
    ),
    "planned outage leaving more than the whole plant": Case(
        edit(
            "daily_min_waste_mwh = 520.0",
            "daily_min_waste_mwh = 520.0\n"
            'planned_outages = [{ start = "2027-02-01T06:00", end = "2027-02-03T18:00", '
            "available_fraction = 1.5 }]",
        ),
        f"{WTE}.planned_outages[0].available_fraction",
        "must be at most 1, got 1.5",
        "use a value of at most 1",
    ),
    "planned outage time that is not a time": Case(
        edit(
            "daily_min_waste_mwh = 520.0",
            "daily_min_waste_mwh = 520.0\n"
            'planned_outages = [{ start = "1 Feb 6:00", end = "2027-02-03T18:00" }]',
        ),
        f"{WTE}.planned_outages[0].start",
        "'1 Feb 6:00' is not a date and time",
        'write a local time such as "2027-02-01T06:00"',
    ),
    "planned outage time with a UTC offset": Case(
        edit(
            "daily_min_waste_mwh = 520.0",
            "daily_min_waste_mwh = 520.0\n"
            "planned_outages = [{ start = 2027-02-01T06:00:00+01:00, end = 2027-02-03T18:00:00 }]",
        ),
        f"{WTE}.planned_outages[0].start",
        "has a UTC offset; planned outages are in the cluster's local time",
        "leave the offset out",
    ),
    "overlapping planned outages": Case(
        edit(
            "daily_min_waste_mwh = 520.0",
            "daily_min_waste_mwh = 520.0\n"
            'planned_outages = [{ start = "2027-02-02T06:00", end = "2027-02-04T18:00" }, '
            '{ start = "2027-02-01T06:00", end = "2027-02-02T07:00", available_fraction = 0.5 }]',
        ),
        f"{WTE}.planned_outages",
        "planned_outages[1] (planned outage (at 50%, 2027-02-01 06:00 to 2027-02-02 07:00 "
        "local)) and planned_outages[0]",
        "end the earlier one before the later starts",
    ),
    # Both connection points then name members that no longer exist: three problems.
    "empty members list": Case(
        "members = []\n" + BASE.replace(MEMBERS, ""),
        "members",
        "needs at least 1 of them, has none",
        "add at least one [[members]] entry",
        problems=3,
    ),
}


def test_base_config_is_valid() -> None:
    config = parse_config(BASE, source="test.toml")
    assert [cp.id for cp in config.connection_points] == ["cp-a", "cp-b"]
    assert len(config.assets.all()) == 6


@pytest.mark.parametrize("case", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_names_file_key_problem_and_fix(case: Case) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(case.text, source="test.toml")
    error = raised.value
    keys = [p.key for p in error.problems]
    assert error.path == "test.toml"
    assert len(error.problems) == case.problems, str(error)
    assert case.key in keys, f"expected key {case.key!r}, got {keys}"
    problem = error.problems[keys.index(case.key)]
    assert case.message in problem.message
    assert case.fix in problem.fix
    text = str(error)
    assert text.startswith("test.toml: ")
    assert f"  {case.key}: {problem.message}\n    fix: {problem.fix}" in text
    # Pydantic's own wording and regular expressions mean nothing to a facility engineer.
    for jargon in ("Input should", "Value error", "String should match", "[a-z0-9]"):
        assert jargon not in text


def test_several_problems_are_reported_at_once() -> None:
    text = (
        BASE.replace("kwp = 50.0", "kwp = -5.0")
        .replace('member = "school"', 'member = "schol"')
        .replace("[supply_contract]", "[suply_contract]")
    )
    with pytest.raises(ConfigError) as raised:
        parse_config(text, source="test.toml")
    keys = {p.key for p in raised.value.problems}
    assert keys == {
        f"{PV}.kwp",
        "suply_contract",
        "connection_points[1](id=cp-b).member",
    }
    assert str(raised.value).startswith("test.toml: 3 problems in the cluster configuration")


def test_config_error_is_a_klaster_error_with_its_own_exit_code() -> None:
    with pytest.raises(KlasterError) as raised:
        parse_config(BASE.replace("kwp = 50.0", "kwp = 0.0"), source="test.toml")
    assert isinstance(raised.value, ConfigError)
    assert raised.value.exit_code == 2


# --- files ---------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "klaster.toml"
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    (problem,) = raised.value.problems
    assert raised.value.path == str(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert (problem.key, problem.message) == ("(file)", "the file does not exist")
    assert "give the path of a cluster TOML file" in problem.fix


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    assert raised.value.problems[0].message == "the path is not a file"


def test_file_that_is_not_utf8_names_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "klaster.toml"
    path.write_bytes(BASE.encode("cp1250"))  # "ł" is 0xB3 there: not UTF-8
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    (problem,) = raised.value.problems
    assert "cannot be read" in problem.message
    assert "UTF-8" in problem.fix


def test_problems_in_a_file_name_that_file(tmp_path: Path) -> None:
    path = tmp_path / "kof.toml"
    path.write_text(edit('tariff = "c21"', 'tariff = "c11"'), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.path == str(path)
    assert str(raised.value).startswith(f"{path}: 1 problem in the cluster configuration")
    assert raised.value.problems[0].key == "connection_points[1](id=cp-b).tariff"


def test_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "kof.toml"
    path.write_text(BASE, encoding="utf-8")
    assert load_config(path) == parse_config(BASE, source="other name")


# --- the built-in demo cluster ----------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> ClusterConfig:
    return load_demo_config()


def test_no_path_gives_the_demo_cluster(demo: ClusterConfig) -> None:
    assert load_config(None) == demo


def test_demo_has_public_buildings_with_two_to_six_zones(demo: ClusterConfig) -> None:
    buildings = demo.assets.buildings
    assert 11 <= len(buildings) <= 13
    assert all(2 <= len(b.zones) <= 6 for b in buildings)
    public = {m.id for m in demo.members if m.kind is MemberKind.PUBLIC_BUILDING}
    assert {demo.connection_point(b.connection_point).member for b in buildings} <= public


def test_demo_has_rooftop_pv_on_most_buildings_and_a_2_mwp_farm(demo: ClusterConfig) -> None:
    building_points = {b.connection_point for b in demo.assets.buildings}
    rooftop = [p for p in demo.assets.pv_plants if p.connection_point in building_points]
    assert len({p.connection_point for p in rooftop}) > len(building_points) / 2
    assert all(20 <= p.kwp <= 150 for p in rooftop)
    farms = [p for p in demo.assets.pv_plants if p.connection_point not in building_points]
    assert [p.kwp for p in farms] == [2000.0]


def test_demo_has_one_wte_one_biogas_chp_and_one_battery(demo: ClusterConfig) -> None:
    (wte,) = demo.assets.wte_chps
    assert 4000 <= wte.electric_max_kw <= 8000
    assert wte.district_heating in {d.id for d in demo.assets.district_heating}
    (biogas,) = demo.assets.biogas_chps
    assert 800 <= biogas.engine_max_kw <= 1200
    (battery,) = demo.assets.batteries
    assert (battery.power_kw, battery.energy_kwh) == (1000.0, 2000.0)


def test_demo_street_lighting_in_four_municipalities(demo: ClusterConfig) -> None:
    circuits = demo.assets.lighting_circuits
    assert len(circuits) == 60
    assert 8000 <= sum(c.luminaires for c in circuits) <= 10000
    municipalities = {m.id for m in demo.members if m.kind is MemberKind.MUNICIPALITY}
    assert {c.municipality for c in circuits} == municipalities
    assert len(municipalities) == 4


def test_demo_members_and_tariff_groups(demo: ClusterConfig) -> None:
    kinds = Counter(m.kind for m in demo.members)
    assert kinds[MemberKind.BUSINESS] == 6
    assert kinds[MemberKind.HOUSING_COOPERATIVE] == 2
    groups_in_use = {demo.tariff_of(cp).group for cp in demo.connection_points}
    assert {"B23", "C21", "C22a", "C12o", "G11"} <= groups_in_use


def test_demo_assets_have_default_points_and_writable_points_have_bounds(
    demo: ClusterConfig,
) -> None:
    points = [p for asset in demo.assets.all() for p in asset.points]
    points += [p for b in demo.assets.buildings for zone in b.zones for p in zone.points]
    assert all(asset.points for asset in demo.assets.all())
    writable = [p for p in points if p.writable]
    assert writable
    assert all(p.min_value is not None and p.max_value is not None for p in writable)
    dim_points = [p for c in demo.assets.lighting_circuits for p in c.points if p.id == "dim_level"]
    assert len(dim_points) == 60
    assert all(p.kind is PointKind.DIM_LEVEL and p.writable for p in dim_points)


def test_demo_references_resolve(demo: ClusterConfig) -> None:
    for asset in demo.assets.all():
        assert demo.connection_point(asset.connection_point).id == asset.connection_point
    assert len(demo.assets_at("cp-pv-farm")) >= 2


def test_planned_outages_are_read_in_order_and_placed_in_utc() -> None:
    text = edit(
        "daily_min_waste_mwh = 520.0",
        "daily_min_waste_mwh = 520.0\n"
        "planned_outages = [\n"
        '  { start = "2027-07-01T00:00", end = "2027-07-02T00:00", available_fraction = 0.5 },\n'
        '  { start = "2027-02-01T06:00", end = "2027-02-03T18:00", reason = "inspection" },\n'
        "]",
    )
    chp = parse_config(text, source="test.toml").assets.wte_chps[0]
    assert [o.reason for o in chp.planned_outages] == ["inspection", ""]
    assert chp.planned_outages[0].available_fraction == 0.0  # a full outage unless told
    windows = outage_windows(chp.planned_outages, ZoneInfo("Europe/Warsaw"))
    # Warsaw is UTC+1 in February and UTC+2 in July.
    assert windows[0].start == pd.Timestamp("2027-02-01T05:00", tz="UTC")
    assert windows[1].end == pd.Timestamp("2027-07-01T22:00", tz="UTC")
