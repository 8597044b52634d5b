"""Canonical settlement records: stable bytes, exact decimals, and line-by-line differences."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from decimal import Decimal

import pandas as pd
import pytest

from cluster.invoices import (
    InvoiceLine,
    LineKind,
    MemberEnergy,
    MemberStatement,
    Settlement,
)
from cluster.settlement import SettlementError
from cluster.settlement_records import (
    DIFFERENCE_COLUMNS,
    canonical_json,
    difference_report,
)

STEPS = pd.date_range("2026-10-31 23:00", periods=4, freq="15min", tz="UTC", name="ts")


def line(kind: LineKind, quantity: str, amount: str, point: str | None = None) -> InvoiceLine:
    unit = "kW" if kind is LineKind.DISTRIBUTION_CAPACITY else "MWh"
    return InvoiceLine(kind, Decimal(quantity), unit, Decimal(amount), point)


def energy(member_id: str, consumption: list[int]) -> MemberEnergy:
    frame = pd.DataFrame(
        {
            "consumption_wh": consumption,
            "local_wh": [0, 100, 100, 0],
            "grid_wh": [c - lo for c, lo in zip(consumption, [0, 100, 100, 0], strict=True)],
        },
        index=STEPS,
    )
    return MemberEnergy(member_id, frame)


def settlement(
    *, city_day_ahead: str = "40.00", school_extra: InvoiceLine | None = None
) -> Settlement:
    """Two members; the city's day-ahead line and the school's lines can be varied."""
    city = MemberStatement(
        "city",
        (
            line(LineKind.LOCAL_ENERGY, "0.200", "80.00"),
            line(LineKind.DAY_AHEAD_ENERGY, "0.100", city_day_ahead),
            line(LineKind.DISTRIBUTION_CAPACITY, "60", "756.00", "cp-city"),
        ),
        standalone_pln=Decimal("900.00"),
    )
    school_lines = [
        line(LineKind.LOCAL_ENERGY_DELIVERED, "0.200", "-80.00"),
        # A zero quantity kept to the Wh: Decimal("0E-6") must not leak into the record.
        line(LineKind.DISTRIBUTION_ENERGY, "0E-6", "0.00", "cp-school"),
    ]
    if school_extra is not None:
        school_lines.append(school_extra)
    school = MemberStatement("school", tuple(school_lines), standalone_pln=Decimal("12.50"))
    external = {
        "day_ahead_energy": Decimal(city_day_ahead),
        "distribution_capacity": Decimal("756"),
    }
    if school_extra is not None:
        external[school_extra.kind.value] = school_extra.amount_pln
    return Settlement(
        cluster_name="Klaster Testowy",
        period="2026-11",
        start=STEPS[0],
        end=STEPS[-1] + pd.Timedelta(minutes=15),
        # The config's order, not alphabetical: the record must keep it.
        statements={"school": school, "city": city},
        energy={
            "school": energy("school", [0, 0, 0, 0]),
            "city": energy("city", [300, 400, 500, 600]),
        },
        cluster_energy=pd.DataFrame(
            {"allocated_wh": [0, 100, 100, 0], "day_ahead_pln_per_mwh": [300.5, 301.0, 0, 1]},
            index=STEPS,
        ),
        external_costs_pln=external,
    )


def test_the_same_settlement_gives_the_same_bytes() -> None:
    first, second = canonical_json(settlement()), canonical_json(settlement())
    assert first == second
    assert first.endswith(b"\n")
    assert canonical_json(settlement(city_day_ahead="40.01")) != first


def test_the_record_holds_exact_decimal_text_and_whole_watt_hours() -> None:
    record = json.loads(canonical_json(settlement()))
    assert list(record) == sorted(record)
    assert record["member_order"] == ["school", "city"]
    city = record["statements"]["city"]
    assert city["lines"][1] == {
        "kind": "day_ahead_energy",
        "connection_point_id": None,
        "quantity": "0.100",
        "unit": "MWh",
        "amount_pln": "40.00",
    }
    assert city["total_pln"] == "876.00"  # 80 + 40 + 756
    assert city["saving_pln"] == "24.00"
    assert city["shapley_saving_pln"] is None
    assert record["statements"]["school"]["lines"][1]["quantity"] == "0.000000"
    assert record["energy_wh"]["city"] == {"consumption_wh": 1800, "local_wh": 200, "grid_wh": 1600}
    # Prices are not energy: only the *_wh columns are totalled.
    assert record["cluster_energy_wh"] == {"allocated_wh": 200}
    assert record["external_costs_pln"] == {
        "day_ahead_energy": "40.00",
        "distribution_capacity": "756",
    }
    assert (
        record["start"] == "2026-10-31T23:00:00+00:00"
        and record["end"] == "2026-11-01T00:00:00+00:00"
    )
    assert b"E-" not in canonical_json(settlement())


def test_identical_records_have_no_differences() -> None:
    data = canonical_json(settlement())
    report = difference_report(data, data)
    assert report.lines == () and report.changed_members == []
    assert all(m.change_pln == 0 for m in report.members)
    assert "No invoice line changed." in report.summary("v1", "v2")


def test_a_changed_line_is_reported_with_its_member_and_the_totals() -> None:
    old = canonical_json(settlement())
    new = canonical_json(settlement(city_day_ahead="52.35"))
    report = difference_report(old, new)
    assert report.changed_members == ["city"]
    (change,) = report.lines
    assert (change.member_id, change.kind, change.connection_point_id) == (
        "city",
        "day_ahead_energy",
        None,
    )
    assert (change.old_amount_pln, change.new_amount_pln) == (Decimal("40.00"), Decimal("52.35"))
    assert change.change_pln == Decimal("12.35")
    totals = {m.member_id: m for m in report.members}
    assert totals["city"].change_pln == Decimal("12.35")
    assert totals["school"].change_pln == 0
    assert report.new_total_pln - report.old_total_pln == Decimal("12.35")

    rows = list(csv.DictReader(io.StringIO(report.to_csv().decode())))
    assert tuple(rows[0]) == DIFFERENCE_COLUMNS
    assert rows[0]["member"] == "city" and rows[0]["change_pln"] == "12.35"
    assert [r["member"] for r in rows[1:]] == ["school", "city", "*"]
    # The cluster total is its external costs: 40 + 756, then 52.35 + 756.
    assert rows[-1]["old_amount_pln"] == "796.00" and rows[-1]["new_amount_pln"] == "808.35"
    summary = report.summary("v1", "v2")
    assert "city: total 876.00 -> 888.35 PLN (change 12.35 PLN); lines: day_ahead_energy" in summary


def test_a_line_that_appears_is_reported_against_nothing() -> None:
    overrun = line(LineKind.CAPACITY_OVERRUN, "3.5", "441.00", "cp-school")
    report = difference_report(
        canonical_json(settlement()), canonical_json(settlement(school_extra=overrun))
    )
    (change,) = report.lines
    assert change.kind == "capacity_overrun" and change.connection_point_id == "cp-school"
    assert change.old_amount_pln is None and change.old_quantity is None
    assert change.new_quantity == Decimal("3.5") and change.change_pln == Decimal("441.00")
    row = next(csv.DictReader(io.StringIO(report.to_csv().decode())))
    assert row["old_amount_pln"] == "" and row["new_amount_pln"] == "441.00"


def test_a_changed_standalone_cost_is_a_difference_too() -> None:
    base = settlement()
    city = dataclasses.replace(base.statements["city"], standalone_pln=Decimal("950.00"))
    changed = dataclasses.replace(base, statements={**base.statements, "city": city})
    report = difference_report(canonical_json(base), canonical_json(changed))
    assert [(c.member_id, c.kind, c.change_pln) for c in report.lines] == [
        ("city", "standalone", Decimal("50.00"))
    ]


def test_records_of_different_months_or_broken_records_are_refused() -> None:
    other = dataclasses.replace(settlement(), period="2026-12")
    with pytest.raises(SettlementError, match="different periods: 2026-11 and 2026-12"):
        difference_report(canonical_json(settlement()), canonical_json(other))
    with pytest.raises(SettlementError, match="not valid JSON"):
        difference_report(b"{", canonical_json(settlement()))
    twice = line(LineKind.DISTRIBUTION_ENERGY, "0.1", "1.00", "cp-school")
    doubled = settlement(school_extra=twice)
    with pytest.raises(SettlementError, match="two distribution_energy lines for cp-school"):
        difference_report(canonical_json(doubled), canonical_json(settlement()))
