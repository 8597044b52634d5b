"""Connection points that never export: no variables of their own; charges worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cluster.config import Battery
from optimisation.components.costs import CostComponent
from optimisation.errors import OptimisationError
from optimisation.extract import extract_schedule
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import hundred_kw_point_inputs
from tests.optimisation.test_lighting import lighting_inputs

STEP_H = 0.25
#: Overrun price of the scenario's tariff: 10 × 12 PLN/(kW·month), PLN/kW.
OVERRUN_PRICE = 10 * 12.0
DAY_AHEAD_PLN_PER_MWH = 200.0
DISTRIBUTION_PLN_PER_MWH = 100.0
# The first hour peaks at 130 kW, 30 kW over the 100 kW contracted and 40 kW over
# the 90 kW a 10 % headroom leaves; the second hour stays at 60 kW.
LOAD_KW = [80.0, 120.0, 90.0, 130.0, 60.0, 60.0, 60.0, 60.0]


def test_a_point_with_no_asset_is_numbers_and_its_charges_are_the_tariffs() -> None:
    inputs = hundred_kw_point_inputs(LOAD_KW, [DAY_AHEAD_PLN_PER_MWH] * 8, [])
    model = build_model(inputs, ModelOptions(capacity_headroom_pct=10.0))
    point = model.connection_points["cp"]

    assert point.never_exports
    for component in ("point_import_kw", "point_overrun_kw", "bus_balance", "hourly_maxima"):
        assert not hasattr(model.model, component)
    assert point.overrun_kw == (30.0, 0.0)
    assert point.headroom_kw == (40.0, 0.0)

    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    schedule = extract_schedule(model, inputs, result)
    energy_mwh = sum(LOAD_KW) * STEP_H / 1000.0
    costs = schedule.costs.set_index("component")["cost_pln"]
    assert costs[CostComponent.DISTRIBUTION_ENERGY] == pytest.approx(
        energy_mwh * DISTRIBUTION_PLN_PER_MWH
    )
    assert costs[CostComponent.CAPACITY_OVERRUN] == pytest.approx(OVERRUN_PRICE * 30.0)
    assert costs[CostComponent.CAPACITY_HEADROOM] == pytest.approx(OVERRUN_PRICE * 40.0)
    assert result.objective_pln == pytest.approx(
        energy_mwh * (DAY_AHEAD_PLN_PER_MWH + DISTRIBUTION_PLN_PER_MWH)
        + OVERRUN_PRICE * (30.0 + 40.0)
    )
    # What the point draws is its load, and the cluster buys exactly that.
    points = schedule.connection_points
    np.testing.assert_array_equal(points["import_kw"], LOAD_KW)
    np.testing.assert_array_equal(points["export_kw"], 0.0)
    np.testing.assert_allclose(schedule.cluster["net_import_kw"], LOAD_KW)


def test_a_point_with_a_battery_keeps_its_variables() -> None:
    battery = Battery(id="bat", connection_point="cp", power_kw=20.0, energy_kwh=100.0,
                      round_trip_efficiency=0.81, soc_min_pct=10.0, soc_max_pct=90.0,
                      soc_initial_pct=50.0)  # fmt: skip
    model = build_model(hundred_kw_point_inputs(LOAD_KW, [200.0] * 8, [battery]))
    point = model.connection_points["cp"]
    assert not point.never_exports
    # Its import is its own variable of each step.
    assert point.imports.n_entries == 8
    assert all(var.is_variable_type() for var in point.imports.variables)
    assert len(model.model.bus_balance) == 8


def test_a_point_whose_assets_only_draw_imports_their_power_with_no_variable_of_its_own() -> None:
    # A lighting cabinet: 5 kW of other load plus the lamps, which only draw.
    inputs = lighting_inputs(other_load_kw=5.0)
    model = build_model(inputs)
    point = model.connection_points["cp"]
    assert point.never_exports
    assert not hasattr(model.model, "point_import_kw") and not hasattr(model.model, "bus_balance")
    # Its hourly maxima are variables, with a row per step for the overrun and the headroom.
    assert all(var.is_variable_type() for var in point.overrun_kw)
    assert len(model.model.hourly_maxima) == 2 * len(inputs.steps)

    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    schedule = extract_schedule(model, inputs, result)
    lamps = schedule.asset_series("road", "power_kw").to_numpy()
    points = schedule.connection_points
    np.testing.assert_allclose(points["import_kw"], 5.0 + lamps, atol=1e-9)
    np.testing.assert_array_equal(points["export_kw"], 0.0)
    np.testing.assert_allclose(schedule.cluster["net_import_kw"], 5.0 + lamps, atol=1e-9)
    energy_mwh = float((5.0 + lamps).sum()) * STEP_H / 1000.0
    costs = schedule.costs.set_index("component")["cost_pln"]
    assert costs[CostComponent.DISTRIBUTION_ENERGY] == pytest.approx(energy_mwh * 50.0)


def test_a_variable_left_without_a_value_is_named_when_the_plan_is_read() -> None:
    inputs = lighting_inputs(other_load_kw=5.0)
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    # As if the solver had left one lamp binary out of its plan.
    model.lighting_circuits["road"].dim_pct.variables[0].set_value(None)
    with pytest.raises(OptimisationError, match="of road holds no value") as raised:
        extract_schedule(model, inputs, result)
    assert raised.value.fix


def test_a_point_or_zone_variable_left_without_a_value_is_named() -> None:
    battery = Battery(id="bat", connection_point="cp", power_kw=20.0, energy_kwh=100.0,
                      round_trip_efficiency=0.81, soc_min_pct=10.0, soc_max_pct=90.0,
                      soc_initial_pct=50.0)  # fmt: skip
    inputs = hundred_kw_point_inputs(LOAD_KW, [200.0] * 8, [battery])
    model = build_model(inputs)
    result = solve(model)
    model.connection_points["cp"].export_kw[2].set_value(None)
    with pytest.raises(OptimisationError, match="the export at cp holds no value"):
        extract_schedule(model, inputs, result)
