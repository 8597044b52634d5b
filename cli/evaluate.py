"""``klaster evaluate``: the closed loop over a period, and its table and plots.

Wiring and presentation only. The days come from the store (synthetic
history for the demo): the forecasts are the daily job's
(:func:`forecasting.daily.forecast_day`), made on the history before each
day and on a weather forecast of the day that carries a day-ahead error
(:func:`forecasting.weather.with_forecast_error`) rather than the weather
that came; the actuals are the stored values of the day, with the lamps
burning as the actual cloud and sun said. The loop itself is
:func:`optimisation.evaluation.evaluate`.

klaster plans the lighting as the daily job does, on a high bound of the
traffic (:mod:`forecasting.lighting_traffic`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import typer
from rich.table import Table

from adapters.history import ensure_synthetic_history
from adapters.sqlite_schema import default_data_dir
from adapters.sqlite_store import SqliteStore
from cli.common import ConfigOption, DataDirOption, console, parse_day, progress_bar, user_errors
from cli.plot import plot_schedule
from cluster.config import ClusterConfig, load_config
from cluster.errors import DataError
from cluster.timegrid import day_bounds_utc
from cluster.timeseries import SeriesId
from forecasting.base import DEFAULT_LEVELS
from forecasting.batch import FitCache
from forecasting.daily import HISTORY_DAYS, forecast_day
from forecasting.irradiance import Site
from forecasting.lighting import lamps_on_fraction
from forecasting.lighting_traffic import TRAFFIC_LEVEL, traffic_planned_for_lighting
from forecasting.weather import WEATHER_SERIES, WeatherForecastError, with_forecast_error
from optimisation.evaluation import (
    DayData,
    EvaluatedDay,
    Evaluation,
    Mode,
    evaluate,
)
from optimisation.evaluation.loop import GRID_CO2_KG_PER_MWH
from optimisation.solve import SolveOptions

#: The issue's targets: share of the perfect-foresight saving captured, and
#: the share of occupied zone-hours allowed outside the comfort band.
TARGET_CAPTURED_SHARE = 0.90
TARGET_COMFORT_SHARE = 0.01

_LABELS = {
    Mode.BASELINE: "baseline (uncoordinated)",
    Mode.KLASTER: "klaster",
    Mode.PERFECT_FORESIGHT: "perfect foresight",
}
_COLOURS = {
    Mode.BASELINE: "tab:grey",
    Mode.KLASTER: "tab:blue",
    Mode.PERFECT_FORESIGHT: "tab:green",
}


class StoreDays:
    """The forecasts and actuals of each day, from a store (a :data:`DaySource`)."""

    def __init__(
        self,
        config: ClusterConfig,
        store: SqliteStore,
        weather_error: WeatherForecastError,
        workers: int = 2,
    ) -> None:
        self.config = config
        self.store = store
        self.weather_error = weather_error
        self.workers = workers
        self.cache = FitCache()
        info = config.cluster
        self.site = Site.of_cluster(info)
        self._day_start = pd.Timestamp.max.tz_localize("UTC")

    def _read_forecast(
        self, ids: list[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """The store's values, with the weather of the day replaced by a forecast of it."""
        frame = self.store.read_series(ids, start, end)
        weather = [c for c in WEATHER_SERIES if c in frame.columns]
        on_day = pd.DatetimeIndex(frame.index) >= self._day_start
        if not weather or not on_day.any():
            return frame
        info = self.config.cluster
        forecast = with_forecast_error(
            frame.loc[on_day, weather], self.weather_error, info.zone, info.step_minutes
        )
        for column in weather:
            # Irradiance is left for the models to derive from the forecast cloud.
            values = forecast.get(column, np.nan)
            frame.loc[on_day, column] = values
        return frame

    def __call__(self, day: date, steps: pd.DatetimeIndex) -> DayData:
        """Forecast the day on its history, and read what actually happened."""
        self._day_start = steps[0]
        forecast = forecast_day(
            self.config, steps, self._read_forecast, workers=self.workers, cache=self.cache,
            levels=(*DEFAULT_LEVELS, TRAFFIC_LEVEL),
        )  # fmt: skip
        if forecast.failed:
            listing = "; ".join(f"{sid}: {why}" for sid, why in sorted(forecast.failed.items()))
            raise DataError(
                f"cannot forecast {day}: {listing}",
                fix="run with --synthetic-history, or import measurements for these series",
            )
        columns = [c for c in forecast.values.columns if c != SeriesId.LAMPS_ON_FRACTION]
        end = steps[-1] + pd.Timedelta(minutes=self.config.cluster.step_minutes)
        actual = self.store.read_series(columns, steps[0], end).reindex(steps)
        if SeriesId.LAMPS_ON_FRACTION in forecast.values.columns:
            cloud = actual[SeriesId.CLOUD_PCT].to_numpy(dtype=float)
            actual[SeriesId.LAMPS_ON_FRACTION] = lamps_on_fraction(
                steps, self.site, self.config.cluster.step_minutes, cloud
            )
        missing = [str(c) for c in actual.columns if actual[c].isna().any()]
        if missing:
            raise DataError(
                f"the store lacks actual values of {day} for: {', '.join(missing)}",
                fix="evaluate days that have passed and are stored, or use --synthetic-history",
            )
        planned = traffic_planned_for_lighting(forecast, self.config)
        return DayData(forecast=planned, actual=actual.astype(float))


def totals_table(evaluation: Evaluation) -> Table:
    """The period per mode: cost, overruns, local share, lighting, comfort, CO2."""
    totals = evaluation.totals()
    days = len(evaluation.days)
    table = Table(title=f"Closed-loop evaluation, {days} day(s), settled on the actual values")
    for header in ("mode", "cost, PLN", "saving vs baseline", "peak overruns (¼h / PLN)",
                   "local share", "lighting, MWh", "below class", "comfort violations",
                   "CO2, t"):  # fmt: skip
        table.add_column(header, justify="left" if header == "mode" else "right")
    rows = totals.to_dict("index")
    baseline = float(rows[str(Mode.BASELINE)]["cost_pln"])
    for mode in Mode:
        row = rows[str(mode)]
        saving = baseline - float(row["cost_pln"])
        table.add_row(
            _LABELS[mode],
            f"{row['cost_pln']:,.0f}",
            "—" if mode is Mode.BASELINE else f"{saving:,.0f} ({saving / baseline:.1%})",
            f"{int(row['overrun_steps'])} / {row['overrun_charge_pln']:,.0f}",
            f"{row['local_share']:.1%}",
            f"{row['lighting_mwh']:,.2f}",
            f"{int(row['below_class_steps'])} of {int(row['lit_circuit_steps'])}",
            f"{row['comfort_violation_share']:.2%} of {row['occupied_zone_h']:,.0f} zone-h",
            f"{row['co2_t']:,.1f}",
        )
    return table


def target_lines(evaluation: Evaluation) -> list[tuple[bool, str]]:
    """Each target of the evaluation with whether it holds."""
    totals = evaluation.totals()
    captured = evaluation.captured_share()
    below = int(totals["below_class_steps"].sum())
    comfort = float(totals.to_dict("index")[str(Mode.KLASTER)]["comfort_violation_share"])
    return [
        (bool(captured >= TARGET_CAPTURED_SHARE),
         f"klaster captures {captured:.1%} of the perfect-foresight saving "
         f"(target ≥ {TARGET_CAPTURED_SHARE:.0%})"),
        (below == 0, f"lighting below its class in {below} circuit-quarter-hours, all modes "
                     "(target 0)"),
        (comfort <= TARGET_COMFORT_SHARE,
         f"klaster's comfort violations {comfort:.2%} of occupied zone-hours "
         f"(target ≤ {TARGET_COMFORT_SHARE:.0%})"),
    ]  # fmt: skip


def plot_evaluation(evaluation: Evaluation, config: ClusterConfig, path: Path) -> Path:
    """Daily cost, cumulative saving and lighting energy per mode, into ``path`` (PNG)."""
    metrics = evaluation.metrics()
    fig, axes = plt.subplots(3, 1, figsize=(11, 11), sharex=True, constrained_layout=True)
    fig.suptitle(f"{config.cluster.name} — closed-loop evaluation")
    cost = metrics.pivot_table(index="day", columns="mode", values="cost_pln") / 1000.0
    width = 0.27
    positions = np.arange(len(cost.index))
    for offset, mode in zip((-width, 0.0, width), Mode, strict=True):
        axes[0].bar(positions + offset, cost[str(mode)], width, label=_LABELS[mode],
                    color=_COLOURS[mode])  # fmt: skip
    axes[0].set_ylabel("thousand PLN")
    axes[0].set_title("Cost per day, settled")
    axes[0].legend(loc="upper left", fontsize=8)
    for mode in (Mode.KLASTER, Mode.PERFECT_FORESIGHT):
        saving = (cost[str(Mode.BASELINE)] - cost[str(mode)]).cumsum()
        axes[1].plot(positions, saving, marker="o", label=_LABELS[mode], color=_COLOURS[mode])
    axes[1].set_ylabel("thousand PLN")
    axes[1].set_title("Cumulative saving over the baseline")
    axes[1].legend(loc="upper left", fontsize=8)
    lighting = metrics.pivot_table(index="day", columns="mode", values="lighting_mwh")
    for offset, mode in zip((-width, 0.0, width), Mode, strict=True):
        axes[2].bar(positions + offset, lighting[str(mode)], width, label=_LABELS[mode],
                    color=_COLOURS[mode])  # fmt: skip
    axes[2].set_ylabel("MWh")
    axes[2].set_title("Street-lighting energy per day")
    axes[2].set_xticks(positions, [d.strftime("%m-%d") for d in cost.index], rotation=45)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _print_day(evaluated: EvaluatedDay) -> None:
    cells = [
        f"{mode}: {md.realised.metrics.cost_pln:,.0f} PLN (plan {md.plan_time_s:.1f} s, "
        f"settle {md.realised.wall_time_s:.1f} s)"
        for mode, md in evaluated.modes.items()
    ]
    console.print(
        f"{evaluated.day}  {evaluated.wall_time_s:6.1f} s  " + "; ".join(cells),
        highlight=False,
        markup=False,
    )


def write_outputs(evaluation: Evaluation, config: ClusterConfig, folder: Path) -> list[Path]:
    """The per-day metrics, the totals, the plots and klaster's last realised day."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics = folder / "metrics.csv"
    evaluation.metrics().to_csv(metrics, index=False, float_format="%.4f")
    totals = folder / "totals.csv"
    evaluation.totals().to_csv(totals, float_format="%.4f")
    files = [metrics, totals, plot_evaluation(evaluation, config, folder / "evaluation.png")]
    last = evaluation.days[-1]
    realised = last.modes[Mode.KLASTER].realised.schedule
    files.append(plot_schedule(realised, config, folder / f"klaster-realised-{last.day}.png"))
    return files


@user_errors
def evaluate_command(
    first: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last local day, YYYY-MM-DD (included).")],
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder; out/evaluate-FROM-TO if left out."),
    ] = None,
    data_dir: DataDirOption = None,
    synthetic_history: Annotated[
        bool,
        typer.Option(
            help="Evaluate on generated history where the store has none (the demo always)."
        ),
    ] = False,
    mip_gap: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Relative MIP gap of every solve.")
    ] = 1e-3,
    time_limit: Annotated[float, typer.Option(min=0.1, help="Time limit per solve, s.")] = 60.0,
    threads: Annotated[int | None, typer.Option(min=1, help="Solver threads.")] = None,
    grid_co2: Annotated[
        float, typer.Option(min=0.0, help="CO2 per MWh drawn from the grid, kg/MWh.")
    ] = GRID_CO2_KG_PER_MWH,
    warm_up_days: Annotated[
        int, typer.Option(min=0, help="Days run before --from to settle every mode's state.")
    ] = 1,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes for the forecasts (1: in this process).")
    ] = 2,
) -> None:
    """Simulate the cluster day by day: baseline, klaster's plan and perfect foresight.

    Each day is planned on forecasts (klaster) or on the actual values (perfect
    foresight), or run by the uncoordinated rules (baseline), then settled on the
    actual values with the plan's commands fixed; the state is carried to the next day.
    """
    start, end = parse_day(first, "--from"), parse_day(last, "--to")
    assert start is not None and end is not None  # both options are required
    if end < start:
        raise typer.BadParameter(f"--to {end} lies before --from {start}", param_hint="--to")
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    loaded = load_config(config)
    options = SolveOptions(mip_rel_gap=mip_gap, time_limit_s=time_limit, threads=threads)
    with SqliteStore.open(data_dir or default_data_dir()) as store:
        if config is None or synthetic_history:
            zone = loaded.cluster.zone
            first_run = start - timedelta(days=warm_up_days)
            history_start = day_bounds_utc(first_run, zone)[0] - pd.Timedelta(days=HISTORY_DAYS + 7)
            with progress_bar("writing history to the store", "days") as progress:
                ensure_synthetic_history(
                    store, loaded, history_start, day_bounds_utc(end, zone)[1],
                    on_progress=progress,
                )  # fmt: skip
        source = StoreDays(loaded, store, WeatherForecastError(), workers=workers)
        with progress_bar("evaluating", "days") as progress:

            def after_day(evaluated: EvaluatedDay, done: int, total: int) -> None:
                _print_day(evaluated)
                progress(done, total)

            evaluation = evaluate(
                loaded, days, source, solve_options=options, grid_co2_kg_per_mwh=grid_co2,
                warm_up_days=warm_up_days, on_day=after_day,
            )  # fmt: skip
    console.print(totals_table(evaluation))
    for holds, line in target_lines(evaluation):
        mark = "[green]met[/green]" if holds else "[red]missed[/red]"
        console.print(f"{mark}  {line}", highlight=False)
    folder = out or Path("out") / f"evaluate-{start.isoformat()}-{end.isoformat()}"
    files = write_outputs(evaluation, loaded, folder)
    console.print(f"Written to {folder}:", highlight=False)
    for path in files:
        console.print(f"  {path}", highlight=False, markup=False)
