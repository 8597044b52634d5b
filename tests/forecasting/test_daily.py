"""The day-ahead forecast of a small cluster from a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.demo_history import generate_history
from adapters.sqlite_store import SqliteStore
from cluster.config import Assets, ClusterConfig, load_demo_config
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import SeriesId
from forecasting.daily import forecast_day
from forecasting.irradiance import Site, sky_at
from forecasting.series import SeriesGroup, series_specs

DAY = date(2027, 1, 20)
PRICE = SeriesId.DAY_AHEAD_PRICE


def _small_cluster() -> ClusterConfig:
    """The demo's city hall with its PV plant, one lit road and one street-lighting point."""
    demo = load_demo_config()
    points = {"cp-city-hall", "cp-light-kielce-01"}
    circuit = demo.assets.lighting_circuits[0]
    assert circuit.connection_point == "cp-light-kielce-01"
    assets = Assets(
        pv_plants=[p for p in demo.assets.pv_plants if p.connection_point == "cp-city-hall"],
        lighting_circuits=[circuit],
    )
    return demo.model_copy(
        update={
            "connection_points": [cp for cp in demo.connection_points if cp.id in points],
            "assets": assets,
        }
    )


@pytest.fixture(scope="module")
def config() -> ClusterConfig:
    return _small_cluster()


@pytest.fixture
def store(tmp_path: Path, config: ClusterConfig) -> Iterator[SqliteStore]:
    start, end = day_bounds_utc(DAY, config.cluster.zone)
    readings = generate_history(config, start - pd.Timedelta(days=21), end)
    with SqliteStore.open(tmp_path) as opened:
        opened.write_readings(readings)
        yield opened


def test_every_series_is_forecast_with_its_own_model(
    config: ClusterConfig, store: SqliteStore
) -> None:
    steps = day_steps(DAY, config.cluster.zone)
    forecast = forecast_day(config, steps, store.read_series, workers=1)
    assert forecast.failed == {}
    specs = {spec.series_id: spec for spec in series_specs(config)}
    assert set(forecast.results) | forecast.published == set(specs)
    for series_id, result in forecast.results.items():
        assert result.model == specs[series_id].model, result.notes
        assert result.point.index.equals(steps)
    assert specs[SeriesId.load("cp-light-kielce-01")].group is SeriesGroup.STREET_LIGHTING
    values = forecast.values
    assert values.index.equals(steps) and values.notna().all().all()
    # What the optimiser needs besides the series: the temperature and the lamps.
    assert {SeriesId.TEMPERATURE_C, SeriesId.LAMPS_ON_FRACTION} <= set(values.columns)
    night = ~sky_at(steps, Site.of_cluster(config.cluster), 15).sun_up
    pv = values[SeriesId.pv("pv-city-hall")]
    assert np.all(pv[night] == 0.0) and pv.max() > 0.0
    assert values[SeriesId.LAMPS_ON_FRACTION][night].min() > 0.0
    assert list(forecast.lighting.index) == [config.assets.lighting_circuits[0].id]
    table = forecast.table()
    assert set(table["series_id"]) == set(specs)
    assert table.groupby("series_id").size().eq(len(steps)).all()


def test_published_prices_are_taken_as_they_are(config: ClusterConfig, store: SqliteStore) -> None:
    steps = day_steps(DAY, config.cluster.zone)
    forecast = forecast_day(config, steps, store.read_series, workers=1)
    assert forecast.published == {PRICE}
    assert PRICE not in forecast.results
    end = steps[-1] + pd.Timedelta(minutes=15)
    stored = store.read_series([PRICE], steps[0], end)[PRICE]
    np.testing.assert_allclose(forecast.values[PRICE], stored.reindex(steps))


def test_prices_are_forecast_before_the_auction_result_is_in(
    config: ClusterConfig, tmp_path: Path
) -> None:
    steps = day_steps(DAY, config.cluster.zone)
    start = steps[0] - pd.Timedelta(days=21)
    readings = generate_history(config, start, steps[-1] + pd.Timedelta(minutes=15))
    # The day's weather forecast is in; its prices are not, but for a single step.
    unpublished = (readings["series_id"] == PRICE) & (readings["ts"] >= steps[1])
    with SqliteStore.open(tmp_path / "early") as store:
        store.write_readings(readings[~unpublished])
        forecast = forecast_day(config, steps, store.read_series, workers=1)
    assert forecast.published == frozenset()
    result = forecast.results[PRICE]
    assert result.model == "calendar_regression"
    assert forecast.values[PRICE].notna().all()
    assert 0.8 in result.intervals
    # The forecast is of the day's shape: it is not the stored step repeated.
    assert forecast.values[PRICE].std() > 10.0


def test_a_series_without_history_fails_alone(config: ClusterConfig, tmp_path: Path) -> None:
    steps = day_steps(DAY, config.cluster.zone)
    readings = generate_history(
        config, steps[0] - pd.Timedelta(days=21), steps[-1] + pd.Timedelta(minutes=15)
    )
    lost = SeriesId.load("cp-city-hall")
    with SqliteStore.open(tmp_path / "gap") as store:
        store.write_readings(readings[readings["series_id"] != lost])
        forecast = forecast_day(config, steps, store.read_series, workers=1)
    assert list(forecast.failed) == [lost]
    assert lost in forecast.failed[lost]
    assert SeriesId.pv("pv-city-hall") in forecast.results
    assert lost not in forecast.values


def test_a_short_history_still_gives_a_day(config: ClusterConfig, tmp_path: Path) -> None:
    steps = day_steps(DAY, config.cluster.zone)
    readings = generate_history(
        config, steps[0] - pd.Timedelta(days=5), steps[-1] + pd.Timedelta(minutes=15)
    )
    with SqliteStore.open(tmp_path / "short") as store:
        store.write_readings(readings)
        forecast = forecast_day(config, steps, store.read_series, workers=2)
    assert forecast.failed == {}
    load = forecast.results[SeriesId.load("cp-city-hall")]
    assert load.model == "naive_daily"
    assert any("calendar_regression needs 14" in note for note in load.notes)
    # The physics needs only a few days for its correction.
    assert forecast.results[SeriesId.pv("pv-city-hall")].model == "pv_physical"
