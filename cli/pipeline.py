"""The daily job wired end to end: config → history → forecast → MILP → schedule.

Wiring only: every step is a call into the package that owns it. Each stage is
timed so that the summary and the benchmark can show where the time goes.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from adapters.history import ensure_synthetic_history
from adapters.sqlite_store import SqliteStore
from cli.plot import plot_schedule
from cluster.config import ClusterConfig, load_config
from cluster.errors import DataError
from cluster.schedule import Schedule
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import RunRecord, SeriesId
from forecasting.daily import DayForecast, forecast_day
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import build_model
from optimisation.solve import SolveOptions, SolveResult, SolveStatus, solve

#: Days of history made available before the scheduled day.
HISTORY_DAYS = 400


@dataclass
class StageClock:
    """Wall time per named stage, seconds."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class ScheduleRun:
    """Everything the daily job produced, for presentation."""

    run_id: str
    config: ClusterConfig
    schedule: Schedule
    solve: SolveResult
    forecast: DayForecast
    stage_seconds: dict[str, float]
    output_dir: Path
    files: list[Path]
    history_rows_written: int


def config_identity(config: ClusterConfig) -> str:
    """A short hash that changes whenever anything in the configuration changes."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def frame_identity(frame: pd.DataFrame) -> str:
    """A short hash of a frame's index, columns and values."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update("|".join(map(str, frame.columns)).encode())
    return digest.hexdigest()[:16]


def run_schedule(
    *,
    config_path: Path | None,
    day: date | None,
    out_dir: Path | None,
    data_dir: Path,
    synthetic_history: bool,
    options: SolveOptions,
    history_days: int = HISTORY_DAYS,
    on_history_progress: Callable[[int, int], None] | None = None,
) -> ScheduleRun:
    """Plan one day for a cluster and write the schedule, its plot and its record.

    ``config_path=None`` plans the built-in demo cluster, whose history is
    synthetic (``history_days`` of it are kept in the store before the day);
    ``day=None`` plans tomorrow in the cluster's time zone.
    """
    clock = StageClock()
    with clock.stage("config"):
        config = load_config(config_path)
        zone = config.cluster.zone
        day = day or (datetime.now(zone).date() + pd.Timedelta(days=1))
        steps = day_steps(day, zone, config.cluster.step_minutes)
    with SqliteStore.open(data_dir) as store:
        written = 0
        if config_path is None or synthetic_history:
            day_start, day_end = day_bounds_utc(day, zone)
            with clock.stage("data"):
                written = ensure_synthetic_history(
                    store,
                    config,
                    day_start - pd.Timedelta(days=history_days),
                    day_end,
                    on_progress=on_history_progress,
                )
        with clock.stage("forecast"):
            forecast = forecast_day(config, steps, store.read_series)
        if forecast.failed:
            listing = "\n".join(f"  {sid}: {why}" for sid, why in sorted(forecast.failed.items()))
            raise DataError(
                f"cannot plan {day}: {len(forecast.failed)} series have no usable history:\n"
                f"{listing}",
                fix="poll or import measurements for them, or run with --synthetic-history "
                "to plan on generated history",
            )
        run_id = f"{day.isoformat()}-{uuid.uuid4().hex[:8]}"
        started = datetime.now(UTC)
        inputs = PlanningInputs(
            config=config,
            day=day,
            steps=steps,
            forecasts=forecast.values.drop(columns=[SeriesId.DAY_AHEAD_PRICE]),
            day_ahead_price_pln_per_mwh=forecast.values[SeriesId.DAY_AHEAD_PRICE],
        )
        with clock.stage("model build"):
            model = build_model(inputs)
        with clock.stage("solve"):
            result = solve(model, options)
        if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            raise DataError(
                f"no plan for {day}: the solver ended with status {result.status} "
                f"({result.termination})",
                fix="check the configuration's limits (export limits, contracted capacities) "
                "against the forecasts, or raise --time-limit",
            )
        with clock.stage("extraction"):
            schedule = extract_schedule(model, inputs, result)
        with clock.stage("write"):
            folder = out_dir or Path("out") / f"schedule-{day.isoformat()}"
            files = schedule.write(folder)
            files.append(plot_schedule(schedule, config, folder / "schedule.png"))
            record = RunRecord(
                run_id=run_id,
                kind="schedule",
                day=day,
                started_at=started,
                config_hash=config_identity(config),
                inputs_hash=frame_identity(forecast.values),
                status=str(result.status),
                details={"objective_pln": result.objective_pln, "output_dir": str(folder)},
            )
            store.record_run(record)
            for name in ("connection_points", "assets", "cluster", "costs"):
                store.save_frame(run_id, name, getattr(schedule, name))
    return ScheduleRun(
        run_id=run_id,
        config=config,
        schedule=schedule,
        solve=result,
        forecast=forecast,
        stage_seconds=dict(clock.seconds),
        output_dir=folder,
        files=files,
        history_rows_written=written,
    )
