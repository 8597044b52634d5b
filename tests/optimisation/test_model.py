"""Small models whose optimum is worked out by hand, solved by HiGHS."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from cluster.config import Assets, Battery, PVPlant, SupplyBlock, SupplyContract
from cluster.timeseries import SeriesId
from optimisation.errors import NoPlanError
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import (
    AUTUMN_DST_DAY,
    SPRING_DST_DAY,
    demo_inputs,
    flat_tariff,
    hundred_kw_point_inputs,
    one_point_config,
    short_day_inputs,
    wte_plant,
)

STEP_H = 0.25


def test_battery_arbitrage_matches_the_hand_computed_optimum() -> None:
    # One point: load 200 kW, PV 40 kW (never worth curtailing at these prices), a
    # 100 kW / 100 kWh battery with round trip 0.81 (0.9 each way), SoC 10-90 %,
    # starting at 50 kWh. Four quarter-hours: cheap, cheap, dear, dear.
    # Block 20 kW at 300 PLN/MWh; margin 20, sell-back fee 10, distribution 50 PLN/MWh.
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=50.0, capacity_rate_pln_per_kw_month=12.0),
        contracted_capacity_kw=500.0,
        export_limit_kw=0.0,
        contract=SupplyContract(
            blocks=[SupplyBlock(name="base", power_kw=20.0, price_pln_per_mwh=300.0)],
            day_ahead_margin_pln_per_mwh=20.0,
            sell_back_fee_pln_per_mwh=10.0,
        ),
        assets=Assets(
            batteries=[Battery(id="bat", connection_point="cp", power_kw=100.0,
                               energy_kwh=100.0, round_trip_efficiency=0.81,
                               soc_min_pct=10.0, soc_max_pct=90.0, soc_initial_pct=50.0)],
            pv_plants=[PVPlant(id="pv", connection_point="cp", kwp=50.0,
                               inverter_limit_kw=45.0)],
        ),
    )  # fmt: skip
    inputs = short_day_inputs(
        config,
        {SeriesId.load("cp"): [200.0] * 4, SeriesId.pv("pv"): [40.0] * 4},
        price_pln_per_mwh=[100.0, 100.0, 600.0, 600.0],
    )
    # Without the battery the point imports 160 kW = 40 kWh per step:
    #   block       20 kW × 1 h × 300 / 1000                 =  6.00
    #   day-ahead   (40 - 5) kWh × (100 + 20) / 1000 × 2     =  8.40
    #               (40 - 5) kWh × (600 + 20) / 1000 × 2     = 43.40
    #   distribution 160 kWh × 50 / 1000                     =  8.00   → 65.80
    # A kWh drawn costs 0.17 PLN in the cheap steps and saves 0.67 in the dear ones
    # (price + margin + distribution; import never drops below the block, so nothing
    # is sold). Charging costs 0.17 and returns 0.81 × 0.67 = 0.54, so the battery
    # fills to the 90 kWh cap in the cheap steps: +40 kWh stored = 40 / 0.9 = 44.444 kWh
    # drawn; and empties back to the 50 kWh floor of the end-of-day rule in the dear
    # ones: 40 kWh × 0.9 = 36 kWh delivered (at most 100 kW, so ≤ 25 kWh per step: fits).
    with_battery = 65.80 + (40.0 / 0.9) * 0.17 - 36.0 * 0.67
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective_pln == pytest.approx(with_battery, abs=1e-6)

    schedule = extract_schedule(model, inputs, result)
    charge = schedule.asset_series("bat", "charge_kw").to_numpy()
    discharge = schedule.asset_series("bat", "discharge_kw").to_numpy()
    soc = schedule.asset_series("bat", "soc_kwh").to_numpy()
    assert charge[:2].sum() * STEP_H == pytest.approx(40.0 / 0.9)
    assert discharge[2:].sum() * STEP_H == pytest.approx(36.0)
    assert charge[2:].sum() == 0 and discharge[:2].sum() == 0
    assert soc[1] == pytest.approx(90.0) and soc[-1] == pytest.approx(50.0)
    assert schedule.asset_series("pv", "curtailed_kw").abs().max() == 0
    costs = schedule.costs.set_index("component")["cost_pln"]
    assert costs["blocks"] == pytest.approx(6.0)
    assert costs["day_ahead_purchase"] == pytest.approx((70 + 40 / 0.9) * 0.12 + 34 * 0.62)
    assert costs["distribution_energy"] == pytest.approx((160 + 40 / 0.9 - 36) * 0.05)
    assert costs["day_ahead_sale"] == 0 and costs["capacity_overrun"] == 0
    # The fixed capacity charge is reported for the day (500 kW × 12 PLN / 30 days of
    # June) but is no part of the objective.
    assert costs["capacity_fixed_share"] == pytest.approx(200.0)
    assert schedule.total_cost_pln == pytest.approx(with_battery + 200.0)


def _overrun_inputs(with_battery: bool) -> PlanningInputs:
    batteries = [Battery(id="bat", connection_point="cp", power_kw=10.0, energy_kwh=100.0,
                         round_trip_efficiency=0.81, soc_min_pct=0.0, soc_max_pct=100.0,
                         soc_initial_pct=50.0)] if with_battery else []  # fmt: skip
    # Hour 1 has two quarter-hours over the 100 kW contracted capacity: 130 and 150 kW.
    load = [80.0, 80.0, 80.0, 80.0, 130.0, 150.0, 90.0, 90.0]
    return hundred_kw_point_inputs(load, [400.0] * 8, batteries)


def test_overrun_charges_only_the_largest_quarter_hour_of_each_hour() -> None:
    inputs = _overrun_inputs(with_battery=False)
    # The tariff's charge alone: no headroom penalty on top.
    model = build_model(inputs, ModelOptions(capacity_headroom_pct=0.0))
    result = solve(model)
    schedule = extract_schedule(model, inputs, result)
    costs = schedule.costs.set_index("component")["cost_pln"]
    # Hour 1's overruns are 30 and 50 kW; only the 50 counts: 10 × 12 PLN/kW × 50 kW.
    assert costs["capacity_overrun"] == pytest.approx(10 * 12.0 * 50.0)
    # 195 kWh drawn at 400 PLN/MWh day-ahead + 100 PLN/MWh distribution.
    assert result.objective_pln == pytest.approx(6000.0 + 195.0 * 0.5, abs=1e-6)


def test_small_battery_shaves_what_it_can_of_the_hourly_peak() -> None:
    inputs = _overrun_inputs(with_battery=True)
    model = build_model(inputs, ModelOptions(capacity_headroom_pct=0.0))
    result = solve(model)
    schedule = extract_schedule(model, inputs, result)
    costs = schedule.costs.set_index("component")["cost_pln"]
    # 10 kW of discharge in the 150 kW step leaves an hourly peak of 140 kW: 40 kW over.
    assert costs["capacity_overrun"] == pytest.approx(10 * 12.0 * 40.0)
    # The battery delivers 2.5 kWh (10 kW × 0.25 h), its SoC drops 2.5 / 0.9 kWh, and
    # refilling that takes (2.5 / 0.9) / 0.9 kWh: 2.5 / 0.81 - 2.5 kWh lost at 0.5 PLN/kWh.
    losses_kwh = 2.5 / 0.81 - 2.5
    assert result.objective_pln == pytest.approx(4800.0 + (195.0 + losses_kwh) * 0.5, abs=1e-6)
    points = schedule.connection_points
    assert points["import_kw"].iloc[5] == pytest.approx(140.0)


def test_negative_price_curtails_pv_down_to_what_the_point_uses() -> None:
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=40.0, capacity_rate_pln_per_kw_month=10.0),
        contracted_capacity_kw=100.0,
        export_limit_kw=50.0,
        contract=SupplyContract(day_ahead_margin_pln_per_mwh=20.0, sell_back_fee_pln_per_mwh=5.0),
        assets=Assets(pv_plants=[PVPlant(id="pv", connection_point="cp", kwp=100.0,
                                         inverter_limit_kw=90.0)]),
    )  # fmt: skip
    inputs = short_day_inputs(
        config,
        {SeriesId.load("cp"): [30.0] * 4, SeriesId.pv("pv"): [70.0] * 4},
        price_pln_per_mwh=[200.0, 200.0, -50.0, -50.0],
    )
    model = build_model(inputs)
    result = solve(model)
    schedule = extract_schedule(model, inputs, result)
    output = schedule.asset_series("pv", "output_kw").to_numpy()
    # At 200 PLN/MWh the 40 kW surplus is sold (within the 50 kW export limit). At -50
    # a sale costs 50 + 5 = 55 PLN/MWh, and importing instead of using PV would cost
    # -50 + 20 (margin) + 40 (distribution) = +10 PLN/MWh, so PV covers the 30 kW load
    # and no more.
    np.testing.assert_allclose(output, [70.0, 70.0, 30.0, 30.0])
    # Sale: 2 steps × 40 kW × 0.25 h × (200 - 5) / 1000 = 3.9 PLN earned.
    assert result.objective_pln == pytest.approx(-3.9, abs=1e-6)


def test_generation_beyond_load_and_export_limit_is_reported_infeasible() -> None:
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=40.0, capacity_rate_pln_per_kw_month=10.0),
        contracted_capacity_kw=100.0,
        export_limit_kw=200.0,
        contract=SupplyContract(),
        # A 500 kW plant that must burn 48 MWh of waste a day at 25 % efficiency: over
        # 4 of the day's 96 quarter-hours that is 48 × 4/96 = 2 MWh of waste = 500 kWh
        # electric = 500 kW in every step, i.e. must-run.
        assets=Assets(wte_chps=[wte_plant("wte", "cp", max_kw=500.0, min_kw=500.0,
                                          daily_min_waste_mwh=48.0)]),
    )  # fmt: skip
    # 500 kW of must-run generation against 100 kW of load and 200 kW of export.
    inputs = short_day_inputs(
        config, {SeriesId.load("cp"): [100.0] * 4, SeriesId.wte("wte"): [500.0] * 4}, [300.0] * 4
    )
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.INFEASIBLE
    assert not result.has_plan
    assert result.objective_pln is None
    with pytest.raises(NoPlanError, match="infeasible"):
        extract_schedule(model, inputs, result)


@pytest.mark.parametrize(("day", "n_steps", "n_hours"), [(SPRING_DST_DAY, 92, 23),
                                                         (AUTUMN_DST_DAY, 100, 25)])  # fmt: skip
def test_dst_days_plan_every_quarter_hour(day: date, n_steps: int, n_hours: int) -> None:
    inputs = demo_inputs(day)
    model = build_model(inputs)
    assert model.horizon.n_steps == n_steps
    # The repeated 02:00 of the autumn day is two metering hours, each with its own peak.
    assert len(model.horizon.hour_starts) == n_hours
    assert all(len(model.horizon.steps_in_hour(h)) == 4 for h in range(n_hours))
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    schedule = extract_schedule(model, inputs, result)
    assert len(schedule.cluster) == n_steps
    assert len(schedule.connection_points) == n_steps * len(inputs.config.connection_points)
    assert schedule.asset_series("battery-kof", "soc_kwh").size == n_steps
    assert math.isfinite(schedule.total_cost_pln)
