"""The closed loop: plan each day, settle it against the actuals, carry the state on.

Three ways of running the cluster go through the same days side by side,
each with its own state carried from one realised day to the next (battery
state of charge, WtE status and output, gas holder, heat store, room
temperatures; :func:`optimisation.state.measured_initial_state` reads them
off the realised day as it would off measurements):

- ``baseline``: the uncoordinated rule set of
  :func:`~optimisation.evaluation.decisions.baseline_decisions`, every
  member buying and selling alone on its own tariff;
- ``klaster``: the day planned on the forecasts by the daily job's model
  (:func:`~optimisation.model.build_model`, :func:`~optimisation.solve.solve`),
  starting from the state the previous day left, as a re-plan from
  measurements does;
- ``perfect_foresight``: the same planner fed the actual values as its
  forecasts, the best any plan could do; knowing the actual demand, it
  keeps no capacity headroom (``ModelOptions.capacity_headroom_pct`` 0).

A plan that starts from the rooms' measured temperatures instead of a
periodic day must also leave them warm enough for tomorrow, or every Monday
(and every day after a holiday) starts cold:
:func:`~optimisation.evaluation.handover.add_handover` adds that hand-over
as a soft limit. The zones get the setpoints the schedule sends.

Every mode is settled by :func:`~optimisation.evaluation.realised.settle_day`
on the same actual values. The first day of every mode starts from the
configured states and from rooms where their own thermostats would have
left them; warm-up days before the period let each mode reach a state of
its own before anything is counted.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd

from cluster.commands import zone_asset_id
from cluster.config import ClusterConfig
from cluster.occupancy import internal_gains_kw, occupied_steps
from cluster.schedule import Schedule
from cluster.thermal import settled_temp_c
from cluster.timegrid import day_bounds_utc, day_steps, range_steps, step_hours
from cluster.timeseries import SeriesId
from optimisation.components.building import baseline_setpoints_c
from optimisation.components.emissions import Co2Pricing
from optimisation.components.wte import available_steps
from optimisation.diagnosis import diagnose, flagged_schedule
from optimisation.errors import NoPlanError, OptimisationError
from optimisation.evaluation.decisions import (
    Decisions,
    baseline_decisions,
    planned_decisions,
)
from optimisation.evaluation.handover import LOOKAHEAD_DAYS, add_handover, handover_temps_c
from optimisation.evaluation.realised import DayMetrics, RealisedDay, settle_day
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveOptions, SolveStatus, solve
from optimisation.state import InitialState, measured_initial_state

#: CO2 per MWh drawn from the public grid by end users in Poland, kg/MWh
#: (KOBiZE's factor for end users, 2024 publication).
GRID_CO2_KG_PER_MWH = 597.0


#: How much colder than the planned day the days ahead are taken to be when the
#: hand-over temperature is worked out, K.
HANDOVER_COLDER_K = 2.0


class EvaluationError(OptimisationError):
    """An evaluation that cannot be run as asked."""


class Mode(StrEnum):
    """A way of running the cluster."""

    BASELINE = "baseline"
    KLASTER = "klaster"
    PERFECT_FORESIGHT = "perfect_foresight"


@dataclass(frozen=True)
class DayData:
    """What is known of a day before it (forecasts) and after it (actuals).

    Both frames are indexed by the day's UTC steps and hold the columns of
    :attr:`~optimisation.inputs.PlanningInputs.forecasts` plus
    ``SeriesId.DAY_AHEAD_PRICE`` (PLN/MWh).
    """

    forecast: pd.DataFrame
    actual: pd.DataFrame


#: ``(day, steps) -> DayData``: the forecasts and the actual values of a local day.
DaySource = Callable[[date, pd.DatetimeIndex], DayData]


@dataclass(frozen=True)
class ModeDay:
    """One mode on one day.

    Attributes
    ----------
    realised
        The settled day.
    plan_time_s
        Time the plan took (build and solve; 0 for the baseline's rules), s.
    plan_status
        The planner's solve status, or ``"rules"`` for the baseline.
    """

    realised: RealisedDay
    plan_time_s: float
    plan_status: str


@dataclass(frozen=True)
class EvaluatedDay:
    """Every mode on one day, with the time the day took (s)."""

    day: date
    modes: dict[Mode, ModeDay]
    wall_time_s: float


@dataclass
class Evaluation:
    """The result of a closed-loop evaluation over a run of days."""

    days: list[EvaluatedDay] = field(default_factory=list)

    def metrics(self) -> pd.DataFrame:
        """One row per (day, mode) with every :class:`DayMetrics` field."""
        rows = [
            {"day": d.day, "mode": str(mode), **dataclasses.asdict(md.realised.metrics)}
            for d in self.days
            for mode, md in d.modes.items()
        ]
        return pd.DataFrame(rows)

    def totals(self) -> pd.DataFrame:
        """The period per mode (index), with shares and the lighting check.

        Columns: ``cost_pln``, ``overrun_steps``, ``overrun_charge_pln``,
        ``local_share`` (0-1), ``lighting_mwh``, ``below_class_steps``,
        ``lit_circuit_steps``, ``comfort_violation_zone_h``,
        ``occupied_zone_h``, ``comfort_violation_share`` (0-1), ``co2_t``,
        ``export_over_limit_mwh``.
        """
        per_day = self.metrics()
        summed = per_day.drop(columns=["day"]).groupby("mode", sort=False).sum()
        summed["local_share"] = summed["local_mwh"] / summed["load_mwh"].where(
            summed["load_mwh"] > 0
        )
        summed["comfort_violation_share"] = summed["comfort_violation_zone_h"] / summed[
            "occupied_zone_h"
        ].where(summed["occupied_zone_h"] > 0)
        return summed.fillna(0.0)

    def captured_share(self) -> float:
        """klaster's saving over the baseline as a share of perfect foresight's (1 = all)."""
        cost = self.totals()["cost_pln"]
        possible = cost[Mode.BASELINE] - cost[Mode.PERFECT_FORESIGHT]
        if possible <= 0:
            return float("nan")
        return float((cost[Mode.BASELINE] - cost[Mode.KLASTER]) / possible)


def _first_state(
    config: ClusterConfig, steps: pd.DatetimeIndex, actual: pd.DataFrame
) -> InitialState:
    """Configured plant states, and rooms where their own thermostats leave them."""
    info = config.cluster
    step_h = step_hours(info.step_minutes)
    outdoor = (
        actual[SeriesId.TEMPERATURE_C].to_numpy(dtype=float)
        if config.assets.buildings
        else np.zeros(len(steps))
    )
    temps: dict[str, float] = {}
    for building in config.assets.buildings:
        occupied = occupied_steps(building.occupancy, steps, info.zone, info.country)
        for zone in building.zones:
            gains = np.array([internal_gains_kw(zone, bool(o)) for o in occupied])
            setpoints = baseline_setpoints_c(zone, occupied)
            start = zone.initial_temp_c
            if start is None:
                start = settled_temp_c(zone, outdoor, gains, setpoints, step_h)
            temps[zone_asset_id(building.id, zone.id)] = float(start)
    return InitialState(config, ModelOptions(zone_initial_temp_c=temps), {}, ())


def _plan(
    state: InitialState,
    day: date,
    steps: pd.DatetimeIndex,
    frame: pd.DataFrame,
    solve_options: SolveOptions,
) -> tuple[Schedule, str]:
    inputs = _inputs(state.config, day, steps, frame)
    options = state.options
    model = build_model(inputs, options)
    if state.config.assets.buildings:
        # Planned from the rooms as they are, a day must leave them warm enough for the
        # days ahead, taken to be like this one less HANDOVER_COLDER_K: the hand-over
        # assumes full heat throughout, so it must not also assume mild weather.
        info = state.config.cluster
        ahead_start = day_bounds_utc(day + timedelta(days=1), info.zone)[0]
        ahead_end = day_bounds_utc(day + timedelta(days=LOOKAHEAD_DAYS), info.zone)[1]
        next_steps = range_steps(ahead_start, ahead_end, info.step_minutes)
        outdoor = np.resize(frame[SeriesId.TEMPERATURE_C].to_numpy(dtype=float), len(next_steps))
        outdoor = outdoor - HANDOVER_COLDER_K
        add_handover(model, handover_temps_c(state.config, next_steps, outdoor))
    result = solve(model, solve_options)
    if result.status is SolveStatus.INFEASIBLE:
        # As the daily job does: the elastic plan, flagged, rather than no plan.
        diagnosis = diagnose(inputs, options, solve_options)
        if diagnosis.result.has_plan:
            return flagged_schedule(diagnosis, inputs), "infeasible"
    if not result.has_plan:
        raise NoPlanError(
            f"no plan for {day}: the solver ended {result.status} ({result.termination})",
            fix="raise the time limit, or check the configuration's limits against the day",
        )
    return extract_schedule(model, inputs, result), str(result.status)


def _without_headroom(state: InitialState) -> InitialState:
    options = dataclasses.replace(state.options, capacity_headroom_pct=0.0)
    return dataclasses.replace(state, options=options)


def _next_state(
    config: ClusterConfig, realised: Schedule, next_steps: pd.DatetimeIndex
) -> InitialState:
    """The state after a realised day, read as the measurements of its last step."""
    return measured_initial_state(config, next_steps, lambda _series_id: None, realised.assets)


def evaluate(
    config: ClusterConfig,
    days: Sequence[date],
    source: DaySource,
    *,
    solve_options: SolveOptions | None = None,
    grid_co2_kg_per_mwh: float = GRID_CO2_KG_PER_MWH,
    warm_up_days: int = 1,
    on_day: Callable[[EvaluatedDay, int, int], None] | None = None,
) -> Evaluation:
    """Run the three modes through ``days`` (consecutive local days) and settle each day.

    The ``warm_up_days`` before the first day are run the same way but not
    counted: every mode enters the period from a state of its own running
    (rooms, stores), not from one configuration for all.

    Parameters
    ----------
    config
        The cluster.
    days
        The local days, in order, one after the other.
    source
        Forecasts and actual values of a day.
    solve_options
        Solver settings of plans and settlements.
    grid_co2_kg_per_mwh
        CO2 of a MWh drawn from the grid, kg/MWh (reported, not priced).
    warm_up_days
        Days run before the period and left out of the result, days.
    on_day
        Called after each day with ``(day, done, total)``; warm-up days count in ``total``.
    """
    for earlier, later in itertools.pairwise(days):
        if (later - earlier).days != 1:
            raise EvaluationError(
                f"the days evaluated must follow one another, but {later} comes after {earlier}",
                fix="give a period of consecutive days (--from and --to)",
            )
    solve_options = solve_options or SolveOptions()
    co2 = Co2Pricing(price_pln_per_t=0.0, grid_import_kg_per_mwh=grid_co2_kg_per_mwh)
    info = config.cluster
    evaluation = Evaluation()
    run = [days[0] - timedelta(days=n) for n in range(warm_up_days, 0, -1)] + list(days)
    states: dict[Mode, InitialState] = {}
    for position, day in enumerate(run):
        started = time.perf_counter()
        steps = day_steps(day, info.zone, info.step_minutes)
        data = source(day, steps)
        if not states:
            first = _first_state(config, steps, data.actual)
            states = dict.fromkeys(Mode, first)
        modes: dict[Mode, ModeDay] = {}
        for mode in Mode:
            state = states[mode]
            plan_started = time.perf_counter()
            decisions: Decisions
            if mode is Mode.BASELINE:
                available = {
                    chp.id: available_steps(chp, _inputs(state.config, day, steps, data.actual))
                    for chp in config.assets.wte_chps
                }
                decisions, status = baseline_decisions(state.config, steps, available), "rules"
            else:
                frame, planning = data.forecast, state
                if mode is Mode.PERFECT_FORESIGHT:
                    # It knows the actual demand: no headroom against forecast error.
                    frame, planning = data.actual, _without_headroom(state)
                plan, status = _plan(planning, day, steps, frame, solve_options)
                decisions = planned_decisions(plan, state.config, steps)
            plan_time = time.perf_counter() - plan_started
            realised = settle_day(
                state.config, day, steps, data.actual, decisions, state.options,
                co2=co2, standalone=mode is Mode.BASELINE, solve_options=solve_options,
            )  # fmt: skip
            modes[mode] = ModeDay(realised, plan_time, status)
        evaluated = EvaluatedDay(day, modes, time.perf_counter() - started)
        if position >= warm_up_days:
            evaluation.days.append(evaluated)
        if position + 1 < len(run):
            next_steps = day_steps(run[position + 1], info.zone, info.step_minutes)
            states = {
                mode: _next_state(config, md.realised.schedule, next_steps)
                for mode, md in modes.items()
            }
        if on_day is not None:
            on_day(evaluated, position + 1, len(run))
    return evaluation


def _inputs(
    config: ClusterConfig, day: date, steps: pd.DatetimeIndex, frame: pd.DataFrame
) -> PlanningInputs:
    return PlanningInputs(
        config=config,
        day=day,
        steps=steps,
        forecasts=frame.drop(columns=[SeriesId.DAY_AHEAD_PRICE]),
        day_ahead_price_pln_per_mwh=frame[SeriesId.DAY_AHEAD_PRICE],
    )


__all__ = [
    "DayData",
    "DayMetrics",
    "DaySource",
    "EvaluatedDay",
    "Evaluation",
    "EvaluationError",
    "Mode",
    "ModeDay",
    "evaluate",
]
