"""The plants, each alone in a tiny day whose optimum is worked out by hand, solved by HiGHS.

Every case has one connection point with no distribution charge, no capacity
charge and no trading margin, so a kWh sold or bought in a step is worth
exactly that step's day-ahead price; the arithmetic is in the comments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from cluster.config import (
    Assets,
    Battery,
    BiogasCHP,
    ClusterConfig,
    DistrictHeating,
    SupplyContract,
    WasteToEnergyCHP,
)
from cluster.schedule import Schedule
from cluster.timeseries import SeriesId
from optimisation.components.emissions import NATURAL_GAS_KG_PER_MWH, Co2Pricing
from optimisation.components.wte import WteState
from optimisation.errors import PlanningInputError
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveResult, SolveStatus, solve
from tests.optimisation.scenarios import (
    demo_inputs,
    flat_tariff,
    one_point_config,
    short_day_inputs,
)

STEP_H = 0.25
TOL = 1e-6


def _config(assets: Assets) -> ClusterConfig:
    return one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=0.0, capacity_rate_pln_per_kw_month=0.0),
        contracted_capacity_kw=100_000.0,
        export_limit_kw=100_000.0,
        contract=SupplyContract(),
        assets=assets,
    )


def _plant(**fields: float | bool | str | None) -> WasteToEnergyCHP:
    """A 100-400 kW plant at 25 % efficiency, free to start, without heat or minimum."""
    settings: dict[str, float | bool | str | None] = {
        "electric_min_kw": 100.0, "electric_max_kw": 400.0, "ramp_kw_per_hour": 1600.0,
        "start_cost_pln": 0.0, "heat_to_power_ratio": 0.0, "electric_efficiency": 0.25,
        "daily_min_waste_mwh": 0.0, "initially_on": False,
    }  # fmt: skip
    settings.update(fields)
    return WasteToEnergyCHP(id="wte", connection_point="cp", **settings)


def _solve(
    assets: Assets,
    series: Mapping[str, Sequence[float]],
    price_pln_per_mwh: Sequence[float],
    options: ModelOptions | None = None,
) -> tuple[PlanningInputs, SolveResult, Schedule]:
    inputs = short_day_inputs(_config(assets), series, price_pln_per_mwh)
    model = build_model(inputs, options)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    return inputs, result, extract_schedule(model, inputs, result)


def _asset(schedule: Schedule, asset_id: str, quantity: str) -> np.ndarray:
    return schedule.asset_series(asset_id, quantity).to_numpy()


def _cost(schedule: Schedule, component: str) -> float:
    return float(schedule.costs.set_index("component")["cost_pln"][component])


# --- waste-to-energy -----------------------------------------------------------------------

NEGATIVE_PRICES = [-100.0, -100.0, -10.0, -10.0, -40.0, -40.0, -100.0, -100.0]


@pytest.mark.parametrize(("daily_min_waste_mwh", "expected_pln"), [(0.0, 0.0), (7.2, 1.5)])
def test_must_burn_minimum_forces_output_into_the_least_bad_hours(
    daily_min_waste_mwh: float, expected_pln: float
) -> None:
    # Every price is negative, so without a minimum the plant stays off (cost 0).
    # A minimum of 7.2 MWh of waste a day asks, over 8 of the day's 96 steps,
    # 7.2 × 8/96 = 0.6 MWh of waste = 0.6 × 0.25 = 150 kWh electric. The least bad
    # steps are the two at -10 PLN/MWh, which take up to 2 × 400 kW × 0.25 h = 200 kWh:
    # 150 kWh there costs 0.150 MWh × 10 PLN/MWh = 1.5 PLN.
    assets = Assets(wte_chps=[_plant(daily_min_waste_mwh=daily_min_waste_mwh)])
    _, result, schedule = _solve(assets, {SeriesId.wte("wte"): [400.0] * 8}, NEGATIVE_PRICES)
    assert result.objective_pln == pytest.approx(expected_pln, abs=TOL)
    output = _asset(schedule, "wte", "output_kw")
    assert output.sum() * STEP_H == pytest.approx(150.0 if daily_min_waste_mwh else 0.0)
    assert output[[0, 1, 4, 5, 6, 7]].max() == 0
    on = _asset(schedule, "wte", "on")
    assert ((output >= 100.0 * on - TOL) & (output <= 400.0 * on + TOL)).all()


def test_an_outage_all_day_lifts_the_minimum() -> None:
    # The same must-burn plant with a forecast of 0 in every step is unavailable all
    # day: the minimum does not apply, so the plan is to leave it off at no cost.
    assets = Assets(wte_chps=[_plant(daily_min_waste_mwh=7.2)])
    _, result, schedule = _solve(assets, {SeriesId.wte("wte"): [0.0] * 8}, NEGATIVE_PRICES)
    assert result.objective_pln == pytest.approx(0.0, abs=TOL)
    assert _asset(schedule, "wte", "on").max() == 0


DIP_PRICES = [200.0, 200.0, -100.0, -100.0, -100.0, -100.0, 200.0, 200.0]


@pytest.mark.parametrize(
    ("start_cost_pln", "stays_on", "expected_pln"), [(25.0, True, -70.0), (4.0, False, -76.0)]
)
def test_start_cost_decides_whether_the_plant_rides_through_a_price_dip(
    start_cost_pln: float, stays_on: bool, expected_pln: float
) -> None:
    # Running at 400 kW before and after a one-hour dip to -100 PLN/MWh. The four
    # steps at 200 earn 4 × 400 kW × 0.25 h × 0.2 PLN/kWh = 80 PLN in any case.
    # Riding through at the 100 kW minimum sells 4 × 100 × 0.25 = 100 kWh at -100:
    # 10 PLN lost. Stopping (400 kW may stop at once: the ramp is 400 kW a step)
    # costs one start: stop when the start costs less than 10 PLN.
    #   start cost 25: -80 + 10 = -70;  start cost 4: -80 + 4 = -76.
    assets = Assets(wte_chps=[_plant(start_cost_pln=start_cost_pln)])
    options = ModelOptions(wte_initial={"wte": WteState(on=True, output_kw=400.0)})
    _, result, schedule = _solve(assets, {SeriesId.wte("wte"): [400.0] * 8}, DIP_PRICES, options)
    assert result.objective_pln == pytest.approx(expected_pln, abs=TOL)
    on = _asset(schedule, "wte", "on")
    output = _asset(schedule, "wte", "output_kw")
    np.testing.assert_allclose(output[[0, 1, 6, 7]], 400.0)
    if stays_on:
        np.testing.assert_allclose(on, 1.0)
        np.testing.assert_allclose(output[2:6], 100.0)
        assert _cost(schedule, "wte_start") == 0
    else:
        np.testing.assert_allclose(on, [1, 1, 0, 0, 0, 0, 1, 1])
        np.testing.assert_allclose(_asset(schedule, "wte", "start"), [0, 0, 0, 0, 0, 0, 1, 0])
        assert _cost(schedule, "wte_start") == pytest.approx(4.0)


def test_ramp_limit_slows_the_rise_to_full_output() -> None:
    # Running at 100 kW before the first step, ramping 400 kW/h = 100 kW a step; every
    # step pays 300 PLN/MWh, so it climbs as fast as it may: 200, 300, 400, 400 kW.
    # Stopping to restart does not help: a start is limited to max(100, 100) = 100 kW.
    # Revenue: (200 + 300 + 400 + 400) kW × 0.25 h × 0.3 PLN/kWh = 97.5 PLN.
    assets = Assets(
        wte_chps=[_plant(ramp_kw_per_hour=400.0, initially_on=True, initial_output_kw=100.0)]
    )
    _, result, schedule = _solve(assets, {SeriesId.wte("wte"): [400.0] * 4}, [300.0] * 4)
    assert result.objective_pln == pytest.approx(-97.5, abs=TOL)
    np.testing.assert_allclose(_asset(schedule, "wte", "output_kw"), [200, 300, 400, 400])


# --- district heat ----------------------------------------------------------------------


def _network(heat_store_kwh: float) -> DistrictHeating:
    # Boiler heat costs 180 PLN/MWh of gas / 0.9 = 200 PLN/MWh of heat.
    return DistrictHeating(
        id="dh", connection_point="cp", annual_heat_demand_mwh=4000.0,
        gas_boiler_max_kw=1000.0, gas_boiler_efficiency=0.9, gas_price_pln_per_mwh=180.0,
        heat_store_kwh=heat_store_kwh, heat_store_loss_pct_per_hour=10.0,
        heat_store_initial_pct=0.0, emergency_cooler_kw=1000.0,
        heat_dump_penalty_pln_per_mwh=5.0,
    )  # fmt: skip


@pytest.mark.parametrize(("heat_store_kwh", "expected_pln"), [(0.0, 10.25), (100.0, 0.487578125)])
def test_heat_store_shifts_spare_plant_heat_into_the_boiler_hours(
    heat_store_kwh: float, expected_pln: float
) -> None:
    # A 200 kW plant (heat 2 × 200 = 400 kW) must run in all four steps: 19.2 MWh of
    # waste a day × 4/96 = 0.8 MWh, × 0.25 = 200 kWh = 200 kW × 1 h.
    # Demand 300, 300, 500, 500 kW: 100 kW spare, then 100 kW short.
    # Electricity is worth 0 here, so only heat costs count.
    # Without a store: dump 2 × 25 kWh (50 kWh × 5 PLN/MWh = 0.25 PLN) and boil
    # 2 × 25 kWh (50 kWh × 0.2 PLN/kWh = 10 PLN): 10.25 PLN.
    # With a 100 kWh store losing 10 %/h (× 0.975 a step), starting empty:
    #   e0 = 25, e1 = 25 × 0.975 + 25 = 49.375; discharge 100 kW in step 2:
    #   e2 = 49.375 × 0.975 - 25 = 23.140625; step 3 empties it: e3 = 0 gives
    #   23.140625 × 0.975 = 22.562109375 kWh delivered, the boiler the other
    #   25 - 22.562109375 = 2.437890625 kWh: × 0.2 PLN/kWh = 0.487578125 PLN.
    plant = _plant(electric_min_kw=200.0, electric_max_kw=200.0, heat_to_power_ratio=2.0,
                   daily_min_waste_mwh=19.2, initially_on=True, district_heating="dh")  # fmt: skip
    assets = Assets(wte_chps=[plant], district_heating=[_network(heat_store_kwh)])
    series = {
        SeriesId.wte("wte"): [200.0] * 4,
        SeriesId.heat_demand("dh"): [300.0, 300.0, 500.0, 500.0],
    }
    _, result, schedule = _solve(assets, series, [0.0] * 4)
    assert result.objective_pln == pytest.approx(expected_pln, abs=TOL)
    boiler = _asset(schedule, "dh", "boiler_kw")
    level = _asset(schedule, "dh", "store_level_kwh")
    dump = _asset(schedule, "dh", "dump_kw")
    if heat_store_kwh:
        np.testing.assert_allclose(level, [25.0, 49.375, 23.140625, 0.0], atol=TOL)
        np.testing.assert_allclose(boiler, [0, 0, 0, 2.437890625 / STEP_H], atol=TOL)
        assert dump.max() == 0
    else:
        np.testing.assert_allclose(boiler, [0, 0, 100, 100], atol=TOL)
        np.testing.assert_allclose(dump, [100, 100, 0, 0], atol=TOL)
    gas_cost = _asset(schedule, "dh", "gas_cost")
    np.testing.assert_allclose(gas_cost, boiler * STEP_H / 0.9 * 180.0 / 1000.0, atol=TOL)
    assert _cost(schedule, "gas") == pytest.approx(gas_cost.sum(), abs=TOL)


def test_plant_heat_with_nowhere_to_go_makes_the_day_infeasible() -> None:
    # The same day with neither store nor cooler: the spare 100 kW of steps 0 and 1
    # has nowhere to go, and no slack hides it.
    plant = _plant(electric_min_kw=200.0, electric_max_kw=200.0, heat_to_power_ratio=2.0,
                   daily_min_waste_mwh=19.2, initially_on=True, district_heating="dh")  # fmt: skip
    network = _network(0.0).model_copy(update={"emergency_cooler_kw": 0.0})
    series = {
        SeriesId.wte("wte"): [200.0] * 4,
        SeriesId.heat_demand("dh"): [300.0, 300.0, 500.0, 500.0],
    }
    inputs = short_day_inputs(
        _config(Assets(wte_chps=[plant], district_heating=[network])), series, [0.0] * 4
    )
    # Over the day the must-burn heat (0.8 MWh × 0.25 × 2 = 0.4 MWh) equals the demand
    # (0.4 MWh), so the pre-build check passes; the solve finds the conflict per step.
    model = build_model(inputs)
    assert solve(model).status is SolveStatus.INFEASIBLE


# --- biogas ---------------------------------------------------------------------------


def _engine() -> BiogasCHP:
    # 50-100 kW electric at 50 %: 100-200 kW of gas when running; a 50 kWh holder, empty.
    return BiogasCHP(
        id="bio", connection_point="cp", engine_min_kw=50.0, engine_max_kw=100.0,
        electric_efficiency=0.5, gas_holder_kwh=50.0, gas_holder_initial_pct=0.0,
        flare_penalty_pln_per_mwh=10.0,
    )  # fmt: skip


def test_gas_holder_shifts_the_engine_into_the_dear_hours() -> None:
    # 100 kW of gas flows in (25 kWh a step, 100 kWh in all). Burning it as it comes
    # gives 50 kW all along: 12.5 kWh × (50 + 50 + 400 + 400) / 1000 = 11.25 PLN.
    # Holding the first two steps' 50 kWh (the holder's size) and burning 200 kW of
    # gas in the two dear steps gives 2 × 100 kW × 0.25 h × 0.4 PLN/kWh = 20 PLN.
    assets = Assets(biogas_chps=[_engine()])
    series = {SeriesId.biogas_inflow("bio"): [100.0] * 4}
    _, result, schedule = _solve(assets, series, [50.0, 50.0, 400.0, 400.0])
    assert result.objective_pln == pytest.approx(-20.0, abs=TOL)
    np.testing.assert_allclose(_asset(schedule, "bio", "output_kw"), [0, 0, 100, 100], atol=TOL)
    np.testing.assert_allclose(_asset(schedule, "bio", "holder_kwh"), [25, 50, 25, 0], atol=TOL)
    assert _asset(schedule, "bio", "flare_kw").max() == 0


def test_flare_burns_only_gas_the_full_holder_cannot_take() -> None:
    # 300 kW of gas flows in (75 kWh a step); the engine at full output burns 200 kW
    # (50 kWh a step), worth 400 PLN/MWh electric in every step, so it never stops.
    # 25 kWh a step is left over: the holder takes it in steps 0 and 1 (25, 50 kWh:
    # full), and only then may the flare burn it: 25 kWh = 100 kW in steps 2 and 3.
    # Revenue 4 × 100 kW × 0.25 h × 0.4 = 40 PLN; flare 50 kWh × 10 PLN/MWh = 0.5 PLN.
    assets = Assets(biogas_chps=[_engine()])
    series = {SeriesId.biogas_inflow("bio"): [300.0] * 4}
    _, result, schedule = _solve(assets, series, [400.0] * 4)
    assert result.objective_pln == pytest.approx(-39.5, abs=TOL)
    np.testing.assert_allclose(_asset(schedule, "bio", "flare_kw"), [0, 0, 100, 100], atol=TOL)
    np.testing.assert_allclose(_asset(schedule, "bio", "holder_kwh"), [25, 50, 50, 50], atol=TOL)
    assert _cost(schedule, "flare") == pytest.approx(0.5)


# --- batteries and CO2 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cycle_cost_pln_per_mwh", "expected_pln"), [(0.0, -3.1), (70.0, -0.265), (80.0, 0.0)]
)
def test_cycle_cost_stops_a_marginal_arbitrage(
    cycle_cost_pln_per_mwh: float, expected_pln: float
) -> None:
    # 100 kW / 100 kWh, 0.9 each way, at 50 kWh. Cheap steps at 100 PLN/MWh draw
    # 2 × 25 kWh (the power limit), storing 45 kWh; the dear steps at 200 give back
    # 45 × 0.9 = 40.5 kWh. Profit 40.5 × 0.2 - 50 × 0.1 = 3.1 PLN, i.e.
    # 3.1 / 0.0405 = 76.54 PLN per MWh discharged: a cycle cost of 70 leaves
    # 3.1 - 40.5 × 0.07 = 0.265 PLN; at 80 the battery stays idle.
    battery = Battery(
        id="bat", connection_point="cp", power_kw=100.0, energy_kwh=100.0,
        round_trip_efficiency=0.81, soc_min_pct=0.0, soc_max_pct=100.0, soc_initial_pct=50.0,
        cycle_cost_pln_per_mwh=cycle_cost_pln_per_mwh,
    )  # fmt: skip
    _, result, schedule = _solve(Assets(batteries=[battery]), {}, [100.0, 100.0, 200.0, 200.0])
    assert result.objective_pln == pytest.approx(expected_pln, abs=TOL)
    discharged_kwh = _asset(schedule, "bat", "discharge_kw").sum() * STEP_H
    assert discharged_kwh == pytest.approx(0.0 if cycle_cost_pln_per_mwh > 76.54 else 40.5)
    assert _cost(schedule, "battery_cycle") == pytest.approx(
        discharged_kwh / 1000 * cycle_cost_pln_per_mwh
    )


def test_co2_is_priced_on_the_grid_draw_and_the_boiler_gas() -> None:
    # 100 kW of load and 90 kW of heat from a boiler at 90 % over four steps, at a
    # power and gas price of 0: the grid draw is 100 kWh = 0.1 MWh and the gas
    # 0.1 MWh. At 500 kg/MWh for the grid and the default factor for gas:
    # (0.1 × 500 + 0.1 × 201.96) kg / 1000 = 0.070196 t, × 100 PLN/t = 7.0196 PLN.
    network = _network(0.0).model_copy(update={"gas_price_pln_per_mwh": 0.0})
    series = {SeriesId.load("cp"): [100.0] * 4, SeriesId.heat_demand("dh"): [90.0] * 4}
    co2 = Co2Pricing(price_pln_per_t=100.0, grid_import_kg_per_mwh=500.0)
    _, result, schedule = _solve(
        Assets(district_heating=[network]), series, [0.0] * 4, ModelOptions(co2=co2)
    )
    tonnes = (0.1 * 500.0 + 0.1 * NATURAL_GAS_KG_PER_MWH) / 1000.0
    assert result.objective_pln == pytest.approx(100.0 * tonnes, abs=TOL)
    assert _cost(schedule, "co2") == pytest.approx(100.0 * tonnes)
    assert schedule.meta["co2_t"] == pytest.approx(tonnes)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_co2_pricing_refuses_numbers_that_are_not_a_price(bad: float) -> None:
    with pytest.raises(PlanningInputError, match="price_pln_per_t"):
        Co2Pricing(price_pln_per_t=bad, grid_import_kg_per_mwh=500.0)


# --- the demo day ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_day() -> tuple[PlanningInputs, Schedule]:
    inputs = demo_inputs()
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    return inputs, extract_schedule(model, inputs, result)


def test_demo_day_waste_to_energy_keeps_its_limits(
    demo_day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = demo_day
    (chp,) = inputs.config.assets.wte_chps
    on = _asset(schedule, chp.id, "on")
    output = _asset(schedule, chp.id, "output_kw")
    start = _asset(schedule, chp.id, "start")
    assert set(np.unique(on)) <= {0.0, 1.0}
    assert (output >= chp.electric_min_kw * on - TOL).all()
    assert (output <= chp.electric_max_kw * on + TOL).all()
    np.testing.assert_allclose(
        _asset(schedule, chp.id, "heat_kw"), chp.heat_to_power_ratio * output, atol=1e-4
    )
    running_on = on[1:] * on[:-1] > 0
    assert (np.abs(np.diff(output))[running_on] <= chp.ramp_kw_per_hour * STEP_H + 1e-4).all()
    before = np.concatenate([[1.0 if chp.initially_on else 0.0], on[:-1]])
    np.testing.assert_allclose(start, np.maximum(0.0, on - before))
    # The planned day is a whole 96-step day: the whole daily minimum must burn.
    waste_mwh = output.sum() * STEP_H / 1000.0 / chp.electric_efficiency
    assert waste_mwh >= chp.daily_min_waste_mwh - 1e-6
    assert _cost(schedule, "wte_start") == pytest.approx(chp.start_cost_pln * start.sum())


def test_demo_day_heat_network_balances_in_every_step(
    demo_day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = demo_day
    (network,) = inputs.config.assets.district_heating
    (chp,) = inputs.config.assets.wte_chps
    demand = inputs.forecasts[SeriesId.heat_demand(network.id)].to_numpy()
    boiler = _asset(schedule, network.id, "boiler_kw")
    dump = _asset(schedule, network.id, "dump_kw")
    level = _asset(schedule, network.id, "store_level_kwh")
    initial = network.heat_store_kwh * network.heat_store_initial_pct / 100.0
    keep = 1.0 - network.heat_store_loss_pct_per_hour / 100.0 * STEP_H
    into_store = (level - np.concatenate([[initial], level[:-1]]) * keep) / STEP_H
    heat = _asset(schedule, chp.id, "heat_kw")
    np.testing.assert_allclose(heat + boiler - into_store - dump, demand, atol=1e-3)
    assert (level >= -TOL).all() and (level <= network.heat_store_kwh + TOL).all()
    assert level[-1] >= initial - TOL
    assert (boiler <= network.gas_boiler_max_kw + TOL).all()
    assert (dump >= -TOL).all() and (dump <= network.emergency_cooler_kw + TOL).all()
    # June: the must-burn heat exceeds the demand, so the cooler runs.
    assert dump.sum() > 0
    gas_pln = boiler * STEP_H / network.gas_boiler_efficiency * network.gas_price_pln_per_mwh
    assert _cost(schedule, "gas") == pytest.approx(gas_pln.sum() / 1000.0, abs=1e-6)
    dump_pln = dump.sum() * STEP_H / 1000.0 * network.heat_dump_penalty_pln_per_mwh
    assert _cost(schedule, "heat_dump") == pytest.approx(dump_pln, rel=1e-9, abs=1e-6)


def test_demo_day_gas_holder_balances_and_flares_only_when_full(
    demo_day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = demo_day
    (engine,) = inputs.config.assets.biogas_chps
    inflow = inputs.forecasts[SeriesId.biogas_inflow(engine.id)].to_numpy()
    output = _asset(schedule, engine.id, "output_kw")
    holder = _asset(schedule, engine.id, "holder_kwh")
    flare = _asset(schedule, engine.id, "flare_kw")
    initial = engine.gas_holder_kwh * engine.gas_holder_initial_pct / 100.0
    expected = initial + np.cumsum((inflow - output / engine.electric_efficiency - flare) * STEP_H)
    np.testing.assert_allclose(holder, expected, atol=1e-3)
    assert (holder >= -TOL).all() and (holder <= engine.gas_holder_kwh + TOL).all()
    assert holder[-1] >= initial - TOL
    running = output > TOL
    assert (output[running] >= engine.engine_min_kw - TOL).all()
    assert (output <= engine.engine_max_kw + TOL).all()
    assert (holder[flare > TOL] >= engine.gas_holder_kwh - 1e-4).all()
