"""``klaster forecast`` and ``klaster backtest``: the day-ahead forecasts, and how good they are.

``klaster forecast`` forecasts a day (tomorrow by default) for every series
the plan needs, prints a summary, stores the forecasts with their intervals
as a run in the store and writes them to a folder. ``klaster backtest``
replays day-ahead forecasts from every midnight of a range of past days and
scores them (:mod:`forecasting.backtest`), with a table, CSV files and plots.
"""

from __future__ import annotations

import fnmatch
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from adapters.fit_cache_store import write_fit_cache
from adapters.history import ensure_synthetic_history
from adapters.sqlite_schema import default_data_dir
from adapters.sqlite_store import SqliteStore
from cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    errors,
    parse_day,
    progress_bar,
    user_errors,
)
from cli.forecast_plot import plot_backtest, plot_day_forecast
from cli.pipeline import config_identity, frame_identity, load_fit_cache
from cluster.config import ClusterConfig, load_config
from cluster.errors import KlasterError
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import RunRecord
from forecasting.backtest import DEFAULT, BacktestReport, BacktestSetup, origin_days, run_backtest
from forecasting.base import ForecastError
from forecasting.daily import HISTORY_DAYS, DayForecast, forecast_day
from forecasting.irradiance import Site
from forecasting.models import available_models
from forecasting.occupancy_regressor import buildings_by_load
from forecasting.series import SeriesSpec, series_specs
from forecasting.weather import WEATHER_SERIES, WeatherForecastError

#: Origins of a backtest when no range is given.
DEFAULT_ORIGINS = 56
#: Series listed one by one in the backtest table; more are summarised by group.
SERIES_ROWS = 30
#: Failed series whose first error is shown; the rest are counted.
ERRORS_SHOWN = 10

SyntheticOption = Annotated[
    bool,
    typer.Option(help="Use generated history where the store has none (the demo always)."),
]
WorkersOption = Annotated[int, typer.Option(min=1, help="Worker processes for the forecasts.")]


def _ensure_history(
    store: SqliteStore,
    config: ClusterConfig,
    synthetic: bool,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> int:
    if not synthetic:
        return 0
    with progress_bar("writing history to the store", "days") as update:
        return ensure_synthetic_history(store, config, start, end, on_progress=update)


def _forecast_table(forecast: DayForecast, step_hours: float) -> Table:
    table = Table(title="Forecasts by group", title_justify="left", title_style="bold")
    columns = ("group", "series", "model", "day's total", "peak", "80 % band ±", "notes")
    for number, column in enumerate(columns):
        table.add_column(column, justify="left" if number in (0, 2) else "right")
    for group, part in forecast.table().groupby("group", sort=False):
        ids = part["series_id"].unique()
        total = part.pivot_table(index="ts", columns="series_id", values="point").sum(axis=1)
        band = part["upper_80"] - part["lower_80"] if "upper_80" in part else pd.Series()
        half_width = band.groupby(part["ts"]).sum().mean() / 2 if band.notna().any() else None
        notes = sum(len(forecast.results[s].notes) for s in ids if s in forecast.results)
        amount, peak = _amounts(str(group), total, step_hours)
        table.add_row(
            str(group), str(len(ids)), ", ".join(sorted(part["model"].unique())), amount, peak,
            "—" if half_width is None else f"{half_width:,.1f}", str(notes),
        )  # fmt: skip
    table.caption = (
        "totals and peaks of the group's summed forecast; the band: mean half-width of the "
        "80 % intervals, summed over the group's series"
    )
    return table


def _amounts(group: str, total: pd.Series, step_hours: float) -> tuple[str, str]:
    """The day's total and the peak of a group's summed forecast, with their units."""
    if group == "price":
        return f"{total.mean():,.1f} PLN/MWh mean", f"{total.max():,.1f} PLN/MWh"
    if group == "traffic":
        return f"{total.sum() * step_hours:,.0f} vehicles", f"{total.max():,.0f} vehicles/h"
    energy_kwh = total.sum() * step_hours
    if energy_kwh >= 10_000:
        return f"{energy_kwh / 1000:,.1f} MWh", f"{total.max() / 1000:,.2f} MW"
    return f"{energy_kwh:,.1f} kWh", f"{total.max():,.1f} kW"


@user_errors
def forecast(
    config: ConfigOption = None,
    day: Annotated[
        str | None, typer.Option(help="Local day to forecast, YYYY-MM-DD; tomorrow if left out.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder; out/forecast-DAY if left out."),
    ] = None,
    data_dir: DataDirOption = None,
    synthetic_history: SyntheticOption = False,
    history_days: Annotated[
        int, typer.Option(min=28, help="Days of synthetic history kept before the day.")
    ] = 400,
    workers: WorkersOption = 2,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit",
            help="Fit every series afresh instead of reusing models kept by earlier runs.",
        ),
    ] = False,
) -> None:
    """Forecast a day for every series the plan needs; store and write the forecasts."""
    started = time.perf_counter()
    loaded = load_config(config)
    zone = loaded.cluster.zone
    chosen = parse_day(day, "--day") or datetime.now(zone).date() + timedelta(days=1)
    steps = day_steps(chosen, zone, loaded.cluster.step_minutes)
    folder = out or Path("out") / f"forecast-{chosen.isoformat()}"
    data_folder = data_dir or default_data_dir()
    with SqliteStore.open(data_folder) as store:
        start, end = day_bounds_utc(chosen, zone)
        _ensure_history(
            store, loaded, config is None or synthetic_history,
            start - pd.Timedelta(days=history_days), end,
        )  # fmt: skip
        fits, fingerprints, reused = load_fit_cache(loaded, data_folder, chosen, refit=refit)
        result = forecast_day(loaded, steps, store.read_series, workers=workers, cache=fits.cache)
        write_fit_cache(fits.cache, data_folder, fingerprints)
        if not result.results and not result.published:
            raise ForecastError(
                f"no series of {chosen} could be forecast: {len(result.failed)} have no "
                "usable history",
                fix="poll or import measurements, or run with --synthetic-history",
            )
        table = result.table()
        run_id = f"forecast-{chosen.isoformat()}-{uuid.uuid4().hex[:8]}"
        store.record_run(
            RunRecord(
                run_id=run_id,
                kind="forecast",
                day=chosen,
                started_at=datetime.now(UTC),
                config_hash=config_identity(loaded),
                inputs_hash=frame_identity(result.values),
                status="partial" if result.failed else "ok",
                details={"output_dir": str(folder), "failed": sorted(result.failed)},
            )
        )
        store.save_frame(run_id, "forecasts", table)
        if not result.lighting.empty:
            store.save_frame(run_id, "lighting_hours", result.lighting)
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "forecasts.parquet", folder / "forecasts.csv", folder / "lighting_hours.csv"]
    table.to_parquet(files[0])
    table.to_csv(files[1], index=False)
    result.lighting.to_csv(files[2])
    notes = {sid: list(r.notes) for sid, r in result.results.items() if r.notes}
    files.append(folder / "notes.json")
    files[-1].write_text(json.dumps({"weather": list(result.notes), "series": notes}, indent=1))
    files.append(plot_day_forecast(result, loaded, chosen, folder / "forecast.png"))
    _print_forecast(result, loaded, chosen, run_id, time.perf_counter() - started, files)
    console.print(f"fitted models reused from earlier runs: {reused} of {len(fingerprints)}")
    if result.failed:
        raise typer.Exit(ForecastError.exit_code)


def _print_forecast(
    result: DayForecast,
    config: ClusterConfig,
    chosen: date,
    run_id: str,
    seconds: float,
    files: list[Path],
) -> None:
    console.print(
        f"[bold]{config.cluster.name}[/bold] — forecasts for {chosen} "
        f"({len(result.values)} steps), run {run_id}, {seconds:.1f} s"
    )
    console.print(_forecast_table(result, config.cluster.step_minutes / 60))
    price_state = "published" if result.published else "forecast (auction result not in store)"
    console.print(f"day-ahead price: {price_state}")
    if not result.lighting.empty:
        first = result.lighting.iloc[0]
        console.print(
            f"street lighting: dawn {first['dawn']}, dusk {first['dusk']} "
            f"({len(result.lighting)} circuits, {first['dark_hours']:.1f} h dark)"
        )
    for note in result.notes:
        errors.print(f"note: {note}", style="yellow", markup=False, highlight=False)
    for why in (result.failed[sid] for sid in sorted(result.failed)):
        errors.print(f"not forecast: {why}", style="red", markup=False, highlight=False)
    console.print("Written:")
    for path in files:
        console.print(f"  {path}")


def _select(specs: list[SeriesSpec], patterns: list[str] | None) -> list[SeriesSpec]:
    if not patterns:
        return specs
    chosen = [
        spec
        for spec in specs
        if any(
            fnmatch.fnmatch(spec.series_id, p) or fnmatch.fnmatch(str(spec.group), p)
            for p in patterns
        )
    ]
    if not chosen:
        groups = ", ".join(sorted({str(spec.group) for spec in specs}))
        raise KlasterError(
            f"no series matches {', '.join(patterns)}",
            fix=f"give series ids or patterns such as 'load/*' or 'pv/*', or a group: {groups}",
        )
    return chosen


def _check_models(models: list[str] | None) -> tuple[str, ...]:
    if not models:
        return (DEFAULT,)
    known = available_models()
    unknown = [m for m in models if m != DEFAULT and m not in known]
    if unknown:
        raise ForecastError(
            f"there is no forecasting model called {unknown[0]!r}",
            fix=f"choose among {DEFAULT}, {', '.join(sorted(known))}",
        )
    return tuple(dict.fromkeys(models))


@user_errors
def backtest(
    series: Annotated[
        list[str] | None,
        typer.Option(
            "--series",
            "-s",
            help="Series ids, patterns ('load/*') or groups ('pv'); all if left out.",
        ),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="First day forecast, YYYY-MM-DD.")
    ] = None,
    last: Annotated[
        str | None,
        typer.Option("--to", help="Last day forecast, YYYY-MM-DD; yesterday if left out."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help=f"Models to score (repeat); '{DEFAULT}' is each series' own."
        ),
    ] = None,
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder; out/backtest-FROM-TO if left out."),
    ] = None,
    data_dir: DataDirOption = None,
    synthetic_history: SyntheticOption = False,
    history_days: Annotated[
        int, typer.Option(min=7, help="Days of history before each origin.")
    ] = HISTORY_DAYS,
    perfect_weather: Annotated[
        bool,
        typer.Option(help="Feed the stored weather as it is, not a simulated forecast of it."),
    ] = False,
    refit_days: Annotated[
        int, typer.Option(min=1, help="Days a fitted model is reused before it is refitted.")
    ] = 7,
    workers: WorkersOption = 2,
) -> None:
    """Replay day-ahead forecasts over past days and score them against what happened."""
    loaded = load_config(config)
    info = loaded.cluster
    zone = info.zone
    to_day = parse_day(last, "--to") or datetime.now(zone).date() - timedelta(days=1)
    from_day = parse_day(first, "--from") or to_day - timedelta(days=DEFAULT_ORIGINS - 1)
    if from_day > to_day:
        raise typer.BadParameter(f"--from {from_day} is after --to {to_day}", param_hint="--from")
    specs = _select(series_specs(loaded), series)
    setup = BacktestSetup(
        specs=specs,
        models=_check_models(model),
        history_days=history_days,
        weather_error=None if perfect_weather else WeatherForecastError(),
        refit_days=refit_days,
        workers=workers,
        buildings=buildings_by_load(loaded),
    )
    start = day_bounds_utc(from_day, zone)[0] - pd.Timedelta(days=history_days)
    end = day_bounds_utc(to_day, zone)[1]
    with SqliteStore.open(data_dir or default_data_dir()) as store:
        _ensure_history(store, loaded, config is None or synthetic_history, start, end)
        ids = [spec.series_id for spec in specs] + list(WEATHER_SERIES)
        data = store.read_series(ids, start, end)
    if data.empty:
        raise KlasterError(
            f"the store has no history between {start:%Y-%m-%d} and {end:%Y-%m-%d}",
            fix="poll or import measurements, or run with --synthetic-history",
        )
    origins = origin_days(from_day, to_day)
    started = time.perf_counter()
    with progress_bar("backtest", "origin × model runs") as update:
        report = run_backtest(
            data, origins, setup, zone=zone, site=Site.of_cluster(info),
            step_minutes=info.step_minutes, on_progress=update,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    folder = out or Path("out") / f"backtest-{from_day.isoformat()}-{to_day.isoformat()}"
    files = _write_backtest(report, folder)
    _print_backtest(report, setup, seconds, files)


def _write_backtest(report: BacktestReport, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = [
        folder / "metrics.csv",
        folder / "summary.csv",
        folder / "error_by_lead.csv",
        folder / "forecasts.parquet",
    ]
    report.metrics.to_csv(files[0], index=False)
    report.summary().to_csv(files[1], index=False)
    report.error_by_lead().to_csv(files[2], index=False)
    report.forecasts.to_parquet(files[3])
    return files + plot_backtest(report, folder)


def _number(value: object, pattern: str = "{:.3f}") -> str:
    """A table cell: the number formatted, or a dash for a missing one."""
    number = float(value) if isinstance(value, int | float) else float("nan")
    return "—" if pd.isna(number) else pattern.format(number)


def _print_backtest(
    report: BacktestReport, setup: BacktestSetup, seconds: float, files: list[Path]
) -> None:
    weather = "simulated day-ahead forecast" if setup.weather_error else "as stored (perfect)"
    console.print(
        f"[bold]Backtest[/bold]: {len(report.origins)} day-ahead origins "
        f"{report.origins[0]} – {report.origins[-1]}, {setup.history_days} days of history "
        f"each, weather {weather}, refit every {setup.refit_days} day(s); {seconds:.1f} s"
    )
    summary = Table(title="By group and model", title_justify="left", title_style="bold")
    columns = ("group", "model", "series", "MASE mean", "MASE median", "≤ 0.7",
               "80 % in", "95 % in", "PV skill", "failed")  # fmt: skip
    for number, column in enumerate(columns):
        summary.add_column(column, justify="left" if number < 2 else "right")
    for row in report.summary().itertuples():
        summary.add_row(
            str(row.group), str(row.model), str(row.series), _number(row.mase_mean),
            _number(row.mase_median), _number(row.mase_le_0_7, "{:.0%}"),
            _number(row.coverage_80, "{:.1%}"), _number(row.coverage_95, "{:.1%}"),
            _number(row.pv_skill, "{:.1%}"), str(row.failed_origins),
        )  # fmt: skip
    console.print(summary)
    if len(report.metrics) <= SERIES_ROWS:
        console.print(_series_table(report))
    failures = sorted(report.errors.items())
    for (series_id, model_name), message in failures[:ERRORS_SHOWN]:
        errors.print(f"{series_id} ({model_name}): {message}", style="red", markup=False)
    if len(failures) > ERRORS_SHOWN:
        errors.print(
            f"... and {len(failures) - ERRORS_SHOWN} more series that failed at some origin "
            "(failed_origins in metrics.csv)",
            style="red",
        )
    console.print("Written:")
    for path in files:
        console.print(f"  {path}")


def _series_table(report: BacktestReport) -> Table:
    table = Table(title="By series", title_justify="left", title_style="bold")
    columns = ("series", "model", "MAE", "RMSE", "MAPE %", "MASE", "pinball", "80 % in",
               "95 % in", "PV skill")  # fmt: skip
    for number, column in enumerate(columns):
        table.add_column(column, justify="left" if number < 2 else "right")
    for row in report.metrics.itertuples():
        table.add_row(
            str(row.series_id), str(row.model), _number(row.mae, "{:,.3f}"),
            _number(row.rmse, "{:,.3f}"), _number(row.mape, "{:.1f}"), _number(row.mase),
            _number(row.pinball, "{:,.3f}"), _number(row.coverage_80, "{:.1%}"),
            _number(row.coverage_95, "{:.1%}"), _number(row.pv_skill, "{:.1%}"),
        )  # fmt: skip
    return table
