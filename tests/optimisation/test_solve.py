"""The solver's limits: a time limit and a MIP gap are honoured and reported."""

from __future__ import annotations

import numpy as np
import pytest

from cluster.config import Assets, Battery, SupplyContract
from cluster.timeseries import SeriesId
from optimisation.errors import OptimisationError
from optimisation.inputs import PlanningInputs
from optimisation.model import ClusterModel, build_model
from optimisation.solve import SolveOptions, SolveStatus, solve
from tests.optimisation.scenarios import (
    flat_tariff,
    one_point_config,
    short_day_inputs,
    wte_plant,
)


def surplus_soaking_inputs(n_batteries: int, n_steps: int, seed: int) -> PlanningInputs:
    """Many unlike batteries that must soak up a must-run surplus beyond the export limit.

    A waste-to-energy plant running at 1.2-2.5 MW must burn enough waste for
    1.85 MW on average (its daily minimum, scaled to the planned steps); it
    meets 100 kW of load and a 1.5 MW export limit, so in many steps the
    batteries have to absorb the rest, while random prices between -300 and
    300 PLN/MWh reward shifting it. Which battery charges or discharges when
    is a knapsack-like choice over the no-simultaneous-charge binaries:
    HiGHS finds a plan at once but needs far longer than a second to prove
    the optimum.
    """
    rng = np.random.default_rng(seed)
    batteries = [
        Battery(
            id=f"bat-{i}",
            connection_point="cp",
            power_kw=float(rng.integers(20, 200)),
            energy_kwh=float(rng.integers(20, 300)),
            round_trip_efficiency=round(float(rng.uniform(0.6, 0.95)), 3),
            soc_min_pct=0.0,
            soc_max_pct=100.0,
            soc_initial_pct=float(rng.integers(10, 90)),
        )
        for i in range(n_batteries)
    ]
    # 1.85 MW for 24 h at 25 % efficiency: 1850 × 24 / 0.25 / 1000 = 177.6 MWh of waste a day.
    wte = wte_plant("wte", "cp", max_kw=2500.0, min_kw=1200.0, daily_min_waste_mwh=177.6)
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=50.0, capacity_rate_pln_per_kw_month=12.0),
        contracted_capacity_kw=2000.0,
        export_limit_kw=1500.0,
        contract=SupplyContract(day_ahead_margin_pln_per_mwh=10.0, sell_back_fee_pln_per_mwh=10.0),
        assets=Assets(batteries=batteries, wte_chps=[wte]),
    )
    price = rng.uniform(-300.0, 300.0, n_steps)
    # The plant's forecast only says it is available (above half its minimum) in every step.
    available_kw = rng.uniform(1200.0, 2500.0, n_steps)
    series = {SeriesId.wte("wte"): available_kw, SeriesId.load("cp"): np.full(n_steps, 100.0)}
    return short_day_inputs(config, series, price)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def hard_model() -> ClusterModel:
    return build_model(surplus_soaking_inputs(n_batteries=20, n_steps=16, seed=7))


def test_time_limit_stops_the_search_with_a_plan_and_its_gap(hard_model: ClusterModel) -> None:
    limit_s = 0.5
    result = solve(hard_model, SolveOptions(time_limit_s=limit_s, mip_rel_gap=1e-4))
    assert result.wall_time_s < limit_s + 5.0
    assert 0 < result.highs_time_s <= result.wall_time_s
    assert result.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert result.objective_pln is not None and result.best_bound_pln is not None
    assert result.mip_gap is not None
    expected_gap = abs(result.objective_pln - result.best_bound_pln) / abs(result.objective_pln)
    assert result.mip_gap == pytest.approx(expected_gap)
    if result.status is SolveStatus.FEASIBLE:
        assert result.termination == "maxTimeLimit"
        # A minimisation's bound lies below the plan's cost.
        assert result.best_bound_pln < result.objective_pln
    # Charging or discharging per battery and step, and the plant's on and start per step.
    assert result.n_binaries == 20 * 16 + 2 * 16
    assert hard_model.batteries["bat-0"].charge_kw[0].value is not None


def test_relative_gap_lets_the_search_stop_early() -> None:
    model = build_model(surplus_soaking_inputs(n_batteries=16, n_steps=12, seed=7))
    result = solve(model, SolveOptions(mip_rel_gap=0.05, time_limit_s=30.0, threads=1))
    assert result.status is SolveStatus.OPTIMAL
    assert result.mip_gap is not None
    assert result.mip_gap <= 0.05


@pytest.mark.parametrize(
    "options",
    [
        {"mip_rel_gap": -0.1},
        {"mip_rel_gap": float("nan")},
        {"time_limit_s": 0.0},
        {"threads": 0},
    ],
)
def test_solve_options_out_of_range_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(OptimisationError, match="must be"):
        SolveOptions(**options)  # type: ignore[arg-type]
