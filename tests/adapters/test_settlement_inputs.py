"""Reading a month's meter data and prices from a real SQLite store, and refusing gaps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pytest

from adapters.settlement_inputs import (
    MeterDataError,
    last_complete_month,
    read_metered_period,
)
from adapters.sqlite_store import SqliteStore
from cluster.config import ClusterConfig
from cluster.errors import KlasterError
from cluster.timeseries import Quality, SeriesId, TimeSeriesStore
from tests.adapters.settlement_support import (
    AFTER_MONTH,
    MONTH,
    POINTS,
    month_values,
    readings,
    small_config,
)

CITY_IMPORT = SeriesId.metered_import("cp-city")
SCHOOL_EXPORT = SeriesId.metered_export("cp-school")


@pytest.fixture(scope="module")
def config() -> ClusterConfig:
    return small_config()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path) as opened:
        yield opened


def test_a_complete_month_is_read_per_point_in_config_order(
    store: SqliteStore, config: ClusterConfig
) -> None:
    values = month_values(config)
    store.write_readings(readings(values))
    period = read_metered_period(store, config, date(2026, 11, 17), now=AFTER_MONTH)
    # November 2026 in Warsaw: 30 days of 96 quarter-hours, from 23:00 UTC on 31 October.
    assert len(period.import_kwh) == 30 * 96
    assert period.import_kwh.index[0] == pd.Timestamp("2026-10-31 23:00", tz="UTC")
    for frame in (period.import_kwh, period.export_kwh, period.curtailed_kwh):
        assert list(frame.columns) == list(POINTS)
        assert frame.index.equals(period.day_ahead_pln_per_mwh.index)
    np.testing.assert_array_equal(period.import_kwh["cp-city"], values[CITY_IMPORT])
    np.testing.assert_array_equal(period.export_kwh["cp-school"], values[SCHOOL_EXPORT])
    np.testing.assert_array_equal(period.day_ahead_pln_per_mwh, values[SeriesId.DAY_AHEAD_PRICE])
    # The city may not export and no point has curtailment estimates: zeros, not gaps.
    assert (period.export_kwh["cp-city"] == 0).all()
    assert (period.curtailed_kwh.to_numpy() == 0).all()


def test_the_month_the_clocks_go_back_has_four_more_quarter_hours(
    store: SqliteStore, config: ClusterConfig
) -> None:
    october = date(2026, 10, 1)
    store.write_readings(readings(month_values(config, october)))
    period = read_metered_period(store, config, october, now=AFTER_MONTH)
    assert len(period.import_kwh) == 31 * 96 + 4


def test_missing_quarter_hours_are_named_with_the_first_and_the_count(
    store: SqliteStore, config: ClusterConfig
) -> None:
    values = month_values(config)
    gap = pd.Timestamp("2026-11-03 14:15", tz="Europe/Warsaw")
    city = values[CITY_IMPORT]
    values[CITY_IMPORT] = city.drop(city.index[city.index >= gap][:3])
    store.write_readings(readings(values))
    with pytest.raises(MeterDataError) as caught:
        read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    message = str(caught.value)
    assert f"{CITY_IMPORT}: 3 quarter-hours missing, from 2026-11-03T14:15:00+01:00" in message
    assert "cannot settle 2026-11" in message
    assert "klaster settle import-meter" in caught.value.fix  # type: ignore[operator]
    assert isinstance(caught.value, KlasterError) and caught.value.exit_code == 3


def test_every_incomplete_series_is_listed_at_once(
    store: SqliteStore, config: ClusterConfig
) -> None:
    values = month_values(config)
    del values[SCHOOL_EXPORT]
    price = values[SeriesId.DAY_AHEAD_PRICE]
    values[SeriesId.DAY_AHEAD_PRICE] = price.iloc[:-96]  # the last day's prices not in
    store.write_readings(readings(values))
    with pytest.raises(MeterDataError) as caught:
        read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    message = str(caught.value)
    assert "the data of 2 series" in message
    assert f"{SCHOOL_EXPORT}: 2880 quarter-hours missing, from 2026-11-01T00:00:00+01:00" in message
    assert (
        f"{SeriesId.DAY_AHEAD_PRICE}: 96 quarter-hours missing, from 2026-11-30T00:00:00+01:00"
        in message
    )
    assert "day-ahead prices" in str(caught.value.fix)


@pytest.mark.parametrize("quality", [Quality.STALE, Quality.OUT_OF_RANGE, Quality.MISSING])
def test_values_not_fit_for_a_bill_are_refused(
    store: SqliteStore, config: ClusterConfig, quality: Quality
) -> None:
    values = month_values(config)
    store.write_readings(readings(values))
    bad = values[CITY_IMPORT].iloc[100:105]
    store.write_readings(readings({CITY_IMPORT: bad}, quality))
    with pytest.raises(MeterDataError) as caught:
        read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    first = bad.index[0].tz_convert("Europe/Warsaw").isoformat()
    assert (
        f"{CITY_IMPORT}: 5 quarter-hours not fit for a bill (quality {quality.name}), from {first}"
        in str(caught.value)
    )


def test_estimated_values_are_billable_and_synthetic_ones_only_when_allowed(
    store: SqliteStore, config: ClusterConfig
) -> None:
    values = month_values(config)
    store.write_readings(readings(values, Quality.ESTIMATED))
    read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    store.write_readings(readings(values, Quality.SYNTHETIC))
    with pytest.raises(MeterDataError, match="quality SYNTHETIC"):
        read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    period = read_metered_period(store, config, MONTH, now=AFTER_MONTH, allow_synthetic=True)
    assert period.import_kwh["cp-plant"].sum() == pytest.approx(0.2 * 2880)


def test_optional_series_count_as_zero_where_they_have_no_value(
    store: SqliteStore, config: ClusterConfig
) -> None:
    values = month_values(config)
    steps = values[CITY_IMPORT].index
    curtailed = SeriesId.curtailed("cp-plant")
    values[curtailed] = pd.Series(1.5, index=steps).iloc[:10]
    # The city may not export; its meter recorded export once all the same.
    city_export = SeriesId.metered_export("cp-city")
    values[city_export] = pd.Series(0.25, index=steps[[40]])
    store.write_readings(readings(values))
    period = read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    assert period.curtailed_kwh["cp-plant"].sum() == pytest.approx(15.0)
    assert (period.curtailed_kwh["cp-plant"].iloc[10:] == 0).all()
    assert (period.curtailed_kwh[["cp-city", "cp-school"]].to_numpy() == 0).all()
    assert period.export_kwh["cp-city"].iloc[40] == 0.25
    assert period.export_kwh["cp-city"].sum() == 0.25
    # A value an optional series has must still be fit for a bill.
    store.write_readings(readings({curtailed: values[curtailed].iloc[:2]}, Quality.STALE))
    with pytest.raises(MeterDataError, match=f"{curtailed}: 2 quarter-hours not fit for a bill"):
        read_metered_period(store, config, MONTH, now=AFTER_MONTH)


def test_negative_energy_and_a_wrong_unit_are_refused(
    store: SqliteStore, config: ClusterConfig
) -> None:
    values = month_values(config)
    values[SeriesId.metered_import("cp-school")].iloc[7] = -0.5
    frame = readings(values)
    frame.loc[frame["series_id"] == CITY_IMPORT, "unit"] = "MWh"
    store.write_readings(frame)
    with pytest.raises(MeterDataError) as caught:
        read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    message = str(caught.value)
    assert (
        "meter/cp-school/import_kwh: 1 quarter-hour negative, from 2026-11-01T01:45:00+01:00"
        in (message)
    )
    assert f"{CITY_IMPORT}: stored in MWh, a settlement needs kWh" in message


def test_a_month_not_over_is_refused_with_its_end(
    store: SqliteStore, config: ClusterConfig
) -> None:
    store.write_readings(readings(month_values(config)))
    inside = pd.Timestamp("2026-11-30 22:59", tz="UTC").to_pydatetime()
    with pytest.raises(MeterDataError) as caught:
        read_metered_period(store, config, MONTH, now=inside)
    assert "2026-11 is not over yet: it ends at 2026-12-01 00:00 Europe/Warsaw" in str(caught.value)
    assert "(2026-11-30 23:00 UTC)" in str(caught.value)
    just_after = pd.Timestamp("2026-11-30 23:00", tz="UTC").to_pydatetime()
    read_metered_period(store, config, MONTH, now=just_after)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-12-15 12:00+00:00", date(2026, 11, 1)),
        # Already 1 January in Warsaw, still 31 December in UTC.
        ("2026-12-31 23:30+00:00", date(2026, 12, 1)),
        ("2027-01-01 00:00+01:00", date(2026, 12, 1)),
        ("2026-03-01 00:00+01:00", date(2026, 2, 1)),
    ],
)
def test_the_last_complete_month_is_in_local_time(
    config: ClusterConfig, now: str, expected: date
) -> None:
    assert last_complete_month(config, pd.Timestamp(now).to_pydatetime()) == expected


class LongFrameStore:
    """The store behind the :class:`TimeSeriesStore` methods alone, as a store without grids."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        if name.startswith("_") or name not in vars(TimeSeriesStore):
            raise AttributeError(name)
        return getattr(self._store, name)


def test_a_store_without_grids_gives_the_same_month_and_the_same_gaps(
    store: SqliteStore, config: ClusterConfig
) -> None:
    values = month_values(config)
    values[SeriesId.curtailed("cp-plant")] = pd.Series(1.5, index=values[CITY_IMPORT].index[:10])
    store.write_readings(readings(values))
    long_only = cast(TimeSeriesStore, LongFrameStore(store))
    assert not hasattr(long_only, "read_grid")
    by_grid = read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    by_frame = read_metered_period(long_only, config, MONTH, now=AFTER_MONTH)
    for name in ("import_kwh", "export_kwh", "curtailed_kwh"):
        pd.testing.assert_frame_equal(getattr(by_frame, name), getattr(by_grid, name))
    pd.testing.assert_series_equal(by_frame.day_ahead_pln_per_mwh, by_grid.day_ahead_pln_per_mwh)
    assert by_frame.curtailed_kwh["cp-plant"].sum() == pytest.approx(15.0)

    store.write_readings(readings({CITY_IMPORT: values[CITY_IMPORT].iloc[5:7]}, Quality.STALE))
    with pytest.raises(MeterDataError) as by_grid_error:
        read_metered_period(store, config, MONTH, now=AFTER_MONTH)
    with pytest.raises(MeterDataError) as by_frame_error:
        read_metered_period(long_only, config, MONTH, now=AFTER_MONTH)
    assert str(by_frame_error.value) == str(by_grid_error.value)
    assert f"{CITY_IMPORT}: 2 quarter-hours not fit for a bill" in str(by_grid_error.value)
