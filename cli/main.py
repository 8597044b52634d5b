"""The ``klaster`` command."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

import cluster
from adapters.sqlite_schema import default_data_dir
from bms.safety import load_write_policy
from cli.common import (
    CONFIG_HELP,
    ConfigOption,
    DataDirOption,
    console,
    errors,
    parse_day,
    progress_bar,
    user_errors,
)
from cli.render import config_summary, print_schedule_run
from cluster.config import demo_config_text, load_config
from cluster.errors import DataError
from cluster.sizing import contracted_capacity_warnings, heating_sizing_warnings
from optimisation.solve import SolveOptions

app = typer.Typer(
    name="klaster",
    help="Plan and run a municipal energy cluster and its public buildings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
config_app = typer.Typer(help="Check and show cluster configurations.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        console.print(f"klaster {cluster.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Plan and run a municipal energy cluster and its public buildings."""


#: Exit code of ``klaster schedule`` when the day was infeasible and a flagged plan was written.
INFEASIBLE_EXIT_CODE = 5


def _replan_time(at: str | None, day: date | None, config_path: Path | None) -> pd.Timestamp:
    """The instant to re-plan from: ``HH:MM`` local on ``day`` (today), an ISO time, or now."""
    zone = load_config(config_path).cluster.zone
    if at is None:
        return pd.Timestamp.now(tz=zone)
    try:
        if len(at) <= 5 and ":" in at:
            clock = datetime.strptime(at, "%H:%M").time()
            local_day = day or datetime.now(zone).date()
            return pd.Timestamp(datetime.combine(local_day, clock), tz=zone)
        stamp = pd.Timestamp(at)
    except ValueError as exc:
        raise DataError(
            f"--at {at!r} is neither HH:MM nor an ISO time ({exc})",
            fix="give e.g. --at 14:15 or --at 2027-06-16T14:15+02:00",
        ) from None
    return stamp.tz_localize(zone) if stamp.tzinfo is None else stamp


@app.command()
@user_errors
def schedule(
    config: ConfigOption = None,
    day: Annotated[
        str | None, typer.Option(help="Local day to plan, YYYY-MM-DD; tomorrow if left out.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder; out/schedule-DAY if left out."),
    ] = None,
    data_dir: DataDirOption = None,
    synthetic_history: Annotated[
        bool,
        typer.Option(help="Plan on generated history where the store has none (the demo always)."),
    ] = False,
    history_days: Annotated[
        int,
        typer.Option(min=28, help="Days of synthetic history kept before the day planned."),
    ] = 400,
    mip_gap: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Relative MIP gap at which HiGHS may stop.")
    ] = 1e-4,
    time_limit: Annotated[float, typer.Option(min=0.1, help="Solver time limit, seconds.")] = 60.0,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Solver threads; HiGHS decides if left out.")
    ] = None,
    replan: Annotated[
        bool,
        typer.Option(
            help="Re-plan the rest of the day from the quarter-hour containing --at, starting "
            "from the state measured in the store."
        ),
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            help="With --replan: HH:MM local time on --day (today if left out), or an ISO "
            "time; now if left out."
        ),
    ] = None,
    devices: Annotated[
        Path | None,
        typer.Option(
            help="The site's device list: read the building controllers first and leave out "
            "of the flexibility every zone a stronger BACnet priority holds."
        ),
    ] = None,
    allow_list: Annotated[
        Path | None,
        typer.Option(
            help="The site's write policy, for klaster's BACnet priority (12 if left out)."
        ),
    ] = None,
    refit: Annotated[
        bool,
        typer.Option(help="Fit every forecast model anew instead of reusing last days' fits."),
    ] = False,
) -> None:
    """Plan a day for the cluster: forecasts, then the MILP, then the schedule and its plot.

    An infeasible day is still planned, with the declared soft limits relaxed: the
    flagged schedule is written, the conflicts are printed, and the exit code is 5.
    """
    from cli.pipeline import run_schedule

    options = SolveOptions(mip_rel_gap=mip_gap, time_limit_s=time_limit, threads=threads)
    with progress_bar("writing history to the store", "days") as progress:
        run = run_schedule(
            config_path=config,
            day=parse_day(day),
            out_dir=out,
            data_dir=data_dir or default_data_dir(),
            synthetic_history=synthetic_history,
            options=options,
            history_days=history_days,
            on_history_progress=progress,
            replan_at=_replan_time(at, parse_day(day), config) if replan else None,
            devices=devices,
            own_priority=load_write_policy(allow_list).bacnet_priority if allow_list else 12,
            refit=refit,
        )
    print_schedule_run(console, run)
    for note in run.schedule.meta.get("initial_state_notes", []):
        errors.print(f"note: {note}", highlight=False, markup=False)
    if run.schedule.meta.get("infeasible"):
        errors.print(
            "warning: the day is infeasible as configured; the schedule written is the closest "
            "plan with these limits relaxed:",
            style="bold red",
            highlight=False,
            markup=False,
        )
        for line in run.schedule.meta["infeasibility"]:
            errors.print(f"  {line}", style="red", highlight=False, markup=False)
        raise typer.Exit(INFEASIBLE_EXIT_CODE)


@config_app.command("check")
@user_errors
def config_check(
    path: Annotated[Path | None, typer.Argument(help=CONFIG_HELP)] = None,
) -> None:
    """Validate a cluster configuration and print what it holds.

    Warnings (e.g. heating too small for the design outdoor temperature, or
    electric heating that draws more than its connection point's contracted
    capacity) are printed in yellow; they do not make the configuration invalid.
    """
    loaded = load_config(path)
    source = str(path) if path else "built-in demo cluster"
    console.print(config_summary(loaded, source))
    warnings = heating_sizing_warnings(loaded) + contracted_capacity_warnings(loaded)
    for warning in warnings:
        console.print(
            f"warning: {warning.key}: {warning.message}\n  fix: {warning.fix}",
            style="yellow",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    noted = f", with {len(warnings)} warning{'s' * (len(warnings) != 1)}" if warnings else ""
    console.print(f"[green]{source}: configuration is valid{noted}[/green]")


@config_app.command("demo")
def config_demo() -> None:
    """Print the built-in demo cluster's TOML, a starting point for your own."""
    typer.echo(demo_config_text(), nl=False)


# --- sub-commands defined in their own modules ---------------------------------------
from cli.poll import poll  # noqa: E402

app.command()(poll)

from cli.dispatch import dispatch  # noqa: E402

app.command()(dispatch)

from cli.rig import rig_app  # noqa: E402

app.add_typer(rig_app, name="rig")

from cli.bms import bms_app  # noqa: E402

app.add_typer(bms_app, name="bms")

from cli.forecast import backtest, forecast  # noqa: E402

app.command()(forecast)
app.command()(backtest)

from cli.purchase import purchase_app  # noqa: E402

app.add_typer(purchase_app, name="purchase")

from cli.evaluate import evaluate_command  # noqa: E402

app.command(name="evaluate")(evaluate_command)

from cli.settle import settle_app  # noqa: E402

app.add_typer(settle_app, name="settle")
