"""Settlement money, hand-computed: each key, each line, rounding residues, blocks, overruns.

Units in the comments: energy in kWh, prices in PLN/MWh, so kWh × PLN/MWh is
a thousandth of a PLN (mPLN). The day-ahead margin is 20 and the sell-back
fee 10 PLN/MWh in every case, so with the internal price halfway between
them: purchase = DA + 20, sell-back = DA - 10, internal = DA + 5.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from cluster.config import OverrunRule
from cluster.invoices import LineKind, Settlement
from cluster.settlement_checks import read_metered
from cluster.settlement_money import (
    member_flows,
    settle,
    step_prices,
    supplier_cost_micro_grosz,
    supplier_lines,
)
from cluster.tariffs import billed_overrun_kw
from tests.cluster.settlement_cases import (
    MONTH,
    amounts,
    block,
    build_config,
    line_amount,
    member,
    metered,
    point,
    supply,
    tariff,
    terms,
)

D = Decimal

# Consumers a and b, producer p. Quarter-hours t0..t3:
#   a imports 2, 3, 1, 2; b imports 2, 1, 1, 0; p exports 2, 0, 4, 1 kWh;
#   DA = 400, 600, 200, 400 -> internal 405, 605, 205, 405; sell-back 390, 590, 190, 390.
BASIC_IMPORT = {"cp-a": [2, 3, 1, 2], "cp-b": [2, 1, 1, 0], "cp-p": [0, 0, 0, 0]}
BASIC_EXPORT = {"cp-p": [2, 0, 4, 1]}
BASIC_DA = [400, 600, 200, 400]
BASIC_PARTS = (member("a"), member("b", standalone_price=800.0), member("p"), tariff(),
               point("a"), point("b"), point("p"), supply())  # fmt: skip


def basic(key_terms: str | None = None) -> Settlement:
    config = build_config(*BASIC_PARTS, key_terms or terms())
    return settle(config, MONTH, metered(BASIC_IMPORT, BASIC_EXPORT, BASIC_DA))


def column(settlement: Settlement, member_id: str, name: str) -> list[int]:
    return [int(v) for v in settlement.energy[member_id].frame[name]]


def test_dynamic_key_lines_of_every_member() -> None:
    # Dynamic key: t0 2 kWh over a 2 + b 2 -> 1 each; t1 nothing; t2 4 kWh, a 1 + b 1
    # covered, 2 sold; t3 1 kWh, only a consumes -> a 1.
    s = basic()
    assert column(s, "a", "local_wh") == [1000, 0, 1000, 1000]
    assert column(s, "b", "local_wh") == [1000, 0, 1000, 0]
    assert column(s, "p", "delivered_wh") == [2000, 0, 2000, 1000]
    assert column(s, "p", "sold_wh") == [0, 0, 2000, 0]
    # a: local 1*405 + 1*205 + 1*405 = 1015 mPLN; grid 1, 3, 0, 1 -> DA 400 + 1800 + 400
    # = 2600, margin 5 * 20 = 100; distribution 8 kWh * 100 = 800; capacity 20 kW * 36
    # PLN/kW/month * 4/2880 of the month = 1.00 PLN.
    # b: local 405 + 205 = 610; grid 1, 1 -> DA 400 + 600 = 1000, margin 40; dist 400.
    # Local energy: exact 1.015 + 0.610 = 1.625 -> 1.63; a's half grosz is the largest
    # remainder: a 1.02, b 0.61. p is credited the same 1.625 -> -1.63 (half away from 0).
    # p's surplus: 2 kWh at t2 * 190 = 380 -> -0.38.
    assert amounts(s.statements["a"]) == {
        "local_energy": D("1.02"), "day_ahead_energy": D("2.60"), "supplier_margin": D("0.10"),
        "distribution_energy": D("0.80"), "distribution_capacity": D("1.00"),
    }  # fmt: skip
    assert amounts(s.statements["b"]) == {
        "local_energy": D("0.61"), "day_ahead_energy": D("1.00"), "supplier_margin": D("0.04"),
        "distribution_energy": D("0.40"), "distribution_capacity": D("1.00"),
    }  # fmt: skip
    assert amounts(s.statements["p"]) == {
        "local_energy_delivered": D("-1.63"), "surplus_sold": D("-0.38"),
        "distribution_energy": D("0.00"), "distribution_capacity": D("1.00"),
    }  # fmt: skip
    assert [s.statements[m].total_pln for m in "abp"] == [D("5.52"), D("3.05"), D("-1.01")]
    # External: DA 3.60 + margin 0.14 - surplus 0.38 + distribution 1.20 + capacity 3.00.
    assert s.total_pln == D("7.56")
    assert s.external_costs_pln["surplus_sold"] == D("-0.38")


def test_lines_come_in_line_kind_order_with_quantities() -> None:
    lines = basic().statements["a"].lines
    assert [line.kind for line in lines] == [
        LineKind.LOCAL_ENERGY, LineKind.DAY_AHEAD_ENERGY, LineKind.SUPPLIER_MARGIN,
        LineKind.DISTRIBUTION_ENERGY, LineKind.DISTRIBUTION_CAPACITY,
    ]  # fmt: skip
    assert [(line.quantity, line.unit) for line in lines] == [
        (D("0.003"), "MWh"), (D("0.005"), "MWh"), (D("0.005"), "MWh"), (D("0.008"), "MWh"),
        (D("20"), "kW"),
    ]  # fmt: skip
    assert lines[3].connection_point_id == "cp-a"
    assert lines[0].connection_point_id is None


@pytest.mark.parametrize(
    ("key_terms", "local_a", "local_b", "sold", "money"),
    [
        # Static 3:1. t0: a 1.5, b 0.5. t2: a 3 capped at 1, b 1 capped at 1 (the rest
        # re-offered, nobody can take it), 2 sold. t3: a 0.75, b 0.25 capped at 0 and
        # re-offered to a -> a 1. a: 1.5*405 + 205 + 405 = 1217.5, b: 0.5*405 + 205 = 407.5
        # -> total 1.625 -> 1.63; remainders 0.75 and 0.75: both round up, 1.22 and 0.41.
        (terms("static", {"a": 3, "b": 1}), [1500, 0, 1000, 1000], [500, 0, 1000, 0],
         [0, 0, 2000, 0], (D("1.22"), D("0.41"))),
        # Static with a's share only: b never gets local energy, t2 sells 3 kWh.
        # a: 2*405 + 205 + 405 = 1420.
        (terms("static", {"a": 1}), [2000, 0, 1000, 1000], [0, 0, 0, 0],
         [0, 0, 3000, 0], (D("1.42"), None)),
        # Hybrid with a's share: a first (capped), then the rest by uncovered consumption:
        # t2 a 1, b gets 1 of the remaining 3, 2 sold. b: 205 -> 0.205, total 1.625 -> 1.63:
        # b's half grosz rounds up: a 1.42, b 0.21.
        (terms("hybrid", {"a": 1}), [2000, 0, 1000, 1000], [0, 0, 1000, 0],
         [0, 0, 2000, 0], (D("1.42"), D("0.21"))),
    ],
)  # fmt: skip
def test_static_and_hybrid_keys_through_settle(
    key_terms: str, local_a: list[int], local_b: list[int], sold: list[int],
    money: tuple[Decimal, Decimal | None],
) -> None:  # fmt: skip
    s = basic(key_terms)
    assert column(s, "a", "local_wh") == local_a
    assert column(s, "b", "local_wh") == local_b
    assert column(s, "p", "sold_wh") == sold
    assert line_amount(s.statements["a"], LineKind.LOCAL_ENERGY) == money[0]
    assert line_amount(s.statements["b"], LineKind.LOCAL_ENERGY) == money[1]
    local_total = sum((m for m in money if m is not None), D(0))
    assert line_amount(s.statements["p"], LineKind.LOCAL_ENERGY_DELIVERED) == -local_total


def test_three_members_split_ten_grosz_by_largest_remainder() -> None:
    # Capacity 1 kW * 24 PLN/kW/month * 4/2880 of the month = 1/30 PLN per point; the
    # three add up to 0.10: each rounds down to 0.03, the missing grosz goes to the first
    # of the equal remainders.
    config = build_config(member("x"), member("y"), member("z"), tariff(capacity_rate=24.0),
                          point("x", contracted_kw=1.0), point("y", contracted_kw=1.0),
                          point("z", contracted_kw=1.0), supply(), terms())  # fmt: skip
    zero = [0, 0, 0, 0]
    s = settle(config, MONTH, metered({"cp-x": zero, "cp-y": zero, "cp-z": zero}, {}, BASIC_DA))
    capacity = [line_amount(s.statements[m], LineKind.DISTRIBUTION_CAPACITY) for m in "xyz"]
    assert capacity == [D("0.04"), D("0.03"), D("0.03")]
    assert s.external_costs_pln["distribution_capacity"] == D("0.10")


# Blocks: 4 kW = 1 kWh per quarter-hour at 300 PLN/MWh; DA 400 -> purchase 420,
# sell-back 390. a imports 2, 1, 1, 3; b 1, 0, 1, 2; p exports 2 at t2 (covers a and b).
#   t0: R = 3, C = 300 + 2*420 = 1140, Delta = C - 3*420 = -120: a 2/3 -> -80, b -40.
#   t1: R = 1, C = 300,                  Delta = -120: a -120.
#   t2: R = 0, the block sold back: C = 300 - 390 = -90, Delta = -90, shared by the
#       residual in block hours: a 2+1+3 = 6, b 1+2 = 3 -> a -60, b -30.
#   t3: R = 5, C = 300 + 4*420 = 1980,  Delta = -120: a 3/5 -> -72, b -48.
# a: -332 mPLN, b: -118 -> total -0.45; floors -0.34 (rem 0.8) and -0.12 (rem 0.2): the
# missing grosz goes to a -> a -0.33, b -0.12.
BLOCK_IMPORT = {"cp-a": [2, 1, 1, 3], "cp-b": [1, 0, 1, 2], "cp-p": [0, 0, 0, 0]}


@pytest.mark.parametrize(
    ("the_block", "extra_steps"),
    [
        (block(4.0, 300.0), 0),
        # The block delivers only 11:00-12:00 local (t0..t3); in four more quarter-hours b
        # draws 10 kWh each, which must not weigh in the sharing of t2's result.
        (block(4.0, 300.0, hours=(11, 12)), 4),
    ],
)
def test_fixed_blocks_with_sell_back_and_a_quarter_hour_without_residual(
    the_block: str, extra_steps: int
) -> None:
    config = build_config(member("a"), member("b"), member("p"), tariff(), point("a"),
                          point("b"), point("p"), supply(blocks=[the_block]), terms())  # fmt: skip
    imports = {
        "cp-a": BLOCK_IMPORT["cp-a"] + [0] * extra_steps,
        "cp-b": BLOCK_IMPORT["cp-b"] + [10] * extra_steps,
        "cp-p": [0] * (4 + extra_steps),
    }
    exports = {"cp-p": [0, 0, 2, 0] + [0] * extra_steps}
    s = settle(config, MONTH, metered(imports, exports, [400] * (4 + extra_steps)))
    assert line_amount(s.statements["a"], LineKind.FIXED_BLOCKS) == D("-0.33")
    assert line_amount(s.statements["b"], LineKind.FIXED_BLOCKS) == D("-0.12")
    assert line_amount(s.statements["p"], LineKind.FIXED_BLOCKS) is None
    assert s.external_costs_pln["fixed_blocks"] == D("-0.45")
    assert list(s.cluster_energy["block_wh"]) == [1000] * 4 + [0] * extra_steps
    if not extra_steps:
        # a's grid 6 kWh, b's 3 kWh at 400 + 20: the supplier lines add up to
        # sum C_t = 1140 + 300 - 90 + 1980 = 3330 mPLN.
        assert amounts(s.statements["a"])["day_ahead_energy"] == D("2.40")
        assert amounts(s.statements["b"])["supplier_margin"] == D("0.06")
        supplier = sum(s.external_costs_pln[k] for k in
                       ("day_ahead_energy", "supplier_margin", "fixed_blocks"))  # fmt: skip
        assert supplier == D("3.33")


def test_supplier_lines_add_up_to_the_purchase_cost_exactly_before_rounding() -> None:
    config = build_config(member("a"), member("b"), member("p"), tariff(), point("a"),
                          point("b"), point("p"), supply(blocks=[block(4.0, 300.0)]),
                          terms())  # fmt: skip
    data = read_metered(config, MONTH, metered(BLOCK_IMPORT, {"cp-p": [0, 0, 2, 0]}, [400] * 4))
    flows = member_flows(config, data)
    prices = step_prices(config, data)
    money = supplier_lines(flows, prices)
    supplier_kinds = (LineKind.DAY_AHEAD_ENERGY, LineKind.SUPPLIER_MARGIN, LineKind.FIXED_BLOCKS)
    paid = sum(int(money.amounts[kind].sum()) for kind in supplier_kinds)
    cost = supplier_cost_micro_grosz(flows.grid.sum(axis=1), prices)
    # 1140, 300, -90, 1980 mPLN = 1e5 micro-grosz each.
    assert cost.tolist() == [114_000_000, 30_000_000, -9_000_000, 198_000_000]
    assert paid == int(cost.sum())


# Overrun: 20 kW contracted; import power 22, 25, 19, 20 | 21, 21, 23, 18 kW in two
# clock hours -> overruns 2, 5, 0, 0 | 1, 1, 3, 0 kW.
OVERRUN_KW = [22.0, 25.0, 19.0, 20.0, 21.0, 21.0, 23.0, 18.0]


def test_billed_overrun_of_a_measured_series_by_both_rules() -> None:
    steps = pd.date_range("2026-11-02 10:00", periods=12, freq="15min", tz="UTC")
    # Overruns 1..12 kW over three hours: hourly maxima 4 + 8 + 12 = 24 kW; the ten
    # largest leave out 1 and 2: 78 - 3 = 75 kW. A column that never overruns bills 0.
    power = pd.DataFrame({"x": np.arange(1, 13) + 10.0, "y": np.full(12, 5.0)}, index=steps)
    hourly = billed_overrun_kw(power, [10.0, 10.0], OverrunRule.HOURLY_MAX_SUM)
    largest = billed_overrun_kw(power, [10.0, 10.0], OverrunRule.TEN_LARGEST)
    assert hourly.to_dict() == {"x": 24.0, "y": 0.0}
    assert largest.to_dict() == {"x": 75.0, "y": 0.0}


def test_capacity_overrun_lines_by_each_tariffs_rule() -> None:
    # Hourly maxima 5 + 3 = 8 kW -> 10 * 36 * 8 = 2880 PLN; the ten largest of eight
    # overruns are all of them, 12 kW -> 10 * 36 * 12 = 4320 PLN.
    config = build_config(member("a"), member("b"), tariff("h"), tariff("ten", rule="ten_largest"),
                          point("a", tariff_id="h"), point("b", tariff_id="ten"), supply(),
                          terms())  # fmt: skip
    energy = [kw / 4 for kw in OVERRUN_KW]
    s = settle(config, MONTH, metered({"cp-a": energy, "cp-b": energy}, {}, [400] * 8))
    overrun = {
        m: [(line.quantity, line.unit, line.amount_pln) for line in s.statements[m].lines
            if line.kind is LineKind.CAPACITY_OVERRUN]
        for m in "ab"
    }  # fmt: skip
    assert overrun == {"a": [(D(8), "kW·h", D("2880.00"))], "b": [(D(12), "kW·h", D("4320.00"))]}


def test_a_month_balances_in_every_quarter_hour_and_to_the_grosz() -> None:
    config = build_config(
        member("a"), member("b"), member("pv"), member("wind"), tariff(),
        point("a", contracted_kw=40.0), point("b", contracted_kw=40.0), point("pv"),
        point("wind"), supply(blocks=[block(20.0, 420.0), block(8.0, 510.0, hours=(7, 22))]),
        terms("hybrid", {"a": 2, "pv": 1}),
    )  # fmt: skip
    # November 2026 in Warsaw: 2026-10-31 23:00 to 2026-11-30 23:00 UTC, 2880 quarter-hours.
    steps = pd.date_range("2026-10-31 23:00", periods=2880, freq="15min", tz="UTC")
    rng = np.random.default_rng(5)
    shape = (len(steps),)
    imports = {
        "cp-a": rng.gamma(2.0, 2.0, shape).round(3),
        "cp-b": rng.gamma(2.0, 1.5, shape).round(3),
        "cp-pv": rng.gamma(1.0, 0.5, shape).round(3),
        "cp-wind": np.zeros(shape),
    }
    exports = {
        "cp-pv": rng.gamma(1.0, 3.0, shape).round(3),
        "cp-wind": rng.gamma(2.0, 2.0, shape).round(3),
    }
    curtailed = {"cp-wind": rng.gamma(0.2, 1.0, shape).round(3)}
    day_ahead = rng.normal(450.0, 150.0, shape).round(2)
    s = settle(config, MONTH, metered(imports, exports, day_ahead, curtailed, start=steps[0]))
    statements = sum((st.total_pln for st in s.statements.values()), D(0))
    assert statements == sum(s.external_costs_pln.values(), D(0))
    frames = [e.frame for e in s.energy.values()]
    delivered = np.sum([f["delivered_wh"].to_numpy() for f in frames], axis=0)
    allocated = np.sum([f["local_wh"].to_numpy() for f in frames], axis=0)
    assert (delivered == allocated).all()
    cluster = {c: s.cluster_energy[c].to_numpy() for c in s.cluster_energy.columns}
    assert (allocated == cluster["allocated_wh"]).all()
    produced = cluster["allocated_wh"] + cluster["sold_wh"] + cluster["curtailed_wh"]
    assert (cluster["production_wh"] == produced).all()
    # The capacity lines are a whole month's: 40*36 + 40*36 + 20*36 + 20*36.
    assert s.external_costs_pln["distribution_capacity"] == D("4320.00")
    assert (s.start, s.end) == (steps[0], steps[-1] + pd.Timedelta(minutes=15))
