"""`klaster schedule --replan`: the rest of the day from the state measured in a real store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from adapters.sqlite_store import SqliteStore
from cli.main import INFEASIBLE_EXIT_CODE, app
from cluster.config import demo_config_text
from cluster.timeseries import SeriesId, readings_frame

runner = CliRunner()
DAY = "2027-01-13"
ZONE = "Europe/Warsaw"


def _schedule(data_dir: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["schedule", "--data-dir", str(data_dir), "--out", str(out), "--history-days", "35",
            "--day", DAY, "--mip-gap", "0.001", *extra]  # fmt: skip
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def _write(store: SqliteStore, series_id: str, unit: str, values: dict[str, float]) -> None:
    index = pd.DatetimeIndex([pd.Timestamp(f"{DAY} {t}", tz=ZONE) for t in values])
    store.write_readings(readings_frame(series_id, pd.Series(list(values.values()), index), unit))


def test_replan_starts_from_the_measured_state_and_the_earlier_plan(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    code, output = _schedule(data_dir, tmp_path / "day")
    assert code == 0, output
    with SqliteStore.open(data_dir) as store:
        # The latest reading at or before 14:10 counts; the one at 14:30 is the future.
        _write(store, SeriesId.point("battery-kof", "soc"), "%",
               {"13:30": 40.0, "13:55": 73.0, "14:30": 20.0})  # fmt: skip
        _write(store, SeriesId.point("wte-ztpo", "electric_power"), "kW", {"14:05": 6000.0})
        _write(store, SeriesId.point("dh-kielce", "heat_store_level"), "%", {"14:10": 40.0})
    out = tmp_path / "replan"

    code, output = _schedule(data_dir, out, "--replan", "--at", "14:10")

    assert code == 0, output
    cluster = pd.read_parquet(out / "cluster.parquet")
    assert len(cluster) == 40  # 14:00 to midnight
    meta = json.loads((out / "meta.json").read_text())
    sources = meta["initial_state_sources"]
    assert sources["battery-kof state of charge"] == "measured"
    assert sources["wte-ztpo output"] == "measured"
    assert sources["dh-kielce heat store"] == "measured"
    # Not measured: the full-day plan's value at 14:00.
    assert sources["biogas-wwtp gas holder"] == "plan"
    assert "biogas-wwtp gas holder" in output
    assets = pd.read_parquet(out / "assets.parquet")

    def first(asset: str, quantity: str) -> float:
        rows = assets[(assets["asset"] == asset) & (assets["quantity"] == quantity)]
        return float(rows.sort_values("ts")["value"].iloc[0])

    eta = math.sqrt(0.88)
    flow = eta * first("battery-kof", "charge_kw") - first("battery-kof", "discharge_kw") / eta
    assert abs(first("battery-kof", "soc_kwh") - (0.73 * 2000.0 + flow * 0.25)) < 1e-3
    assert 5500.0 - 1e-6 <= first("wte-ztpo", "output_kw") <= 6500.0 + 1e-6
    day_assets = pd.read_parquet(tmp_path / "day" / "assets.parquet")
    at_14 = pd.Timestamp(f"{DAY} 13:45", tz=ZONE)
    holder = day_assets[(day_assets["asset"] == "biogas-wwtp")
                        & (day_assets["quantity"] == "holder_kwh")
                        & (day_assets["ts"] == at_14)]["value"].iloc[0]  # fmt: skip
    inflow_room = first("biogas-wwtp", "holder_kwh") - float(holder)
    # One step of inflow (well under the 9,000 kWh holder) separates the two levels.
    assert abs(inflow_room) < 1000.0
    with SqliteStore.open(data_dir) as store:
        replans = [r for r in store.runs("schedule") if r.details.get("replan_from")]
    assert len(replans) == 1


def test_an_at_outside_the_day_is_a_message(tmp_path: Path) -> None:
    code, output = _schedule(tmp_path / "s", tmp_path / "o", "--replan", "--at", "2027-01-20T10:00")
    assert code != 0
    assert "outside the day" in output
    assert INFEASIBLE_EXIT_CODE == 5


def test_an_infeasible_day_writes_a_flagged_plan_and_explains_it(tmp_path: Path) -> None:
    # The waste-to-energy plant must run (at least 4,000 kW while it burns its 520 MWh
    # of waste) but its connection point may export only 500 kW beyond its own load.
    text = demo_config_text()
    needle = 'id = "cp-wte"'
    head, tail = text.split(needle, 1)
    tail = tail.replace("export_limit_kw = 8500.0", "export_limit_kw = 500.0", 1)
    config = tmp_path / "tight.toml"
    config.write_text(head + needle + tail)
    out = tmp_path / "plan"

    code, output = _schedule(tmp_path / "store", out, "--config", str(config),
                             "--synthetic-history")  # fmt: skip

    assert code == INFEASIBLE_EXIT_CODE, output
    assert "infeasible" in output
    assert "export limit of cp-wte exceeded by up to" in output
    meta = json.loads((out / "meta.json").read_text())
    assert meta["infeasible"] is True
    assert any(line.startswith("export limit of cp-wte") for line in meta["infeasibility"])
    points = pd.read_parquet(out / "connection_points.parquet")
    wte_point = points[points["connection_point"] == "cp-wte"]
    assert wte_point["export_kw"].max() > 500.0 + 1.0
    assert (out / "schedule.png").is_file()
