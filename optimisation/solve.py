"""Solving a built model with HiGHS, and the solve's outcome as a small typed value.

This is the only module that talks to the solver. An infeasible or unbounded
model is an outcome, not an error: :func:`solve` reports it in
:attr:`SolveResult.status` and the caller decides what to do.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import highspy
import numpy as np
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import Results, SolutionStatus, TerminationCondition

from optimisation.errors import OptimisationError
from optimisation.model import ClusterModel


class SolveStatus(StrEnum):
    """What a solve ended with.

    ``optimal``: a plan proven optimal within the MIP gap asked for.
    ``feasible``: stopped at a limit (time, iterations) with a plan that is not
    proven optimal. ``infeasible`` and ``unbounded``: no plan exists or the
    cost has no lower bound. ``no_solution``: stopped at a limit before any
    plan was found. ``error``: the solver failed.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"
    ERROR = "error"


@dataclass(frozen=True)
class SolveOptions:
    """How hard to try.

    Attributes
    ----------
    mip_rel_gap
        Stop when the relative gap between the plan's cost and the best bound
        is at most this (0.01 = 1 %).
    time_limit_s
        Stop HiGHS after this many seconds, s.
    threads
        HiGHS threads; ``None`` leaves HiGHS's default.
    tee
        Print the solver log to standard output.
    """

    mip_rel_gap: float = 1e-4
    time_limit_s: float = 60.0
    threads: int | None = None
    tee: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mip_rel_gap) and self.mip_rel_gap >= 0):
            raise OptimisationError(
                f"mip_rel_gap must be a finite number >= 0, got {self.mip_rel_gap}",
                fix="use e.g. 0.0001 (0.01 %) or 0.01 (1 %)",
            )
        if not self.time_limit_s > 0:
            raise OptimisationError(
                f"time_limit_s must be positive, got {self.time_limit_s}",
                fix="give the seconds the solver may use, e.g. 60",
            )
        if self.threads is not None and self.threads < 1:
            raise OptimisationError(
                f"threads must be at least 1, got {self.threads}",
                fix="give a thread count of 1 or more, or leave it unset",
            )


@dataclass(frozen=True)
class SolveResult:
    """The outcome of one solve.

    Attributes
    ----------
    status
        The outcome (see :class:`SolveStatus`).
    termination
        The solver interface's termination condition, e.g. ``maxTimeLimit``.
    objective_pln
        Cost of the plan found, PLN; ``None`` without a plan.
    best_bound_pln
        The best proven lower bound on the cost, PLN; ``None`` when unknown.
    mip_gap
        ``|objective - bound| / max(1e-9, |objective|)``; ``None`` without both.
    highs_time_s
        HiGHS's own run time, s.
    wall_time_s
        Wall time of the whole call (model hand-over, solve, loading), s.
    n_variables, n_binaries, n_constraints
        Size of the model solved.
    """

    status: SolveStatus
    termination: str
    objective_pln: float | None
    best_bound_pln: float | None
    mip_gap: float | None
    highs_time_s: float
    wall_time_s: float
    n_variables: int
    n_binaries: int
    n_constraints: int

    @property
    def has_plan(self) -> bool:
        """True when the model's variables hold a plan (optimal or feasible)."""
        return self.status in _WITH_PLAN

    def as_meta(self) -> dict[str, Any]:
        """Plain, JSON-ready facts about the solve."""
        facts = asdict(self)
        facts["status"] = str(self.status)
        return facts


_WITH_PLAN = frozenset({SolveStatus.OPTIMAL, SolveStatus.FEASIBLE})


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _status(results: Results) -> SolveStatus:
    termination = results.termination_condition
    has_solution = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    if termination is TerminationCondition.convergenceCriteriaSatisfied and has_solution:
        return SolveStatus.OPTIMAL
    # HiGHS's presolve may stop at "infeasible or unbounded". Every power of the
    # model is bounded (imports through each point's balance), so the cost is
    # bounded below and that outcome can only mean infeasible.
    if termination in (TerminationCondition.provenInfeasible,
                       TerminationCondition.locallyInfeasible,
                       TerminationCondition.infeasibleOrUnbounded):  # fmt: skip
        return SolveStatus.INFEASIBLE
    if termination is TerminationCondition.unbounded:
        return SolveStatus.UNBOUNDED
    if termination is TerminationCondition.error:
        return SolveStatus.ERROR
    return SolveStatus.FEASIBLE if has_solution else SolveStatus.NO_SOLUTION


def _give_mip_start(solver: Any, start: Mapping[Any, float]) -> None:
    """Hand HiGHS a (partial) MIP start: values of some variables; HiGHS completes the rest.

    The Pyomo interface has no warm-start option, so the start goes to the
    ``highspy.Highs`` object it holds, between building the instance and running.
    """
    # Private attributes of Pyomo's HiGHS interface: if a Pyomo release renames
    # them, the plan is still found, only without the start.
    columns = getattr(solver, "_pyomo_var_to_solver_var_map", None)
    highs = getattr(solver, "_solver_model", None)
    if columns is None or highs is None:
        logging.getLogger(__name__).warning(
            "this Pyomo version gives no access to HiGHS for a MIP start; solving without it"
        )
        return
    index = [columns[id(var)] for var in start if id(var) in columns]
    values = [float(value) for var, value in start.items() if id(var) in columns]
    if index:
        highs.setSolution(
            len(index), np.asarray(index, dtype=np.int32), np.asarray(values, dtype=float)
        )


def solve(
    model: ClusterModel,
    options: SolveOptions | None = None,
    warm_start: Mapping[Any, float] | None = None,
) -> SolveResult:
    """Solve the model with HiGHS and load the plan into its variables.

    Parameters
    ----------
    model
        A model from :func:`~optimisation.model.build_model`.
    options
        Gap, time limit (s), threads, log; the defaults when ``None``.
    warm_start
        Values of some of the model's variables (Pyomo variable data → value, in
        the variable's unit) from an earlier plan, given to HiGHS as a partial
        MIP start; HiGHS completes it if it can and ignores it otherwise.

    Returns
    -------
    SolveResult
        The outcome; when :attr:`SolveResult.has_plan` the model's variables
        hold the plan. Infeasible, unbounded and failed solves are reported
        here, not raised.
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    # HiGHS keeps one thread pool per process, sized by the first solve; a
    # fresh pool lets this solve's thread count take effect.
    highspy.Highs.resetGlobalScheduler(True)
    solver = SolverFactory("highs")
    if warm_start:
        solver.set_instance(model.model)
        _give_mip_start(solver, warm_start)
    results: Results = solver.solve(
        model.model,
        tee=options.tee,
        time_limit=options.time_limit_s,
        rel_gap=options.mip_rel_gap,
        threads=options.threads,
        # Plans are loaded below only when there is one; a missing optimum is an
        # outcome to report, not an exception.
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
    )
    status = _status(results)
    objective = None
    if status in _WITH_PLAN:
        results.solution_loader.load_vars()
        objective = _finite(results.incumbent_objective)
    bound = _finite(results.objective_bound)
    gap = None
    if objective is not None and bound is not None:
        gap = abs(objective - bound) / max(1e-9, abs(objective))
    size = model.size()
    return SolveResult(
        status=status,
        termination=results.termination_condition.name,
        objective_pln=objective,
        best_bound_pln=bound,
        mip_gap=gap,
        highs_time_s=float(results.timing_info.highs_time),
        wall_time_s=time.perf_counter() - started,
        n_variables=size.n_variables,
        n_binaries=size.n_binaries,
        n_constraints=size.n_constraints,
    )
