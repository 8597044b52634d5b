"""Adaptive street lighting: every circuit dimmed to what its EN 13201 class needs, or above.

While lamps must burn, each step of each circuit gets the lighting class of
the CEN/TR 13201-1 method from the step's traffic forecast and the time of
night (:func:`cluster.lighting.classes_per_step`), and with it the lowest
step of the circuit's dimming controller that still delivers the class: a
hard floor. Among the controller's steps at or above that floor the plan
picks one, exactly one, for cost (energy, capacity) alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from scipy import sparse

from cluster.config import LightingCircuit
from cluster.lighting import LightingClass, classes_per_step, required_dim_pct, weighting_table
from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.forecast_share import ForecastShare
from optimisation.components.step_rows import StepTerms
from optimisation.errors import PlanningInputError
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs
from optimisation.rows import LinearRows

#: Where lamps need not burn the controller is left at full output, %: lamps the
#: cabinet's photocell lights before the forecast said never burn below the design class.
IDLE_DIM_PCT = 100


@dataclass(frozen=True)
class LightingCircuitHandle:
    """The model of one street-lighting circuit.

    Attributes
    ----------
    circuit
        Its configuration.
    on_fraction
        Share of each step in which the lamps burn, 0-1 (``SeriesId.LAMPS_ON_FRACTION``).
    classes
        The class each step needs; ``None`` where the lamps are off.
    min_dim_pct
        The lowest controller step that delivers the class, %; 0 where off.
    options_pct
        The controller steps the plan may choose from in each step, %
        (those at or above the floor; none where off).
    in_forecast_kw
        The circuit at full output while its lamps burn, kW: what the
        cabinet's load forecast is taken to hold.
    dim_pct
        The dim level of each step, %: where a step has more than one option,
        the options' levels over their binaries (data of
        ``model.lighting_choice``, step by step, in the order of
        ``options_pct``), else a constant (:data:`IDLE_DIM_PCT` where off).
    power_kw
        The circuit's mean power in each step, kW.
    """

    circuit: LightingCircuit
    on_fraction: tuple[float, ...]
    classes: tuple[LightingClass | None, ...]
    min_dim_pct: tuple[int, ...]
    options_pct: tuple[tuple[int, ...], ...]
    in_forecast_kw: tuple[float, ...]
    dim_pct: StepTerms
    power_kw: StepTerms

    @property
    def on(self) -> tuple[bool, ...]:
        """Whether the lamps burn in each step."""
        return tuple(f > 0 for f in self.on_fraction)

    @functools.cached_property
    def injection(self) -> Injection:
        """The circuit's power on its cabinet's bus (a load, so negative)."""
        return Injection(
            self.circuit.id,
            self.circuit.connection_point,
            InjectionKind.LOAD,
            self.power_kw.scaled(-1.0),
        )

    @property
    def forecast_share(self) -> ForecastShare:
        """The lighting the cabinet's load forecast already holds: full output while lit."""
        return ForecastShare(self.circuit.id, self.circuit.connection_point, self.in_forecast_kw)


def traffic_vehicles_per_hour(inputs: PlanningInputs, circuit: LightingCircuit) -> np.ndarray:
    """The circuit's traffic forecast, vehicles/h; its peak traffic where there is none.

    Without a forecast the road is taken as busy as at its peak hour, which
    never lights it too little.
    """
    column = SeriesId.traffic(circuit.id)
    if column not in inputs.forecasts.columns:
        return np.full(len(inputs.steps), circuit.peak_traffic_vehicles_per_hour)
    return inputs.series(column)


def check_lighting_inputs(inputs: PlanningInputs) -> None:
    """Check the forecasts the lighting circuits need.

    Raises
    ------
    PlanningInputError
        If the cluster has lighting circuits and ``SeriesId.LAMPS_ON_FRACTION``
        is missing, not a number, NaN or outside 0..1, or a circuit's traffic
        forecast holds NaN or negative values.
    """
    circuits = inputs.config.assets.lighting_circuits
    if not circuits:
        return
    column = SeriesId.LAMPS_ON_FRACTION
    if column not in inputs.forecasts.columns:
        raise PlanningInputError(
            f"the forecasts have no column {column!r}: when the street lamps must burn",
            fix="forecast the lamps-on fraction (0-1 per step, from dusk to dawn) for the day",
        )
    fraction = _numbers(inputs, column, "fractions 0-1")
    if not np.isfinite(fraction).all() or fraction.min() < 0 or fraction.max() > 1:
        raise PlanningInputError(
            f"forecast {column!r} must hold fractions from 0 to 1 in every step, "
            f"got values from {np.nanmin(fraction):g} to {np.nanmax(fraction):g} "
            f"({int((~np.isfinite(fraction)).sum())} NaN)",
            fix="give the share of each step in which the lamps burn (1 = the whole step)",
        )
    for circuit in circuits:
        traffic_column = SeriesId.traffic(circuit.id)
        if traffic_column not in inputs.forecasts.columns:
            continue
        traffic = _numbers(inputs, traffic_column, "vehicles per hour")
        if not np.isfinite(traffic).all() or traffic.min() < 0:
            raise PlanningInputError(
                f"traffic forecast {traffic_column!r} of lighting circuit {circuit.id!r} "
                "has NaN or negative values",
                fix="fill the gaps in the traffic forecast (vehicles/h, >= 0), or drop the "
                "column to plan the road as busy as at its peak",
            )


def _numbers(inputs: PlanningInputs, column: str, what: str) -> np.ndarray:
    try:
        return inputs.series(column)
    except (TypeError, ValueError):
        raise PlanningInputError(
            f"forecast {column!r} holds values that are not numbers",
            fix=f"give it as floats ({what})",
        ) from None


def add_lighting(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    inputs: PlanningInputs,
    given_dim_pct: Mapping[str, Sequence[float] | np.ndarray] | None = None,
) -> dict[str, LightingCircuitHandle]:
    r"""Add the street-lighting circuits' choices and rows, as ``model.lighting_choice`` and rows.

    For every step :math:`t` with lamps on (:math:`f_t > 0`):

    .. math::

        \sum_{k \in K_t} y_{t,k} = 1, \qquad y_{t,k} \in \{0, 1\}, \qquad
        K_t = \{k \in K : k \ge \underline k_t\}

        d_t = \sum_{k \in K_t} k\,y_{t,k}, \qquad
        p_t = \frac{N\,w}{1000}\,\frac{d_t}{100}\,f_t

    and :math:`p_t = 0`, :math:`d_t = 100` where :math:`f_t = 0`.

    - :math:`f_t` share of the step in which the lamps burn,
      ``SeriesId.LAMPS_ON_FRACTION`` (0-1);
    - :math:`K` the controller's steps ``dim_steps_pct``, %;
    - :math:`\underline k_t` the floor: the lowest step delivering the class
      of step :math:`t` (:func:`cluster.lighting.required_dim_pct`), the class
      coming from :func:`cluster.lighting.classes_per_step` with the traffic
      forecast ``SeriesId.traffic(circuit)`` (vehicles/h), the local clock
      hour, the circuit's road and the cluster's ``lighting_weighting``.
      Steps below the floor have no variable at all, so the floor is hard;
    - :math:`y_{t,k}` 1 when the controller runs at step :math:`k`; a step
      with a single option (the floor is 100 %) is fixed, with no binary;
    - :math:`d_t` dim level, %; :math:`p_t` mean power over the step, kW;
      :math:`N` ``luminaires``, :math:`w` ``luminaire_w``, W.

    The circuit's power is a load on its cabinet's bus. The cabinet's load
    forecast holds the lamps at full output, :math:`N w / 1000 \cdot f_t`,
    which :attr:`LightingCircuitHandle.forecast_share` states so that it
    comes off the forecast (never below zero: any other load stays).

    The binaries :math:`y` of all circuits are one variable,
    ``model.lighting_choice``, and their rows :math:`\sum_k y_{t,k} = 1` one
    :class:`~optimisation.rows.LinearRows`, ``model.lighting_one_step``.

    A circuit named in ``given_dim_pct`` runs at those levels (% per step,
    e.g. as commanded, whatever its floor): no choice, its power a number.

    Power grows with :math:`d_t`, so at a positive price of energy the floor
    is optimal and the binaries cost the solver little; the choice matters
    when a kWh earns money (negative prices) or a capacity limit binds.
    """
    config = inputs.config
    circuits = config.assets.lighting_circuits
    table = weighting_table(config.cluster.lighting_weighting)
    local_hours = horizon.steps.tz_convert(config.cluster.zone).hour.to_numpy()
    fraction = (inputs.series(SeriesId.LAMPS_ON_FRACTION) if circuits
                else np.zeros(horizon.n_steps))  # fmt: skip
    # One tuple of Python floats, shared by every circuit's handle.
    on_fraction = tuple(float(f) for f in fraction)
    lit = [t for t, f in enumerate(on_fraction) if f > 0]
    planned: list[tuple[LightingCircuit, list[LightingClass | None], list[int],
                        list[tuple[Any, ...]]]] = []  # fmt: skip
    for circuit in circuits:
        design = circuit.lighting_class
        dim_steps_pct = tuple(circuit.dim_steps_pct)
        needed = classes_per_step(
            design,
            circuit.road,
            traffic_vehicles_per_hour(inputs, circuit)[lit],
            circuit.peak_traffic_vehicles_per_hour,
            local_hours[lit],
            circuit.ambient_luminosity,
            table,
        )
        classes: list[LightingClass | None] = [None] * horizon.n_steps
        floors = [0] * horizon.n_steps
        options: list[tuple[Any, ...]] = [()] * horizon.n_steps
        # A night needs a handful of classes: each one's floor is looked up once.
        floor_of: dict[int, tuple[int, tuple[int, ...]]] = {}
        for t, step_class in zip(lit, needed, strict=True):
            classes[t] = step_class
            found = floor_of.get(id(step_class))
            if found is None:
                found = floor_of[id(step_class)] = _floor_and_options(
                    step_class, design, dim_steps_pct
                )
            floors[t], options[t] = found
        if given_dim_pct is not None and circuit.id in given_dim_pct:
            # At every step, lit or not: an unlit step draws nothing at any level.
            options = [(float(d),) for d in given_dim_pct[circuit.id]]
        planned.append((circuit, classes, floors, options))
    # The binaries of all circuits are one variable (a block and a variable per
    # circuit cost more to build than the circuits' rows), in order: circuit by
    # circuit, step by step, one per option of a step with a choice.
    sizes = [len(o) for *_, options in planned for o in options if len(o) > 1]
    model.lighting_choice = pyo.Var(range(sum(sizes)), domain=pyo.Binary)
    binaries = list(model.lighting_choice.values())
    handles: dict[str, LightingCircuitHandle] = {}
    used = 0
    for circuit, classes, floors, options in planned:
        handle = _circuit(circuit, fraction, on_fraction, classes, floors, options,
                          binaries, used)  # fmt: skip
        used += len(handle.dim_pct.variables)
        handles[circuit.id] = handle
    if used != len(binaries):
        raise RuntimeError(f"the circuits took {used} of {len(binaries)} lighting binaries")
    model.lighting_one_step = _one_of_each(binaries, sizes)
    return handles


def _one_of_each(variables: list[Any], sizes: list[int]) -> LinearRows:
    r"""One row :math:`\sum_k y_k = 1` per group of binaries :math:`y`, the groups in order."""
    matrix = sparse.csr_array(
        (np.ones(len(variables)), np.arange(len(variables)), np.cumsum([0, *sizes])),
        shape=(len(sizes), len(variables)),
    )
    ones = np.ones(len(sizes))
    return LinearRows(matrix, ones, ones, variables)


@functools.cache
def _floor_and_options(
    needed: LightingClass, design: LightingClass, dim_steps_pct: tuple[int, ...]
) -> tuple[int, tuple[int, ...]]:
    """The floor of a step needing ``needed`` and the controller steps at or above it, %."""
    floor_pct = required_dim_pct(needed, design, dim_steps_pct)
    return floor_pct, tuple(k for k in dim_steps_pct if k >= floor_pct)


def _circuit(
    circuit: LightingCircuit,
    fraction: np.ndarray,
    on_fraction: tuple[float, ...],
    classes: list[LightingClass | None],
    floors: list[int],
    options: list[tuple[Any, ...]],
    binaries: list[Any],
    first: int,
) -> LightingCircuitHandle:
    """One circuit's handle: its dim level and power per step from its binaries.

    The circuit's binaries are ``binaries[first:]``: one per option of each
    step with a choice, step by step; it takes as many as it has such options.
    """
    # Entries and constants, not expressions: most steps of most circuits have
    # one option or none, and the rows take the entries as they are.
    steps: list[int] = []
    levels: list[float] = []
    fixed_pct = np.zeros(len(options))
    for t, step_options in enumerate(options):
        if len(step_options) > 1:
            steps += [t] * len(step_options)
            levels += map(float, step_options)
        else:
            fixed_pct[t] = step_options[0] if step_options else IDLE_DIM_PCT
    dim_pct = StepTerms.one_column_each(
        steps, levels, binaries[first : first + len(levels)], fixed_pct
    )
    # Where the lamps are off (f_t = 0) the power is 0 at any level.
    kw_per_pct = circuit.full_power_kw * fraction / 100.0
    return LightingCircuitHandle(
        circuit=circuit,
        on_fraction=on_fraction,
        classes=tuple(classes),
        min_dim_pct=tuple(floors),
        options_pct=tuple(options),
        in_forecast_kw=tuple((circuit.full_power_kw * fraction).tolist()),
        dim_pct=dim_pct,
        power_kw=dim_pct.scaled(kw_per_pct),
    )
