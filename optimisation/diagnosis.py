"""Why a day cannot be planned, and the plan that comes closest.

When the model is infeasible, an elastic copy of it is solved: the declared
soft groups get non-negative slack variables priced far above any real cost
(:data:`SLACK_PENALTY_PLN_PER_KWH`), so the solver uses slack only where no
plan exists without it. The slack it needed names the constraint group, the
asset, the steps and the amount, and the elastic plan is returned flagged so
that the user always has a schedule to look at.

Soft groups (everything else stays hard):

- ``export limit``: export beyond a connection point's ``export_limit_kw``, kW;
- ``waste-to-energy daily minimum``: waste short of the day's minimum, MWh;
- ``unmet heat demand`` / ``surplus heat``: heat a network's balance lacks or
  cannot place, kW;
- ``battery end-of-day target``, ``heat store end-of-day level``,
  ``gas holder end-of-day level``: energy short of the end-of-day floor, kWh.

Building comfort bands, the contracted capacity's overrun and its headroom
are soft in the model itself (priced, unbounded variables) and need no slack
here: they never make a day infeasible and are not reported as a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from cluster.schedule import Schedule
from optimisation.components.bus import InjectionKind
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ClusterModel, ModelOptions, build_model
from optimisation.solve import SolveOptions, SolveResult, solve

#: Price of one kWh (kWh of fuel for the waste minimum) of slack, PLN: a thousand
#: times a high energy price, so slack is used only where nothing else will do.
SLACK_PENALTY_PLN_PER_KWH = 1000.0
#: Slack below this (kW, kWh or MWh) is solver noise, not a conflict.
SLACK_TOLERANCE = 1e-4


@dataclass(frozen=True)
class SlackUse:
    """One soft group of one asset that the elastic plan had to violate.

    Attributes
    ----------
    group
        The constraint group, e.g. ``"export limit"``.
    asset
        The asset or connection point id.
    positions
        Step positions where slack was used.
    start, end
        UTC start of the first and end of the last of those steps.
    max_amount, total_amount
        Largest slack in one step or day and the sum over them, in ``unit``.
    unit
        ``"kW"`` for per-step power slack, ``"kWh"`` or ``"MWh"`` for energy.
    message
        One sentence for the user: what, where, when, how much and why.
    """

    group: str
    asset: str
    positions: tuple[int, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    max_amount: float
    total_amount: float
    unit: str
    message: str


@dataclass(frozen=True)
class Diagnosis:
    """The elastic re-solve of an infeasible day.

    Attributes
    ----------
    model
        The elastic model (its variables hold the flagged plan when ``result`` has one).
    result
        Its solve outcome; the objective includes the slack penalty, PLN.
    slacks
        The violated soft groups, largest first.
    """

    model: ClusterModel
    result: SolveResult
    slacks: tuple[SlackUse, ...]

    @property
    def explanations(self) -> list[str]:
        """One line per violated soft group."""
        return [slack.message for slack in self.slacks]


@dataclass(frozen=True)
class _Slack:
    group: str
    asset: str
    variable: Any
    #: Step positions of each index of ``variable``, in index order.
    positions: tuple[tuple[int, ...], ...]
    unit: str
    cause: str
    per_step_power: bool


def _soften(block: Any, name: str, constraint: Any, *, up: bool, down: bool) -> tuple[Any, Any]:
    """Replace ``constraint`` by ``lower <= body + s_up - s_down <= upper`` (slacks >= 0)."""
    keys = list(constraint.keys())
    index = range(len(keys))
    slack_up = pyo.Var(index, domain=pyo.NonNegativeReals, bounds=(0.0, None if up else 0.0))
    slack_down = pyo.Var(index, domain=pyo.NonNegativeReals, bounds=(0.0, None if down else 0.0))
    block.add_component(f"{name}_up", slack_up)
    block.add_component(f"{name}_down", slack_down)

    def rule(_: Any, i: int) -> Any:
        data = constraint[keys[i]]
        body = data.body + slack_up[i] - slack_down[i]
        if data.equality:
            return body == data.upper
        return (data.lower, body, data.upper)

    block.add_component(name, pyo.Constraint(index, rule=rule))
    constraint.deactivate()
    return slack_up, slack_down


def _relax(cluster: ClusterModel) -> list[_Slack]:
    """Add the slacks of every soft group to ``cluster`` and price them in the objective."""
    model = cluster.model
    elastic = model.elastic = pyo.Block()
    horizon = cluster.horizon
    steps = tuple((t,) for t in range(horizon.n_steps))
    last = ((horizon.n_steps - 1),)
    slacks: list[_Slack] = []
    for cp_id, point in cluster.connection_points.items():
        if point.never_exports:
            continue  # it exports nothing, so it keeps any limit
        limit = point.connection_point.export_limit_kw
        excess = pyo.Var(horizon.step_set, domain=pyo.NonNegativeReals)
        elastic.add_component(f"export_excess_{len(slacks)}", excess)
        for t in horizon.step_set:
            point.export_kw[t].setub(None)
        elastic.add_component(
            f"export_limit_{len(slacks)}",
            pyo.Constraint(
                horizon.step_set,
                rule=lambda _, t, e=point.export_kw, x=excess, c=limit: e[t] <= c + x[t],
            ),
        )
        generators = sorted(
            i.asset_id for i in point.injections if i.kind is InjectionKind.GENERATION
        )
        cause = (
            f"the generation there ({', '.join(generators) or 'none'}) that must run exceeds "
            "the load plus the export limit"
        )
        slacks.append(_Slack("export limit", cp_id, excess, steps, "kW", cause, True))
    for chp_id, chp in cluster.wte_chps.items():
        binding = [d for d in chp.waste_days if d.required_mwh > 0]
        if not binding:
            continue
        short, _ = _soften(
            elastic, f"must_burn_{len(slacks)}", chp.block.must_burn, up=True, down=False
        )
        cause = "the plant cannot burn it within its availability, limits and the heat it may place"
        slacks.append(
            _Slack(
                "waste-to-energy daily minimum",
                chp_id,
                short,
                tuple(d.positions for d in binding),
                "MWh",
                cause,
                False,
            )
        )
    for network_id, network in cluster.district_heating.items():
        lacking, surplus = _soften(
            elastic, f"heat_balance_{len(slacks)}", network.block.heat_balance, up=True, down=True
        )
        slacks.append(
            _Slack(
                "unmet heat demand",
                network_id,
                lacking,
                steps,
                "kW",
                "plant heat, boiler and store cannot meet the demand",
                True,
            )
        )
        slacks.append(
            _Slack(
                "surplus heat",
                network_id,
                surplus,
                steps,
                "kW",
                "must-run plant heat exceeds demand, store and cooler",
                True,
            )
        )
        store_short, _ = _soften(
            elastic, f"end_store_{len(slacks)}", network.block.end_of_day_store, up=True, down=False
        )
        slacks.append(
            _Slack(
                "heat store end-of-day level",
                network_id,
                store_short,
                (last,),
                "kWh",
                "the store cannot be refilled by the end",
                False,
            )
        )
    for battery_id, battery in cluster.batteries.items():
        soc_short, _ = _soften(
            elastic, f"end_soc_{len(slacks)}", battery.block.end_of_day_soc, up=True, down=False
        )
        slacks.append(
            _Slack(
                "battery end-of-day target",
                battery_id,
                soc_short,
                (last,),
                "kWh",
                "the battery cannot charge that far in the steps left",
                False,
            )
        )
    for chp_id, biogas in cluster.biogas_chps.items():
        holder_short, _ = _soften(
            elastic,
            f"end_holder_{len(slacks)}",
            biogas.block.end_of_day_holder,
            up=True,
            down=False,
        )
        slacks.append(
            _Slack(
                "gas holder end-of-day level",
                chp_id,
                holder_short,
                (last,),
                "kWh",
                "the inflow left cannot refill the holder",
                False,
            )
        )

    def energy_kwh(slack: _Slack, i: Any) -> Any:
        if slack.per_step_power:
            return slack.variable[i] * horizon.step_hours
        return slack.variable[i] * (1000.0 if slack.unit == "MWh" else 1.0)

    penalty = sum(
        SLACK_PENALTY_PLN_PER_KWH * energy_kwh(slack, i)
        for slack in slacks
        for i in slack.variable.index_set()
    )
    cluster.objective.deactivate()
    elastic.cost_with_slack_pln = pyo.Objective(
        expr=cluster.objective.expr + penalty, sense=pyo.minimize
    )
    return slacks


def _local_span(inputs: PlanningInputs, start: pd.Timestamp, end: pd.Timestamp) -> str:
    zone = inputs.config.cluster.zone
    local_start, local_end = start.tz_convert(zone), end.tz_convert(zone)
    # A span reaching midnight ends at 24:00 of its day, not at 00:00.
    until = "24:00" if local_end.date() > local_start.date() else f"{local_end:%H:%M}"
    return f"{local_start:%H:%M}–{until}"


def _used(slack: _Slack, inputs: PlanningInputs, step: pd.Timedelta) -> SlackUse | None:
    values = np.array(
        [pyo.value(slack.variable[i], exception=False) or 0.0 for i in slack.variable.index_set()]
    )
    hit = np.flatnonzero(values > SLACK_TOLERANCE)
    if hit.size == 0:
        return None
    positions = tuple(sorted({t for i in hit for t in slack.positions[int(i)]}))
    start = inputs.steps[positions[0]]
    end = inputs.steps[positions[-1]] + step
    biggest, total = float(values[hit].max()), float(values[hit].sum())
    span = _local_span(inputs, start, end)
    if slack.per_step_power:
        what = f"{slack.group} of {slack.asset}: {biggest:,.0f} {slack.unit} at most"
        message = f"{what} in {span} ({len(positions)} steps): {slack.cause}"
    else:
        what = f"{slack.group} of {slack.asset} missed by {total:,.1f} {slack.unit}"
        message = f"{what} (steps {span}): {slack.cause}"
    if slack.group == "export limit":
        message = (
            f"export limit of {slack.asset} exceeded by up to {biggest:,.0f} kW in {span} "
            f"({len(positions)} steps): {slack.cause}"
        )
    return SlackUse(
        slack.group, slack.asset, positions, start, end, biggest, total, slack.unit, message
    )


def diagnose(
    inputs: PlanningInputs,
    options: ModelOptions | None = None,
    solve_options: SolveOptions | None = None,
) -> Diagnosis:
    """Solve an elastic copy of the day's model and say which soft groups it had to violate.

    Parameters
    ----------
    inputs
        The inputs of the infeasible day (forecasts kW, prices PLN/MWh).
    options
        The model options it was built with.
    solve_options
        Gap, time limit (s) and threads for the elastic solve.

    Returns
    -------
    Diagnosis
        The elastic model, its outcome and the slack used, largest energy first.
        When the elastic model has no plan either, the conflict lies in a hard
        group (e.g. a ramp from the initial state) and ``slacks`` is empty.
    """
    cluster = build_model(inputs, options)
    soft = _relax(cluster)
    result = solve(cluster, solve_options)
    if not result.has_plan:
        return Diagnosis(cluster, result, ())
    step = pd.Timedelta(minutes=inputs.config.cluster.step_minutes)
    used = [use for slack in soft if (use := _used(slack, inputs, step)) is not None]
    used.sort(key=lambda u: (-u.total_amount, u.group, u.asset))
    return Diagnosis(cluster, result, tuple(used))


def flagged_schedule(diagnosis: Diagnosis, inputs: PlanningInputs) -> Schedule:
    """The elastic plan as a schedule flagged ``meta["infeasible"] = True`` with the reasons.

    Raises
    ------
    NoPlanError
        If the elastic solve found no plan either.
    """
    schedule = extract_schedule(diagnosis.model, inputs, diagnosis.result)
    schedule.meta["infeasible"] = True
    schedule.meta["infeasibility"] = diagnosis.explanations
    return schedule
