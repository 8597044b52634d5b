"""Heating sizing against the design outdoor temperature and the contracted capacity.

Warnings, never errors.
"""

from __future__ import annotations

import pytest

from cluster.config import ClusterConfig, demo_config_text, load_demo_config, parse_config
from cluster.errors import ConfigError
from cluster.sizing import (
    contracted_capacity_warnings,
    design_heat_load_kw,
    heating_sizing_warnings,
)
from tests.clusters import (
    CITY_AND_SCHOOL_MEMBERS,
    FLAT_TARIFF,
    SCHOOL_BUILDING_TWO_ZONES,
    cluster_header,
)

#: z1: R = 0.6 K/kW, 54 kW; z2: R = 1.2 K/kW, 24 kW; both held at 20 °C when occupied.
SCHOOL = "\n".join(
    [
        cluster_header("Sizing test"),
        CITY_AND_SCHOOL_MEMBERS,
        FLAT_TARIFF,
        """\
[[connection_points]]
id = "cp-school"
member = "school"
tariff = "c21"
contracted_capacity_kw = 120.0
""",
        SCHOOL_BUILDING_TWO_ZONES,
    ]
)
Z1_KEY = "assets.buildings[0](id=bldg-school).zones[0](id=z1).heating_max_kw"
CAPACITY_KEY = "connection_points[0](id=cp-school).contracted_capacity_kw"


def _school(
    design_outdoor_temp_c: float | None = None, z2_heating_kw: float = 34.0
) -> ClusterConfig:
    """The school with z2's heating set; z1 keeps 54 kW."""
    text = SCHOOL.replace("heating_max_kw = 24.0", f"heating_max_kw = {z2_heating_kw}")
    if design_outdoor_temp_c is not None:
        text = text.replace(
            "longitude_deg = 20.63\n",
            f"longitude_deg = 20.63\ndesign_outdoor_temp_c = {design_outdoor_temp_c}\n",
        )
    return parse_config(text, source="sizing-test.toml")


def test_design_load_is_the_steady_loss_from_band_minimum_to_design_temperature() -> None:
    zone = _school().assets.buildings[0].zones[0]
    # (20 °C - (-20 °C)) / 0.6 K/kW
    assert design_heat_load_kw(zone, -20.0) == pytest.approx(40.0 / 0.6)
    # (20 °C - (-16 °C)) / 0.6 K/kW: a milder climate zone needs less
    assert design_heat_load_kw(zone, -16.0) == pytest.approx(36.0 / 0.6)


def test_undersized_zone_warns_with_installed_needed_and_fix_and_sized_zone_does_not() -> None:
    config = _school()
    assert config.cluster.design_outdoor_temp_c == -20.0  # the default: climate zone III
    warnings = heating_sizing_warnings(config)
    # z1: 54 kW < 40 / 0.6 = 66.7 kW; z2: 34 kW >= 40 / 1.2 = 33.3 kW
    assert [w.key for w in warnings] == [Z1_KEY]
    (warning,) = warnings
    for text in ("bldg-school/z1", "54 kW", "20 °C", "-20 °C", "66.7 kW"):
        assert text in warning.message, text
    # at least ceil(66.7) kW; with the 15 % reheat allowance ceil(76.7) kW
    assert "at least 67 kW" in warning.fix
    assert "77 kW" in warning.fix


def test_undersized_by_the_design_temperature_it_is_checked_against() -> None:
    # at -10 °C z1 needs 30 / 0.6 = 50 kW <= 54 kW
    assert heating_sizing_warnings(_school(design_outdoor_temp_c=-10.0)) == []
    # at -24 °C (climate zone V) z2 needs 44 / 1.2 = 36.7 kW > 34 kW as well
    keys = [w.key for w in heating_sizing_warnings(_school(design_outdoor_temp_c=-24.0))]
    assert keys == [Z1_KEY, Z1_KEY.replace("zones[0](id=z1)", "zones[1](id=z2)")]


def test_a_warmer_band_needs_more_heat() -> None:
    warm = SCHOOL.replace("heating_max_kw = 24.0", "heating_max_kw = 34.0").replace(
        "{ occupied_min_c = 20.0, occupied_max_c = 24.0",
        "{ occupied_min_c = 26.0, occupied_max_c = 28.0",
    )
    warnings = heating_sizing_warnings(parse_config(warm, source="warm.toml"))
    # z2 at 26 °C: 46 / 1.2 = 38.3 kW > 34 kW
    assert len(warnings) == 2
    assert "26 °C" in warnings[1].message and "38.3 kW" in warnings[1].message


def test_design_temperature_out_of_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="design_outdoor_temp_c"):
        _school(design_outdoor_temp_c=35.0)


def test_every_demo_zone_holds_its_band_at_the_design_temperature() -> None:
    config = load_demo_config()
    assert config.cluster.design_outdoor_temp_c == -20.0  # Kielce: climate zone III
    assert heating_sizing_warnings(config) == []


def _school_on_contract(contracted_kw: float, z2_heating: str = "district_heat") -> ClusterConfig:
    """The school on ``contracted_kw`` kW: z1 a 54 kW heat pump (COP 3.2), z2 by ``z2_heating``."""
    text = SCHOOL.replace(
        "contracted_capacity_kw = 120.0", f"contracted_capacity_kw = {contracted_kw}"
    ).replace('heating = "district_heat"', f'heating = "{z2_heating}"')
    return parse_config(text, source="capacity-test.toml")


def test_electric_heating_above_contracted_capacity_warns_with_both_numbers_and_fix() -> None:
    # parsed without error: a warning, not an error
    config = _school_on_contract(30.0, z2_heating="electric")
    # z1: 54 kW heat / COP 3.2 = 16.875 kW; z2 direct electric: 24 kW; 40.875 kW > 30 kW
    warnings = contracted_capacity_warnings(config)
    assert [w.key for w in warnings] == [CAPACITY_KEY]
    (warning,) = warnings
    for text in ("cp-school", "30 kW", "40.9 kW", "overrun"):
        assert text in warning.message, text
    assert "contracted_capacity_kw to at least 41 kW" in warning.fix
    assert "heating_max_kw" in warning.fix


def test_only_electric_heating_counts_and_heat_pumps_by_their_cop() -> None:
    # z2 on district heat draws no electricity: only z1's 16.875 kW counts
    assert contracted_capacity_warnings(_school_on_contract(17.0)) == []
    # ...and 16.8 kW is just below it (were the COP ignored, 17 kW would warn as well)
    (warning,) = contracted_capacity_warnings(_school_on_contract(16.8))
    assert "16.8 kW" in warning.message and "16.9 kW" in warning.message
    assert contracted_capacity_warnings(_school_on_contract(120.0, z2_heating="electric")) == []


def test_demo_kindergartens_at_their_former_capacities_would_warn() -> None:
    text = demo_config_text()
    for point, former_kw in (("cp-p-7", 45.0), ("cp-p-25", 50.0)):
        start = text.index(f'id = "{point}"')
        at = text.index("contracted_capacity_kw = ", start)
        end = text.index("\n", at)
        text = text[:at] + f"contracted_capacity_kw = {former_kw}" + text[end:]
    warnings = contracted_capacity_warnings(parse_config(text, source="former-demo.toml"))
    assert [w.key.split(".")[0] for w in warnings] == [
        "connection_points[4](id=cp-p-7)",
        "connection_points[5](id=cp-p-25)",
    ]
    # p-7: two 99 kW heat-pump zones at COP 3.2; p-25: 99 + 92 kW at COP 3.2
    assert "45 kW" in warnings[0].message and "61.9 kW" in warnings[0].message
    assert "50 kW" in warnings[1].message and "59.7 kW" in warnings[1].message


def test_every_demo_connection_point_carries_its_electric_heating() -> None:
    assert contracted_capacity_warnings(load_demo_config()) == []
