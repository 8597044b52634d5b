"""A waste-to-energy plant with planned derates and outages, in a short day solved by HiGHS.

The plant (100-400 kW, 25 % efficient, free to start, ramping 400 kW a
step) sits alone behind a connection point without charges, so a kWh
delivered earns exactly the day-ahead price: at a positive price the optimum
runs the plant at the most each step allows.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from cluster.config import Assets, ClusterConfig, SupplyContract, WasteToEnergyCHP
from cluster.outages import PlannedOutage
from cluster.timeseries import SeriesId
from optimisation.components.wte import available_steps, planned_max_kw, waste_days
from optimisation.extract import extract_schedule
from optimisation.model import build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import (
    WORKING_DAY,
    flat_tariff,
    one_point_config,
    short_day_inputs,
)

STEPS = 8
PRICE_PLN_PER_MWH = [500.0] * STEPS


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(WORKING_DAY, datetime.min.time()).replace(hour=hour, minute=minute)


#: Steps 2-5 (00:30-01:30 local) at half the plant, steps 6-7 (01:30-02:00) out.
PLAN = [
    PlannedOutage(start=_at(0, 30), end=_at(1, 30), available_fraction=0.5, reason="derate"),
    PlannedOutage(start=_at(1, 30), end=_at(2, 0), available_fraction=0.0, reason="inspection"),
]


def _config(outages: list[PlannedOutage], daily_min_waste_mwh: float = 0.0) -> ClusterConfig:
    plant = WasteToEnergyCHP(
        id="wte", connection_point="cp", electric_min_kw=100.0, electric_max_kw=400.0,
        ramp_kw_per_hour=1600.0, start_cost_pln=0.0, heat_to_power_ratio=0.0,
        electric_efficiency=0.25, daily_min_waste_mwh=daily_min_waste_mwh,
        initially_on=True, initial_output_kw=400.0, planned_outages=outages,
    )  # fmt: skip
    return one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=0.0, capacity_rate_pln_per_kw_month=0.0),
        contracted_capacity_kw=10_000.0,
        export_limit_kw=10_000.0,
        contract=SupplyContract(),
        assets=Assets(wte_chps=[plant]),
    )


def _output_kw(config: ClusterConfig, forecast_kw: list[float]) -> np.ndarray:
    inputs = short_day_inputs(config, {SeriesId.wte("wte"): forecast_kw}, PRICE_PLN_PER_MWH)
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    schedule = extract_schedule(model, inputs, result)
    return schedule.asset_series("wte", "output_kw").to_numpy()


def test_the_plant_runs_at_most_its_derated_maximum_during_a_planned_derate() -> None:
    # The forecast has not caught up with the plan (it says 400 kW all along):
    # the plan alone must hold the plant to 200 kW, then off.
    output = _output_kw(_config(PLAN), [400.0] * STEPS)
    derated_max = np.array([400, 400, 200, 200, 200, 200, 0, 0], dtype=float)
    assert np.all(output <= derated_max + 1e-6)
    np.testing.assert_allclose(output, derated_max, atol=1e-6)


def test_without_a_plan_the_same_day_runs_at_full_output() -> None:
    np.testing.assert_allclose(_output_kw(_config([]), [400.0] * STEPS), 400.0, atol=1e-6)


def test_a_derate_below_the_minimum_stable_load_makes_the_plant_unavailable() -> None:
    plan = [PlannedOutage(start=_at(0, 30), end=_at(1), available_fraction=0.2)]  # 80 kW
    inputs = short_day_inputs(
        _config(plan), {SeriesId.wte("wte"): [400.0] * STEPS}, PRICE_PLN_PER_MWH
    )
    chp = inputs.config.assets.wte_chps[0]
    np.testing.assert_allclose(planned_max_kw(chp, inputs), [400, 400, 80, 80, 400, 400, 400, 400])
    assert available_steps(chp, inputs).tolist() == [True, True, False, False] + [True] * 4


def test_the_daily_minimum_is_cut_pro_rata_to_the_plant_the_plan_leaves() -> None:
    inputs = short_day_inputs(
        _config(PLAN, daily_min_waste_mwh=96.0),
        {SeriesId.wte("wte"): [400.0] * STEPS},
        PRICE_PLN_PER_MWH,
    )
    (day,) = waste_days(inputs.config.assets.wte_chps[0], inputs, np.ones(STEPS, dtype=bool))
    # 96 MWh over a 96-step day is 1 MWh a step; the plan leaves 1, 1, 4 × 0.5, 0, 0 of it.
    assert day.required_mwh == pytest.approx(4.0)
