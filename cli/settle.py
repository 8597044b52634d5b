"""``klaster settle``: a month's settlement, recorded as an immutable, versioned run.

``klaster settle`` reads the month's meter data and prices from the store,
settles it (:func:`cluster.settlement_money.settle`), renders the reports
(:func:`cli.settle_report.render_reports`) and records the run
(:mod:`adapters.settlement_runs`, which shows the run's folder). The HTML and
PDF reports go under their language (``pl/members/<id>/report.html``), the CSV
data, the same in every language, outside it (``members/<id>/allocation.csv``).
The same inputs give the version already recorded, its files checked byte for
byte: another ``--lang`` or ``--member`` only adds the reports it lacks. Changed
inputs (late meter data, prices, config, ``--shapley``) give the next version
with a difference report. ``klaster settle import-meter`` brings late or
corrected meter data into the store.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from adapters.history import ensure_synthetic_history
from adapters.meter_import import import_meter_csv
from adapters.settlement_identity import input_identity
from adapters.settlement_inputs import check_month_over, last_complete_month, read_metered_period
from adapters.settlement_runs import SettlementRun, SettlementRuns
from adapters.sqlite_schema import default_data_dir
from adapters.sqlite_store import SqliteStore
from cli.common import ConfigOption, DataDirOption, console, progress_bar, user_errors
from cluster.config import ClusterConfig, load_config
from cluster.errors import KlasterError
from cluster.fields import choose_from
from cluster.invoices import Settlement
from cluster.settlement_money import settle as settle_month
from cluster.settlement_records import canonical_json
from cluster.timegrid import month_bounds_utc
from cluster.timeseries import Quality

settle_app = typer.Typer(
    help="Settle a month: members' invoices, savings and reports, as versioned runs.",
)


#: Reports in these formats are written in a language, so under its folder.
LANGUAGE_SUFFIXES = (".html", ".pdf")


def report_layout(reports: dict[str, bytes], lang: str) -> dict[str, bytes]:
    """Rendered reports by their paths in a run's folder: HTML and PDF under ``<lang>/``.

    Parameters
    ----------
    reports
        Relative path → bytes, as rendered (``members/<id>/report.html``,
        ``coordinator/summary.csv``, ...).
    lang
        The language of the HTML and PDF reports, e.g. ``"pl"``.

    Returns
    -------
    dict
        The same bytes: ``members/<id>/report.html`` as ``<lang>/members/<id>/report.html``;
        the CSV files, the same in every language, keep their paths.
    """
    return {
        (f"{lang}/{name}" if Path(name).suffix in LANGUAGE_SUFFIXES else name): data
        for name, data in reports.items()
    }


class ReportLanguage(StrEnum):
    """The languages of the reports."""

    PL = "pl"
    EN = "en"


def parse_month(text: str | None) -> date | None:
    """The first day of a ``YYYY-MM`` month given on the command line; None when left out."""
    if text is None:
        return None
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-11", param_hint="--month"
        ) from None


def _checked_members(config: ClusterConfig, members: list[str] | None) -> list[str] | None:
    if not members:
        return None
    known = [m.id for m in config.members]
    for member in members:
        if member not in known:
            raise typer.BadParameter(
                f"no member {member!r} in the cluster; {choose_from(member, known)}",
                param_hint="--member",
            )
    return list(dict.fromkeys(members))


def _summary_table(settlement: Settlement, members: list[str] | None) -> Table:
    """Per member: consumption, local share, what it pays, what standing alone would cost.

    Money is shown in whole złoty here (the invoices are to the grosz) so the
    table fits a terminal; the last row is the cluster's total.
    """
    table = Table(title=f"Settlement {settlement.period}: {settlement.cluster_name}")
    headers = ("member", "used MWh", "local %", "pays PLN", "alone PLN", "saved PLN", "saved %")
    for header in headers:
        table.add_column(header, justify="left" if header == "member" else "right", no_wrap=True)
    shown = members or list(settlement.statements)

    def row(label: str, ids: list[str]) -> list[str]:
        frames = [settlement.energy[m].frame for m in ids]
        consumption_wh = sum(int(f["consumption_wh"].sum()) for f in frames)
        local_wh = sum(int(f["local_wh"].sum()) for f in frames)
        total = sum((settlement.statements[m].total_pln for m in ids), Decimal(0))
        alone = sum((settlement.statements[m].standalone_pln for m in ids), Decimal(0))
        saved = alone - total
        return [
            label,
            f"{consumption_wh / 1e6:,.1f}",
            f"{100 * local_wh / consumption_wh:.1f}" if consumption_wh else "-",
            f"{total:,.0f}",
            f"{alone:,.0f}",
            f"{saved:,.0f}",
            f"{100 * saved / alone:.1f}" if alone > 0 else "-",
        ]

    for member_id in shown:
        table.add_row(*row(member_id, [member_id]))
    table.add_section()
    table.add_row(*row("cluster" if members is None else "shown", shown), style="bold")
    return table


def _copy_out(run: SettlementRun, out: Path) -> Path:
    """Copy a run's files to ``out/<YYYY-MM>/v<N>``, never replacing a different file."""
    target = out / run.period / f"v{run.version}"
    for file in run.files:
        data = run.file(file.path).read_bytes()
        path = target / file.path
        if path.exists() and path.read_bytes() != data:
            raise KlasterError(
                f"{path} exists with other content",
                fix="give --out an empty folder, or move the old copy away",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def _print_run(run: SettlementRun, copy: Path | None) -> None:
    # soft_wrap: a narrow terminal must not break a path where a reader would copy it.
    if run.created:
        text = f"settlement {run.period} v{run.version} recorded in {run.folder}"
    else:
        added = f"{len(run.added)} report file(s) added, the others" if run.added else "reports"
        text = (
            f"settlement {run.period} v{run.version}: the same inputs as recorded; "
            f"{added} re-rendered and identical; files in {run.folder}"
        )
    console.print(text, soft_wrap=True)
    for path in run.difference_files:
        console.print(f"  differences against v{run.version - 1}: {path}", soft_wrap=True)
    if copy is not None:
        console.print(f"  copied to {copy}", soft_wrap=True)


@settle_app.callback(invoke_without_command=True)
@user_errors
def settle(
    context: typer.Context,
    month: Annotated[
        str | None,
        typer.Option(help="The month to settle, YYYY-MM; the last complete month if left out."),
    ] = None,
    member: Annotated[
        list[str] | None,
        typer.Option(help="Write the reports of this member only (repeatable); all if left out."),
    ] = None,
    lang: Annotated[
        ReportLanguage | None,
        typer.Option(help="Language of the reports; Polish for a Polish cluster if left out."),
    ] = None,
    shapley: Annotated[
        bool, typer.Option(help="Also split the cluster's saving by the members' Shapley values.")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also copy the run's files to this folder."),
    ] = None,
    synthetic_history: Annotated[
        bool,
        typer.Option(
            help="Settle generated meter data where the store has none (the demo always)."
        ),
    ] = False,
) -> None:
    """Settle a month from the meter data in the store and record it as a versioned run."""
    if context.invoked_subcommand is not None:
        return
    cluster_config = load_config(config)
    chosen = parse_month(month) or last_complete_month(cluster_config)
    members = _checked_members(cluster_config, member)
    language = lang or (
        ReportLanguage.PL if cluster_config.cluster.country == "PL" else ReportLanguage.EN
    )
    synthetic = config is None or synthetic_history
    folder = data_dir or default_data_dir()
    with SqliteStore.open(folder) as store:
        if synthetic:
            # Only a month that is over can be settled: no history is made for another.
            check_month_over(cluster_config, chosen)
            start, end = month_bounds_utc(chosen, cluster_config.cluster.zone)
            with progress_bar("writing history to the store", "days") as progress:
                ensure_synthetic_history(
                    store, cluster_config, start, end, on_progress=progress, meters=True
                )
        metered = read_metered_period(store, cluster_config, chosen, allow_synthetic=synthetic)
    # The reports' language and members are renderings of a version, not its inputs.
    identity = input_identity(cluster_config, metered, shapley=shapley)
    settlement = settle_month(cluster_config, chosen, metered, shapley=shapley)
    # Imported here: the report stack (jinja2, fpdf2) would add ~0.3 s to every klaster command.
    from cli.settle_report import render_reports

    reports = render_reports(settlement, lang=str(language), members=members)
    with SettlementRuns.open(folder) as runs:
        run = runs.record(
            settlement.period,
            identity,
            canonical_json(settlement),
            report_layout(reports, str(language)),
        )
    console.print(_summary_table(settlement, members))
    _print_run(run, _copy_out(run, out) if out is not None else None)


@settle_app.command("import-meter")
@user_errors
def import_meter(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns connection_point, ts (ISO with offset), import_kwh, "
            "export_kwh[, curtailed_kwh]."
        ),
    ],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    estimated: Annotated[
        bool, typer.Option(help="Mark the values as the meter operator's estimates.")
    ] = False,
) -> None:
    """Import late or corrected meter data; settling the month again gives a new version."""
    cluster_config = load_config(config)
    quality = Quality.ESTIMATED if estimated else Quality.GOOD
    with SqliteStore.open(data_dir or default_data_dir()) as store:
        done = import_meter_csv(store, cluster_config, file, quality=quality)
    zone = cluster_config.cluster.zone
    first = pd.Timestamp(done.first).tz_convert(zone)
    last = pd.Timestamp(done.last).tz_convert(zone)
    console.print(
        f"{file}: {done.rows} rows for {len(done.points)} connection point(s) from "
        f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} ({cluster_config.cluster.timezone}); "
        f"{done.changed} readings stored or changed"
    )
