"""Tests of the settlement maths: allocation keys, balance checks and grosz rounding."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cluster.config import load_demo_config
from cluster.members import AllocationKeyKind, SettlementTerms
from cluster.settlement import (
    Allocation,
    SettlementError,
    allocate,
    energy_cost_pln,
    internal_price_pln_per_mwh,
    split_to_grosz,
)

STEPS = pd.date_range("2026-11-02 10:00", periods=1, freq="15min", tz="UTC")


def one_step(
    consumption_kwh: dict[str, float], production_kwh: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Frames of a single quarter-hour: consumption per member, one local source."""
    consumption = pd.DataFrame({m: [v] for m, v in consumption_kwh.items()}, index=STEPS)
    production = pd.DataFrame({"pv": [production_kwh]}, index=STEPS)
    return consumption, production


def allocated_wh(allocation: Allocation) -> dict[str, int]:
    return {str(m): int(v) for m, v in allocation.allocated_wh.iloc[0].items()}


STATIC = SettlementTerms(
    allocation_key=AllocationKeyKind.STATIC, static_shares={"a": 0.5, "b": 0.3, "c": 0.2}
)


def test_static_key_reoffers_what_a_capped_member_cannot_take() -> None:
    # Shares of 6000 Wh: a 3000 (capped at 2000), b 1800, c 1200 (capped at 1000).
    # The freed 1200 Wh go to b, the only member with room left: b = 3000.
    allocation = allocate(*one_step({"a": 2.0, "b": 5.0, "c": 1.0}, 6.0), STATIC)
    assert allocated_wh(allocation) == {"a": 2000, "b": 3000, "c": 1000}
    assert int(allocation.sold_wh.iloc[0]) == 0


def test_static_key_sells_what_no_member_can_take() -> None:
    # 10 000 Wh produced, 8000 Wh consumed: everyone covered, 2000 Wh sold.
    allocation = allocate(*one_step({"a": 2.0, "b": 5.0, "c": 1.0}, 10.0), STATIC)
    assert allocated_wh(allocation) == {"a": 2000, "b": 5000, "c": 1000}
    assert int(allocation.sold_wh.iloc[0]) == 2000
    assert int(allocation.grid_wh.to_numpy().sum()) == 0


def test_static_key_gives_nothing_to_a_member_without_a_share() -> None:
    allocation = allocate(*one_step({"a": 2.0, "b": 5.0, "c": 1.0, "d": 4.0}, 10.0), STATIC)
    assert allocated_wh(allocation)["d"] == 0
    assert int(allocation.sold_wh.iloc[0]) == 2000


def test_dynamic_key_is_proportional_to_consumption() -> None:
    # 6 kWh over 2 + 6 + 4 = 12 kWh consumed: half of each member's consumption.
    allocation = allocate(*one_step({"a": 2.0, "b": 6.0, "c": 4.0}, 6.0), SettlementTerms())
    assert allocated_wh(allocation) == {"a": 1000, "b": 3000, "c": 2000}


def test_dynamic_key_gives_the_last_watt_hour_to_the_earlier_member() -> None:
    # 10 Wh over three equal consumers: 3 each, and the one left over to the first.
    allocation = allocate(*one_step({"a": 1.0, "b": 1.0, "c": 1.0}, 0.010), SettlementTerms())
    assert allocated_wh(allocation) == {"a": 4, "b": 3, "c": 3}


def test_dynamic_key_covers_everyone_and_sells_the_surplus() -> None:
    allocation = allocate(*one_step({"a": 1.0, "b": 0.0}, 3.5), SettlementTerms())
    assert allocated_wh(allocation) == {"a": 1000, "b": 0}
    assert int(allocation.sold_wh.iloc[0]) == 2500


HYBRID = SettlementTerms(
    allocation_key=AllocationKeyKind.HYBRID, static_shares={"a": 0.5, "b": 0.5}
)


def test_hybrid_key_shares_the_remainder_by_uncovered_consumption() -> None:
    # Static: a 3000 capped at 1000, b 3000. Remaining 2000 Wh by what is still
    # uncovered (a 0, b 1000, c 3000): b +500, c +1500.
    allocation = allocate(*one_step({"c": 3.0, "a": 1.0, "b": 4.0}, 6.0), HYBRID)
    assert allocated_wh(allocation) == {"a": 1000, "b": 3500, "c": 1500}


def test_hybrid_key_sells_the_surplus() -> None:
    # Static: a 1000 (capped), b 4000 (capped); dynamic: c 3000; 2000 Wh sold.
    allocation = allocate(*one_step({"a": 1.0, "b": 4.0, "c": 3.0}, 10.0), HYBRID)
    assert allocated_wh(allocation) == {"a": 1000, "b": 4000, "c": 3000}
    assert int(allocation.sold_wh.iloc[0]) == 2000


def test_metered_kwh_become_whole_watt_hours() -> None:
    allocation = allocate(*one_step({"a": 0.0014, "b": 0.0026}, 1.0), SettlementTerms())
    assert allocated_wh(allocation) == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    ("consumption", "production", "terms", "message"),
    [
        ({"a": -1.0}, 1.0, SettlementTerms(), "negative"),
        ({"a": float("nan")}, 1.0, SettlementTerms(), "missing"),
        ({"a": 1.0}, 1.0, STATIC, "static shares name members"),
    ],
)
def test_unusable_inputs_are_refused(
    consumption: dict[str, float], production: float, terms: SettlementTerms, message: str
) -> None:
    with pytest.raises(SettlementError, match=message):
        allocate(*one_step(consumption, production), terms)


def test_frames_on_different_quarter_hours_are_refused() -> None:
    consumption, production = one_step({"a": 1.0}, 1.0)
    with pytest.raises(SettlementError, match="different quarter-hours"):
        allocate(consumption, production.shift(freq="15min"), SettlementTerms())


@pytest.mark.parametrize(
    ("allocated", "problem"),
    [([-1, 1], "negative"), ([2, 0], "more than it consumed"), ([1, 0], "differs")],
)
def test_balance_check_trips_on_a_broken_allocation(allocated: list[int], problem: str) -> None:
    consumption = pd.DataFrame({"a": [1], "b": [1]}, index=STEPS)
    broken = Allocation(
        consumption_wh=consumption,
        production_wh=pd.Series([2], index=STEPS),
        allocated_wh=pd.DataFrame({"a": [allocated[0]], "b": [allocated[1]]}, index=STEPS),
    )
    with pytest.raises(SettlementError, match=problem):
        broken.check()


def matrices(rows: int, columns: int, cells: st.SearchStrategy[int]) -> st.SearchStrategy:
    """Lists of ``rows`` lists of ``columns`` values each."""
    row = st.lists(cells, min_size=columns, max_size=columns)
    return st.lists(row, min_size=rows, max_size=rows)


@st.composite
def metered_months(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, SettlementTerms]:
    members = [f"m{i}" for i in range(draw(st.integers(1, 6)))]
    steps = draw(st.integers(1, 8))
    sources = draw(st.integers(1, 3))
    consumption_wh = draw(matrices(steps, len(members), st.integers(0, 5000)))
    production_wh = draw(matrices(steps, sources, st.integers(0, 15000)))
    index = pd.date_range("2026-11-01", periods=steps, freq="15min", tz="UTC")
    consumption = pd.DataFrame(np.array(consumption_wh) / 1000, index=index, columns=members)
    production = pd.DataFrame(np.array(production_wh) / 1000, index=index)
    key = draw(st.sampled_from(list(AllocationKeyKind)))
    shares: dict[str, float] = {}
    if key is not AllocationKeyKind.DYNAMIC:
        keyed = draw(st.lists(st.sampled_from(members), min_size=1, unique=True))
        shares = {m: draw(st.floats(0.01, 10)) for m in keyed}
    return consumption, production, SettlementTerms(allocation_key=key, static_shares=shares)


@settings(max_examples=300, deadline=None)
@given(metered_months())
def test_every_quarter_hour_balances_exactly(
    case: tuple[pd.DataFrame, pd.DataFrame, SettlementTerms],
) -> None:
    consumption_kwh, production_kwh, terms = case
    allocation = allocate(consumption_kwh, production_kwh, terms)
    consumed = np.rint(consumption_kwh.to_numpy() * 1000).astype(np.int64)
    produced = np.rint(production_kwh.to_numpy() * 1000).astype(np.int64).sum(axis=1)
    allocated = allocation.allocated_wh[consumption_kwh.columns].to_numpy()
    eligible = consumed
    if terms.allocation_key is AllocationKeyKind.STATIC:
        keyed = [c in terms.static_shares for c in consumption_kwh.columns]
        eligible = consumed * np.array(keyed)
    assert (allocated >= 0).all()
    assert (allocated <= consumed).all()
    assert (allocated.sum(axis=1) == np.minimum(produced, eligible.sum(axis=1))).all()
    assert (allocation.sold_wh.to_numpy() + allocated.sum(axis=1) == produced).all()


def test_internal_price_fixed_or_split() -> None:
    sell_back = pd.Series([300.0, 100.0], index=pd.RangeIndex(2))
    purchase = pd.Series([800.0, 100.03], index=pd.RangeIndex(2))
    split = internal_price_pln_per_mwh(
        SettlementTerms(internal_price_split=0.25), sell_back, purchase
    )
    # 300 + 0.25 × 500 = 425; 100 + 0.25 × 0.03 = 100.0075, quoted to the grosz.
    assert split.tolist() == [425.0, 100.01]
    fixed = internal_price_pln_per_mwh(
        SettlementTerms(internal_price_pln_per_mwh=400.0), sell_back, purchase
    )
    assert fixed.tolist() == [400.0, 400.0]


def test_energy_cost_is_exact() -> None:
    # 1 Wh at 0.01 PLN/MWh costs 1e-8 PLN; 1001 Wh at 425.37 PLN/MWh costs 0.42579537 PLN.
    energy = pd.DataFrame({"a": [1, 0], "b": [1000, 1]}, index=pd.RangeIndex(2))
    price = pd.Series([0.01, 425.37], index=pd.RangeIndex(2))
    cost = energy_cost_pln(energy, price)
    assert cost == {"a": Decimal("0.00000001"), "b": Decimal("0.00001") + Decimal("0.00042537")}


def test_split_to_grosz_hands_out_the_rounding_residue() -> None:
    third = Decimal(10) / Decimal(3)
    assert split_to_grosz({"a": third, "b": third, "c": third}) == {
        "a": Decimal("3.34"),
        "b": Decimal("3.33"),
        "c": Decimal("3.33"),
    }
    half_grosz = Decimal("0.005")
    # 0.015 PLN rounds to 0.02: the two grosze go to the first two equal remainders.
    assert split_to_grosz({"a": half_grosz, "b": half_grosz, "c": half_grosz}) == {
        "a": Decimal("0.01"),
        "b": Decimal("0.01"),
        "c": Decimal("0.00"),
    }
    assert split_to_grosz({"credit": Decimal("-0.005"), "debit": Decimal("0.015")}) == {
        "credit": Decimal("0.00"),
        "debit": Decimal("0.01"),
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(st.decimals(-10_000, 10_000, places=6), min_size=1, max_size=12))
def test_split_to_grosz_adds_up_to_the_rounded_total(amounts: list[Decimal]) -> None:
    named = {f"m{i}": a for i, a in enumerate(amounts)}
    parts = split_to_grosz(named)
    total = sum(amounts, Decimal(0))
    assert sum(parts.values(), Decimal(0)) == total.quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert all(abs(parts[k] - named[k]) < Decimal("0.01") for k in named)
    assert all(p == p.quantize(Decimal("0.01")) for p in parts.values())


def test_settlement_section_is_optional_and_checked() -> None:
    assert load_demo_config().settlement.allocation_key is AllocationKeyKind.DYNAMIC
    with pytest.raises(ValidationError, match="needs static shares"):
        SettlementTerms(allocation_key=AllocationKeyKind.HYBRID)
