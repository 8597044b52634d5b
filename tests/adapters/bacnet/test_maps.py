"""Building controller maps: loading, validation errors, and binding to buildings."""

from __future__ import annotations

import pytest

from adapters.bacnet.maps import (
    BacnetDevice,
    BacnetObjectType,
    building_object_map,
    load_building_map,
    parse_building_map,
)
from adapters.errors import DeviceMapError
from tests.adapters.bacnet.support import demo_building

ZONE_TYPES = {
    "room_temp": BacnetObjectType.ANALOG_INPUT,
    "setpoint": BacnetObjectType.ANALOG_VALUE,
    "occupancy": BacnetObjectType.BINARY_VALUE,
    "heat_output": BacnetObjectType.ANALOG_OUTPUT,
}

MINIMAL_ZONE = """
name = "test"
[zone]
[[zone.points]]
point = "room_temp"
object_type = "analog-input"
units = "degrees-celsius"
"""


def test_packaged_map_numbers_zone_objects_by_zone_index() -> None:
    building = demo_building("bldg-pool-foka")
    bindings = {b.point_id: b for b in building_object_map(building)}
    assert len(bindings) == 6 * 4 + 2
    for number, zone in enumerate(building.zones, start=1):
        for point_id, object_type in ZONE_TYPES.items():
            binding = bindings[f"{zone.id}.{point_id}"]
            assert (binding.object_type, binding.instance) == (object_type, number)
    assert bindings["meter_power"].object_identifier == "analog-input,1000"
    assert bindings["meter_energy"].object_identifier == "analog-input,1001"


def test_only_the_setpoint_is_writable_and_carries_the_comfort_bounds() -> None:
    building = demo_building("bldg-library")
    bindings = building_object_map(building)
    writable = [b for b in bindings if b.writable]
    assert [b.point_id for b in writable] == [f"{z.id}.setpoint" for z in building.zones]
    comfort = building.zones[0].comfort
    first = writable[0].point
    assert (first.min_value, first.max_value) == (comfort.unoccupied_min_c, comfort.occupied_max_c)
    # heat_output sits on a commandable analog output, but the point is not writable.
    heat = next(b for b in bindings if b.point_id == "z1.heat_output")
    assert heat.commandable and not heat.writable


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        (
            '[[zone.points]]\npoint = "x"\nobject_type = "analog-inptu"\n',
            "zone.points[1].object_type",
            "analog-input",
        ),
        (
            '[[zone.points]]\npoint = "occ"\nobject_type = "binary-value"\nunits = "percent"\n',
            "zone.points[1]",
            "has no units",
        ),
        (
            '[[zone.points]]\npoint = "x"\nobject_type = "analog-value"\nunits = "kelvinn"\n',
            "zone.points[1]",
            "not a BACnet engineering unit",
        ),
        (
            '[[zone.points]]\npoint = "occ"\nobject_type = "binary-value"\ncommandable = true\n',
            "zone.points[1]",
            "klaster commands only analog",
        ),
        (
            '[[zone.points]]\npoint = "room_temp"\nobject_type = "analog-value"\n',
            "zone",
            "mapped twice",
        ),
        (
            '[[zone.points]]\npoint = "t2"\nobject_type = "analog-input"\n',
            "zone",
            "give one of them another offset",
        ),
        (
            '[[building.points]]\npoint = "meter"\nobject_type = "analog-input"\ninstance = 5\n',
            "(top level)",
            "lies in the zone range",
        ),
        (
            '[[building.points]]\npoint = "meter"\nobject_type = "analog-input"\n',
            "building.points[0].instance",
            "add this key",
        ),
        ("colour = 'blue'\n", "colour", "remove this key"),
    ],
)
def test_invalid_map_names_file_key_and_fix(extra: str, key: str, words: str) -> None:
    with pytest.raises(DeviceMapError) as caught:
        parse_building_map(_toml_with(extra), source="site/controller.toml")
    message = str(caught.value)
    assert message.startswith("site/controller.toml: 1 problem(s)")
    assert f"  {key}: " in message
    assert words in message
    assert "fix: " in message


def _toml_with(extra: str) -> str:
    # Top-level keys must come before the first table in TOML.
    if extra.startswith("colour"):
        return extra + MINIMAL_ZONE
    return MINIMAL_ZONE + extra


def test_broken_toml_and_missing_file_are_map_errors(tmp_path: object) -> None:
    with pytest.raises(DeviceMapError, match="not valid TOML"):
        parse_building_map("name = ", source="bad.toml")
    with pytest.raises(DeviceMapError, match="cannot read the BACnet map"):
        load_building_map(f"{tmp_path}/absent.toml")


def test_building_with_more_zones_than_the_map_numbers_is_refused() -> None:
    small = parse_building_map(
        MINIMAL_ZONE.replace("[zone]", "[zone]\nmax_zones = 2"), source="two-zones.toml"
    )
    with pytest.raises(DeviceMapError) as caught:
        building_object_map(demo_building("bldg-library"), small)
    assert "two-zones.toml" in str(caught.value)
    assert "has 3 zones" in str(caught.value)


def test_map_point_the_building_lacks_is_named() -> None:
    with_co2 = MINIMAL_ZONE.replace("[zone]", "[zone]\ninstance_step = 2") + (
        '[[zone.points]]\npoint = "co2"\nobject_type = "analog-input"\ninstance_offset = 1\n'
    )
    extended = parse_building_map(with_co2, source="co2.toml")
    with pytest.raises(DeviceMapError) as caught:
        building_object_map(demo_building("bldg-library"), extended)
    message = str(caught.value)
    assert "co2.toml" in message
    assert "zone 'z1' of building 'bldg-library' has no point 'co2'" in message


@pytest.mark.parametrize(
    ("address", "instance", "words"),
    [
        ("10.1.2.3", 4_194_303, "outside 0-4194302"),
        ("x:y", 1, "is not a BACnet/IP address"),
        ("", 1, "is not a BACnet/IP address"),
    ],
)
def test_device_with_bad_address_or_instance_is_refused(
    address: str, instance: int, words: str
) -> None:
    with pytest.raises(DeviceMapError, match=words):
        BacnetDevice("bldg-library", address, instance, ())
