"""Importing meter data from CSV into a real SQLite store: good files, bad rows, corrections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from adapters.meter_import import MeterImportError, import_meter_csv
from adapters.settlement_inputs import read_metered_period
from adapters.sqlite_store import SqliteStore
from cluster.config import ClusterConfig
from cluster.timeseries import Quality, SeriesId
from tests.adapters.settlement_support import (
    AFTER_MONTH,
    MONTH,
    month_values,
    readings,
    small_config,
)

HEADER = "connection_point,ts,import_kwh,export_kwh,curtailed_kwh\n"
GOOD_ROW = "cp-city,2026-11-03T14:15:00+01:00,12.5,0,\n"


@pytest.fixture(scope="module")
def config() -> ClusterConfig:
    return small_config()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path / "data") as opened:
        yield opened


def csv_file(tmp_path: Path, text: str, name: str = "meters.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_is_stored_per_series_in_utc(
    tmp_path: Path, store: SqliteStore, config: ClusterConfig
) -> None:
    path = csv_file(
        tmp_path,
        HEADER
        + "cp-school,2026-11-03T12:00:00+01:00,0,6.125,0.5\n"
        + "cp-city,2026-11-03T11:00:00Z,12.5,0,\n"
        + "cp-city,2026-11-03T12:15:00+01:00,13,0,\n",
    )
    done = import_meter_csv(store, config, path)
    assert done.rows == 3
    assert done.points == ("cp-city", "cp-school")  # config order
    assert done.first == pd.Timestamp("2026-11-03 11:00", tz="UTC")
    assert done.last == pd.Timestamp("2026-11-03 11:15", tz="UTC")
    start, end = done.first, done.last + pd.Timedelta(minutes=15)
    stored = store.read_readings(
        [
            SeriesId.metered_import("cp-city"),
            SeriesId.metered_export("cp-school"),
            SeriesId.curtailed("cp-school"),
            SeriesId.curtailed("cp-city"),
        ],
        start,
        end,
    )
    by_series = stored.groupby("series_id")["value"].apply(list).to_dict()
    assert by_series == {
        SeriesId.metered_import("cp-city"): [12.5, 13.0],
        SeriesId.metered_export("cp-school"): [6.125],
        # Curtailment only where the file gives it.
        SeriesId.curtailed("cp-school"): [0.5],
    }
    assert set(stored["unit"]) == {"kWh"} and (stored["quality"] == int(Quality.GOOD)).all()
    # Importing the same file again changes nothing.
    assert import_meter_csv(store, config, path).changed == 0


def test_the_curtailment_column_may_be_left_out_and_estimates_are_marked(
    tmp_path: Path, store: SqliteStore, config: ClusterConfig
) -> None:
    path = csv_file(
        tmp_path,
        "connection_point,ts,import_kwh,export_kwh\ncp-plant,2026-11-03T14:15+01:00,0.2,21\n",
    )
    import_meter_csv(store, config, path, quality=Quality.ESTIMATED)
    at = pd.Timestamp("2026-11-03 13:15", tz="UTC")
    stored = store.read_readings(
        [SeriesId.metered_export("cp-plant")], at, at + pd.Timedelta(minutes=15)
    )
    assert stored["value"].tolist() == [21.0]
    assert stored["quality"].tolist() == [int(Quality.ESTIMATED)]


def test_late_data_replaces_what_the_month_held(
    tmp_path: Path, store: SqliteStore, config: ClusterConfig
) -> None:
    store.write_readings(readings(month_values(config)))
    before = read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    rows = "".join(
        f"cp-city,{ts.tz_convert('Europe/Warsaw').isoformat()},40.0,0,\n"
        for ts in before.import_kwh.index[96:192]
    )
    import_meter_csv(store, config, csv_file(tmp_path, HEADER + rows))
    after = read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    assert (after.import_kwh["cp-city"].iloc[96:192] == 40.0).all()
    pd.testing.assert_series_equal(
        after.import_kwh["cp-city"].iloc[:96], before.import_kwh["cp-city"].iloc[:96]
    )
    pd.testing.assert_frame_equal(after.export_kwh, before.export_kwh)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "cp-ctiy,2026-11-03T14:15:00+01:00,1,0,\n",
            "line 3: unknown connection point 'cp-ctiy' (did you mean 'cp-city'?)",
        ),
        ("cp-nowhere,2026-11-03T14:15:00+01:00,1,0,\n", "unknown connection point 'cp-nowhere'\n"),
        (
            "cp-city,2026-11-03T14:15:00,1,0,\n",
            "line 3: ts '2026-11-03T14:15:00' has no UTC offset",
        ),
        ("cp-city,2026-11-03,1,0,\n", "line 3: ts '2026-11-03' has no UTC offset"),
        ("cp-city,3 November,1,0,\n", "line 3: ts '3 November' is not an ISO 8601 time"),
        (
            "cp-city,2026-11-03T14:20:00+01:00,1,0,\n",
            "line 3: ts '2026-11-03T14:20:00+01:00' is not the start of a 15-minute step",
        ),
        (
            "cp-city,2026-11-03T14:30:00+01:00,-0.5,0,\n",
            "line 3: import_kwh is negative (-0.5 kWh)",
        ),
        ("cp-city,2026-11-03T14:30:00+01:00,1,-2,\n", "line 3: export_kwh is negative (-2 kWh)"),
        ("cp-city,2026-11-03T14:30:00+01:00,1,0,-1\n", "line 3: curtailed_kwh is negative"),
        ("cp-city,2026-11-03T14:30:00+01:00,1,,\n", "line 3: export_kwh '(empty)' is not a number"),
        ("cp-city,2026-11-03T14:30:00+01:00,1,0,lots\n", "curtailed_kwh 'lots' is not a number"),
        ("cp-city,2026-11-03T14:30:00+01:00,inf,0,\n", "line 3: import_kwh 'inf' is not a number"),
        # The same step as line 2, written in UTC.
        (
            "cp-city,2026-11-03T13:15:00Z,1,0,\n",
            "line 3: cp-city at 2026-11-03T13:15:00Z is given twice",
        ),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_nothing_is_written(
    tmp_path: Path, store: SqliteStore, config: ClusterConfig, row: str, message: str
) -> None:
    path = csv_file(tmp_path, HEADER + GOOD_ROW + row)
    with pytest.raises(MeterImportError) as caught:
        import_meter_csv(store, config, path)
    text = str(caught.value)
    assert message in text + "\n"
    assert "1 problem(s), nothing was imported" in text
    assert "ISO 8601" in str(caught.value.fix) and caught.value.exit_code == 3
    assert store.coverage(SeriesId.metered_import("cp-city")) is None


def test_many_bad_rows_are_counted_past_the_first_twenty(
    tmp_path: Path, store: SqliteStore, config: ClusterConfig
) -> None:
    rows = "".join(f"cp-city,2026-11-03T14:{m:02d}:00+01:00,1,0,\n" for m in range(1, 31))
    with pytest.raises(MeterImportError) as caught:
        import_meter_csv(store, config, csv_file(tmp_path, HEADER + rows))
    # Minutes 1-30 of which 15 and 30 are on the grid: 28 problems.
    assert "28 problem(s)" in str(caught.value) and "... and 8 more" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("point,ts,import_kwh,export_kwh\n", "missing column(s) connection_point"),
        (
            "connection_point,ts,import_kwh,export_kwh,reactive_kvarh\n",
            "unknown column(s) reactive_kvarh",
        ),
        (HEADER, "the file has no data rows"),
        ("", "cannot be read as CSV"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused(
    tmp_path: Path, store: SqliteStore, config: ClusterConfig, text: str, message: str
) -> None:
    with pytest.raises(MeterImportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_meter_csv(store, config, csv_file(tmp_path, text))


def test_a_missing_file_is_named(tmp_path: Path, store: SqliteStore, config: ClusterConfig) -> None:
    with pytest.raises(MeterImportError, match="does not exist"):
        import_meter_csv(store, config, tmp_path / "nowhere.csv")
