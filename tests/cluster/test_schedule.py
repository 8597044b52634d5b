"""The schedule as files: Parquet round trip, CSV for people, meta.json."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cluster.schedule import (
    ASSET_COLUMNS,
    CLUSTER_COLUMNS,
    CONNECTION_POINT_COLUMNS,
    Schedule,
)

DAY = date(2026, 10, 25)
# Two quarter-hours in the repeated hour of the autumn DST day: 02:00 CEST and
# 02:00 CET are different UTC instants with the same local clock time.
STEPS = pd.DatetimeIndex(
    [pd.Timestamp("2026-10-25 00:00", tz="UTC"), pd.Timestamp("2026-10-25 01:00", tz="UTC")],
    name="ts",
)


def tiny_schedule() -> Schedule:
    ts = list(STEPS)
    connection_points = pd.DataFrame(
        {
            "ts": ts * 2,
            "connection_point": ["cp-a", "cp-a", "cp-b", "cp-b"],
            "load_kw": [120.5, 118.25, 40.0, 38.0],
            "generation_kw": [0.0, 0.0, 0.0, 0.0],
            "battery_net_kw": [-20.0, 10.125, 0.0, 0.0],
            "import_kw": [140.5, 108.125, 40.0, 38.0],
            "export_kw": [0.0, 0.0, 0.0, 0.0],
            "contracted_capacity_kw": [220.0, 220.0, 50.0, 50.0],
        }
    )
    assets = pd.DataFrame(
        {
            "ts": ts * 2,
            "asset": ["battery", "battery", "battery", "battery"],
            "quantity": ["charge_kw", "charge_kw", "soc_kwh", "soc_kwh"],
            "value": [20.0, 0.0, 105.0, 102.5],
            "unit": ["kW", "kW", "kWh", "kWh"],
        }
    )
    cluster = pd.DataFrame(
        {
            "price_pln_per_mwh": [412.3, -5.0],
            "block_kw": [100.0, 100.0],
            "day_ahead_buy_kw": [80.5, 46.125],
            "day_ahead_sell_kw": [0.0, 0.0],
            "net_import_kw": [180.5, 146.125],
            "load_kw": [160.5, 156.25],
            "local_generation_kw": [0.0, 0.0],
        },
        index=STEPS,
    )
    costs = pd.DataFrame(
        {"component": ["day_ahead", "blocks", "capacity"], "cost_pln": [12.5, 23.25, -1.75]}
    )
    return Schedule(
        day=DAY,
        timezone="Europe/Warsaw",
        step_minutes=15,
        connection_points=connection_points,
        assets=assets,
        cluster=cluster,
        costs=costs,
        meta={"solver_status": "optimal", "objective_pln": 34.0, "gap": 0.0, "solve_s": 0.42},
    )


@pytest.fixture
def written(tmp_path: Path) -> tuple[Schedule, Path, list[Path]]:
    schedule = tiny_schedule()
    folder = tmp_path / "schedule" / DAY.isoformat()
    return schedule, folder, schedule.write(folder)


def test_tiny_schedule_uses_the_documented_columns() -> None:
    schedule = tiny_schedule()
    assert tuple(schedule.connection_points.columns) == CONNECTION_POINT_COLUMNS
    assert tuple(schedule.assets.columns) == ASSET_COLUMNS
    assert tuple(schedule.cluster.columns) == CLUSTER_COLUMNS


def test_write_creates_parquet_csv_and_meta(written: tuple[Schedule, Path, list[Path]]) -> None:
    _, folder, paths = written
    names = {"connection_points", "assets", "cluster", "costs"}
    expected = {f"{n}.parquet" for n in names} | {f"{n}.csv" for n in names} | {"meta.json"}
    assert {p.name for p in paths} == expected
    assert all(p.parent == folder and p.is_file() for p in paths)


def test_parquet_round_trip_is_exact(written: tuple[Schedule, Path, list[Path]]) -> None:
    original, folder, _ = written
    back = Schedule.read(folder)
    assert (back.day, back.timezone, back.step_minutes) == (DAY, "Europe/Warsaw", 15)
    assert back.meta == original.meta
    for name in ("connection_points", "assets", "cluster", "costs"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(original, name))
    # assert_frame_equal compares dtypes too; say the point of it plainly as well.
    assert str(pd.DatetimeIndex(back.cluster.index).tz) == "UTC"
    assert str(back.connection_points["ts"].dt.tz) == "UTC"
    local = back.assets["ts"].dt.tz_convert("Europe/Warsaw").dt.strftime("%H:%M %Z")
    assert list(local[:2]) == ["02:00 CEST", "02:00 CET"]
    assert back.total_cost_pln == pytest.approx(34.0)


def test_read_back_schedule_answers_asset_questions(
    written: tuple[Schedule, Path, list[Path]],
) -> None:
    _, folder, _ = written
    soc = Schedule.read(folder).asset_series("battery", "soc_kwh")
    assert list(soc) == [105.0, 102.5]
    assert list(soc.index) == list(STEPS)
    assert soc.name == "battery/soc_kwh"
    with pytest.raises(KeyError, match="no 'soc_kwh' for asset 'pv-farm'"):
        Schedule.read(folder).asset_series("pv-farm", "soc_kwh")


def test_csv_is_readable_by_people(written: tuple[Schedule, Path, list[Path]]) -> None:
    _, folder, _ = written
    lines = (folder / "cluster.csv").read_text().splitlines()
    assert lines[0] == "ts," + ",".join(CLUSTER_COLUMNS)
    assert lines[1].startswith("2026-10-25 00:00:00+00:00,412.3000,100.0000,")
    costs = pd.read_csv(folder / "costs.csv")
    assert list(costs["component"]) == ["day_ahead", "blocks", "capacity"]
    assert list(costs["cost_pln"]) == [12.5, 23.25, -1.75]


def test_meta_json_holds_the_day_and_the_run_facts(
    written: tuple[Schedule, Path, list[Path]],
) -> None:
    _, folder, _ = written
    meta = json.loads((folder / "meta.json").read_text())
    assert meta == {
        "day": "2026-10-25",
        "timezone": "Europe/Warsaw",
        "step_minutes": 15,
        "solver_status": "optimal",
        "objective_pln": 34.0,
        "gap": 0.0,
        "solve_s": 0.42,
    }
