"""A small cluster for the rig tests, and helpers shared by them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from adapters.bacnet import BacnetClient, BacnetDevice, building_device
from adapters.device import PointReading
from adapters.modbus import ModbusDeviceClient, SunSpecInverterClient, load_builtin_map
from adapters.modbus.connection import ModbusConnection, RetryPolicy
from adapters.rig.rig import Rig, RigOptions
from cluster.config import ClusterConfig, parse_config
from tests.clusters import (
    CITY_AND_SCHOOL_MEMBERS,
    COMFORT_INLINE,
    FLAT_TARIFF,
    LIGHTING_CABINET_AB,
    SCHOOL_BUILDING_TWO_ZONES,
    cluster_header,
    pv_school,
)
from tests.timeouts import ANSWER_TIMEOUT_S

T = TypeVar("T")

#: Retries of busy/failed answers within one poll, kept short for the tests.
FAST_RETRY = RetryPolicy(attempts=2, backoff_s=0.01)

#: Two PV plants, a battery, a WtE plant, one cabinet with three circuits, two buildings
#: with two zones each, and their five connection points.
SMALL_CLUSTER_TOML = "\n".join(
    [
        "\n" + cluster_header("rig test cluster", altitude_m=260),
        FLAT_TARIFF,
        CITY_AND_SCHOOL_MEMBERS,
        """\
[[members]]
id = "utility"
name = "Utility"
kind = "municipal_company"

[[connection_points]]
id = "cp-school"
member = "school"
tariff = "c21"
contracted_capacity_kw = 150.0
export_limit_kw = 45.0
annual_consumption_mwh = 210.0
profile = "school"

[[connection_points]]
id = "cp-hall"
member = "city"
tariff = "c21"
contracted_capacity_kw = 200.0
annual_consumption_mwh = 400.0
profile = "office"

[[connection_points]]
id = "cp-farm"
member = "utility"
tariff = "c21"
contracted_capacity_kw = 300.0
export_limit_kw = 900.0
annual_consumption_mwh = 30.0
profile = "plant_auxiliary"

[[connection_points]]
id = "cp-wte"
member = "utility"
tariff = "c21"
contracted_capacity_kw = 600.0
export_limit_kw = 3500.0
annual_consumption_mwh = 2000.0
profile = "plant_auxiliary"

[[connection_points]]
id = "cp-light"
member = "city"
tariff = "c21"
contracted_capacity_kw = 40.0
annual_consumption_mwh = 80.0
profile = "street_lighting"
""",
        pv_school("cp-school"),
        """\
[[assets.pv_plants]]
id = "pv-farm"
connection_point = "cp-farm"
kwp = 800.0
inverter_limit_kw = 720.0

[[assets.batteries]]
id = "battery-farm"
connection_point = "cp-farm"
power_kw = 200.0
energy_kwh = 400.0
round_trip_efficiency = 0.9
soc_min_pct = 10.0
soc_max_pct = 90.0
soc_initial_pct = 50.0

[[assets.wte_chps]]
id = "wte-1"
connection_point = "cp-wte"
electric_min_kw = 1500.0
electric_max_kw = 3000.0
ramp_kw_per_hour = 1200.0
start_cost_pln = 5000.0
heat_to_power_ratio = 2.0
electric_efficiency = 0.22
daily_min_waste_mwh = 150.0
""",
        LIGHTING_CABINET_AB,
        """\
[[assets.lighting_circuits]]
id = "light-c"
connection_point = "cp-light"
municipality = "city"
luminaires = 50
luminaire_w = 40.0
design_class = "P3"
""",
        SCHOOL_BUILDING_TWO_ZONES,
        """\
[[assets.buildings]]
id = "bldg-hall"
connection_point = "cp-hall"
use = "city_hall"
[assets.buildings.occupancy]
working_days = { start = 7, end = 17 }
[[assets.buildings.zones]]
id = "z1"
floor_area_m2 = 1200.0
thermal_capacitance_kwh_per_k = 108.0
thermal_resistance_k_per_kw = 0.45
heating_max_kw = 72.0
heating = "heat_pump"
cop = 3.0
comfort = COMFORT
[[assets.buildings.zones]]
id = "z2"
floor_area_m2 = 300.0
thermal_capacitance_kwh_per_k = 27.0
thermal_resistance_k_per_kw = 1.6
heating_max_kw = 18.0
heating = "electric"
comfort = COMFORT
""".replace("COMFORT", COMFORT_INLINE),
    ]
)


def small_cluster() -> ClusterConfig:
    """The small test cluster, validated."""
    return parse_config(SMALL_CLUSTER_TOML, source="<rig test cluster>")


#: A sunny, cold working-day morning (11:00 local): buildings occupied, PV producing.
DAY = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
#: The evening of the same day (22:00 local): street lamps burning.
NIGHT = datetime(2027, 3, 10, 21, 0, tzinfo=UTC)


@asynccontextmanager
async def small_rig(start: datetime = DAY, **options: Any) -> AsyncIterator[Rig]:
    """A started rig of the small cluster on 127.0.0.1; its plant moves only on ``step``
    unless ``ticking=True`` is given."""
    settings: dict[str, Any] = {"start": start, "ticking": False} | options
    rig = Rig(small_cluster(), RigOptions(**settings))
    async with rig:
        yield rig


def modbus_client(
    rig: Rig, device_id: str, timeout_s: float = ANSWER_TIMEOUT_S
) -> ModbusDeviceClient:
    """klaster's client for a mapped Modbus device of the rig, as poll would build it;
    ``timeout_s`` for one that expects silence."""
    endpoint = rig.site_devices().device(device_id)
    assert endpoint.map is not None
    return ModbusDeviceClient(
        device_id,
        load_builtin_map(endpoint.map),
        connection(endpoint.port, timeout_s),
        retry=FAST_RETRY,
    )


def inverter_client(
    rig: Rig, device_id: str, timeout_s: float = ANSWER_TIMEOUT_S
) -> SunSpecInverterClient:
    """klaster's SunSpec client for an inverter of the rig."""
    port = rig.site_devices().device(device_id).port
    return SunSpecInverterClient(device_id, connection(port, timeout_s), retry=FAST_RETRY)


def connection(port: int, timeout_s: float) -> ModbusConnection:
    """Client settings for a loopback port, reconnecting quickly."""
    return ModbusConnection(
        port=port, timeout_s=timeout_s, reconnect_delay_s=0.1, reconnect_delay_max_s=0.5
    )


def bacnet_device(rig: Rig, device_id: str) -> BacnetDevice:
    """A building controller of the rig as klaster's BACnet client addresses it."""
    endpoint = rig.site_devices().device(device_id)
    building = next(b for b in rig.config.assets.buildings if b.id == endpoint.owner)
    assert endpoint.device_instance is not None
    return building_device(building, f"{endpoint.host}:{endpoint.port}", endpoint.device_instance)


def bacnet_client(timeout_s: float = ANSWER_TIMEOUT_S) -> BacnetClient:
    """klaster's BACnet client on its own loopback port; ``timeout_s`` for one that expects
    silence."""
    return BacnetClient(f"127.0.0.1:{free_udp_port()}", device_instance=4242, timeout_s=timeout_s)


def by_id(readings: Sequence[PointReading]) -> dict[str, PointReading]:
    """Readings by point id."""
    return {r.point_id: r for r in readings}


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing holds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive ports free for TCP and UDP on 127.0.0.1."""
    for base in range(21000 + os.getpid() % 1000 * 20, 60000, 997):
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                        probe = stack.enter_context(socket.socket(socket.AF_INET, kind))
                        probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def tcp_port_free(port: int) -> bool:
    """True when nothing listens on TCP 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def run(scenario: Coroutine[Any, Any, T], timeout_s: float = 20.0) -> T:
    """Run one async scenario in a fresh event loop; a hang fails instead of blocking."""
    return asyncio.run(asyncio.wait_for(scenario, timeout_s))
