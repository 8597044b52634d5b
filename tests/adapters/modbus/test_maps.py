"""Device maps: the shipped maps load, bad maps are refused with key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.errors import DeviceMapError
from adapters.modbus.decode import RegisterType
from adapters.modbus.maps import builtin_map_names, load_builtin_map, load_device_map

HEADER = '[device]\nname = "test"\n'


def write_map(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "device.toml"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_every_shipped_map_loads() -> None:
    names = builtin_map_names()
    assert set(names) >= {"energy_meter", "wte_plc", "biogas_chp", "battery", "lighting_cabinet"}
    for name in names:
        device_map = load_builtin_map(name)
        assert device_map.points
        assert all(p.count >= 1 for p in device_map.points)


def test_meter_map_has_the_required_points() -> None:
    meter = load_builtin_map("energy_meter")
    assert set(meter.point_ids) == {
        "voltage_l1",
        "meter_power",
        "frequency",
        "meter_energy",
        "meter_energy_export",
    }
    power = meter.point("meter_power")
    assert (power.table, power.address, power.data_type) == ("input", 52, RegisterType.FLOAT32)
    assert power.unit == "kW"
    assert power.scale == pytest.approx(0.001)


def test_lighting_block_expands_to_every_circuit() -> None:
    cabinet = load_builtin_map("lighting_cabinet")
    per_circuit = ["on_off", "dim_level", "power", "failed_lamps", "traffic_count"]
    ids = cabinet.point_ids
    for circuit in range(1, 13):
        base = 1000 + 8 * (circuit - 1)
        for offset, point in zip([0, 1, 2, 3, 4], per_circuit, strict=True):
            register = cabinet.point(f"circuit{circuit:02d}.{point}")
            assert register.address == base + offset
    assert len(ids) == 12 * 5 + 2
    assert cabinet.point("circuit05.dim_level").writable
    assert cabinet.point("circuit12.traffic_count").data_type is RegisterType.UINT32


def test_word_order_is_per_device() -> None:
    assert load_builtin_map("wte_plc").word_order == "little"
    assert load_builtin_map("energy_meter").word_order == "big"


def test_battery_power_has_its_scale_factor_register() -> None:
    power = load_builtin_map("battery").point("power")
    assert power.scale_factor_address == 3
    assert power.footprint == (0, 4)


BAD_MAPS = [
    ("[[points]]\nid = 'p'\nadress = 3\ntype = 'int16'\nunit = 'kW'\n", "points[0].adress"),
    ("[[points]]\nid = 'p'\naddress = 3\ntype = 'int17'\nunit = 'kW'\n", "points[0].type"),
    (
        "[[points]]\nid = 'p'\naddress = 3\ntype = 'int16'\nunit = 'kW'\nwritable = true\n",
        "needs both min and max",
    ),
    (
        "[[points]]\nid = 'p'\ntable = 'input'\naddress = 3\ntype = 'int16'\nunit = 'kW'\n"
        "writable = true\nmin = 0\nmax = 1\n",
        "only holding registers",
    ),
    (
        "[[points]]\nid = 'a'\naddress = 3\ntype = 'int32'\nunit = 'kW'\n"
        "[[points]]\nid = 'b'\naddress = 4\ntype = 'int16'\nunit = 'kW'\n",
        "register 4 is also used",
    ),
    (
        "[[points]]\nid = 'a'\naddress = 3\ntype = 'int16'\nunit = 'kW'\n"
        "[[points]]\nid = 'a'\naddress = 5\ntype = 'int16'\nunit = 'kW'\n",
        "already used",
    ),
    (
        "[[points]]\nid = 'a'\naddress = 0\ntype = 'int16'\nunit = 'kW'\n"
        "scale_factor_address = 200\n",
        "registers apart",
    ),
    (
        "[[points]]\nid = 'a'\naddress = 0\ntype = 'int16'\nunit = 'W'\nkind = 'active_power'\n",
        "unit",
    ),
    (
        "[[points]]\nid = 'a'\naddress = 0\ntype = 'int16'\nunit = 'kW'\nkind = 'active_power'\n",
        None,
    ),
    (
        "[[points]]\nid = 'a'\naddress = 0\ntype = 'float32'\nunit = 'code'\nstates = {0 = 'x'}\n",
        "integer type",
    ),
    ("[[points]]\nid = 'a'\naddress = 0\ntype = 'string'\nunit = 'text'\n", "size"),
    ("[[points]]\nid = 'a'\naddress = 65535\ntype = 'int32'\nunit = 'kW'\n", "past 65535"),
    ("[[points]]\nid = 'a'\naddress = 0\ntype = 'int16'\nunit = 'kW'\nmin = 5\nmax = 1\n", "swap"),
    ("[[points]]\nid = 'a'\naddress = 0\ntype = 'int16'\nunit = 'kW'\nscale = 0\n", "non-zero"),
    (
        "[[blocks]]\nname = 'c'\ncount = 3\nfirst_address = 0\nstride = 2\n"
        "[[blocks.points]]\nid = 'x'\noffset = 0\ntype = 'int32'\nunit = 'kW'\n"
        "[[blocks.points]]\nid = 'y'\noffset = 2\ntype = 'int16'\nunit = 'kW'\n",
        "blocks[0].stride",
    ),
    ("", "the map has no points"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_MAPS)
def test_bad_maps_are_refused_with_key_and_fix(
    tmp_path: Path, body: str, expected: str | None
) -> None:
    path = write_map(tmp_path, body)
    if expected is None:
        assert load_device_map(path).point_ids == ("a",)
        return
    with pytest.raises(DeviceMapError) as caught:
        load_device_map(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "fix:" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write_map(
        tmp_path,
        "[[points]]\nid = 'a'\naddress = 0\ntype = 'int32'\nunit = 'kW'\n"
        "[[points]]\nid = 'a'\naddress = 1\ntype = 'int16'\nunit = 'kW'\n",
    )
    with pytest.raises(DeviceMapError) as caught:
        load_device_map(path)
    assert "2 problem(s)" in str(caught.value)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[device\n", encoding="utf-8")
    with pytest.raises(DeviceMapError, match="not valid TOML"):
        load_device_map(broken)
    with pytest.raises(DeviceMapError, match="no such device map"):
        load_device_map(tmp_path / "absent.toml")
    with pytest.raises(DeviceMapError, match="no built-in device map"):
        load_builtin_map("no-such-device")
