"""The SQLite time-series store, on real files in a temporary folder."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

from adapters.sqlite_schema import SCHEMA_VERSION, default_data_dir
from adapters.sqlite_store import DATABASE_FILE_NAME, SqliteStore
from adapters.store_frames import NO_READING, grid_from_readings
from cluster.errors import StoreError
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import (
    READING_COLUMNS,
    Quality,
    RunRecord,
    TimeSeriesStore,
    readings_frame,
)

WARSAW = ZoneInfo("Europe/Warsaw")
T0 = pd.Timestamp("2026-03-02 00:00", tz="UTC")
QUARTER = pd.Timedelta(minutes=15)
LOAD = "load/cp-1/power_kw"
PV = "pv/plant-1/power_kw"


def quarter_hours(first: int, count: int) -> pd.DatetimeIndex:
    """``count`` quarter-hours starting ``first`` steps after T0."""
    return pd.date_range(T0 + first * QUARTER, periods=count, freq=QUARTER, name="ts")


def readings(
    series_id: str,
    values: list[float] | np.ndarray,
    *,
    first: int = 0,
    unit: str = "kW",
    quality: Quality = Quality.GOOD,
) -> pd.DataFrame:
    steps = quarter_hours(first, len(values))
    return readings_frame(series_id, pd.Series(values, index=steps), unit, quality)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path) as opened:
        yield opened


def assert_same_instants(actual: pd.Index, expected: pd.DatetimeIndex) -> None:
    """Same timestamps, dtype (unit and zone) and name; a read index carries no freq."""
    assert actual.dtype == expected.dtype
    assert actual.name == expected.name
    assert actual.equals(expected)


def raw_connection(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / DATABASE_FILE_NAME, isolation_level=None)


# -- readings -------------------------------------------------------------------


def test_readings_round_trip_with_units_quality_and_missing_values(tmp_path: Path) -> None:
    written = pd.concat(
        [
            readings(LOAD, [10.0, np.nan, 12.5], quality=Quality.GOOD),
            readings(PV, [0.0, 3.25], unit="kW", quality=Quality.ESTIMATED),
            readings("weather/temp_c", [-4.5], unit="degC", quality=Quality.SYNTHETIC),
        ],
        ignore_index=True,
    )
    with SqliteStore.open(tmp_path) as first_session:
        assert first_session.write_readings(written) == 6
    with SqliteStore.open(tmp_path) as reopened:  # the readings outlive the connection
        back = reopened.read_readings([LOAD, PV, "weather/temp_c"], T0, T0 + pd.Timedelta(days=1))
    tm.assert_frame_equal(back, written, check_dtype=False)
    assert list(back.columns) == list(READING_COLUMNS)
    assert str(back["ts"].dt.tz) == "UTC"
    assert back["quality"].dtype == np.int64


def test_read_series_is_wide_over_the_union_of_timestamps(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [1.0, 2.0, 3.0, 4.0], first=0))
    store.write_readings(readings(PV, [5.0, 6.0, np.nan, 8.0], first=2))

    wide = store.read_series([PV, "load/unknown/power_kw", LOAD], T0, T0 + pd.Timedelta(hours=6))

    assert list(wide.columns) == [PV, "load/unknown/power_kw", LOAD]
    assert_same_instants(wide.index, quarter_hours(0, 6))
    nan = np.nan
    np.testing.assert_array_equal(wide[LOAD], [1.0, 2.0, 3.0, 4.0, nan, nan])
    np.testing.assert_array_equal(wide[PV], [nan, nan, 5.0, 6.0, nan, 8.0])
    assert wide["load/unknown/power_kw"].isna().all()
    assert (wide.dtypes == np.float64).all()


def test_read_bounds_are_start_inclusive_end_exclusive(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [1.0, 2.0, 3.0, 4.0]))
    wide = store.read_series([LOAD], T0 + QUARTER, T0 + 3 * QUARTER)
    np.testing.assert_array_equal(wide[LOAD], [2.0, 3.0])
    in_warsaw = store.read_readings([LOAD], (T0 + QUARTER).tz_convert(WARSAW), T0 + 2 * QUARTER)
    assert in_warsaw["value"].tolist() == [2.0]


def test_nothing_written_and_nothing_read_keep_their_shape(store: SqliteStore) -> None:
    assert store.write_readings(pd.DataFrame(columns=list(READING_COLUMNS))) == 0
    wide = store.read_series([LOAD, PV], T0, T0 + pd.Timedelta(days=1))
    assert wide.shape == (0, 2)
    assert isinstance(wide.index, pd.DatetimeIndex) and str(wide.index.tz) == "UTC"
    assert store.read_readings([LOAD], T0, T0 + QUARTER).empty
    assert store.coverage(LOAD) is None


def test_naive_read_bounds_are_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="time zone"):
        store.read_series([LOAD], pd.Timestamp("2026-03-02"), T0)


def test_coverage_reports_first_last_and_count(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [1.0, np.nan, 3.0], first=4))
    assert store.coverage(LOAD) == (T0 + 4 * QUARTER, T0 + 6 * QUARTER, 3)


def test_a_grid_holds_values_and_qualities_per_step_and_series(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [1.0, 2.0, 3.0]))
    # A reading without a value differs from no reading: it has a quality.
    store.write_readings(readings(LOAD, [np.nan], first=1, quality=Quality.MISSING))
    store.write_readings(readings(PV, [4.0, 5.0], first=2, unit="MW", quality=Quality.ESTIMATED))
    unknown = "load/unknown/power_kw"

    grid = store.read_grid([PV, unknown, LOAD], quarter_hours(0, 5))

    assert grid.series_ids == (PV, unknown, LOAD)
    assert grid.values.shape == grid.quality.shape == (5, 3)
    nan, absent = np.nan, NO_READING
    np.testing.assert_array_equal(grid.values[:, 2], [1.0, nan, 3.0, nan, nan])
    np.testing.assert_array_equal(grid.quality[:, 2], [0, 6, 0, absent, absent])
    np.testing.assert_array_equal(grid.values[:, 0], [nan, nan, 4.0, 5.0, nan])
    np.testing.assert_array_equal(grid.quality[:, 0], [absent, absent, 1, 1, absent])
    assert np.isnan(grid.values[:, 1]).all() and (grid.quality[:, 1] == absent).all()
    assert grid.units == {PV: "MW", LOAD: "kW"}
    assert grid.values.dtype == np.float64 and np.issubdtype(grid.quality.dtype, np.integer)


def test_a_grid_leaves_out_readings_between_and_beyond_its_steps(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]))
    hourly_from_step_2 = quarter_hours(2, 5)[::4]  # steps 2 and 6
    grid = store.read_grid([LOAD], hourly_from_step_2)
    np.testing.assert_array_equal(grid.values[:, 0], [2.0, 6.0])  # the last step included
    uneven = pd.DatetimeIndex([T0, T0 + QUARTER, T0 + 5 * QUARTER, T0 + 9 * QUARTER])
    grid = store.read_grid([LOAD], uneven.tz_convert(WARSAW))  # any zone: the same instants
    np.testing.assert_array_equal(grid.values[:, 0], [0.0, 1.0, 5.0, np.nan])
    before_any_reading = quarter_hours(-4, 2)
    grid = store.read_grid([LOAD], before_any_reading)
    assert (grid.quality == NO_READING).all()
    assert grid.units == {LOAD: "kW"}  # a known series has its unit, readings or not


def test_an_empty_grid_keeps_its_columns(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [1.0]))
    grid = store.read_grid([LOAD, PV], quarter_hours(0, 0))
    assert grid.values.shape == grid.quality.shape == (0, 2)


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        (pd.date_range("2026-03-02", periods=3, freq="15min"), "timezone-aware"),
        (quarter_hours(0, 3)[::-1], "strictly increasing"),
        (quarter_hours(0, 3).append(quarter_hours(2, 1)), "strictly increasing"),
        (quarter_hours(0, 3) + pd.Timedelta(milliseconds=500), "fractions of a second"),
    ],
)
def test_steps_that_are_no_grid_are_refused(
    store: SqliteStore, steps: pd.DatetimeIndex, problem: str
) -> None:
    with pytest.raises(StoreError, match=problem):
        store.read_grid([LOAD], steps)


def test_a_grid_from_a_long_frame_equals_the_grid_read(store: SqliteStore) -> None:
    """Stores that only return long frames give the same grid through grid_from_readings."""
    store.write_readings(readings(LOAD, [1.0, np.nan, 3.0, 4.0], quality=Quality.STALE))
    store.write_readings(readings(PV, [5.0, 6.0], first=3, unit="MW"))
    steps, asked = quarter_hours(1, 4), [PV, "load/unknown/power_kw", LOAD, PV]
    long = store.read_readings(asked, steps[0], steps[-1] + QUARTER)
    from_frame = grid_from_readings(long, asked, steps)
    read = store.read_grid(asked, steps)
    np.testing.assert_array_equal(from_frame.values, read.values)
    np.testing.assert_array_equal(from_frame.quality, read.quality)
    assert from_frame.units == read.units == {PV: "MW", LOAD: "kW"}
    np.testing.assert_array_equal(read.values[:, 3], read.values[:, 0])  # asked twice


def test_rows_in_any_order_are_stored_by_series_and_time(store: SqliteStore) -> None:
    both = pd.concat([readings(LOAD, [1.0, 2.0, 3.0]), readings(PV, [4.0, 5.0, 6.0])])
    shuffled = both.sort_values(["ts", "series_id"], ascending=[False, True])
    assert store.write_readings(shuffled) == 6
    wide = store.read_series([LOAD, PV], T0, T0 + QUARTER * 3)
    np.testing.assert_array_equal(wide.to_numpy(), [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]])


def test_writing_the_same_readings_again_changes_nothing(store: SqliteStore) -> None:
    frame = readings(LOAD, [1.0, np.nan, 3.0, 4.0])
    assert store.write_readings(frame) == 4
    before = store.read_readings([LOAD], T0, T0 + pd.Timedelta(days=1))

    assert store.write_readings(frame) == 0
    tm.assert_frame_equal(store.read_readings([LOAD], T0, T0 + pd.Timedelta(days=1)), before)

    changed_value = frame.copy()
    changed_value.loc[2, "value"] = 3.5
    assert store.write_readings(changed_value) == 1
    changed_quality = changed_value.copy()
    changed_quality.loc[0, "quality"] = int(Quality.STALE)
    assert store.write_readings(changed_quality) == 1
    filled_gap = changed_quality.copy()
    filled_gap.loc[1, "value"] = 2.0
    assert store.write_readings(filled_gap) == 1
    assert store.write_readings(filled_gap) == 0

    after = store.read_readings([LOAD], T0, T0 + pd.Timedelta(days=1))
    assert after["value"].tolist() == [1.0, 2.0, 3.5, 4.0]
    assert after["quality"].tolist() == [int(Quality.STALE), 0, 0, 0]


def test_unit_clash_names_the_series_and_writes_nothing(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [1.0, 2.0]))
    # The new series comes first in the frame; the clash is with the stored one.
    late_clash = pd.concat([readings(PV, [7.0, 8.0]), readings(LOAD, [0.5, 0.6], unit="MW")])
    with pytest.raises(StoreError) as raised:
        store.write_readings(late_clash)
    message = str(raised.value)
    assert LOAD in message and "'kW'" in message and "'MW'" in message
    assert store.coverage(PV) is None
    assert store.read_series([LOAD], T0, T0 + QUARTER * 2)[LOAD].tolist() == [1.0, 2.0]


def test_series_another_store_added_are_found_with_their_unit(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path) as first, SqliteStore.open(tmp_path) as second:
        first.write_readings(readings(LOAD, [1.0, 2.0]))
        second.write_readings(readings(PV, [5.0, 6.0]))  # a series the first has not seen

        with pytest.raises(StoreError, match="unit mismatch"):
            first.write_readings(readings(PV, [7.0], first=2, unit="MW"))
        assert first.write_readings(readings(PV, [7.0], first=2)) == 1
        assert second.write_readings(readings(LOAD, [3.0], first=2)) == 1

        for reader in (first, second):
            wide = reader.read_series([LOAD, PV], T0, T0 + QUARTER * 3)
            assert wide[LOAD].tolist() == [1.0, 2.0, 3.0]
            assert wide[PV].tolist() == [5.0, 6.0, 7.0]


def test_series_of_a_refused_write_are_not_remembered(store: SqliteStore) -> None:
    other = "load/cp-2/power_kw"
    with raw_connection(store.path.parent) as saboteur:
        saboteur.execute(
            "CREATE TRIGGER refuse_666 BEFORE INSERT ON readings WHEN NEW.value = 666"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(StoreError, match="refused"):
        store.write_readings(readings(PV, [1.0, 666.0]))  # adds PV, then rolls it back
    with SqliteStore.open(store.path.parent) as another:
        # Takes the series id PV had inside the refused write.
        another.write_readings(readings(other, [9.0]))

    assert store.write_readings(readings(PV, [1.0, 2.0])) == 2

    wide = store.read_series([PV, other], T0, T0 + QUARTER * 2)
    assert wide[PV].tolist() == [1.0, 2.0]
    assert wide[other].dropna().tolist() == [9.0]


BAD_FRAMES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "missing column": (lambda f: f.drop(columns="unit"), "columns"),
    "extra column": (lambda f: f.assign(source="meter"), "columns"),
    "naive timestamps": (lambda f: f.assign(ts=f["ts"].dt.tz_localize(None)), "timezone-aware"),
    "missing timestamp": (lambda f: f.assign(ts=f["ts"].where(f.index != 1)), "timezone-aware"),
    "fractional seconds": (lambda f: f.assign(ts=f["ts"] + pd.Timedelta("250ms")), "whole"),
    "float quality": (lambda f: f.assign(quality=f["quality"].astype(float)), "quality"),
    "unknown quality": (lambda f: f.assign(quality=99), "quality"),
    "text values": (lambda f: f.assign(value=f["value"].astype(str)), "numbers"),
    "infinite value": (lambda f: f.assign(value=[1.0, np.inf, 3.0]), "infinite"),
    "missing series": (
        lambda f: f.assign(series_id=f["series_id"].where(f.index != 1)),
        "series_id",
    ),
    "empty series": (lambda f: f.assign(series_id=""), "empty"),
    "two units": (lambda f: f.assign(unit=["kW", "MW", "kW"]), "several units"),
    "repeated reading": (lambda f: pd.concat([f, f.iloc[[1]]]), "two readings"),
}


@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_a_malformed_frame_is_refused_whole(store: SqliteStore, case: str) -> None:
    spoil, expected = BAD_FRAMES[case]
    with pytest.raises(StoreError, match=expected) as raised:
        store.write_readings(spoil(readings(LOAD, [1.0, 2.0, 3.0])))
    assert "nothing was written" in str(raised.value)
    assert raised.value.fix
    assert store.coverage(LOAD) is None


def test_quality_enum_members_and_nullable_values_are_accepted(store: SqliteStore) -> None:
    frame = readings(LOAD, [1.0, 2.0])
    frame["quality"] = pd.Series([Quality.GOOD, Quality.ESTIMATED], dtype=object)
    frame["value"] = pd.array([1.5, None], dtype="Float64")
    assert store.write_readings(frame) == 2
    back = store.read_readings([LOAD], T0, T0 + QUARTER * 2)
    assert back["quality"].tolist() == [0, 1]
    assert back["value"].iloc[0] == 1.5 and np.isnan(back["value"].iloc[1])


def test_autumn_dst_day_keeps_all_100_quarter_hours(store: SqliteStore) -> None:
    steps = day_steps(date(2026, 10, 25), WARSAW)
    assert len(steps) == 100  # the premise: 02:00-03:00 local time happens twice
    values = pd.Series(np.arange(100, dtype=float), index=steps)
    assert store.write_readings(readings_frame(LOAD, values, "kW")) == 100

    start, end = day_bounds_utc(date(2026, 10, 25), WARSAW)
    wide = store.read_series([LOAD], start, end)
    assert_same_instants(wide.index, steps)
    np.testing.assert_array_equal(wide[LOAD], np.arange(100, dtype=float))
    local_hours = pd.DatetimeIndex(wide.index).tz_convert(WARSAW).hour
    assert (local_hours == 2).sum() == 8


# -- an interrupted write --------------------------------------------------------


def test_a_write_failing_halfway_leaves_no_partial_rows(store: SqliteStore) -> None:
    store.write_readings(readings(LOAD, [1.0] * 100))
    # More rows than one executemany batch, so earlier batches have run when the
    # database refuses the very last row.
    late = readings(PV, np.arange(250_000, dtype=float), first=1000)
    last_ts = int(late["ts"].iloc[-1].timestamp())
    with raw_connection(store.path.parent) as saboteur:
        saboteur.execute(
            f"CREATE TRIGGER refuse_last BEFORE INSERT ON readings WHEN NEW.ts >= {last_ts}"
            " BEGIN SELECT RAISE(ABORT, 'disk gave out'); END"
        )
    update_and_append = pd.concat([readings(LOAD, [2.0] * 100), late], ignore_index=True)

    with pytest.raises(StoreError, match="disk gave out"):
        store.write_readings(update_and_append)

    assert store.coverage(PV) is None
    assert set(store.read_series([LOAD], T0, T0 + 100 * QUARTER)[LOAD]) == {1.0}
    with raw_connection(store.path.parent) as inspector:
        assert inspector.execute("SELECT count(*) FROM series").fetchone() == (1,)
        inspector.execute("DROP TRIGGER refuse_last")
    assert store.write_readings(update_and_append) == 100 + 250_000


_KILLED_WRITER = """
import sys
from pathlib import Path
import numpy as np, pandas as pd
from adapters.sqlite_store import SqliteStore
steps = 100_000
seconds = np.tile(1_767_225_600 + 900 * np.arange(steps), 10)
frame = pd.DataFrame({
    "series_id": np.repeat([f"test/killed/{n}" for n in range(10)], steps),
    "ts": pd.to_datetime(seconds, unit="s", utc=True),
    "value": np.random.default_rng(1).normal(size=seconds.size),
    "unit": "kW",
    "quality": 0,
})
# A small page cache makes SQLite spill uncommitted pages into the WAL file mid-write.
store = SqliteStore.open(Path(sys.argv[1]), cache_mib=1)
print("writing", flush=True)
store.write_readings(frame)
print("done", flush=True)
"""


def test_a_writer_killed_mid_write_leaves_all_or_nothing(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path) as store:
        store.write_readings(readings(LOAD, [1.0, 2.0, 3.0]))
    wal = tmp_path / f"{DATABASE_FILE_NAME}-wal"
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing", writer.stderr
        wal_size_at_start = wal.stat().st_size if wal.exists() else 0
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and writer.poll() is None:
            if wal.exists() and wal.stat().st_size > wal_size_at_start + 8_000_000:
                break  # uncommitted pages of the write are on disk now
            time.sleep(0.005)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=5)
    finally:
        writer.kill()
        writer.communicate()
    assert writer.returncode == -signal.SIGKILL, "the writer finished before it was killed"

    with SqliteStore.open(tmp_path) as reopened:
        counts = {reopened.coverage(f"test/killed/{n}") for n in range(10)}
        assert reopened.read_series([LOAD], T0, T0 + QUARTER * 3)[LOAD].tolist() == [1, 2, 3]
    assert counts == {None} or {coverage[2] for coverage in counts if coverage} == {100_000}
    with raw_connection(tmp_path) as checker:
        assert checker.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# -- opening ---------------------------------------------------------------------


def test_open_creates_the_folder_and_a_wal_mode_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "klaster"
    store: TimeSeriesStore = SqliteStore.open(data_dir)
    store.close()
    store.close()  # closing twice is harmless
    with raw_connection(data_dir) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    with pytest.raises(StoreError, match="closed"):
        store.coverage(LOAD)


def test_a_file_that_is_no_database_is_named_and_left_alone(tmp_path: Path) -> None:
    not_a_database = tmp_path / DATABASE_FILE_NAME
    content = b"meter export, not a database\n" * 200
    not_a_database.write_bytes(content)
    with pytest.raises(StoreError, match="not a usable SQLite database") as raised:
        SqliteStore.open(tmp_path)
    assert str(not_a_database) in str(raised.value)
    assert "move that file away" in str(raised.value)
    assert not_a_database.read_bytes() == content


def test_a_database_of_another_program_is_refused(tmp_path: Path) -> None:
    with raw_connection(tmp_path) as other:
        other.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"another program.*photos"):
        SqliteStore.open(tmp_path)


def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    SqliteStore.open(tmp_path).close()
    with raw_connection(tmp_path) as newer:
        newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer klaster") as raised:
        SqliteStore.open(tmp_path)
    assert str(tmp_path / DATABASE_FILE_NAME) in str(raised.value)


def test_a_folder_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StoreError, match="cannot create the data folder") as raised:
        SqliteStore.open(blocker / "klaster")
    assert str(blocker / "klaster") in str(raised.value)
    assert "KLASTER_DATA_DIR" in str(raised.value)


def test_a_locked_store_names_the_file_and_recovers(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path, busy_timeout_s=0.1) as store:
        other_writer = raw_connection(tmp_path)
        other_writer.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="locked") as raised:
                store.write_readings(readings(LOAD, [1.0]))
            assert str(store.path) in str(raised.value)
        finally:
            other_writer.execute("ROLLBACK")
            other_writer.close()
        assert store.write_readings(readings(LOAD, [1.0])) == 1


def test_default_data_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLASTER_DATA_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "explicit"
    monkeypatch.delenv("KLASTER_DATA_DIR")
    assert default_data_dir() == tmp_path / "xdg" / "klaster"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "klaster"


# -- runs and their frames ---------------------------------------------------------


def run_record(run_id: str, kind: str, started_hour: int, status: str = "running") -> RunRecord:
    return RunRecord(
        run_id=run_id,
        kind=kind,
        day=date(2026, 10, 25),
        started_at=datetime(2026, 10, 24, started_hour, 30, 15, 250_000, tzinfo=UTC),
        config_hash="cfg-1",
        inputs_hash="in-1",
        status=status,
    )


def test_runs_are_updated_in_place_and_listed_newest_first(store: SqliteStore) -> None:
    store.record_run(run_record("schedule-a", "schedule", 9))
    finished = RunRecord(
        **{
            **run_record("schedule-a", "schedule", 9, status="ok").__dict__,
            "details": {"objective_pln": 1234.5, "stages": ["forecast", "solve"]},
        }
    )
    store.record_run(finished)
    store.record_run(run_record("schedule-b", "schedule", 12))
    store.record_run(run_record("forecast-a", "forecast", 6))

    assert [run.run_id for run in store.runs()] == ["schedule-b", "schedule-a", "forecast-a"]
    assert [run.run_id for run in store.runs("schedule")] == ["schedule-b", "schedule-a"]
    assert store.runs("settlement") == []
    assert store.runs("schedule")[1] == finished


def test_a_run_start_time_in_local_time_is_the_same_instant(store: SqliteStore) -> None:
    local = run_record("r", "schedule", 0)
    local = RunRecord(**{**local.__dict__, "started_at": local.started_at.astimezone(WARSAW)})
    store.record_run(local)
    assert store.runs()[0].started_at == local.started_at
    naive = RunRecord(**{**local.__dict__, "started_at": datetime(2026, 10, 24, 9)})
    with pytest.raises(StoreError, match="time zone"):
        store.record_run(naive)


def test_result_frames_round_trip_exactly(store: SqliteStore) -> None:
    store.record_run(run_record("schedule-a", "schedule", 9))
    steps = day_steps(date(2026, 10, 25), WARSAW)
    schedule = pd.DataFrame(
        {
            "battery_power_kw": np.linspace(-50.0, 50.0, len(steps)),
            "chp_on": np.arange(len(steps)) % 2 == 0,
            "member": "school-7",
            "local_start": steps.tz_convert(WARSAW),
            "dim_pct": np.arange(len(steps), dtype=np.int64),
        },
        index=steps,
    )
    store.save_frame("schedule-a", "schedule", schedule)
    tm.assert_frame_equal(store.load_frame("schedule-a", "schedule"), schedule)

    replaced = schedule.head(3)
    store.save_frame("schedule-a", "schedule", replaced)
    tm.assert_frame_equal(store.load_frame("schedule-a", "schedule"), replaced)


def test_a_missing_frame_names_the_run_the_frame_and_what_is_there(store: SqliteStore) -> None:
    store.record_run(run_record("schedule-a", "schedule", 9))
    store.save_frame("schedule-a", "schedule", pd.DataFrame({"x": [1.0]}))
    with pytest.raises(StoreError, match=r"'settlement'.*'schedule-a'") as raised:
        store.load_frame("schedule-a", "settlement")
    assert "schedule" in str(raised.value.fix)


def test_a_frame_of_an_unrecorded_run_is_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="not recorded"):
        store.save_frame("never-recorded", "schedule", pd.DataFrame({"x": [1.0]}))
