"""The time sets of the model: steps, and the clock hours the steps fall in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from cluster.timegrid import local_hour_groups
from optimisation.inputs import PlanningInputs


@dataclass(frozen=True)
class Horizon:
    """The planned steps and their grouping into clock hours.

    Attributes
    ----------
    steps
        UTC start of each step; position ``t`` in the model is ``steps[t]``.
    step_hours
        Length of a step, h.
    hour_starts
        UTC start of each clock hour touched by the steps; position ``h`` in
        the model is ``hour_starts[h]``. Hours are UTC ``floor("h")`` groups,
        so the repeated 02:00 of the autumn DST day gives two hours.
    hour_of_step
        The hour position of each step.
    step_set, hour_set
        The Pyomo sets of step and hour positions.
    """

    steps: pd.DatetimeIndex
    step_hours: float
    hour_starts: pd.DatetimeIndex
    hour_of_step: tuple[int, ...]
    step_set: Any
    hour_set: Any

    @property
    def n_steps(self) -> int:
        """Number of steps planned."""
        return len(self.steps)

    def steps_in_hour(self, hour: int) -> tuple[int, ...]:
        """Positions of the steps that lie in hour position ``hour``."""
        return tuple(t for t, h in enumerate(self.hour_of_step) if h == hour)


def define_horizon(model: pyo.ConcreteModel, inputs: PlanningInputs) -> Horizon:
    """Add the step and hour sets to ``model`` (as ``steps`` and ``hours``)."""
    groups = local_hour_groups(inputs.steps, inputs.config.cluster.zone)
    hour_starts = pd.DatetimeIndex(groups.unique(), name="hour")
    hour_of_step = tuple(int(i) for i in hour_starts.get_indexer(groups))
    model.steps = pyo.Set(initialize=range(len(inputs.steps)), ordered=True)
    model.hours = pyo.Set(initialize=range(len(hour_starts)), ordered=True)
    return Horizon(
        steps=inputs.steps,
        step_hours=inputs.step_hours,
        hour_starts=hour_starts,
        hour_of_step=hour_of_step,
        step_set=model.steps,
        hour_set=model.hours,
    )
