"""The settlement's enforced checks, each tripped by an input built broken on purpose.

Inputs are the three-member case of ``test_settlement_money`` (quarter-hours
t0..t3 from 2026-11-02 10:00 UTC); settled results are broken by replacing a
frame or a statement of a good settlement with an inconsistent one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cluster.invoices import LineKind, MemberEnergy, MeteredPeriod, Settlement
from cluster.settlement import SettlementError
from cluster.settlement_checks import check_settlement
from cluster.settlement_money import settle
from tests.cluster.settlement_cases import MONTH, build_config, metered, terms
from tests.cluster.test_settlement_money import (
    BASIC_DA,
    BASIC_EXPORT,
    BASIC_IMPORT,
    BASIC_PARTS,
)

CONFIG = build_config(*BASIC_PARTS, terms())


def good_period() -> MeteredPeriod:
    return metered(BASIC_IMPORT, BASIC_EXPORT, BASIC_DA)


def settle_broken(**changes: Any) -> None:
    settle(CONFIG, MONTH, replace(good_period(), **changes))


def test_the_unbroken_case_settles() -> None:
    check_settlement(settle(CONFIG, MONTH, good_period()))


def test_curtailed_energy_on_other_quarter_hours_is_refused() -> None:
    curtailed = good_period().curtailed_kwh
    with pytest.raises(SettlementError, match="curtailed energy covers other quarter-hours"):
        settle_broken(curtailed_kwh=curtailed.set_axis(curtailed.index + pd.Timedelta("15min")))


@pytest.mark.parametrize(("value", "problem"), [(-1.0, "is -1.0 kWh"), (np.nan, "is missing")])
def test_negative_or_missing_energy_names_the_point_and_quarter_hour(
    value: float, problem: str
) -> None:
    imports = good_period().import_kwh.copy()
    imports.iloc[2, 1] = value
    with pytest.raises(SettlementError) as raised:
        settle_broken(import_kwh=imports)
    assert (
        "connection point 'cp-b' in the quarter-hour 2026-11-02 10:30 UTC (11:30 local) "
        f"{problem}" in str(raised.value)
    )


def test_a_connection_point_missing_from_the_metered_frame_is_named() -> None:
    with pytest.raises(SettlementError, match=r"export energy has no column .* cp-p"):
        settle_broken(export_kwh=good_period().export_kwh.drop(columns="cp-p"))


def test_a_column_of_an_unknown_connection_point_is_named() -> None:
    with pytest.raises(SettlementError, match="columns cp-x, which are not connection points"):
        settle_broken(import_kwh=good_period().import_kwh.assign(**{"cp-x": 1.0}))


def test_a_price_gap_names_the_first_missing_quarter_hour() -> None:
    price = good_period().day_ahead_pln_per_mwh.copy()
    price.iloc[1] = np.nan
    expected = "missing in 1 quarter-hour(s), the first the quarter-hour 2026-11-02 10:15 UTC"
    with pytest.raises(SettlementError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        settle_broken(day_ahead_pln_per_mwh=price)
    with pytest.raises(SettlementError, match="2026-11-02 10:45 UTC"):
        settle_broken(day_ahead_pln_per_mwh=good_period().day_ahead_pln_per_mwh.iloc[:3])


def test_a_gap_in_the_quarter_hours_is_named() -> None:
    period = good_period()
    kept = period.import_kwh.index.delete(2)
    names = ("import_kwh", "export_kwh", "curtailed_kwh", "day_ahead_pln_per_mwh")
    with pytest.raises(SettlementError, match=r"after the quarter-hour 2026-11-02 10:15 UTC"):
        settle_broken(**{name: getattr(period, name).loc[kept] for name in names})


def test_quarter_hours_outside_the_month_are_refused() -> None:
    # 2026-10-31 22:45 UTC is 23:45 on 31 October in Warsaw.
    october = metered(BASIC_IMPORT, BASIC_EXPORT, BASIC_DA,
                      start=pd.Timestamp("2026-10-31 22:45", tz="UTC"))  # fmt: skip
    with pytest.raises(SettlementError, match=r"22:45 UTC .* is not a quarter-hour of 2026-11"):
        settle(CONFIG, MONTH, october)


# --- checks of a settled period --------------------------------------------------------

GOOD = settle(CONFIG, MONTH, good_period())


def bumped(frame: pd.DataFrame, step: int, deltas: dict[str, int]) -> pd.DataFrame:
    """A copy of ``frame`` with ``deltas`` added to its columns in row ``step``."""
    changed = frame.copy()
    for column, delta in deltas.items():
        values = changed[column].to_numpy(copy=True)
        values[step] += delta
        changed[column] = values
    return changed


def with_member(member_id: str, step: int, **deltas: int) -> Settlement:
    frame = bumped(GOOD.energy[member_id].frame, step, deltas)
    return replace(GOOD, energy={**GOOD.energy, member_id: MemberEnergy(member_id, frame)})


def with_cluster(step: int, **deltas: int) -> Settlement:
    return replace(GOOD, cluster_energy=bumped(GOOD.cluster_energy, step, deltas))


def with_line(member_id: str, kind: LineKind, delta: str) -> Callable[[Settlement], Settlement]:
    def change(settlement: Settlement) -> Settlement:
        statement = settlement.statements[member_id]
        lines = tuple(
            replace(line, amount_pln=line.amount_pln + Decimal(delta)) if line.kind is kind
            else line for line in statement.lines
        )  # fmt: skip
        statements = {**settlement.statements, member_id: replace(statement, lines=lines)}
        return replace(settlement, statements=statements)

    return change


def shifted_member_index() -> Settlement:
    frame = GOOD.energy["b"].frame
    moved = frame.set_axis(frame.index + pd.Timedelta("15min"))
    return replace(GOOD, energy={**GOOD.energy, "b": MemberEnergy("b", moved)})


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (shifted_member_index(), "energy of member 'b' covers other quarter-hours"),
        (with_member("b", 1, local_wh=-1, grid_wh=1),
         "10:15 UTC (11:15 local) member 'b': local_wh is negative"),
        (with_member("a", 1, consumption_wh=1), "member 'a': consumption differs from local"),
        (with_member("p", 2, sold_wh=1), "member 'p': export differs from delivered + sold"),
        # a's local energy raised, its grid lowered: the member adds up, the cluster not.
        (with_member("a", 0, local_wh=1, grid_wh=-1),
         "10:00 UTC (11:00 local) allocated energy (2000 Wh) differs from the energy "
         "allocated to members (2001 Wh)"),
        (with_member("p", 0, delivered_wh=-1, sold_wh=1),
         "allocated energy (2000 Wh) differs from the local production used in the cluster"),
        (with_cluster(1, curtailed_wh=1),
         "10:15 UTC (11:15 local) production (0 Wh) differs from allocated + sold + curtailed"),
        (with_cluster(1, curtailed_wh=1, production_wh=1),
         "production (1 Wh) differs from the members' export + curtailed energy (0 Wh)"),
        (with_cluster(2, sold_wh=1, curtailed_wh=-1),
         "sold energy (2001 Wh) differs from the members' sold energy (2000 Wh)"),
        (with_cluster(3, consumption_wh=1), "differs from the members' consumption"),
        (with_cluster(3, grid_wh=1), "differs from the members' grid energy"),
        (with_line("a", LineKind.DAY_AHEAD_ENERGY, "0.01")(GOOD),
         "statements add up to 7.57 PLN, the cluster's external costs to 7.56 PLN"),
        (with_line("a", LineKind.LOCAL_ENERGY, "-0.01")(GOOD),
         "statements add up to 7.55 PLN"),
        # Errors that cancel in the total are still found, by kind.
        (with_line("a", LineKind.SUPPLIER_MARGIN, "-0.01")(
            with_line("a", LineKind.DAY_AHEAD_ENERGY, "0.01")(GOOD)),
         "day_ahead_energy lines add up to 3.61 PLN, the cluster's day_ahead_energy cost is "
         "3.60 PLN"),
    ],
)  # fmt: skip
def test_a_broken_settlement_fails_its_check(broken: Settlement, message: str) -> None:
    with pytest.raises(SettlementError) as raised:
        check_settlement(broken)
    assert message in str(raised.value)
