"""A demo-cluster day: every bound and balance checked from the Schedule's frames alone.

Nothing here reads the model: limits come from the configuration, inputs from
the synthetic forecasts, and every balance and cost is recomputed from the
frames.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cluster.config import ClusterConfig
from cluster.schedule import ASSET_COLUMNS, CLUSTER_COLUMNS, CONNECTION_POINT_COLUMNS, Schedule
from cluster.timeseries import SeriesId
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import demo_inputs

TOL = 1e-5
STEP_H = 0.25
#: Headroom planned below every contracted capacity, % of it.
HEADROOM_PCT = 2.0


@pytest.fixture(scope="module")
def day() -> tuple[PlanningInputs, Schedule]:
    # Loads at 1.5 × their annual mean push some points above their contracted
    # capacity, and the midday price dips below zero, so overrun and
    # curtailment both show up.
    inputs = demo_inputs(load_scale=1.5)
    model = build_model(inputs, ModelOptions(capacity_headroom_pct=HEADROOM_PCT))
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    return inputs, extract_schedule(model, inputs, result)


def _asset(schedule: Schedule, asset_id: str, quantity: str) -> np.ndarray:
    return schedule.asset_series(asset_id, quantity).to_numpy()


def _local(config: ClusterConfig, steps: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return steps.tz_convert(config.cluster.zone)


def test_frames_have_the_documented_shape(day: tuple[PlanningInputs, Schedule]) -> None:
    inputs, schedule = day
    n = len(inputs.steps)
    assert tuple(schedule.connection_points.columns) == CONNECTION_POINT_COLUMNS
    assert tuple(schedule.assets.columns) == ASSET_COLUMNS
    assert tuple(schedule.cluster.columns) == CLUSTER_COLUMNS
    assert schedule.cluster.index.equals(inputs.steps)
    assert len(schedule.connection_points) == n * 43
    assert set(schedule.costs["component"]) == {
        "blocks", "day_ahead_purchase", "day_ahead_sale", "distribution_energy",
        "capacity_overrun", "capacity_headroom", "capacity_fixed_share", "wte_start", "gas",
        "heat_dump", "flare", "battery_cycle", "co2", "building_district_heat", "comfort_penalty",
    }  # fmt: skip
    assert schedule.meta["status"] == "optimal"
    numbers = schedule.assets["value"].to_numpy()
    assert np.isfinite(numbers).all()
    assert not ((np.abs(numbers) < 1e-7) & (numbers != 0)).any()


def test_pv_output_lies_between_zero_and_the_forecast(day: tuple[PlanningInputs, Schedule]) -> None:
    inputs, schedule = day
    curtailed_total = 0.0
    for plant in inputs.config.assets.pv_plants:
        forecast = inputs.forecasts[SeriesId.pv(plant.id)].to_numpy()
        output = _asset(schedule, plant.id, "output_kw")
        np.testing.assert_allclose(_asset(schedule, plant.id, "available_kw"), forecast)
        assert (output >= -TOL).all() and (output <= forecast + TOL).all()
        curtailed = _asset(schedule, plant.id, "curtailed_kw")
        np.testing.assert_allclose(curtailed, forecast - output, atol=TOL)
        curtailed_total += curtailed.sum()
    # Selling at a negative price costs money: some PV is curtailed at midday.
    assert curtailed_total > 1.0


def test_battery_respects_power_soc_and_the_end_of_day_rule(
    day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = day
    for battery in inputs.config.assets.batteries:
        charge = _asset(schedule, battery.id, "charge_kw")
        discharge = _asset(schedule, battery.id, "discharge_kw")
        soc = _asset(schedule, battery.id, "soc_kwh")
        assert (charge >= -TOL).all() and (charge <= battery.power_kw + TOL).all()
        assert (discharge >= -TOL).all() and (discharge <= battery.power_kw + TOL).all()
        assert not ((charge > TOL) & (discharge > TOL)).any()
        eta = math.sqrt(battery.round_trip_efficiency)
        initial = battery.energy_kwh * battery.soc_initial_pct / 100
        stored = initial + np.cumsum((eta * charge - discharge / eta) * STEP_H)
        np.testing.assert_allclose(soc, stored, atol=1e-4)
        assert (soc >= battery.energy_kwh * battery.soc_min_pct / 100 - TOL).all()
        assert (soc <= battery.energy_kwh * battery.soc_max_pct / 100 + TOL).all()
        assert soc[-1] >= initial - TOL
        # The day's price spread makes cycling worth it.
        assert charge.sum() > 0 and discharge.sum() > 0


def test_connection_points_balance_and_stay_within_limits(
    day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = day
    config = inputs.config
    frame = schedule.connection_points
    assert (frame["import_kw"] >= -TOL).all() and (frame["export_kw"] >= -TOL).all()
    for cp in config.connection_points:
        rows = frame[frame["connection_point"] == cp.id].set_index("ts")
        assert rows.index.equals(inputs.steps)
        assert (rows["export_kw"] <= cp.export_limit_kw + TOL).all()
        assert (rows["contracted_capacity_kw"] == cp.contracted_capacity_kw).all()
        column = SeriesId.load(cp.id)
        n = len(inputs.steps)
        load = inputs.forecasts[column].to_numpy() if column in inputs.forecasts else np.zeros(n)
        generation = np.zeros(n)
        battery_net = np.zeros(n)
        # Planned demands (heating, street lamps) replace what the forecast held of them.
        planned = np.zeros(n)
        held = np.zeros(n)
        for asset in config.assets_at(cp.id):
            kinds = set(schedule.assets.loc[schedule.assets["asset"] == asset.id, "quantity"])
            if "in_load_forecast_kw" in kinds:
                held += _asset(schedule, asset.id, "in_load_forecast_kw")
                demand = "electric_kw" if "electric_kw" in kinds else "power_kw"
                planned += _asset(schedule, asset.id, demand)
            if "soc_kwh" in kinds:
                battery_net += _asset(schedule, asset.id, "discharge_kw")
                battery_net -= _asset(schedule, asset.id, "charge_kw")
            elif "output_kw" in kinds:
                generation += _asset(schedule, asset.id, "output_kw")
        np.testing.assert_allclose(rows["load_kw"], load - np.minimum(load, held) + planned,
                                   atol=TOL)  # fmt: skip
        np.testing.assert_allclose(rows["generation_kw"], generation, atol=TOL)
        np.testing.assert_allclose(rows["battery_net_kw"], battery_net, atol=TOL)
        np.testing.assert_allclose(
            rows["load_kw"] - rows["generation_kw"] - rows["battery_net_kw"],
            rows["import_kw"] - rows["export_kw"],
            atol=1e-4,
        )


def _block_kw(config: ClusterConfig, steps: pd.DatetimeIndex) -> np.ndarray:
    # The demo contract: a 1500 kW base block all day and an 800 kW peak block on
    # working days 07:00-22:00 local; the planned day is a working Wednesday.
    hours = _local(config, steps).hour
    return 1500.0 + 800.0 * ((hours >= 7) & (hours < 22))


def test_cluster_balances_with_blocks_and_day_ahead_trades(
    day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = day
    cluster = schedule.cluster
    points = schedule.connection_points
    net = (points["import_kw"] - points["export_kw"]).groupby(points["ts"]).sum()
    np.testing.assert_allclose(cluster["net_import_kw"], net.reindex(cluster.index), atol=1e-4)
    np.testing.assert_allclose(cluster["block_kw"], _block_kw(inputs.config, inputs.steps))
    np.testing.assert_allclose(
        cluster["net_import_kw"],
        cluster["block_kw"] + cluster["day_ahead_buy_kw"] - cluster["day_ahead_sell_kw"],
        atol=1e-4,
    )
    np.testing.assert_allclose(cluster["price_pln_per_mwh"], inputs.day_ahead_price_pln_per_mwh)
    assert (cluster["day_ahead_buy_kw"] >= -TOL).all()
    assert (cluster["day_ahead_sell_kw"] >= -TOL).all()
    # Never buy and sell in the same step: it would lose margin plus fee.
    assert not ((cluster["day_ahead_buy_kw"] > TOL) & (cluster["day_ahead_sell_kw"] > TOL)).any()


def test_costs_recomputed_from_the_frames_match_the_reported_ones(
    day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = day
    config = inputs.config
    contract = config.supply_contract
    cluster = schedule.cluster
    price = cluster["price_pln_per_mwh"]
    mwh = STEP_H / 1000.0
    base, peak = contract.blocks
    peak_kw = cluster["block_kw"] - base.power_kw
    expected = {
        "blocks": mwh * (base.power_kw * base.price_pln_per_mwh * len(cluster)
                         + peak.price_pln_per_mwh * peak_kw.sum()),
        "day_ahead_purchase": mwh * (cluster["day_ahead_buy_kw"]
                                     * (price + contract.day_ahead_margin_pln_per_mwh)).sum(),
        "day_ahead_sale": -mwh * (cluster["day_ahead_sell_kw"]
                                  * (price - contract.sell_back_fee_pln_per_mwh)).sum(),
    }  # fmt: skip
    local = _local(config, inputs.steps)
    points = schedule.connection_points
    distribution = overrun = headroom = fixed = 0.0
    for cp in config.connection_points:
        tariff = config.tariff_of(cp)
        rows = points[points["connection_point"] == cp.id]
        # The planned day is a working day in June.
        rate = [next(z.rate_pln_per_mwh for z in tariff.zones if z.applies(6, True, ts.hour))
                for ts in local]  # fmt: skip
        distribution += mwh * float((rows["import_kw"].to_numpy() * np.asarray(rate)).sum())
        hourly_peak = rows.groupby(rows["ts"].dt.floor("h"))["import_kw"].max()
        over = (hourly_peak - cp.contracted_capacity_kw).clip(lower=0).sum()
        overrun += tariff.overrun_multiplier * tariff.capacity_rate_pln_per_kw_month * over
        # The headroom's penalty: every kW of the hourly peak above the capacity less
        # the headroom, at the overrun price (so an overrun counts in both rows).
        below = cp.contracted_capacity_kw * (1 - HEADROOM_PCT / 100)
        into = (hourly_peak - below).clip(lower=0).sum()
        headroom += tariff.overrun_multiplier * tariff.capacity_rate_pln_per_kw_month * into
        fixed += cp.contracted_capacity_kw * tariff.capacity_rate_pln_per_kw_month / 30
    expected |= {"distribution_energy": distribution, "capacity_overrun": overrun,
                 "capacity_headroom": headroom, "capacity_fixed_share": fixed}  # fmt: skip
    reported = schedule.costs.set_index("component")["cost_pln"]
    for component, value in expected.items():
        assert reported[component] == pytest.approx(value, rel=1e-6, abs=1e-3), component
    assert overrun > 0, "the day should have an overrun the battery cannot shave"
    assert headroom > overrun
    objective = schedule.meta["objective_pln"]
    assert objective == pytest.approx(schedule.total_cost_pln - fixed, rel=1e-9, abs=1e-6)


def test_schedule_round_trips_through_its_files(
    day: tuple[PlanningInputs, Schedule], tmp_path: Path
) -> None:
    _, schedule = day
    schedule.write(tmp_path)
    back = Schedule.read(tmp_path)
    for name in ("connection_points", "assets", "costs"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(schedule, name))
    pd.testing.assert_frame_equal(back.cluster, schedule.cluster, check_freq=False)
    assert back.meta == schedule.meta
