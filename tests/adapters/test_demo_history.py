"""The deterministic demo history: purity in (seed, instant), calendar effects, physics bounds,
and billing meters that balance."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pvlib
import pytest

from adapters.demo.calendar import school_break
from adapters.demo.meters import meter_series_ids
from adapters.demo_history import (
    DEMO_SEED,
    DemoHistoryError,
    generate_history,
    generate_wide,
    history_series_ids,
)
from cluster.config import Assets, ClusterConfig, LoadProfile, load_demo_config
from cluster.errors import KlasterError
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import READING_COLUMNS, Quality, SeriesId

WARSAW = "Europe/Warsaw"
PRICE = SeriesId.DAY_AHEAD_PRICE


def local(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=WARSAW)


@pytest.fixture(scope="module")
def demo() -> ClusterConfig:
    return load_demo_config()


def reduced(config: ClusterConfig, point_ids: list[str], assets: Assets) -> ClusterConfig:
    """The demo cluster cut down to a few points and assets, to generate long ranges fast."""
    points = [cp for cp in config.connection_points if cp.id in point_ids]
    return config.model_copy(update={"connection_points": points, "assets": assets})


@pytest.fixture(scope="module")
def plants_2028(demo: ClusterConfig) -> tuple[ClusterConfig, pd.DataFrame]:
    """One year (2028, not one of the scale's reference years) of a few points and plants."""
    config = reduced(
        demo,
        ["cp-city-hall", "cp-sp-1"],
        Assets(
            wte_chps=demo.assets.wte_chps,
            biogas_chps=demo.assets.biogas_chps,
            district_heating=demo.assets.district_heating,
        ),
    )
    return config, generate_wide(config, local("2028-01-01"), local("2029-01-01"))


@pytest.fixture(scope="module")
def winter_fortnight(demo: ClusterConfig) -> pd.DataFrame:
    return generate_wide(demo, local("2026-12-07"), local("2026-12-21"))


@pytest.fixture(scope="module")
def june_fortnight(demo: ClusterConfig) -> pd.DataFrame:
    return generate_wide(demo, local("2026-06-08"), local("2026-06-22"))


# --- purity in (seed, instant) -------------------------------------------------------


def test_overlapping_ranges_agree_exactly(demo: ClusterConfig) -> None:
    long_range = generate_wide(demo, local("2026-01-01"), local("2026-03-01"))
    short_range = generate_wide(demo, local("2026-02-10"), local("2026-02-12"))
    # A start off the grid and in another zone: the steps still fall on the grid.
    odd_start = generate_wide(
        demo, pd.Timestamp("2026-02-09 22:07", tz="UTC"), pd.Timestamp("2026-02-11 03:00", tz="UTC")
    )
    assert odd_start.index[0] == pd.Timestamp("2026-02-09 22:15", tz="UTC")
    assert len(short_range) == 2 * 96
    for part in (short_range, odd_start):
        pd.testing.assert_frame_equal(part, long_range.loc[part.index], check_exact=True)


def test_a_day_does_not_depend_on_the_days_generated_with_it(demo: ClusterConfig) -> None:
    alone = generate_wide(demo, local("2026-07-04"), local("2026-07-05"))
    with_neighbours = generate_wide(demo, local("2026-06-30"), local("2026-07-09"))
    pd.testing.assert_frame_equal(alone, with_neighbours.loc[alone.index], check_exact=True)


def test_same_seed_same_history_other_seed_other_history(demo: ClusterConfig) -> None:
    start, end = local("2026-03-02"), local("2026-03-04")
    first = generate_wide(demo, start, end, seed=7)
    pd.testing.assert_frame_equal(first, generate_wide(demo, start, end, seed=7), check_exact=True)
    other = generate_wide(demo, start, end, seed=8)
    for series_id in (SeriesId.TEMPERATURE_C, PRICE, SeriesId.load("cp-city-hall")):
        assert not np.allclose(first[series_id], other[series_id])
    assert DEMO_SEED == 2027
    pd.testing.assert_frame_equal(
        generate_wide(demo, start, end), generate_wide(demo, start, end, seed=DEMO_SEED)
    )


def test_a_coarser_grid_sees_the_same_weather_at_shared_instants(demo: ClusterConfig) -> None:
    hourly = demo.model_copy(
        update={"cluster": demo.cluster.model_copy(update={"step_minutes": 60})}
    )
    start, end = local("2026-05-01"), local("2026-05-03")
    coarse = generate_wide(hourly, start, end)
    fine = generate_wide(demo, start, end)
    assert len(coarse) == 48
    # Irradiance-driven series differ: they describe the mean over a longer step.
    for series_id in (SeriesId.TEMPERATURE_C, SeriesId.CLOUD_PCT):
        np.testing.assert_array_equal(coarse[series_id], fine.loc[coarse.index, series_id])


@pytest.mark.parametrize(("day", "steps"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_dst_days_have_their_own_number_of_steps(
    demo: ClusterConfig, day: date, steps: int
) -> None:
    zone = demo.cluster.zone
    start, end = day_bounds_utc(day, zone)
    wide = generate_wide(demo, start, end)
    assert len(wide) == steps
    pd.testing.assert_index_equal(wide.index, day_steps(day, zone), check_names=False)


# --- the frame contract ------------------------------------------------------------


def test_every_series_present_with_units_and_no_gaps(demo: ClusterConfig) -> None:
    ids = history_series_ids(demo)
    lit_points = {c.connection_point for c in demo.assets.lighting_circuits}
    assert len(ids) == len(set(ids))
    assert {SeriesId.load(p) for p in lit_points} <= set(ids)
    assert {SeriesId.pv(p.id) for p in demo.assets.pv_plants} <= set(ids)
    assert {SeriesId.traffic(c.id) for c in demo.assets.lighting_circuits} <= set(ids)
    assert SeriesId.load("cp-city-hall") in ids

    long = generate_history(demo, local("2026-02-01"), local("2026-02-03"))
    assert tuple(long.columns) == READING_COLUMNS
    assert list(dict.fromkeys(long["series_id"])) == ids
    assert len(long) == len(ids) * 2 * 96
    assert not long.isna().to_numpy().any()
    assert str(long["ts"].dt.tz) == "UTC"
    assert (long["quality"] == int(Quality.SYNTHETIC)).all()
    units = long.groupby("series_id")["unit"].unique().map(tuple).to_dict()
    assert units[SeriesId.TEMPERATURE_C] == ("degC",)
    assert units[SeriesId.CLOUD_PCT] == ("%",)
    assert units[SeriesId.GHI_W_M2] == ("W/m2",)
    assert units[PRICE] == ("PLN/MWh",)
    assert units[SeriesId.pv("pv-farm")] == ("kW",)
    assert units[SeriesId.traffic("light-01")] == ("1/h",)

    wide = generate_wide(demo, local("2026-02-01"), local("2026-02-03"))
    assert list(wide.columns) == ids
    one = long[long["series_id"] == PRICE]
    np.testing.assert_array_equal(one["value"].to_numpy(), wide[PRICE].to_numpy())
    np.testing.assert_array_equal(one["ts"].to_numpy(), wide.index.to_numpy())


def test_naive_range_is_refused_with_a_fix(demo: ClusterConfig) -> None:
    with pytest.raises(DemoHistoryError) as caught:
        generate_history(demo, pd.Timestamp("2026-01-01"), local("2026-01-02"))
    assert isinstance(caught.value, KlasterError)
    assert "time zone" in str(caught.value) and caught.value.fix


def test_an_empty_range_gives_an_empty_frame(demo: ClusterConfig) -> None:
    long = generate_history(demo, local("2026-01-02"), local("2026-01-01"))
    assert long.empty and tuple(long.columns) == READING_COLUMNS


# --- weather and PV ----------------------------------------------------------------


def test_weather_stays_in_physical_ranges(winter_fortnight: pd.DataFrame) -> None:
    cloud = winter_fortnight[SeriesId.CLOUD_PCT]
    temp = winter_fortnight[SeriesId.TEMPERATURE_C]
    assert cloud.between(0, 100).all()
    assert temp.between(-30, 20).all()
    assert (winter_fortnight[SeriesId.GHI_W_M2] >= 0).all()


def test_pv_is_zero_at_night_and_never_above_the_inverter_limit(
    demo: ClusterConfig, june_fortnight: pd.DataFrame
) -> None:
    info = demo.cluster
    starts = pd.DatetimeIndex(june_fortnight.index)
    ends = starts + pd.Timedelta(minutes=15)

    def elevation(times: pd.DatetimeIndex) -> np.ndarray:
        position = pvlib.solarposition.get_solarposition(
            times, info.latitude_deg, info.longitude_deg, info.altitude_m
        )
        return position["elevation"].to_numpy()

    # Dark for the whole step: the sun is below the horizon at both ends.
    night = (elevation(starts) < 0) & (elevation(ends) < 0)
    assert night.sum() > 14 * 24
    for plant in demo.assets.pv_plants:
        power = june_fortnight[SeriesId.pv(plant.id)].to_numpy()
        assert (power[night] == 0).all(), plant.id
        assert (power >= 0).all() and power.max() <= plant.inverter_limit_kw
        # A June fortnight has sunny middays: the plant reaches half its size.
        assert power.max() > 0.5 * min(plant.kwp, plant.inverter_limit_kw), plant.id


# --- loads --------------------------------------------------------------------------


def test_street_lighting_burns_at_midnight_and_not_at_noon_in_winter(
    demo: ClusterConfig, winter_fortnight: pd.DataFrame
) -> None:
    local_times = pd.DatetimeIndex(winter_fortnight.index).tz_convert(WARSAW)
    midnight = (local_times.hour == 0) & (local_times.minute == 0)
    noon = (local_times.hour == 12) & (local_times.minute == 0)
    lit_points = {c.connection_point for c in demo.assets.lighting_circuits}
    for point_id in lit_points:
        full_kw = sum(
            c.full_power_kw for c in demo.assets.lighting_circuits if c.connection_point == point_id
        )
        load = winter_fortnight[SeriesId.load(point_id)]
        # All lamps on, less a few failed ones.
        assert load[midnight].between(0.9 * full_kw, 1.02 * full_kw).all(), point_id
        assert (load[noon] == 0).all(), point_id


def test_school_load_is_lower_in_the_summer_break(demo: ClusterConfig) -> None:
    school = SeriesId.load("cp-sp-1")
    # Monday-Friday of term (no holiday) and of the summer break.
    term = generate_wide(demo, local("2026-06-15"), local("2026-06-20"))[school]
    summer = generate_wide(demo, local("2026-07-06"), local("2026-07-11"))[school]

    def school_hours_mean(load: pd.Series) -> float:
        hours = pd.DatetimeIndex(load.index).tz_convert(WARSAW).hour
        return float(load[(hours >= 8) & (hours < 14)].mean())

    assert school_hours_mean(summer) < 0.6 * school_hours_mean(term)


def test_office_load_is_lower_on_a_public_holiday(demo: ClusterConfig) -> None:
    office = SeriesId.load("cp-city-hall")
    # 11 November 2026 (Independence Day) is a Wednesday between two working days.
    days = generate_wide(demo, local("2026-11-10"), local("2026-11-13"))[office]
    local_days = pd.DatetimeIndex(days.index).tz_convert(WARSAW).day
    daily_kwh = days.groupby(local_days).sum() * 0.25
    assert daily_kwh[11] < 0.8 * daily_kwh[10]
    assert daily_kwh[11] < 0.8 * daily_kwh[12]


@pytest.mark.parametrize(
    ("day", "in_break"),
    [
        # The school-year regulation, and the dates published for 2025/26 in Świętokrzyskie.
        (date(2026, 1, 16), False),
        (date(2026, 1, 19), True),
        (date(2026, 2, 1), True),
        (date(2026, 2, 2), False),
        (date(2026, 4, 1), False),
        (date(2026, 4, 2), True),
        (date(2026, 4, 7), True),
        (date(2026, 4, 8), False),
        (date(2026, 6, 26), False),
        (date(2026, 6, 27), True),
        (date(2026, 8, 31), True),
        (date(2026, 9, 1), False),
        (date(2025, 12, 22), False),
        (date(2025, 12, 23), True),
        (date(2025, 12, 31), True),
        # 1 September 2024 was a Sunday: lessons began on Monday 2 September.
        (date(2024, 9, 1), True),
        (date(2024, 9, 2), False),
    ],
)
def test_school_breaks_follow_the_school_year(day: date, in_break: bool) -> None:
    assert school_break(day) is in_break


def test_annual_energy_matches_the_configuration(
    plants_2028: tuple[ClusterConfig, pd.DataFrame],
) -> None:
    config, year = plants_2028
    for point in config.connection_points:
        energy_mwh = year[SeriesId.load(point.id)].sum() * 0.25 / 1000.0
        assert energy_mwh == pytest.approx(point.annual_consumption_mwh, rel=0.10), point.id
    for network in config.assets.district_heating:
        heat_mwh = year[SeriesId.heat_demand(network.id)].sum() * 0.25 / 1000.0
        assert heat_mwh == pytest.approx(network.annual_heat_demand_mwh, rel=0.10)


def test_load_responds_to_cold(demo: ClusterConfig) -> None:
    """Heat pumps: the same profile draws more in January than in a mild October."""
    office = SeriesId.load("cp-city-hall")
    january = generate_wide(demo, local("2026-01-12"), local("2026-01-17"))
    october = generate_wide(demo, local("2026-10-05"), local("2026-10-10"))
    assert january[SeriesId.TEMPERATURE_C].mean() < october[SeriesId.TEMPERATURE_C].mean() - 5
    assert january[office].mean() > 1.05 * october[office].mean()


# --- plants -------------------------------------------------------------------------


def test_wte_has_a_yearly_outage_and_burns_its_waste_when_running(
    plants_2028: tuple[ClusterConfig, pd.DataFrame],
) -> None:
    config, year = plants_2028
    chp = config.assets.wte_chps[0]
    power = year[SeriesId.wte(chp.id)]
    local_dates = pd.DatetimeIndex(power.index).tz_convert(WARSAW).date
    daily = power.groupby(local_dates)
    days_off = (daily.max() == 0).to_numpy()
    longest_run = max(len(run) for run in "".join("x" if d else "." for d in days_off).split("."))
    assert 12 <= longest_run <= 16
    assert days_off.sum() < 30
    running = daily.min() >= chp.electric_min_kw
    must_burn_kw = chp.daily_min_waste_mwh * chp.electric_efficiency * 1000.0 / 24.0
    assert (daily.mean()[running] >= must_burn_kw).all()
    assert power.max() <= chp.electric_max_kw
    # Shutting down and starting up follow the ramp limit, as does the drift.
    step_h = config.cluster.step_minutes / 60.0
    assert power.diff().abs().max() <= chp.ramp_kw_per_hour * step_h + 1e-6


def test_biogas_inflow_supports_most_of_the_engine(
    plants_2028: tuple[ClusterConfig, pd.DataFrame],
) -> None:
    config, year = plants_2028
    chp = config.assets.biogas_chps[0]
    electric_kw = year[SeriesId.biogas_inflow(chp.id)].mean() * chp.electric_efficiency
    assert 0.55 * chp.engine_max_kw <= electric_kw <= 0.75 * chp.engine_max_kw


def test_heat_demand_is_higher_in_winter(plants_2028: tuple[ClusterConfig, pd.DataFrame]) -> None:
    config, year = plants_2028
    demand = year[SeriesId.heat_demand(config.assets.district_heating[0].id)]
    months = pd.DatetimeIndex(demand.index).tz_convert(WARSAW).month
    monthly = demand.groupby(months).mean()
    assert monthly[1] > 3 * monthly[7]
    assert (demand > 0).all()


# --- prices and traffic -----------------------------------------------------------


def test_evening_prices_beat_night_prices_over_a_month(demo: ClusterConfig) -> None:
    config = reduced(demo, ["cp-city-hall"], Assets())
    january = generate_wide(config, local("2026-01-01"), local("2026-02-01"))[PRICE]
    hours = pd.DatetimeIndex(january.index).tz_convert(WARSAW).hour
    evening = january[(hours >= 17) & (hours < 20)].mean()
    night = january[(hours >= 1) & (hours < 5)].mean()
    assert evening > night + 200
    assert 400 < january.mean() < 800


def test_a_summer_has_some_negative_prices(demo: ClusterConfig) -> None:
    """Checked over April-September 2026: sunny weekend middays dip below zero."""
    config = reduced(demo, ["cp-city-hall"], Assets())
    summer = generate_wide(config, local("2026-04-01"), local("2026-10-01"))[PRICE]
    negative = summer[summer < 0]
    assert len(negative) > 0
    local_times = pd.DatetimeIndex(negative.index).tz_convert(WARSAW)
    assert ((local_times.hour >= 9) & (local_times.hour < 17)).all()
    # Rare: a small share of the quarter-hours, and the summer's mean stays positive.
    assert len(negative) < 0.02 * len(summer)
    assert summer.mean() > 300


def test_traffic_has_rush_hours_and_quiet_nights(
    demo: ClusterConfig, winter_fortnight: pd.DataFrame
) -> None:
    circuit = demo.assets.lighting_circuits[0]
    traffic = winter_fortnight[SeriesId.traffic(circuit.id)]
    local_times = pd.DatetimeIndex(traffic.index).tz_convert(WARSAW)
    weekday = local_times.day_of_week < 5
    after_midnight = traffic[weekday & (local_times.hour >= 1) & (local_times.hour < 4)]
    rush = traffic[weekday & (local_times.hour == 7)]
    peak = circuit.peak_traffic_vehicles_per_hour
    assert (traffic >= 0).all()
    assert after_midnight.mean() < 0.12 * peak
    assert rush.mean() > 0.7 * peak


def test_profiles_without_a_shape_of_their_own_still_generate(demo: ClusterConfig) -> None:
    point = demo.connection_points[0].model_copy(
        update={"id": "cp-unshaped", "profile": LoadProfile.NONE, "annual_consumption_mwh": 87.66}
    )
    config = demo.model_copy(update={"connection_points": [point], "assets": Assets()})
    load = generate_wide(config, local("2026-05-04"), local("2026-05-11"))[
        SeriesId.load("cp-unshaped")
    ]
    # 87.66 MWh a year is 10 kW on average; a flat profile stays near it.
    assert load.mean() == pytest.approx(10.0, rel=0.15)


# --- billing meters -----------------------------------------------------------------


def _generation_kw(config: ClusterConfig, wide: pd.DataFrame, point_id: str) -> pd.Series:
    """The generation behind a point, kW, computed here from the plants' own series."""
    assets = config.assets
    total = pd.Series(0.0, index=wide.index)
    for plant in assets.pv_plants:
        if plant.connection_point == point_id:
            total += wide[SeriesId.pv(plant.id)]
    for wte in assets.wte_chps:
        if wte.connection_point == point_id:
            total += wide[SeriesId.wte(wte.id)]
    for chp in assets.biogas_chps:
        if chp.connection_point == point_id:
            gas = wide[SeriesId.biogas_inflow(chp.id)]
            total += (gas * chp.electric_efficiency).clip(upper=chp.engine_max_kw)
    return total


def test_meters_balance_the_load_and_generation_of_every_point(
    demo: ClusterConfig, june_fortnight: pd.DataFrame
) -> None:
    wide = june_fortnight
    zero = pd.Series(0.0, index=wide.index)
    exporting = 0
    for cp in demo.connection_points:
        load = wide.get(SeriesId.load(cp.id), zero)
        net_kwh = (load - _generation_kw(demo, wide, cp.id)) * 0.25
        imported = wide[SeriesId.metered_import(cp.id)]
        exported = wide.get(SeriesId.metered_export(cp.id), zero)
        curtailed = wide.get(SeriesId.curtailed(cp.id), zero)
        # Meters count whole Wh: each of the three is within half a Wh of exact.
        np.testing.assert_allclose(imported - exported - curtailed, net_kwh, atol=1.6e-3)
        assert (imported >= 0).all() and (exported >= 0).all() and (curtailed >= 0).all()
        assert ((imported == 0) | (exported == 0)).all(), cp.id  # never both in one step
        assert (exported <= cp.export_limit_kw * 0.25 + 1e-9).all(), cp.id
        np.testing.assert_array_equal(imported, imported.round(3))
        exporting += bool((exported > 0).any())
    # A sunny fortnight: the schools, the PV farm and the WtE plant all feed in.
    assert exporting >= 10


def test_only_points_that_can_export_or_curtail_have_those_meters(demo: ClusterConfig) -> None:
    ids = set(meter_series_ids(demo))
    assert {SeriesId.metered_import(cp.id) for cp in demo.connection_points} <= ids
    for cp in demo.connection_points:
        assert (SeriesId.metered_export(cp.id) in ids) is (cp.export_limit_kw > 0), cp.id
    # Generation able to exceed the limit: pv-p-25's 22.5 kW inverter behind a 22 kW limit.
    curtailing = {sid for sid in ids if sid.endswith("curtailed_kwh")}
    assert curtailing == {SeriesId.curtailed("cp-p-25")}
    assert ids <= set(history_series_ids(demo))


def test_generation_above_the_export_limit_is_curtailed(demo: ClusterConfig) -> None:
    farm = demo.connection_point("cp-pv-farm").model_copy(update={"export_limit_kw": 500.0})
    plant = next(p for p in demo.assets.pv_plants if p.id == "pv-farm")
    config = demo.model_copy(
        update={"connection_points": [farm], "assets": Assets(pv_plants=[plant])}
    )
    wide = generate_wide(config, local("2026-06-15"), local("2026-06-22"))
    exported = wide[SeriesId.metered_export("cp-pv-farm")]
    curtailed = wide[SeriesId.curtailed("cp-pv-farm")]
    surplus_kwh = (wide[SeriesId.pv("pv-farm")] - wide[SeriesId.load("cp-pv-farm")]) * 0.25
    held_back = curtailed > 0
    assert held_back.sum() > 7 * 8  # sunny middays well above 500 kW
    np.testing.assert_allclose(exported[held_back], 500.0 * 0.25)
    np.testing.assert_allclose(curtailed[held_back], surplus_kwh[held_back] - 125.0, atol=1e-3)
    assert (curtailed[surplus_kwh <= 125.0] == 0).all()
