"""The coordinator's summary of a settlement: every member in one table, and the balance.

Unlike a member's report, this one is for the coordinator alone and names all
members. It shows that the numbers add up: production = allocated + sold +
curtailed in every quarter-hour, and the members' invoices = the cluster's
costs net of revenues, to the grosz.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from cli import settle_plots as plots
from cli.settle_document import (
    Language,
    Plot,
    Report,
    Section,
    Table,
    energy_totals,
    how_section,
    period_line,
    share_text,
)
from cluster.invoices import LineKind, MemberStatement, Settlement


def _pct(statement: MemberStatement, words: Language) -> str:
    pct = statement.saving_pct
    return words.percent(pct) if pct is not None else words.text("not_computed")


def _members_table(settlement: Settlement, words: Language) -> Table:
    rows = []
    used_total = local_total = 0
    for member_id, statement in settlement.statements.items():
        energy = energy_totals(settlement.energy[member_id].frame)
        used_total += energy["consumption_wh"]
        local_total += energy["local_wh"]
        shapley = statement.shapley_saving_pln
        rows.append(
            (
                settlement.member_names.get(member_id, member_id),
                member_id,
                words.energy(energy["consumption_wh"]),
                share_text(energy["local_wh"], energy["consumption_wh"], words),
                words.money(statement.total_pln),
                words.money(statement.standalone_pln),
                words.money(statement.saving_pln),
                _pct(statement, words),
                words.money(shapley) if shapley is not None else words.text("not_computed"),
            )
        )
    statements = list(settlement.statements.values())
    total_paid = sum((s.total_pln for s in statements), Decimal(0))
    total_alone = sum((s.standalone_pln for s in statements), Decimal(0))
    shapleys = [s.shapley_saving_pln for s in statements if s.shapley_saving_pln is not None]
    total = (
        words.text("total"),
        "",
        words.energy(used_total),
        share_text(local_total, used_total, words),
        words.money(total_paid),
        words.money(total_alone),
        words.money(total_alone - total_paid),
        words.percent(float((total_alone - total_paid) / total_alone * 100))
        if total_alone > 0
        else words.text("not_computed"),
        words.money(sum(shapleys, Decimal(0))) if shapleys else words.text("not_computed"),
    )
    headers = tuple(
        words.text(k)
        for k in (
            "col_member", "col_member_id", "col_consumption", "col_local_share", "col_total",
            "col_standalone", "col_saving", "col_saving_pct", "col_shapley",
        )
    )  # fmt: skip
    numeric = (False, False, *([True] * 7))
    return Table(headers, tuple(rows), numeric, total)


def energy_balance_holds(settlement: Settlement) -> bool:
    """True when production = allocated + sold + curtailed in every quarter-hour, and the
    members' local energy and deliveries add up to the allocated energy."""
    cluster = settlement.cluster_energy
    per_step = cluster["allocated_wh"] + cluster["sold_wh"] + cluster["curtailed_wh"]
    members_local = sum(int(e.frame["local_wh"].sum()) for e in settlement.energy.values())
    members_delivered = sum(int(e.frame["delivered_wh"].sum()) for e in settlement.energy.values())
    allocated = int(cluster["allocated_wh"].sum())
    return (
        bool((cluster["production_wh"] == per_step).all())
        and members_local == allocated
        and members_delivered == allocated
    )


def _balance_table(settlement: Settlement, words: Language) -> Table:
    cluster = energy_totals(settlement.cluster_energy)
    invoices = sum((s.total_pln for s in settlement.statements.values()), Decimal(0))

    def verdict(holds: bool) -> str:
        return words.text("check_ok" if holds else "check_failed")

    rows = (
        (words.text("balance_production"), words.energy(cluster["production_wh"])),
        (words.text("balance_allocated"), words.energy(cluster["allocated_wh"])),
        (words.text("balance_sold"), words.energy(cluster["sold_wh"])),
        (words.text("balance_curtailed"), words.energy(cluster["curtailed_wh"])),
        (words.text("balance_energy_check"), verdict(energy_balance_holds(settlement))),
        (words.text("balance_invoices"), words.money(invoices)),
        (words.text("balance_costs"), words.money(settlement.total_pln)),
        (words.text("balance_money_check"), verdict(invoices == settlement.total_pln)),
    )
    return Table((words.text("balance_heading"), words.text("col_value")), rows, (False, True))


def _costs_table(settlement: Settlement, words: Language) -> Table:
    order = [kind.value for kind in LineKind] + sorted(
        set(settlement.external_costs_pln) - {kind.value for kind in LineKind}
    )
    rows = tuple(
        (words.kinds.get(key, key), words.money(settlement.external_costs_pln[key]))
        for key in order
        if key in settlement.external_costs_pln
    )
    total = (words.text("total"), words.money(settlement.total_pln))
    return Table((words.text("col_item"), words.text("col_amount")), rows, (False, True), total)


def _cluster_profile(settlement: Settlement, words: Language) -> Plot:
    mean_day = plots.mean_day_kw(
        settlement.cluster_energy[["allocated_wh", "grid_wh", "production_wh"]],
        settlement.timezone,
    )
    legend = tuple(words.text(k) for k in ("series_local", "series_grid", "series_production"))
    title = words.text("plot_profile_cluster")
    png = plots.daily_profile_png(
        mean_day["allocated_wh"],
        mean_day["grid_wh"],
        mean_day["production_wh"],
        plots.PlotWords(title, words.text("axis_hour"), words.text("axis_power"), legend),
        words.number,
    )
    return Plot(title, png)


def coordinator_report(settlement: Settlement, words: Language) -> Report:
    """The coordinator's summary: all members, the cluster's balance, costs and profile."""
    sections = (
        Section(words.text("members_heading"), tables=(_members_table(settlement, words),)),
        Section(
            words.text("balance_heading"),
            tables=(_balance_table(settlement, words), _costs_table(settlement, words)),
            plots=(_cluster_profile(settlement, words),),
        ),
        how_section(settlement, words, None),
    )
    header = (words.text("cluster", name=settlement.cluster_name), period_line(settlement, words))
    return Report(
        words.code,
        words.text("coordinator_title"),
        header,
        sections,
        settlement.end.to_pydatetime(),
    )


def _mwh(energy_wh: int) -> str:
    return str(Decimal(energy_wh).scaleb(-6).quantize(Decimal("0.000001")))


def summary_csv(settlement: Settlement) -> bytes:
    """One row per member (sorted by id): energy in MWh to the Wh, money per line kind, PLN.

    Language-independent data for other programs: ``.`` decimals, no grouping.
    """
    kinds = [kind.value for kind in LineKind]
    header = [
        "member_id", "member_name", "consumption_mwh", "local_mwh", "grid_mwh",
        "local_share_pct", "export_mwh", "delivered_mwh", "sold_mwh", "curtailed_mwh",
        *(f"{kind}_pln" for kind in kinds),
        "total_pln", "standalone_pln", "saving_pln", "saving_pct", "shapley_saving_pln",
    ]  # fmt: skip
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for member_id in sorted(settlement.statements):
        statement = settlement.statements[member_id]
        energy = energy_totals(settlement.energy[member_id].frame)
        by_kind = dict.fromkeys(kinds, Decimal("0.00"))
        for line in statement.lines:
            by_kind[line.kind.value] += line.amount_pln
        used = energy["consumption_wh"]
        share = f"{100 * energy['local_wh'] / used:.2f}" if used > 0 else ""
        pct = statement.saving_pct
        shapley = statement.shapley_saving_pln
        writer.writerow(
            [
                member_id,
                settlement.member_names.get(member_id, member_id),
                *(_mwh(energy[c]) for c in ("consumption_wh", "local_wh", "grid_wh")),
                share,
                *(_mwh(energy[c]) for c in ("export_wh", "delivered_wh", "sold_wh")),
                _mwh(energy["curtailed_wh"]),
                *(str(by_kind[kind]) for kind in kinds),
                str(statement.total_pln),
                str(statement.standalone_pln),
                str(statement.saving_pln),
                f"{pct:.2f}" if pct is not None else "",
                str(shapley) if shapley is not None else "",
            ]
        )
    return buffer.getvalue().encode("utf-8")
