"""A settlement as canonical bytes, and the differences between two of them.

A settlement run is kept as the canonical JSON of what it bills: every
member's invoice lines, standalone cost and Shapley share, every member's and
the cluster's energy totals, and the cluster's external costs. Keys are
sorted, money and quantities are decimal strings (never binary floats) and
nothing about the run itself (when, by whom) is in it, so the same settlement
always gives the same bytes and two versions can be compared line by line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from cluster.invoices import Settlement
from cluster.settlement import SettlementError

#: Pseudo line kinds of a difference report for a statement's other amounts.
STANDALONE = "standalone"
SHAPLEY_SAVING = "shapley_saving"
TOTAL = "total"
#: The member column of the cluster's total row in a difference report.
CLUSTER = "*"

DIFFERENCE_COLUMNS = (
    "member",
    "line_kind",
    "connection_point",
    "unit",
    "old_quantity",
    "new_quantity",
    "old_amount_pln",
    "new_amount_pln",
    "change_pln",
)


def _decimal_text(value: Decimal | None) -> str | None:
    # Fixed-point text: str() would give "0E-6" for some zeros.
    return None if value is None else format(value, "f")


def _whole(total: Any) -> int:
    """A column sum as an exact integer (whole Wh)."""
    if isinstance(total, (int, np.integer)):
        return int(total)
    return round(float(total))


def _energy_totals_wh(frame: pd.DataFrame) -> dict[str, int]:
    return {str(c): _whole(frame[c].sum()) for c in frame.columns if str(c).endswith("_wh")}


def settlement_record(settlement: Settlement) -> dict[str, Any]:
    """The settlement as plain JSON data: statements, energy totals, external costs.

    Money and quantities are decimal strings; energy totals are whole Wh.
    """
    statements = {
        member_id: {
            "lines": [
                {
                    "kind": line.kind.value,
                    "connection_point_id": line.connection_point_id,
                    "quantity": _decimal_text(line.quantity),
                    "unit": line.unit,
                    "amount_pln": _decimal_text(line.amount_pln),
                }
                for line in statement.lines
            ],
            "standalone_pln": _decimal_text(statement.standalone_pln),
            "shapley_saving_pln": _decimal_text(statement.shapley_saving_pln),
            "total_pln": _decimal_text(statement.total_pln),
            "saving_pln": _decimal_text(statement.saving_pln),
        }
        for member_id, statement in settlement.statements.items()
    }
    return {
        "cluster_name": settlement.cluster_name,
        "period": settlement.period,
        "start": settlement.start.tz_convert("UTC").isoformat(),
        "end": settlement.end.tz_convert("UTC").isoformat(),
        "statements": statements,
        "member_order": list(settlement.statements),
        "energy_wh": {m: _energy_totals_wh(e.frame) for m, e in settlement.energy.items()},
        "cluster_energy_wh": _energy_totals_wh(settlement.cluster_energy),
        "external_costs_pln": {
            kind: _decimal_text(amount) for kind, amount in settlement.external_costs_pln.items()
        },
        "total_pln": _decimal_text(settlement.total_pln),
    }


def canonical_json(settlement: Settlement) -> bytes:
    """The canonical JSON bytes of a settlement (UTF-8, sorted keys, a final newline)."""
    text = json.dumps(settlement_record(settlement), sort_keys=True, ensure_ascii=False, indent=1)
    return (text + "\n").encode("utf-8")


@dataclass(frozen=True)
class LineChange:
    """One invoice amount that differs between two versions of a settlement.

    Attributes
    ----------
    member_id : str
        The member.
    kind : str
        A :class:`~cluster.invoices.LineKind` value, or ``"standalone"`` /
        ``"shapley_saving"`` for those amounts of the statement.
    connection_point_id : str or None
        The connection point of a distribution line.
    unit : str
        The quantity's unit (empty for the statement's other amounts).
    old_quantity, new_quantity : Decimal or None
        The billed quantity in each version; None where the line is absent.
    old_amount_pln, new_amount_pln : Decimal or None
        The amount in each version, PLN; None where the line is absent.
    """

    member_id: str
    kind: str
    connection_point_id: str | None
    unit: str
    old_quantity: Decimal | None
    new_quantity: Decimal | None
    old_amount_pln: Decimal | None
    new_amount_pln: Decimal | None

    @property
    def change_pln(self) -> Decimal:
        """New amount less old amount, PLN (an absent line counts as zero)."""
        return (self.new_amount_pln or Decimal(0)) - (self.old_amount_pln or Decimal(0))


@dataclass(frozen=True)
class MemberChange:
    """A member's statement total in two versions, PLN (None where the member is absent)."""

    member_id: str
    old_total_pln: Decimal | None
    new_total_pln: Decimal | None

    @property
    def change_pln(self) -> Decimal:
        """New total less old total, PLN."""
        return (self.new_total_pln or Decimal(0)) - (self.old_total_pln or Decimal(0))


@dataclass(frozen=True)
class DifferenceReport:
    """What changed between two versions of a period's settlement.

    Attributes
    ----------
    period : str
        The settled month, ``YYYY-MM``.
    lines : tuple of LineChange
        Every line whose amount or quantity differs, in member order.
    members : tuple of MemberChange
        Every member of either version with both totals.
    old_total_pln, new_total_pln : Decimal
        The cluster's net costs in each version, PLN.
    """

    period: str
    lines: tuple[LineChange, ...]
    members: tuple[MemberChange, ...]
    old_total_pln: Decimal
    new_total_pln: Decimal

    @property
    def changed_members(self) -> list[str]:
        """The members with any changed line, in member order."""
        return list(dict.fromkeys(line.member_id for line in self.lines))

    def to_csv(self) -> bytes:
        """The report as CSV: changed lines, then each member's total, then the cluster's."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(DIFFERENCE_COLUMNS)
        for line in self.lines:
            writer.writerow(
                [
                    line.member_id,
                    line.kind,
                    line.connection_point_id or "",
                    line.unit,
                    _decimal_text(line.old_quantity) or "",
                    _decimal_text(line.new_quantity) or "",
                    _decimal_text(line.old_amount_pln) or "",
                    _decimal_text(line.new_amount_pln) or "",
                    _decimal_text(line.change_pln),
                ]
            )
        for member in self.members:
            writer.writerow(
                [member.member_id, TOTAL, "", "PLN", "", "",
                 _decimal_text(member.old_total_pln) or "",
                 _decimal_text(member.new_total_pln) or "",
                 _decimal_text(member.change_pln)]
            )  # fmt: skip
        writer.writerow(
            [CLUSTER, TOTAL, "", "PLN", "", "",
             _decimal_text(self.old_total_pln), _decimal_text(self.new_total_pln),
             _decimal_text(self.new_total_pln - self.old_total_pln)]
        )  # fmt: skip
        return buffer.getvalue().encode("utf-8")

    def summary(self, old_label: str, new_label: str) -> str:
        """A few lines of plain text: which members' amounts changed and by how much."""
        change = self.new_total_pln - self.old_total_pln
        head = (
            f"Settlement {self.period}: {new_label} against {old_label}\n"
            f"Cluster net cost: {_decimal_text(self.old_total_pln)} -> "
            f"{_decimal_text(self.new_total_pln)} PLN (change {_decimal_text(change)} PLN)\n"
        )
        if not self.lines:
            return head + "No invoice line changed.\n"
        rows = [f"Members whose lines changed: {len(self.changed_members)}"]
        totals = {m.member_id: m for m in self.members}
        for member_id in self.changed_members:
            kinds = sorted({line.kind for line in self.lines if line.member_id == member_id})
            member = totals[member_id]
            rows.append(
                f"  {member_id}: total {_decimal_text(member.old_total_pln) or '-'} -> "
                f"{_decimal_text(member.new_total_pln) or '-'} PLN "
                f"(change {_decimal_text(member.change_pln)} PLN); lines: {', '.join(kinds)}"
            )
        return head + "\n".join(rows) + "\n"


_Key = tuple[str, str, str | None]
_Amounts = tuple[str, Decimal | None, Decimal | None]


def _optional(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _amounts(record: dict[str, Any]) -> dict[_Key, _Amounts]:
    """Every amount of a record by (member, kind, connection point): unit, quantity, amount."""
    found: dict[_Key, _Amounts] = {}
    for member_id, statement in record["statements"].items():
        for line in statement["lines"]:
            key = (member_id, line["kind"], line["connection_point_id"])
            if key in found:
                raise SettlementError(
                    f"member {member_id!r} has two {line['kind']} lines"
                    + (
                        f" for {line['connection_point_id']}" if line["connection_point_id"] else ""
                    ),
                    fix="this is a defect in the settlement; report it with the run's files",
                )
            found[key] = (line["unit"], Decimal(line["quantity"]), Decimal(line["amount_pln"]))
        found[(member_id, STANDALONE, None)] = ("", None, Decimal(statement["standalone_pln"]))
        shapley = _optional(statement["shapley_saving_pln"])
        if shapley is not None:
            found[(member_id, SHAPLEY_SAVING, None)] = ("", None, shapley)
    return found


def _load(data: bytes, which: str) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettlementError(
            f"the {which} settlement record is not valid JSON: {exc}",
            fix="compare records written by canonical_json (settlement.json of a run)",
        ) from None
    return record


def difference_report(old_json: bytes, new_json: bytes) -> DifferenceReport:
    """Compare two canonical settlement records of the same period.

    Parameters
    ----------
    old_json, new_json
        Bytes written by :func:`canonical_json`.

    Raises
    ------
    SettlementError
        When the records are not valid JSON or settle different periods.
    """
    old, new = _load(old_json, "old"), _load(new_json, "new")
    if old["period"] != new["period"]:
        raise SettlementError(
            f"cannot compare settlements of different periods: {old['period']} and {new['period']}",
            fix="compare two versions of the same month",
        )
    old_amounts, new_amounts = _amounts(old), _amounts(new)
    members = list(dict.fromkeys([*new["member_order"], *old["member_order"]]))
    rank = {member_id: i for i, member_id in enumerate(members)}
    keys = list(dict.fromkeys([*new_amounts, *old_amounts]))
    # Stable: within a member the lines keep their statement order.
    keys.sort(key=lambda key: rank[key[0]])
    lines = []
    for key in keys:
        unit_old, quantity_old, amount_old = old_amounts.get(key, ("", None, None))
        unit_new, quantity_new, amount_new = new_amounts.get(key, ("", None, None))
        if (quantity_old, amount_old) == (quantity_new, amount_new):
            continue
        lines.append(
            LineChange(
                member_id=key[0],
                kind=key[1],
                connection_point_id=key[2],
                unit=unit_new or unit_old,
                old_quantity=quantity_old,
                new_quantity=quantity_new,
                old_amount_pln=amount_old,
                new_amount_pln=amount_new,
            )
        )
    totals = [
        MemberChange(
            member_id,
            _optional(old["statements"].get(member_id, {}).get("total_pln")),
            _optional(new["statements"].get(member_id, {}).get("total_pln")),
        )
        for member_id in members
    ]
    return DifferenceReport(
        period=new["period"],
        lines=tuple(lines),
        members=tuple(totals),
        old_total_pln=Decimal(old["total_pln"]),
        new_total_pln=Decimal(new["total_pln"]),
    )
