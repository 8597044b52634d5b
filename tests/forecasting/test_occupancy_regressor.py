"""The occupancy regressor of building loads, and the daily forecast passing it on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from adapters.demo_history import generate_history
from adapters.sqlite_store import SqliteStore
from cluster.assets import PublicBuilding
from cluster.config import Assets, ClusterConfig, load_demo_config
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import SeriesId
from forecasting.backtest import BacktestSetup, origin_days, run_backtest
from forecasting.base import SeriesKind
from forecasting.batch import FitCache
from forecasting.daily import forecast_day
from forecasting.irradiance import Site
from forecasting.occupancy_regressor import (
    OCCUPIED_FRACTION,
    buildings_by_load,
    occupancy_inputs,
    occupied_fraction,
)
from forecasting.series import SeriesGroup, SeriesSpec
from tests.forecasting.synthetic import local_range, planted_series

ZONE = ZoneInfo("Europe/Warsaw")
SCHOOL_LOAD = SeriesId.load("cp-sp-1")
#: A school day (Wednesday, no holiday, no break) the daily forecast is made for.
SCHOOL_DAY = date(2027, 3, 10)


def _building(building_id: str) -> PublicBuilding:
    found = [b for b in load_demo_config().assets.buildings if b.id == building_id]
    assert len(found) == 1
    return found[0]


def _school() -> PublicBuilding:
    """The demo's primary school: open 07:00-16:00 on working days, shut in breaks."""
    school = _building("bldg-sp-1")
    hours = school.occupancy.working_days
    assert hours is not None and (hours.start, hours.end) == (7, 16)
    assert school.occupancy.non_working_days is None
    assert school.occupancy.closed_on_public_holidays and school.occupancy.closed_in_school_breaks
    return school


def _day_fraction(buildings: list[PublicBuilding], day: date) -> pd.Series:
    """The fraction over a local day, indexed by local wall-clock time."""
    steps = day_steps(day, ZONE)
    fraction = occupied_fraction(buildings, steps, ZONE)
    return pd.Series(fraction.to_numpy(), index=pd.DatetimeIndex(steps.tz_convert(ZONE)))


def test_a_school_is_occupied_on_school_mornings_only() -> None:
    school = _school()
    # A Wednesday in term: open from 07:00 to 16:00 local time, empty at night.
    term = _day_fraction([school], date(2026, 11, 18))
    hours = pd.DatetimeIndex(term.index).hour
    assert np.all(term[(hours >= 7) & (hours < 16)] == 1.0)
    assert np.all(term[(hours < 7) | (hours >= 16)] == 0.0)
    # Independence Day (a Wednesday), the winter break and the summer break: empty all day.
    for closed in (date(2026, 11, 11), date(2027, 1, 20), date(2026, 7, 15)):
        assert np.all(_day_fraction([school], closed) == 0.0), closed


def test_opening_hours_follow_the_local_clock_across_dst() -> None:
    school = _school()
    # 05:00 UTC is 07:00 in summer time (open) and 06:00 in winter time (still shut).
    summer_time = pd.DatetimeIndex([pd.Timestamp("2026-10-23 05:00", tz="UTC")])
    winter_time = pd.DatetimeIndex([pd.Timestamp("2026-10-26 05:00", tz="UTC")])
    assert occupied_fraction([school], summer_time, ZONE).iloc[0] == 1.0
    assert occupied_fraction([school], winter_time, ZONE).iloc[0] == 0.0
    # The 100-step day of the change back is covered step by step.
    assert len(_day_fraction([school], date(2026, 10, 25))) == 100


def test_two_buildings_share_the_fraction_by_their_zones() -> None:
    school, care_home = _school(), _building("bldg-care-home")
    assert (len(school.zones), len(care_home.zones)) == (5, 4)
    fraction = _day_fraction([school, care_home], date(2026, 11, 18))
    # The care home is occupied round the clock: 4 of 9 zones at night, all 9 at 10:00.
    assert fraction[pd.DatetimeIndex(fraction.index).hour == 2].tolist() == pytest.approx(
        [4 / 9] * 4
    )
    assert fraction[pd.DatetimeIndex(fraction.index).hour == 10].tolist() == pytest.approx(
        [1.0] * 4
    )
    assert fraction.between(0.0, 1.0).all()


def test_only_building_loads_of_the_load_model_get_the_regressor() -> None:
    buildings = buildings_by_load(load_demo_config())
    assert [b.id for b in buildings[SCHOOL_LOAD]] == ["bldg-sp-1"]
    assert SeriesId.load("cp-biz-mall") not in buildings
    steps = day_steps(date(2026, 11, 18), ZONE)
    weather = pd.DataFrame({SeriesId.TEMPERATURE_C: 5.0}, index=steps[:10])
    mall, library = SeriesId.load("cp-biz-mall"), SeriesId.load("cp-library")
    options = {SCHOOL_LOAD: {"school_breaks": True, "extra_regressors": ("x",)}, mall: {},
               library: {}}  # fmt: skip
    models = {SCHOOL_LOAD: "calendar_regression", mall: "calendar_regression",
              library: "naive_weekly"}  # fmt: skip
    regressors, chosen = occupancy_inputs(options, models, weather, buildings, steps, ZONE)
    assert chosen[SCHOOL_LOAD] == {
        "school_breaks": True,
        "extra_regressors": ("x", OCCUPIED_FRACTION),
    }
    school = regressors[SCHOOL_LOAD]
    # The regressor covers every step asked for, beyond the weather's own index.
    assert school.index.equals(steps) and school[OCCUPIED_FRACTION].notna().all()
    assert school[OCCUPIED_FRACTION].max() == 1.0
    assert school[SeriesId.TEMPERATURE_C].iloc[:10].eq(5.0).all()
    for other in (mall, library):
        assert chosen[other] == {} and regressors[other] is weather


def _school_cluster() -> ClusterConfig:
    """The demo's primary school on its own connection point, with its building."""
    demo = load_demo_config()
    return demo.model_copy(
        update={
            "connection_points": [cp for cp in demo.connection_points if cp.id == "cp-sp-1"],
            "assets": Assets(buildings=[_school()]),
        }
    )


@pytest.fixture(scope="module")
def school_cluster() -> ClusterConfig:
    return _school_cluster()


@pytest.fixture
def store(tmp_path: Path, school_cluster: ClusterConfig) -> Iterator[SqliteStore]:
    start, end = day_bounds_utc(SCHOOL_DAY, school_cluster.cluster.zone)
    readings = generate_history(school_cluster, start - pd.Timedelta(days=21), end)
    with SqliteStore.open(tmp_path) as opened:
        opened.write_readings(readings)
        yield opened


def _fitted_terms(cache: FitCache, series_id: str) -> tuple[str, ...]:
    inner = cache.entries[series_id].fitted.inner
    terms: tuple[str, ...] = inner.terms  # type: ignore[attr-defined]
    return terms


def test_the_daily_forecast_of_a_building_load_uses_its_occupancy(
    school_cluster: ClusterConfig, store: SqliteStore
) -> None:
    steps = day_steps(SCHOOL_DAY, school_cluster.cluster.zone)
    cache = FitCache()
    forecast = forecast_day(school_cluster, steps, store.read_series, workers=1, cache=cache)
    assert forecast.failed == {}
    assert forecast.results[SCHOOL_LOAD].model == "calendar_regression"
    assert f"extra:{OCCUPIED_FRACTION}" in _fitted_terms(cache, SCHOOL_LOAD)
    assert forecast.values[SCHOOL_LOAD].notna().all()
    # Switched off, the same load is fitted without it.
    without = FitCache()
    forecast_day(
        school_cluster, steps, store.read_series, workers=1, cache=without, occupancy=False
    )
    assert f"extra:{OCCUPIED_FRACTION}" not in _fitted_terms(without, SCHOOL_LOAD)


def test_the_backtest_passes_the_occupancy_into_the_summer_break() -> None:
    # A school whose load is a planted base plus 60 kW while it is occupied, forecast
    # on the first days of the summer break from three weeks that are mostly term.
    school = _school()
    first = date(2026, 7, 6)
    origins = origin_days(first, first + timedelta(days=1))
    days = 21 + len(origins)
    index = local_range(first - timedelta(days=21), days)
    base = planted_series(first - timedelta(days=21), days, noise_std=2.0, seed=4).to_numpy()
    occupied = occupied_fraction([school], index, ZONE).to_numpy()
    assert occupied[: 96 * 5].max() == 1.0 and occupied[-96 * len(origins) :].max() == 0.0
    data = pd.DataFrame(
        {SCHOOL_LOAD: base + 60.0 * occupied, SeriesId.TEMPERATURE_C: 15.0}, index=index
    )
    specs = [SeriesSpec(SCHOOL_LOAD, SeriesGroup.LOAD, SeriesKind.LOAD, "calendar_regression")]
    mae = {}
    for on in (True, False):
        setup = BacktestSetup(
            specs, history_days=21, weather_error=None, workers=1,
            buildings={SCHOOL_LOAD: (school,)}, occupancy=on,
        )  # fmt: skip
        report = run_backtest(
            data, origins, setup, zone=ZONE, site=Site(50.87, 20.63, 260.0), step_minutes=15
        )
        assert report.errors == {}
        mae[on] = float(report.metrics["mae"].iloc[0])
    # Knowing the school is empty, the forecast misses by little more than the 2 kW
    # noise; without it, the model still expects some of the term-time 60 kW.
    assert mae[True] < 4.0
    assert mae[False] > 2.0 * mae[True]
