"""A small cluster, hand-built schedules and a loopback site for the dispatch tests.

The site serves real protocols on 127.0.0.1: a battery controller (Modbus,
built-in map ``battery``), a SunSpec PV inverter (register image from
``build_sunspec_image``) and a simulated BACnet building controller.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd

from adapters.bacnet.device_sim import SimulatedBuildingController
from adapters.modbus.client import ModbusDeviceClient
from adapters.modbus.inverter import SunSpecInverterClient
from adapters.modbus.maps import load_builtin_map
from adapters.modbus.sunspec import build_sunspec_image
from adapters.site import DeviceEndpoint, Protocol, SiteDevices
from bms.safety import AllowedWrite, WritePolicy
from cluster.config import ClusterConfig, parse_config
from cluster.schedule import ASSET_COLUMNS, Schedule
from cluster.timegrid import day_steps
from tests.adapters.bacnet.support import loopback_address
from tests.adapters.modbus.sim import SimServer, registers
from tests.clusters import (
    CITY_MEMBER,
    COMFORT_TABLE,
    FLAT_TARIFF,
    WTE_8MW,
    cluster_header,
    pv_school,
)

T = TypeVar("T")

ZONE = ZoneInfo("Europe/Warsaw")
DAY = date(2027, 1, 13)
#: 10:00 local (CET) on DAY.
AT = pd.Timestamp("2027-01-13 10:00", tz=ZONE)
BACNET_INSTANCE = 4101
PRIORITY = 12

CONFIG_TOML = "\n".join(
    [
        cluster_header("Dispatch test cluster"),
        CITY_MEMBER,
        FLAT_TARIFF,
        """\
[[connection_points]]
id = "cp-a"
member = "city"
tariff = "c21"
contracted_capacity_kw = 9000.0
""",
        pv_school("cp-a"),
        """\
[[assets.batteries]]
id = "battery"
connection_point = "cp-a"
power_kw = 300.0
energy_kwh = 600.0
""",
        WTE_8MW,
        """\
[[assets.biogas_chps]]
id = "biogas"
connection_point = "cp-a"
engine_min_kw = 200.0
engine_max_kw = 1000.0
electric_efficiency = 0.38
gas_holder_kwh = 12000.0

[[assets.lighting_circuits]]
id = "light-1"
connection_point = "cp-a"
municipality = "city"
luminaires = 100
luminaire_w = 80.0
design_class = "M3"

[[assets.buildings]]
id = "bldg-school"
connection_point = "cp-a"
use = "school"
occupancy = { working_days = { start = 7, end = 16 } }
[[assets.buildings.zones]]
id = "z1"
floor_area_m2 = 900.0
thermal_capacitance_kwh_per_k = 80.0
thermal_resistance_k_per_kw = 0.065
heating_max_kw = 55.0
"""
        + COMFORT_TABLE
        + """\
[[assets.buildings.zones]]
id = "z2"
floor_area_m2 = 300.0
thermal_capacitance_kwh_per_k = 27.0
thermal_resistance_k_per_kw = 0.2
heating_max_kw = 18.0
"""
        + COMFORT_TABLE,
    ]
)


def small_config() -> ClusterConfig:
    """The test cluster: one asset of every commanded kind, a building with two zones."""
    return parse_config(CONFIG_TOML, source="dispatch-test.toml")


def make_schedule(
    values: dict[tuple[str, str], float], day: date = DAY, units: dict[str, str] | None = None
) -> Schedule:
    """A schedule of ``day`` holding ``values[(asset, quantity)]`` in every step."""
    steps = day_steps(day, ZONE)
    unit_of = {"soc_kwh": "kWh", "dim_pct": "%", "on": "bool", "setpoint_c": "degC"}
    unit_of.update(units or {})
    rows = [
        (ts, asset, quantity, value, unit_of.get(quantity, "kW"))
        for (asset, quantity), value in values.items()
        for ts in steps
    ]
    assets = pd.DataFrame(rows, columns=list(ASSET_COLUMNS))
    empty = pd.DataFrame()
    return Schedule(
        day=day,
        timezone="Europe/Warsaw",
        step_minutes=15,
        connection_points=empty,
        assets=assets,
        cluster=empty,
        costs=pd.DataFrame({"component": [], "cost_pln": []}),
    )


#: Schedule values that command the battery, the inverter and zone z1.
DISPATCHED = {
    ("battery", "charge_kw"): 0.0,
    ("battery", "discharge_kw"): 150.0,
    ("pv-school", "available_kw"): 40.0,
    ("pv-school", "output_kw"): 30.0,
    ("pv-school", "curtailed_kw"): 10.0,
    ("bldg-school/z1", "setpoint_c"): 21.0,
}
#: 30 kW of a 45 kW inverter: 66.67 %, rounded up to 0.1 %.
PV_LIMIT_PCT = 66.7


def policy(*, priority: int = PRIORITY, battery_max_step: float = 200.0) -> WritePolicy:
    """The allow-list of the test site."""
    return WritePolicy(
        bacnet_priority=priority,
        points=[
            AllowedWrite(point="battery/power_setpoint", min_value=-250, max_value=250,
                         max_step=battery_max_step, release_value=0),
            AllowedWrite(point="pv-school/power_limit", min_value=0, max_value=100,
                         max_step=100, release_value=100),
            AllowedWrite(point="bldg-school/z1/setpoint", min_value=17, max_value=23,
                         max_step=3),
        ],
    )  # fmt: skip


POLICY_TOML = """\
bacnet_priority = 12

[[points]]
point = "battery/power_setpoint"
min_value = -250
max_value = 250
max_step = 200
release_value = 0

[[points]]
point = "pv-school/power_limit"
min_value = 0
max_value = 100
max_step = 100
release_value = 100

[[points]]
point = "bldg-school/z1/setpoint"
min_value = 17
max_value = 23
max_step = 3
"""


def battery_registers(setpoint_raw: int = 0) -> list[Any]:
    """Battery map registers: 25.0 kW, 65.5 %, discharging; setpoint with SF 1 (0.01 kW)."""
    return [registers(0, [2500, 655, 2, 1, 0, 0, 0, 0, 0, 0, setpoint_raw & 0xFFFF, 1])]


def inverter_image() -> list[int]:
    """A SunSpec inverter, 45 kW rated, power limit not enabled (100 %)."""
    return build_sunspec_image(
        {
            1: {"Mn": "KlasterSim", "Md": "PV-45", "SN": "SN0045"},
            103: {"W": 2000, "W_SF": 1, "WH": 123456, "WH_SF": 0, "St": 4},
            120: {"DERTyp": 4, "WRtg": 4500, "WRtg_SF": 1},
            123: {"WMaxLimPct": 1000, "WMaxLimPct_SF": -1, "WMaxLim_Ena": 0},
        }
    )


@dataclass
class Site:
    """The loopback site: its servers and the device list that points at them."""

    battery: SimServer
    inverter: SimServer
    controller: SimulatedBuildingController

    @property
    def devices(self) -> SiteDevices:
        host, port = self.controller.address.rsplit(":", 1)
        return SiteDevices(
            devices=[
                DeviceEndpoint(id="battery-ctl", owner="battery", protocol=Protocol.MODBUS,
                               port=self.battery.port, map="battery"),
                DeviceEndpoint(id="pv-inverter", owner="pv-school", protocol=Protocol.SUNSPEC,
                               port=self.inverter.port),
                DeviceEndpoint(id="school-bms", owner="bldg-school", protocol=Protocol.BACNET,
                               host=host, port=int(port), device_instance=BACNET_INSTANCE),
            ]
        )  # fmt: skip

    @property
    def bacnet_writes(self) -> int:
        """WriteProperty requests the controller received."""
        return self.controller.requests_received["WritePropertyRequest"]

    async def battery_setpoint_kw(self) -> float | None:
        """The battery's setpoint as an independent client reads it now."""
        client = ModbusDeviceClient("check", load_builtin_map("battery"), self.battery.connection())
        try:
            readings = await client.read_points()
        finally:
            await client.close()
        return next(r.value for r in readings if r.point_id == "power_setpoint")

    async def inverter_limit_pct(self) -> float | None:
        """The inverter's power limit as an independent client reads it now."""
        client = SunSpecInverterClient("check", self.inverter.connection())
        try:
            readings = await client.read_points()
        finally:
            await client.close()
        return next(r.value for r in readings if r.point_id == "power_limit")


@asynccontextmanager
async def running_site(battery_setpoint_raw: int = 0) -> AsyncIterator[Site]:
    """Start the three devices on free loopback ports; stop them afterwards."""
    building = small_config().assets.buildings[0]
    controller = SimulatedBuildingController(building, loopback_address(), BACNET_INSTANCE)
    async with (
        SimServer(battery_registers(battery_setpoint_raw)) as battery,
        SimServer([registers(40000, inverter_image())]) as inverter,
        controller,
    ):
        yield Site(battery, inverter, controller)


class BackgroundSite:
    """The site served from its own event loop in a thread, for code that runs asyncio.run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._context: Any = None
        self.site: Site | None = None

    def call(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        """Run a coroutine on the site's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def start(self) -> Site:
        self._thread.start()
        self._context = running_site()
        self.site = self.call(self._context.__aenter__())
        return self.site

    def stop(self) -> None:
        if self._context is not None:
            self.call(self._context.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@contextmanager
def background_site() -> Iterator[BackgroundSite]:
    """A :class:`BackgroundSite`, started and stopped."""
    background = BackgroundSite()
    background.start()
    try:
        yield background
    finally:
        background.stop()
