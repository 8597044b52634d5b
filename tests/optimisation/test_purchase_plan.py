"""Block volumes of the joint purchase against scenarios (optimisation.purchase_plan)."""

from __future__ import annotations

import numpy as np
import pytest

from cluster.config import SupplyBlock
from optimisation.purchase_plan import (
    PurchasePlanError,
    PurchaseScenarios,
    lot_grid_kw,
    plan_purchase,
)

# Two scenarios of four quarter-hours at a flat day-ahead price of 100 PLN/MWh,
# margin 20 and fee 10: a kW of block at 110 PLN/MWh saves 10 PLN/MWh where it
# replaces a purchase (120) and loses 20 PLN/MWh where it is sold back (90), so
# the best volume is the 1/3 quantile of the eight demands: the third smallest.
DEMAND_KW = np.array([[100.0, 200.0, 300.0, 400.0], [500.0, 600.0, 700.0, 800.0]])
FLAT_PRICE = np.full((2, 4), 100.0)


def _scenarios(active: list[list[float]]) -> PurchaseScenarios:
    return PurchaseScenarios(
        net_demand_kw=DEMAND_KW,
        price_pln_per_mwh=FLAT_PRICE,
        block_active=np.array(active),
        step_hours=0.25,
    )


def test_base_volume_is_the_hand_computed_quantile() -> None:
    base = SupplyBlock(name="base", power_kw=1.0, price_pln_per_mwh=110.0)
    plan = plan_purchase(_scenarios([[1, 1, 1, 1]]), [base], [lot_grid_kw(800, 100)], 20.0, 10.0)
    assert plan.best_volumes_kw == (300.0,)
    # At 300 kW: blocks 300 kW x 4 steps x 0.25 h = 0.3 MWh x 110 = 33 PLN per scenario;
    # purchases (100+200+300+400+500) kW x 0.25 h = 0.375 MWh x 120 = 45 PLN;
    # sales (200+100) kW x 0.25 h = 0.075 MWh x 90 = 6.75 PLN; mean 33 + (45 - 6.75) / 2.
    assert plan.best_cost_pln == pytest.approx(33 + (45 - 6.75) / 2)
    # Without blocks everything is bought: 3600 kW x 0.25 h x 120 PLN/MWh / 2 scenarios.
    assert plan.expected_cost_pln[0] == pytest.approx(3.6 * 0.25 * 120 / 2)
    # Convex in the volume: the costs fall to the optimum and rise after it.
    steps = np.diff(plan.expected_cost_pln)
    assert (steps[:3] < 0).all() and (steps[3:] > 0).all()


def test_peak_block_only_where_it_delivers() -> None:
    # Peak block in steps 2 and 3 only (demands 300, 400, 700, 800 there), priced
    # so that it pays only above the median: (100 + 20 - 105) = 15 saved where
    # bought, (105 - 90) = 15 lost where sold, so any volume from 400 to 700 kW is
    # optimal and the smallest, 400 kW, is taken; an expensive base block stays at 0.
    base = SupplyBlock(name="base", power_kw=1.0, price_pln_per_mwh=500.0)
    peak = SupplyBlock(name="peak", power_kw=1.0, price_pln_per_mwh=105.0)
    grid = lot_grid_kw(800, 100)
    plan = plan_purchase(
        _scenarios([[1, 1, 1, 1], [0, 0, 1, 1]]), [base, peak], [grid, grid], 20.0, 10.0
    )
    assert plan.expected_cost_pln.shape == (9, 9)
    assert plan.best_volumes_kw == (0.0, 400.0)
    assert plan.expected_cost_pln[0, 4] == pytest.approx(plan.expected_cost_pln[0, 7])


def test_mismatched_inputs_are_refused() -> None:
    base = SupplyBlock(name="base", power_kw=1.0, price_pln_per_mwh=110.0)
    with pytest.raises(PurchasePlanError, match="no blocks"):
        plan_purchase(_scenarios([[1, 1, 1, 1]]), [], [], 20.0, 10.0)
    with pytest.raises(PurchasePlanError, match="negative"):
        plan_purchase(_scenarios([[1, 1, 1, 1]]), [base], [np.array([-100.0])], 20.0, 10.0)
    with pytest.raises(PurchasePlanError, match="shape"):
        PurchaseScenarios(DEMAND_KW, FLAT_PRICE[:1], np.ones((1, 4)), 0.25)
    with pytest.raises(PurchasePlanError, match="lot"):
        lot_grid_kw(800, 0)
