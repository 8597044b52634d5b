"""The loop's cluster, its schedule (``klaster schedule`` once per module) and its rig service.

The rig runs as ``klaster rig up`` runs it (devices, control channel,
``<data dir>/rig/devices.json``) but in this process, on an event loop in
another thread, so that the CLI can run in the test's thread and the test can
step the plant exactly when it wants (the rig does not tick by itself).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from adapters.rig.control import serve_rig
from adapters.rig.rig import Rig, RigOptions
from cli.main import app
from cluster.config import load_config
from cluster.schedule import Schedule
from tests.clusters import (
    CITY_AND_SCHOOL_MEMBERS,
    LIGHTING_CABINET_AB,
    SCHOOL_BATTERY,
    SCHOOL_BUILDING_TWO_ZONES,
    cluster_header,
)

T = TypeVar("T")

runner = CliRunner()
#: Wide enough that no table folds a device or point id.
ENV = {"COLUMNS": "200"}
DAY = date(2027, 3, 10)  # a Wednesday in March: school open, sun enough to curtail
BATTERY, PV, BUILDING, ZONE = "battery-school", "pv-school", "bldg-school", "z1"
#: The zone setpoint a building planner asks for, °C (the MILP plans no zone setpoints yet).
ZONE_SETPOINT_C = 22.0

#: A school with PV, a battery and two BMS zones behind one connection point that may export
#: only 10 kW, so that midday PV beyond its load and the battery is curtailed; and a lighting
#: cabinet of two circuits behind another.
CLUSTER_TOML = "\n".join(
    [
        cluster_header("HIL loop cluster", altitude_m=260),
        """\
[[tariffs]]
id = "c22a"
group = "C22a"
capacity_rate_pln_per_kw_month = 12.6
[[tariffs.zones]]
name = "peak"
rate_pln_per_mwh = 420.0
days = "working_days"
hours = [{ start = 7, end = 13 }, { start = 16, end = 21 }]
[[tariffs.zones]]
name = "off-peak"
rate_pln_per_mwh = 180.0
""",
        CITY_AND_SCHOOL_MEMBERS,
        """\
[[connection_points]]
id = "cp-school"
member = "school"
tariff = "c22a"
contracted_capacity_kw = 150.0
export_limit_kw = 10.0
annual_consumption_mwh = 210.0
profile = "school"

[[connection_points]]
id = "cp-light"
member = "city"
tariff = "c22a"
contracted_capacity_kw = 40.0
annual_consumption_mwh = 60.0
profile = "street_lighting"

[[assets.pv_plants]]
id = "pv-school"
connection_point = "cp-school"
kwp = 300.0
inverter_limit_kw = 250.0

""",
        SCHOOL_BATTERY,
        LIGHTING_CABINET_AB,
        SCHOOL_BUILDING_TWO_ZONES,
    ]
)

ALLOW_LIST_TOML = """\
bacnet_priority = 12

[[points]]
point = "battery-school/power_setpoint"
min_value = -50
max_value = 50
max_step = 50
release_value = 0

[[points]]
point = "pv-school/power_limit"
min_value = 0
max_value = 100
max_step = 100
release_value = 100

[[points]]
point = "bldg-school/z1/setpoint"
min_value = 16
max_value = 24
max_step = 6

[[points]]
point = "bldg-school/z2/setpoint"
min_value = 14
max_value = 26
max_step = 8

[[points]]
point = "light-a/on_off"
min_value = 0
max_value = 1
max_step = 1
release_value = 1

[[points]]
point = "light-a/dim_level"
min_value = 30
max_value = 100
max_step = 70
release_value = 100

[[points]]
point = "light-b/on_off"
min_value = 0
max_value = 1
max_step = 1
release_value = 1

[[points]]
point = "light-b/dim_level"
min_value = 30
max_value = 100
max_step = 70
release_value = 100
"""


def cli(*args: str | Path) -> Result:
    """``klaster ARGS`` in this process."""
    return runner.invoke(app, [str(a) for a in args], env=ENV)


@dataclass(frozen=True)
class Plan:
    """The loop's files and the schedule step it dispatches.

    ``battery_kw`` (discharge positive) and ``pv_output_kw`` are the
    schedule's values in that step; ``schedule_dir`` is the schedule
    ``klaster schedule`` wrote plus a building planner's setpoint of zone z1.
    """

    config_file: Path
    allow_list: Path
    data_dir: Path
    schedule_dir: Path
    step_start: pd.Timestamp
    battery_kw: float
    pv_output_kw: float
    pv_rating_kw: float

    @property
    def at(self) -> str:
        """``--at`` of the dispatched step."""
        return self.step_start.isoformat()


def dispatched_step(schedule: Schedule) -> pd.Timestamp:
    """The step in which the battery is told the most while the PV plant is curtailed (UTC)."""
    wide = schedule.assets.pivot_table(index="ts", columns=["asset", "quantity"], values="value")
    net_kw = wide[(BATTERY, "discharge_kw")] - wide[(BATTERY, "charge_kw")]
    curtailed_kw = wide[(PV, "curtailed_kw")]
    candidates = net_kw[(curtailed_kw > 1.0) & (net_kw.abs() >= 10.0)]
    assert not candidates.empty, "the schedule never curtails PV while it uses the battery"
    return pd.Timestamp(str(candidates.abs().idxmax())).tz_convert("UTC")


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """``klaster schedule`` of DAY on 30 days of synthetic history, and the step to dispatch."""
    folder = tmp_path_factory.mktemp("hil")
    config_file = folder / "small.toml"
    config_file.write_text(CLUSTER_TOML, encoding="utf-8")
    allow_list = folder / "allow.toml"
    allow_list.write_text(ALLOW_LIST_TOML, encoding="utf-8")
    data_dir, out = folder / "data", folder / f"schedule-{DAY}"
    result = cli("schedule", "--config", config_file, "--synthetic-history", "--history-days",
                 "30", "--day", DAY.isoformat(), "--data-dir", data_dir, "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    planned = Schedule.read(out)
    step = dispatched_step(planned)
    zone = pd.DataFrame(
        {
            "ts": planned.assets["ts"].unique(),
            "asset": f"{BUILDING}/{ZONE}",
            "quantity": "setpoint_c",
            "value": ZONE_SETPOINT_C,
            "unit": "degC",
        }
    )
    dispatched = folder / "dispatched"
    # The test's own setpoint for the zone replaces the optimiser's, so its value is known.
    assets = planned.assets
    planned_zone = (assets["asset"] == f"{BUILDING}/{ZONE}") & (assets["quantity"] == "setpoint_c")
    assets = pd.concat([assets[~planned_zone], zone], ignore_index=True)
    dataclasses.replace(planned, assets=assets).write(dispatched)
    rows = planned.assets[pd.to_datetime(planned.assets["ts"], utc=True) == step]
    value = {
        (asset, quantity): float(number)
        for asset, quantity, number in zip(
            rows["asset"], rows["quantity"], rows["value"], strict=True
        )
    }
    return Plan(
        config_file=config_file,
        allow_list=allow_list,
        data_dir=data_dir,
        schedule_dir=dispatched,
        step_start=step,
        battery_kw=value[(BATTERY, "discharge_kw")] - value[(BATTERY, "charge_kw")],
        pv_output_kw=value[(PV, "output_kw")],
        pv_rating_kw=load_config(config_file).assets.pv_plants[0].inverter_limit_kw,
    )


class RigService:
    """The rig served from an event loop in another thread, started at the dispatched step."""

    def __init__(self, plan: Plan, data_dir: Path) -> None:
        self.data_dir = data_dir
        config = load_config(plan.config_file)
        self.rig = Rig(config, RigOptions(start=plan.step_start.to_pydatetime(), ticking=False))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="rig", daemon=True)
        self._stop: asyncio.Event | None = None
        self._serving: Future[None] | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        """Serve the rig; return once its device list is written."""
        self._thread.start()
        ready = threading.Event()

        async def serve() -> None:
            self._stop = asyncio.Event()
            await serve_rig(self.rig, self.data_dir, config_source="hil test",
                            on_ready=lambda *_: ready.set(), stop=self._stop)  # fmt: skip

        self._serving = asyncio.run_coroutine_threadsafe(serve(), self.loop)
        deadline = time.monotonic() + timeout_s
        while not ready.wait(0.05):
            if self._serving.done():
                self._serving.result()  # raises why the rig did not start
            assert time.monotonic() < deadline, f"the rig did not start within {timeout_s} s"

    def on_loop(self, action: Callable[[Rig], T], timeout_s: float = 10.0) -> T:
        """``action(rig)`` run on the rig's loop, where its devices live."""

        async def call() -> T:
            return action(self.rig)

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout_s)

    def step(self, seconds: float) -> None:
        """Advance the plant by ``seconds`` of simulated time."""
        self.on_loop(lambda rig: rig.step(seconds))

    def stop(self) -> None:
        """Stop serving (sockets closed, files removed) and end the thread."""
        try:
            if self._serving is not None and self._stop is not None:
                self.loop.call_soon_threadsafe(self._stop.set)
                self._serving.result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


@contextmanager
def rig_service(plan: Plan, data_dir: Path) -> Iterator[RigService]:
    """A started :class:`RigService` writing its files under ``data_dir``; stopped afterwards."""
    service = RigService(plan, data_dir)
    try:
        service.start()
        yield service
    finally:
        service.stop()
