"""Which devices the rig plans for a cluster, and how it lists them for poll and dispatch."""

from __future__ import annotations

from collections import Counter

import pytest

from adapters.rig.errors import RigError
from adapters.rig.plan import DeviceKind, plan_devices
from adapters.site import Protocol
from cluster.config import load_demo_config, parse_config
from tests.adapters.rig.support import SMALL_CLUSTER_TOML, small_cluster


def test_small_cluster_gives_one_device_per_asset_and_connection_point() -> None:
    planned = {p.device_id: p for p in plan_devices(small_cluster())}
    assert set(planned) == {
        "inv-pv-school", "inv-pv-farm",
        "meter-cp-school", "meter-cp-hall", "meter-cp-farm", "meter-cp-wte", "meter-cp-light",
        "plc-wte-1", "bat-battery-farm", "cab-cp-light",
        "bacnet-bldg-school", "bacnet-bldg-hall",
    }  # fmt: skip
    assert planned["inv-pv-farm"].protocol is Protocol.SUNSPEC
    assert planned["meter-cp-farm"].owner == "cp-farm"
    assert planned["meter-cp-farm"].map_name == "energy_meter"
    assert planned["plc-wte-1"].map_name == "wte_plc"
    assert planned["bacnet-bldg-hall"].protocol is Protocol.BACNET
    instances = {planned[f"bacnet-{b}"].device_instance for b in ("bldg-school", "bldg-hall")}
    assert len(instances) == 2


def test_cabinet_aliases_map_circuit_blocks_to_circuits_in_config_order() -> None:
    cabinet = next(
        p for p in plan_devices(small_cluster()) if p.kind is DeviceKind.LIGHTING_CABINET
    )
    endpoint = cabinet.endpoint("127.0.0.1", 1502)
    assert cabinet.assets == ("light-a", "light-b", "light-c")
    assert endpoint.klaster_point_id("circuit01.dim_level") == "light-a/dim_level"
    assert endpoint.klaster_point_id("circuit03.traffic_count") == "light-c/traffic_count"
    # Blocks without a circuit, and cabinet-wide points, stay with the cabinet.
    assert endpoint.klaster_point_id("circuit04.power") == "cp-light/circuit04/power"
    assert endpoint.klaster_point_id("cabinet_alarms") == "cp-light/cabinet_alarms"


def test_demo_cluster_gives_78_modbus_and_12_bacnet_devices() -> None:
    config = load_demo_config()
    planned = plan_devices(config)
    kinds = Counter(p.kind for p in planned)
    assets = config.assets
    assert kinds[DeviceKind.INVERTER] == len(assets.pv_plants)
    assert kinds[DeviceKind.METER] == len(config.connection_points)
    assert kinds[DeviceKind.LIGHTING_CABINET] == len(
        {c.connection_point for c in assets.lighting_circuits}
    )
    assert kinds[DeviceKind.BUILDING_CONTROLLER] == len(assets.buildings) == 12
    assert sum(p.protocol is not Protocol.BACNET for p in planned) == 78
    assert len({p.device_id for p in planned}) == len(planned)


def test_too_many_circuits_on_one_cabinet_is_refused() -> None:
    extra = "".join(
        f'\n[[assets.lighting_circuits]]\nid = "light-x{i}"\nconnection_point = "cp-light"\n'
        'municipality = "city"\nluminaires = 10\nluminaire_w = 50.0\ndesign_class = "P3"\n'
        for i in range(10)
    )
    config = parse_config(SMALL_CLUSTER_TOML + extra, source="<13 circuits>")
    with pytest.raises(RigError, match="13 lighting circuits") as caught:
        plan_devices(config)
    assert "12" in str(caught.value)
