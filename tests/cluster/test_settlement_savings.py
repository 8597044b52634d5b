"""The counterfactual (standing alone), the saving and the Shapley split, hand-computed.

The case is the three-member one of ``test_settlement_money`` (amounts in mPLN,
kWh × PLN/MWh): a imports 2, 3, 1, 2 and b 2, 1, 1, 0 kWh; p exports 2, 0, 4,
1 kWh; DA 400, 600, 200, 400; margin 20, fee 10 PLN/MWh. Standing alone a pays
the default 760 PLN/MWh, b its own 800, and p sells at DA - 40.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from cluster.settlement import round_to_grosz
from cluster.settlement_money import settle
from cluster.settlement_savings import (
    SHAPLEY_EXACT_MAX_MEMBERS,
    CoalitionGame,
    shapley_exact,
    shapley_sampled,
    shapley_saving_pln,
)
from tests.cluster.settlement_cases import MONTH, build_config, metered, terms
from tests.cluster.test_settlement_money import (
    BASIC_DA,
    BASIC_EXPORT,
    BASIC_IMPORT,
    BASIC_PARTS,
)

D = Decimal
# mPLN is 1e5 micro-grosz.
MICRO_PER_MPLN = 100_000


def basic_game() -> CoalitionGame:
    purchase = np.array([420, 620, 220, 420]) * 100  # grosz/MWh
    sell_back = np.array([390, 590, 190, 390]) * 100
    consumption = np.array([BASIC_IMPORT["cp-a"], BASIC_IMPORT["cp-b"], [0, 0, 0, 0]]).T * 1000
    export = np.array([[0, 0, 0, 0], [0, 0, 0, 0], BASIC_EXPORT["cp-p"]]).T * 1000
    # Standalone energy: a 8 kWh * 760 = 6080; b 4 * 800 = 3200; p -(2*360 + 4*160 +
    # 1*360) = -1720 mPLN.
    standalone = np.array([6080, 3200, -1720]) * MICRO_PER_MPLN
    return CoalitionGame(consumption.astype(np.int64), export.astype(np.int64),
                         purchase, sell_back, standalone)  # fmt: skip


def test_standalone_cost_and_saving_of_each_member() -> None:
    config = build_config(*BASIC_PARTS, terms())
    s = settle(config, MONTH, metered(BASIC_IMPORT, BASIC_EXPORT, BASIC_DA))
    # Alone: energy as above plus the same distribution lines (0.80 + 1.00, 0.40 + 1.00,
    # 0 + 1.00): a 6.08 + 1.80, b 3.20 + 1.40, p -1.72 + 1.00. In the cluster they pay
    # 5.52, 3.05 and -1.01 (test_settlement_money).
    standalone = {m: s.statements[m].standalone_pln for m in "abp"}
    assert standalone == {"a": D("7.88"), "b": D("4.60"), "p": D("-0.72")}
    saving = {m: s.statements[m].saving_pln for m in "abp"}
    assert saving == {"a": D("2.36"), "b": D("1.55"), "p": D("0.29")}
    assert s.statements["a"].saving_pct == pytest.approx(236 / 788 * 100)
    assert s.statements["p"].saving_pct is None
    assert all(st.shapley_saving_pln is None for st in s.statements.values())


# Coalition costs c(S) (purchase 420, 620, 220, 420; sell-back 390, 590, 190, 390):
#   a: 2*420 + 3*620 + 220 + 2*420 = 3760      b: 840 + 620 + 220 = 1680
#   p: -(2*390 + 4*190 + 390) = -1930          ab: 3760 + 1680 = 5440
#   ap: net 0, 3, -3, 1 -> 1860 - 570 + 420 = 1710
#   bp: net 0, 1, -3, -1 -> 620 - 570 - 390 = -340
#   abp: net 2, 4, -2, 1 -> 840 + 2480 - 380 + 420 = 3360
# v(S) = sum of standalone - c(S): a 2320, b 1520, p 210, ab 3840, ap 2650, bp 1820,
# abp 4200. Shapley (weights 1/3 alone, 1/6 with one other, 1/3 joining the other two):
#   a: 2320/3 + (3840-1520)/6 + (2650-210)/6 + (4200-1820)/3 = 2360
#   b: 1520/3 + (3840-2320)/6 + (1820-210)/6 + (4200-2650)/3 = 1545
#   p:  210/3 + (2650-2320)/6 + (1820-1520)/6 + (4200-3840)/3 = 295   (sum 4200 = v(N))
SHAPLEY_MPLN = (2360, 1545, 295)


def test_exact_shapley_of_three_members_by_hand() -> None:
    game = basic_game()
    assert game.value_micro_grosz([0, 2]) == 2650 * MICRO_PER_MPLN
    assert shapley_exact(game) == [Fraction(v * MICRO_PER_MPLN) for v in SHAPLEY_MPLN]


def test_settle_reports_shapley_shares_rounded_to_the_grand_value() -> None:
    config = build_config(*BASIC_PARTS, terms())
    s = settle(config, MONTH, metered(BASIC_IMPORT, BASIC_EXPORT, BASIC_DA), shapley=True)
    # 2.36, 1.545, 0.295 -> total 4.20; b and p both have half a grosz over, the missing
    # grosz goes to the earlier (b).
    shares = {m: s.statements[m].shapley_saving_pln for m in "abp"}
    assert shares == {"a": D("2.36"), "b": D("1.55"), "p": D("0.29")}


def test_sampled_shapley_is_close_to_exact_for_fourteen_members() -> None:
    # Ten consumers and four producers over eight quarter-hours with random profiles.
    # Each estimate is the mean of 200 marginal contributions (100 antithetic pairs).
    # One member's contributions spread (standard deviation) by about 5.4 % of the
    # largest share, so a mean of 200 has a standard error of about 0.4 %: the
    # tolerance, 2 % of the largest share, is five standard errors.
    rng = np.random.default_rng(11)
    steps, n = 8, 14
    consumption = rng.integers(0, 5000, (steps, n))
    consumption[:, 10:] //= 10
    export = np.zeros((steps, n), dtype=np.int64)
    export[:, 10:] = rng.integers(0, 12000, (steps, 4))
    day_ahead = rng.integers(10_000, 80_000, steps)
    standalone = consumption.sum(axis=0) * 76_000 - export.T @ (day_ahead - 4_000)
    game = CoalitionGame(consumption, export, day_ahead + 2_000, day_ahead - 1_000, standalone)
    exact = shapley_exact(game)
    sampled = shapley_sampled(game)
    grand = game.value_micro_grosz(range(n))
    assert sum(exact) == grand
    assert sum(sampled) == grand  # every order's contributions add up to v(N)
    tolerance = 0.02 * max(abs(float(v)) for v in exact)
    errors = [abs(float(a - b)) for a, b in zip(sampled, exact, strict=True)]
    assert max(errors) < tolerance
    assert shapley_sampled(game) == sampled  # a fixed seed: the same estimate every run
    # Past the exact limit the shares in PLN are the sampled values, to the grosz, and
    # add up to v(N) rounded to the grosz (1 PLN = 1e8 micro-grosz).
    assert n > SHAPLEY_EXACT_MAX_MEMBERS
    shares = shapley_saving_pln(game, [f"m{j}" for j in range(n)])
    assert sum(shares.values()) == round_to_grosz(Decimal(grand) / 10**8)
    assert all(abs(shares[f"m{j}"] * 10**8 - Decimal(float(v))) <= 10**6
               for j, v in enumerate(sampled))  # fmt: skip
