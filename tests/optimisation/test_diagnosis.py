"""Infeasible days explained: the elastic re-solve names the planted conflict."""

from __future__ import annotations

import numpy as np
import pytest

from cluster.config import Assets, DistrictHeating, SupplyContract, WasteToEnergyCHP
from cluster.timeseries import SeriesId
from optimisation.diagnosis import diagnose, flagged_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import flat_tariff, one_point_config, short_day_inputs, wte_plant


def _must_run_day() -> PlanningInputs:
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=40.0, capacity_rate_pln_per_kw_month=10.0),
        contracted_capacity_kw=100.0,
        export_limit_kw=200.0,
        contract=SupplyContract(),
        # 48 MWh of waste a day at 25 %: over 4 of 96 quarter-hours that is 2 MWh of
        # waste = 500 kWh electric, i.e. 500 kW in every step (the plant's minimum, too).
        assets=Assets(wte_chps=[wte_plant("wte", "cp", max_kw=500.0, min_kw=500.0,
                                          daily_min_waste_mwh=48.0)]),
    )  # fmt: skip
    # Load in the steps: 100, 100, 150, 100 kW. Export needed: 400, 400, 350, 400 kW.
    inputs = short_day_inputs(
        config,
        {SeriesId.load("cp"): [100.0, 100.0, 150.0, 100.0], SeriesId.wte("wte"): [500.0] * 4},
        [300.0] * 4,
    )
    return inputs


def test_export_conflict_is_named_with_asset_steps_and_amount() -> None:
    inputs = _must_run_day()
    assert solve(build_model(inputs)).status is SolveStatus.INFEASIBLE

    diagnosis = diagnose(inputs)

    assert diagnosis.result.has_plan
    # Exporting beyond the limit costs 250 kWh of slack over the hour; burning less
    # would leave 0.8-2 MWh of waste (800-2000 kWh) unburned, so the export limit gives.
    assert [(s.group, s.asset) for s in diagnosis.slacks] == [("export limit", "cp")]
    slack = diagnosis.slacks[0]
    assert slack.positions == (0, 1, 2, 3)
    # 500 kW generation - 100 kW load - 200 kW limit = 200 kW over in steps 0, 1, 3.
    assert slack.max_amount == pytest.approx(200.0, abs=1e-3)
    assert slack.total_amount == pytest.approx(200 + 200 + 150 + 200, abs=1e-3)
    assert "export limit of cp exceeded by up to 200 kW in 00:00–01:00" in slack.message
    assert "(wte)" in slack.message

    schedule = flagged_schedule(diagnosis, inputs)
    assert schedule.meta["infeasible"] is True
    assert schedule.meta["infeasibility"] == [slack.message]
    export = schedule.connection_points["export_kw"].to_numpy()
    np.testing.assert_allclose(export, [400.0, 400.0, 350.0, 400.0], atol=1e-4)


def test_heat_with_nowhere_to_go_is_named_as_surplus_heat_of_the_network() -> None:
    # A 200 kW plant with twice that in heat must run in all four steps (19.2 MWh of
    # waste a day × 4/96 × 25 % = 200 kWh electric). Demand 300, 300, 500, 500 kW of
    # heat with neither store nor cooler: 100 kW of heat has nowhere to go in steps 0-1.
    plant = WasteToEnergyCHP(
        id="wte", connection_point="cp", electric_min_kw=200.0, electric_max_kw=200.0,
        ramp_kw_per_hour=1600.0, start_cost_pln=0.0, heat_to_power_ratio=2.0,
        electric_efficiency=0.25, daily_min_waste_mwh=19.2, initially_on=True,
        initial_output_kw=200.0, district_heating="dh",
    )  # fmt: skip
    network = DistrictHeating(
        id="dh", connection_point="cp", annual_heat_demand_mwh=4000.0,
        gas_boiler_max_kw=1000.0, gas_boiler_efficiency=0.9, gas_price_pln_per_mwh=180.0,
        heat_store_kwh=0.0, heat_store_loss_pct_per_hour=10.0, heat_store_initial_pct=0.0,
        emergency_cooler_kw=0.0, heat_dump_penalty_pln_per_mwh=5.0,
    )  # fmt: skip
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=0.0, capacity_rate_pln_per_kw_month=0.0),
        contracted_capacity_kw=100_000.0,
        export_limit_kw=100_000.0,
        contract=SupplyContract(),
        assets=Assets(wte_chps=[plant], district_heating=[network]),
    )
    series = {
        SeriesId.wte("wte"): [200.0] * 4,
        SeriesId.heat_demand("dh"): [300.0, 300.0, 500.0, 500.0],
    }
    inputs = short_day_inputs(config, series, [0.0] * 4)
    assert solve(build_model(inputs)).status is SolveStatus.INFEASIBLE

    diagnosis = diagnose(inputs)

    # Placing 100 kW of heat for half an hour costs 50 kWh of slack; turning the plant
    # down instead would leave 0.4 MWh of waste unburned, so the heat balance gives.
    assert [(s.group, s.asset) for s in diagnosis.slacks] == [("surplus heat", "dh")]
    slack = diagnosis.slacks[0]
    assert slack.positions == (0, 1)
    assert slack.max_amount == pytest.approx(100.0, abs=1e-3)
    assert "00:00–00:30" in slack.message
    assert flagged_schedule(diagnosis, inputs).meta["infeasible"] is True
