"""The daily job wired end to end: config → history → forecast → MILP → schedule.

Wiring only: every step is a call into the package that owns it. Each stage is
timed so that the summary and the benchmark can show where the time goes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from adapters.bms_live import read_live, setpoint_holds
from adapters.fit_cache_store import LoadedFitCache, read_fit_cache, write_fit_cache
from adapters.history import ensure_synthetic_history
from adapters.site import load_site_devices
from adapters.sqlite_store import SqliteStore
from bms.flexibility import ExcludedZone, zone_flexibility
from cli.plot import plot_schedule
from cluster.commands import zone_asset_id
from cluster.config import ClusterConfig, load_config
from cluster.errors import DataError
from cluster.schedule import Schedule
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import RunRecord, SeriesId
from forecasting.base import DEFAULT_LEVELS
from forecasting.batch import FitCache
from forecasting.daily import DayForecast, fit_fingerprints, forecast_day
from forecasting.lighting_traffic import TRAFFIC_LEVEL, traffic_planned_for_lighting
from forecasting.series import series_specs
from optimisation.diagnosis import Diagnosis, diagnose, flagged_schedule
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveOptions, SolveResult, SolveStatus, solve
from optimisation.state import (
    InitialState,
    measured_initial_state,
    replan_steps,
    warm_start_values,
)

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
    excluded_zones: tuple[ExcludedZone, ...] = ()
    fits_reused: int = 0


def config_identity(config: ClusterConfig) -> str:
    """A short hash that changes whenever anything in the configuration changes."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def frame_identity(frame: pd.DataFrame) -> str:
    """A short hash of a frame's index, columns and values."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update("|".join(map(str, frame.columns)).encode())
    return digest.hexdigest()[:16]


def load_fit_cache(
    config: ClusterConfig, data_dir: Path, day: date, *, refit: bool
) -> tuple[LoadedFitCache, dict[str, str], int]:
    """The fitted models kept by earlier runs, their fingerprints, and how many serve ``day``.

    With ``refit`` nothing is loaded: every series is fitted afresh (and kept).
    """
    fingerprints = fit_fingerprints(config)
    if refit:
        return LoadedFitCache(FitCache()), fingerprints, 0
    loaded = read_fit_cache(data_dir, fingerprints)
    usable = sum(
        loaded.cache.usable(spec.series_id, spec.model, day) is not None
        for spec in series_specs(config)
    )
    return loaded, fingerprints, usable


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
    replan_at: pd.Timestamp | None = None,
    devices: Path | None = None,
    own_priority: int = 12,
    refit: bool = False,
) -> ScheduleRun:
    """Plan one day for a cluster and write the schedule, its plot and its record.

    ``config_path=None`` plans the built-in demo cluster, whose history is
    synthetic (``history_days`` of it are kept in the store before the day);
    ``day=None`` plans tomorrow in the cluster's time zone.

    With ``replan_at`` (a time-zone-aware instant) only the rest of its day is
    planned, from the quarter-hour containing it, starting from the state
    measured in the store (see :func:`~optimisation.state.measured_initial_state`).

    When the store holds an earlier schedule of the day, its plant and storage
    decisions are the solver's MIP start.

    With ``devices`` (the site's device list) the building controllers are
    read first: a zone whose setpoint a priority stronger than klaster's
    ``own_priority`` holds is left out of the building flexibility.

    Fitted forecasting models are kept in ``data_dir`` and reused by the
    next day's run while they are young enough (:mod:`adapters.fit_cache_store`);
    ``refit`` fits every series afresh.

    An infeasible day still gives a schedule: the elastic plan of
    :func:`~optimisation.diagnosis.diagnose`, flagged ``meta["infeasible"]``.
    """
    clock = StageClock()
    with clock.stage("config"):
        config = load_config(config_path)
        zone = config.cluster.zone
        if replan_at is not None:
            day = day or replan_at.tz_convert(zone).date()
        day = day or (datetime.now(zone).date() + pd.Timedelta(days=1))
        steps = day_steps(day, zone, config.cluster.step_minutes)
        if replan_at is not None:
            steps = replan_steps(steps, replan_at.tz_convert("UTC"))
    with SqliteStore.open(data_dir) as store:
        model_options = ModelOptions()
        state: InitialState | None = None
        earlier = [run for run in store.runs("schedule") if run.day == day]
        # The day's latest plan: the state where nothing is measured, and the MIP start.
        previous = store.load_frame(earlier[0].run_id, "assets") if earlier else None
        if replan_at is not None:
            state = _measured_state(store, config, steps, replan_at, previous)
            config, model_options = state.config, state.options
        excluded: tuple[ExcludedZone, ...] = ()
        if devices is not None:
            with clock.stage("BMS holds"):
                excluded = _held_zones(config, steps, devices, own_priority)
            held = frozenset(zone_asset_id(z.building_id, z.zone_id) for z in excluded)
            model_options = dataclasses.replace(model_options, excluded_zones=held)
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
        with clock.stage("fit cache"):
            loaded, fingerprints, reused = load_fit_cache(config, data_dir, day, refit=refit)
        with clock.stage("forecast"):
            forecast = forecast_day(
                config, steps, store.read_series, cache=loaded.cache,
                levels=(*DEFAULT_LEVELS, TRAFFIC_LEVEL),
            )  # fmt: skip
        with clock.stage("fit cache"):
            write_fit_cache(loaded.cache, data_dir, fingerprints)
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
            # Dim levels are planned on a high bound of the traffic, not its point.
            forecasts=traffic_planned_for_lighting(forecast, config).drop(
                columns=[SeriesId.DAY_AHEAD_PRICE]
            ),
            day_ahead_price_pln_per_mwh=forecast.values[SeriesId.DAY_AHEAD_PRICE],
        )
        with clock.stage("model build"):
            model = build_model(inputs, model_options)
        with clock.stage("solve"):
            start = warm_start_values(model, previous) if previous is not None else None
            result = solve(model, options, warm_start=start)
        flagged: Diagnosis | None = None
        if result.status is SolveStatus.INFEASIBLE:
            with clock.stage("diagnosis"):
                diagnosis = diagnose(inputs, model_options, options)
            if diagnosis.result.has_plan:
                flagged, result = diagnosis, diagnosis.result
        if not result.has_plan:
            raise DataError(
                f"no plan for {day}: the solver ended with status {result.status} "
                f"({result.termination}), even with the soft limits relaxed",
                fix="check the configuration's limits (ramps, initial states) against the "
                "forecasts, or raise --time-limit",
            )
        with clock.stage("extraction"):
            if flagged is not None:
                schedule = flagged_schedule(flagged, inputs)
            else:
                schedule = extract_schedule(model, inputs, result)
            schedule.meta["warm_start_values"] = len(start) if start is not None else 0
            if excluded:
                schedule.meta["zones_left_out"] = {
                    zone_asset_id(z.building_id, z.zone_id): z.reason for z in excluded
                }
            if state is not None:
                schedule.meta["replan_from"] = steps[0].isoformat()
                schedule.meta["initial_state_sources"] = state.sources
                schedule.meta["initial_state_notes"] = list(state.notes)
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
                status="infeasible" if schedule.meta.get("infeasible") else str(result.status),
                details={
                    "objective_pln": result.objective_pln,
                    "output_dir": str(folder),
                    "replan_from": schedule.meta.get("replan_from"),
                },
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
        excluded_zones=excluded,
        fits_reused=reused,
    )


def _held_zones(
    config: ClusterConfig, steps: pd.DatetimeIndex, devices: Path, own_priority: int
) -> tuple[ExcludedZone, ...]:
    """The zones whose setpoints a stronger BACnet priority holds right now, read live."""
    live = asyncio.run(read_live(load_site_devices(devices), config))
    plan = zone_flexibility(config, steps, own_priority=own_priority, holds=setpoint_holds(live))
    return tuple(plan.excluded)


def _measured_state(
    store: SqliteStore,
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
    at: pd.Timestamp,
    previous: pd.DataFrame | None,
) -> InitialState:
    """The state at ``at``: latest readings, else the day's latest plan, else config."""
    start = at.tz_convert("UTC")

    def read_latest(series_id: str) -> float | None:
        # At or before the re-plan: the store reads [start, end), so end is one second on.
        frame = store.read_series([series_id], start - pd.Timedelta(days=1),
                                  start + pd.Timedelta(seconds=1))  # fmt: skip
        values = frame[series_id].dropna() if series_id in frame else pd.Series()
        return float(values.iloc[-1]) if len(values) else None

    return measured_initial_state(config, steps, read_latest, previous)
