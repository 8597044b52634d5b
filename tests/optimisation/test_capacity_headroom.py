"""The capacity headroom: a declared penalty below the contracted capacity, worked out by hand."""

from __future__ import annotations

import pytest

from cluster.config import Battery
from optimisation.components.costs import CostComponent
from optimisation.errors import PlanningInputError
from optimisation.evaluation.realised import money_cost_pln
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import hundred_kw_point_inputs

STEP_H = 0.25
#: Overrun price of the flat tariff below: 10 × 12 PLN/(kW·month), PLN/kW.
OVERRUN_PRICE = 10 * 12.0


def _inputs(load_kw: list[float], price_pln_per_mwh: list[float], *, battery: bool
            ) -> PlanningInputs:  # fmt: skip
    batteries = [Battery(id="bat", connection_point="cp", power_kw=20.0, energy_kwh=100.0,
                         round_trip_efficiency=0.81, soc_min_pct=10.0, soc_max_pct=90.0,
                         soc_initial_pct=50.0)] if battery else []  # fmt: skip
    return hundred_kw_point_inputs(load_kw, price_pln_per_mwh, batteries)


def _arbitrage_inputs() -> PlanningInputs:
    # 80 kW of load for two hours: day-ahead 100 PLN/MWh in the first, 600 in the second.
    return _inputs([80.0] * 8, [100.0] * 4 + [600.0] * 4, battery=True)


def _plan(inputs: PlanningInputs, headroom_pct: float) -> tuple[float, dict[str, float]]:
    model = build_model(inputs, ModelOptions(capacity_headroom_pct=headroom_pct))
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective_pln is not None
    costs = extract_schedule(model, inputs, result).costs.set_index("component")["cost_pln"]
    return result.objective_pln, {str(name): float(cost) for name, cost in costs.items()}


def test_without_headroom_the_battery_fills_the_contracted_capacity() -> None:
    # A kWh drawn costs 0.2 PLN in the first hour and 0.7 in the second; stored, it
    # returns 0.81 × 0.7 = 0.567, so the battery charges at its full 20 kW for the
    # first hour (import 100 kW, exactly the contracted capacity: no overrun) and
    # delivers 20 × 0.81 = 16.2 kWh in the second (SoC back at 50 kWh).
    # No battery: 80 kWh × 0.2 + 80 kWh × 0.7 = 72.
    objective, costs = _plan(_arbitrage_inputs(), 0.0)
    assert objective == pytest.approx(72.0 + 20.0 * 0.2 - 16.2 * 0.7, abs=1e-6)
    assert costs[CostComponent.CAPACITY_OVERRUN] == 0
    assert costs[CostComponent.CAPACITY_HEADROOM] == 0


def test_headroom_keeps_the_charging_below_the_contracted_capacity() -> None:
    # 10 % headroom: import above 90 kW costs 120 PLN per kW of the hour's peak,
    # far more than the 0.567 - 0.2 PLN a kWh of charging earns, so the battery
    # charges at 10 kW only: 10 kWh drawn, 8.1 kWh delivered.
    inputs = _arbitrage_inputs()
    objective, costs = _plan(inputs, 10.0)
    assert objective == pytest.approx(72.0 + 10.0 * 0.2 - 8.1 * 0.7, abs=1e-6)
    assert costs[CostComponent.CAPACITY_OVERRUN] == 0
    assert costs[CostComponent.CAPACITY_HEADROOM] == 0
    model = build_model(inputs, ModelOptions(capacity_headroom_pct=10.0))
    schedule = extract_schedule(model, inputs, solve(model))
    assert schedule.connection_points["import_kw"].max() == pytest.approx(90.0)


def test_headroom_is_its_own_penalty_and_leaves_the_overrun_charge_alone() -> None:
    # No flexibility; hour 1 peaks at 150 kW. The tariff's overrun is 50 kW of it
    # (6000 PLN) with or without headroom; 10 % headroom adds 150 - 90 = 60 kW at
    # the same price (7200 PLN) as a separate row, which is no money.
    inputs = _inputs([80.0] * 4 + [130.0, 150.0, 90.0, 90.0], [400.0] * 8, battery=False)
    energy = 195.0 * 0.5  # 195 kWh at 400 PLN/MWh day-ahead + 100 distribution
    objective, costs = _plan(inputs, 10.0)
    assert costs[CostComponent.CAPACITY_OVERRUN] == pytest.approx(OVERRUN_PRICE * 50.0)
    assert costs[CostComponent.CAPACITY_HEADROOM] == pytest.approx(OVERRUN_PRICE * 60.0)
    assert objective == pytest.approx(OVERRUN_PRICE * (50.0 + 60.0) + energy, abs=1e-6)

    model = build_model(inputs, ModelOptions(capacity_headroom_pct=10.0))
    schedule = extract_schedule(model, inputs, solve(model))
    fixed_share = costs[CostComponent.CAPACITY_FIXED_SHARE]
    money = money_cost_pln(schedule, inputs.config, standalone=False)
    assert money == pytest.approx(OVERRUN_PRICE * 50.0 + energy + fixed_share, abs=1e-6)


def test_zero_headroom_builds_no_headroom_variables() -> None:
    inputs = _arbitrage_inputs()
    without = build_model(inputs, ModelOptions(capacity_headroom_pct=0.0))
    with_headroom = build_model(inputs, ModelOptions(capacity_headroom_pct=5.0))
    assert not hasattr(without.model, "point_headroom_kw")
    assert len(without.model.hourly_maxima) == without.horizon.n_steps  # the overrun's alone
    assert without.connection_points["cp"].headroom_kw is None
    assert CostComponent.CAPACITY_HEADROOM not in {t.component for t in without.cost_terms}
    # One variable per hour and one row per step more with a headroom.
    n_hours, n_steps = len(without.horizon.hour_set), without.horizon.n_steps
    size, larger = without.size(), with_headroom.size()
    assert larger.n_variables == size.n_variables + n_hours
    assert larger.n_constraints == size.n_constraints + n_steps


def test_a_point_whose_import_cannot_reach_the_headroom_gets_no_headroom_rows() -> None:
    # No battery and at most 80 kW of forecast load: the import can never come
    # above 100 kW × (1 − 10 %) = 90 kW, so there is nothing to keep below it.
    below = build_model(_inputs([80.0] * 8, [100.0] * 8, battery=False),
                        ModelOptions(capacity_headroom_pct=10.0))  # fmt: skip
    assert below.connection_points["cp"].headroom_kw is None
    # 95 kW in one step reaches it; a battery could reach it at any load.
    reaching = build_model(_inputs([80.0] * 7 + [95.0], [100.0] * 8, battery=False),
                           ModelOptions(capacity_headroom_pct=10.0))  # fmt: skip
    assert reaching.connection_points["cp"].headroom_kw is not None
    flexible = build_model(_inputs([10.0] * 8, [100.0] * 8, battery=True),
                           ModelOptions(capacity_headroom_pct=10.0))  # fmt: skip
    assert flexible.connection_points["cp"].headroom_kw is not None


@pytest.mark.parametrize("headroom_pct", [-1.0, 100.0])
def test_headroom_outside_zero_to_hundred_is_refused(headroom_pct: float) -> None:
    with pytest.raises(PlanningInputError, match="capacity headroom"):
        build_model(_arbitrage_inputs(), ModelOptions(capacity_headroom_pct=headroom_pct))
