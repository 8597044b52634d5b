"""A member's settlement report, and every report file of a settlement.

:func:`render_reports` is the entry point: per member an HTML report, its PDF
and the CSV of its quarter-hours; for the coordinator a summary over all
members and the CSV of everyone's quarter-hours. A member's report holds only
its own data and, in a cluster of at least :data:`MIN_MEMBERS_FOR_CLUSTER_TOTALS`
members, the cluster's totals: energy profiles are personal data, and no other
member's id, name, series or figures may reach it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from decimal import Decimal

from cli import settle_plots as plots
from cli.settle_coordinator import coordinator_report, summary_csv
from cli.settle_document import (
    SUPPORTED_LANGUAGES,
    WH_PER_MWH,
    Language,
    Plot,
    Report,
    Section,
    Table,
    allocation_csv,
    energy_totals,
    how_section,
    language,
    period_line,
    report_html,
    share_text,
)
from cli.settle_pdf import report_pdf
from cluster.errors import KlasterError
from cluster.fields import choose_from
from cluster.invoices import LineKind, MemberStatement, Settlement

#: The fewest members (of the settlement) whose reports show the cluster's totals. With
#: two, the cluster's total less a member's own figure is the other member's figure: its
#: consumption or production would leak. From three on, it is a sum over at least two others.
MIN_MEMBERS_FOR_CLUSTER_TOTALS = 3


def _summary(statement: MemberStatement, energy: dict[str, int], words: Language) -> list[str]:
    """The plain-language account of a member's month."""
    used = energy["consumption_wh"]
    lines = []
    if used > 0:
        share = share_text(energy["local_wh"], used, words)
        lines.append(words.text("summary_used", energy=words.energy(used), share=share))
    else:
        lines.append(words.text("summary_used_none"))
    if energy["export_wh"] > 0:
        lines.append(
            words.text(
                "summary_exported",
                energy=words.energy(energy["export_wh"]),
                delivered=words.energy(energy["delivered_wh"]),
                sold=words.energy(energy["sold_wh"]),
            )
        )
    if energy["curtailed_wh"] > 0:
        lines.append(words.text("summary_curtailed", energy=words.energy(energy["curtailed_wh"])))
    total, alone = statement.total_pln, statement.standalone_pln
    key = "summary_pay" if total >= 0 else "summary_receive"
    lines.append(words.text(key, amount=words.money(abs(total))))
    key = "summary_standalone" if alone >= 0 else "summary_standalone_receive"
    lines.append(words.text(key, amount=words.money(abs(alone))))
    saving = statement.saving_pln
    if saving >= 0:
        pct = statement.saving_pct
        pct_text = f" ({words.percent(pct)})" if pct is not None else ""
        lines.append(words.text("summary_saved", amount=words.money(saving), pct=pct_text))
    else:
        lines.append(words.text("summary_lost", amount=words.money(-saving)))
    if statement.shapley_saving_pln is not None:
        shapley = words.money(statement.shapley_saving_pln)
        lines.append(words.text("summary_shapley", amount=shapley))
    return lines


def _quantity(value: Decimal, unit: str, words: Language) -> str:
    return words.number(value, 3 if unit == "MWh" else 2)


def _lines_table(statement: MemberStatement, words: Language) -> Table:
    rows = tuple(
        (
            words.kinds[line.kind.value],
            line.connection_point_id or "",
            _quantity(line.quantity, line.unit, words),
            line.unit,
            words.money(line.amount_pln),
        )
        for line in statement.lines
    )
    headers = tuple(
        words.text(k)
        for k in ("col_item", "col_connection_point", "col_quantity", "col_unit", "col_amount")
    )
    total = (words.text("total"), "", "", "", words.money(statement.total_pln))
    return Table(headers, rows, (False, False, True, False, True), total)


def _energy_table(energy: dict[str, int], cluster: dict[str, int] | None, words: Language) -> Table:
    """The member's energy, and below it the cluster's totals unless ``cluster`` is None."""
    rows = [
        (words.text("energy_consumption"), words.energy(energy["consumption_wh"])),
        (words.text("energy_local"), words.energy(energy["local_wh"])),
        (words.text("energy_grid"), words.energy(energy["grid_wh"])),
        (
            words.text("energy_local_share"),
            share_text(energy["local_wh"], energy["consumption_wh"], words),
        ),
    ]
    if energy["export_wh"] + energy["curtailed_wh"] > 0:
        rows += [
            (words.text("energy_export"), words.energy(energy["export_wh"])),
            (words.text("energy_delivered"), words.energy(energy["delivered_wh"])),
            (words.text("energy_sold"), words.energy(energy["sold_wh"])),
            (words.text("energy_curtailed"), words.energy(energy["curtailed_wh"])),
        ]
    if cluster is not None:
        rows += [
            (words.text("cluster_consumption"), words.energy(cluster["consumption_wh"])),
            (words.text("cluster_production"), words.energy(cluster["production_wh"])),
            (
                words.text("cluster_local_share"),
                share_text(cluster["allocated_wh"], cluster["consumption_wh"], words),
            ),
        ]
    headers = (words.text("energy_heading"), words.text("col_value"))
    return Table(headers, tuple(rows), (False, True))


def _amounts_by_kind(statement: MemberStatement, words: Language) -> list[tuple[str, float]]:
    sums: dict[LineKind, Decimal] = {}
    for line in statement.lines:
        sums[line.kind] = sums.get(line.kind, Decimal(0)) + line.amount_pln
    return [(words.kinds[kind.value], float(sums[kind])) for kind in LineKind if kind in sums]


def _member_plots(
    settlement: Settlement, member_id: str, energy: dict[str, int], words: Language
) -> tuple[Plot, ...]:
    frame = settlement.energy[member_id].frame
    statement = settlement.statements[member_id]
    producer = energy["export_wh"] > 0
    mean_day = plots.mean_day_kw(frame[["local_wh", "grid_wh", "export_wh"]], settlement.timezone)
    legend = tuple(words.text(k) for k in ("series_local", "series_grid", "series_export"))
    profile_words = plots.PlotWords(
        words.text("plot_profile"), words.text("axis_hour"), words.text("axis_power"), legend
    )
    profile = plots.daily_profile_png(
        mean_day["local_wh"], mean_day["grid_wh"], mean_day["export_wh"] if producer else None,
        profile_words, words.number,
    )  # fmt: skip
    bars = [(words.text("bar_consumption"), [energy["local_wh"], energy["grid_wh"]])]
    if producer:
        bars.append((words.text("bar_production"), [energy["delivered_wh"], energy["sold_wh"]]))
    split_words = plots.PlotWords(
        words.text("plot_split"),
        words.text("axis_energy"),
        legend=tuple(
            words.text(k)
            for k in ("series_local", "series_grid", "series_delivered", "series_sold")
        ),
    )
    split = plots.energy_split_png(
        [(label, [wh / WH_PER_MWH for wh in parts]) for label, parts in bars],
        split_words,
        words.number,
    )
    money_axis = words.text("axis_money")
    costs = plots.amounts_png(
        _amounts_by_kind(statement, words),
        plots.PlotWords(words.text("plot_costs"), money_axis),
        words.number,
    )
    savings = [
        (words.text("bar_standalone"), float(statement.standalone_pln)),
        (words.text("bar_in_cluster"), float(statement.total_pln)),
        (words.text("bar_saving"), float(statement.saving_pln)),
    ]
    colours = [plots.GRID_COLOUR, plots.LOCAL_COLOUR, plots.SAVING_COLOUR]
    if statement.shapley_saving_pln is not None:
        savings.append((words.text("bar_shapley"), float(statement.shapley_saving_pln)))
        colours.append("#64b5f6")
    saving_png = plots.amounts_png(
        savings, plots.PlotWords(words.text("plot_savings"), money_axis), words.number,
        colours=colours,
    )  # fmt: skip
    return (
        Plot(words.text("plot_profile"), profile),
        Plot(words.text("plot_split"), split),
        Plot(words.text("plot_costs"), costs),
        Plot(words.text("plot_savings"), saving_png),
    )


def member_report(settlement: Settlement, member_id: str, words: Language) -> Report:
    """A member's report: its own energy, invoice lines and savings, and cluster totals.

    The cluster's totals are left out, and a sentence says why, when the settlement
    has fewer than :data:`MIN_MEMBERS_FOR_CLUSTER_TOTALS` members.
    """
    statement = settlement.statements[member_id]
    energy = energy_totals(settlement.energy[member_id].frame)
    show_cluster = len(settlement.statements) >= MIN_MEMBERS_FOR_CLUSTER_TOTALS
    cluster = energy_totals(settlement.cluster_energy) if show_cluster else None
    how = how_section(settlement, words, member_id)
    if not show_cluster:
        withheld = words.text("cluster_totals_withheld")
        how = replace(how, paragraphs=(*how.paragraphs, withheld))
    name = settlement.member_names.get(member_id, member_id)
    summary = tuple(_summary(statement, energy, words))
    sections = (
        Section(words.text("summary_heading"), paragraphs=summary),
        Section(
            words.text("lines_heading"),
            tables=(_lines_table(statement, words), _energy_table(energy, cluster, words)),
        ),
        Section(
            words.text("plots_heading"), plots=_member_plots(settlement, member_id, energy, words)
        ),
        how,
    )
    header = (
        words.text("cluster", name=settlement.cluster_name),
        words.text("member", name=name, member_id=member_id),
        period_line(settlement, words),
    )
    return Report(
        words.code, words.text("member_title"), header, sections, settlement.end.to_pydatetime()
    )


def _selected(settlement: Settlement, members: Sequence[str] | None) -> list[str]:
    if members is None:
        return list(settlement.statements)
    unknown = [m for m in members if m not in settlement.statements]
    if unknown:
        raise KlasterError(
            f"no member {unknown[0]!r} in the settlement of {settlement.period}",
            fix=choose_from(unknown[0], settlement.statements),
        )
    return [m for m in settlement.statements if m in set(members)]


#: Below this many members per process, starting processes costs more than it saves.
_MEMBERS_PER_WORKER = 4
#: A worker process's copy of the settlement being rendered (set once per worker).
_ADOPTED: dict[str, tuple[Settlement, Language]] = {}


def _member_files(settlement: Settlement, member_id: str, words: Language) -> dict[str, bytes]:
    """One member's report (HTML and PDF) and the CSV of its quarter-hours."""
    report = member_report(settlement, member_id, words)
    folder = f"members/{member_id}"
    frame = {member_id: settlement.energy[member_id].frame}
    return {
        f"{folder}/report.html": report_html(report, "member.html.j2"),
        f"{folder}/report.pdf": report_pdf(report),
        f"{folder}/allocation.csv": allocation_csv(frame, settlement.timezone, with_member=False),
    }


def _adopt(settlement: Settlement, words: Language) -> None:
    """Keep a worker process's copy of the settlement being rendered."""
    _ADOPTED["settlement"] = (settlement, words)


def _adopted_member_files(member_id: str) -> dict[str, bytes]:
    settlement, words = _ADOPTED["settlement"]
    return _member_files(settlement, member_id, words)


def render_reports(
    settlement: Settlement, *, lang: str = "pl", members: Sequence[str] | None = None
) -> dict[str, bytes]:
    """Every report file of a settlement, by its path relative to the output directory.

    Per member ``members/<id>/report.html``, ``members/<id>/report.pdf`` and
    ``members/<id>/allocation.csv`` (its quarter-hours); for the coordinator
    ``coordinator/summary.html``, ``coordinator/summary.csv`` and
    ``coordinator/allocation.csv`` (every member's quarter-hours). The same
    settlement always gives the same bytes.

    Parameters
    ----------
    settlement : Settlement
        The settled period.
    lang : str
        The language of the HTML and PDF reports: ``"pl"`` (default) or ``"en"``.
        The CSV files are data, the same in every language.
    members : sequence of str, optional
        Write member files only for these member ids (all by default); the
        coordinator's files are always written.

    Raises
    ------
    KlasterError
        For a language other than those of :data:`SUPPORTED_LANGUAGES`, or an
        unknown member id.
    """
    words = language(lang)
    selected = _selected(settlement, members)
    files: dict[str, bytes] = {}
    workers = min(os.cpu_count() or 1, len(selected) // _MEMBERS_PER_WORKER)
    if workers <= 1:
        for member_id in selected:
            files |= _member_files(settlement, member_id, words)
    else:
        # Plots and PDF fonts cost ~0.5 s of CPU per member: spread members over
        # processes; each worker receives the settlement once, tasks only an id.
        with ProcessPoolExecutor(workers, initializer=_adopt, initargs=(settlement, words)) as pool:
            for member_files in pool.map(_adopted_member_files, selected):
                files |= member_files
    summary = coordinator_report(settlement, words)
    files["coordinator/summary.html"] = report_html(summary, "coordinator.html.j2")
    files["coordinator/summary.csv"] = summary_csv(settlement)
    frames = {m: e.frame for m, e in settlement.energy.items()}
    files["coordinator/allocation.csv"] = allocation_csv(
        frames, settlement.timezone, with_member=True
    )
    return files


__all__ = [
    "MIN_MEMBERS_FOR_CLUSTER_TOTALS",
    "SUPPORTED_LANGUAGES",
    "member_report",
    "render_reports",
]
