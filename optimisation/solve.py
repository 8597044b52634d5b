"""Solving a built model with HiGHS, and the solve's outcome as a small typed value.

This is the only module that talks to the solver. An infeasible or unbounded
model is an outcome, not an error: :func:`solve` reports it in
:attr:`SolveResult.status` and the caller decides what to do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import compress
from typing import Any

import highspy
import numpy as np
from pyomo.common.tee import capture_output

from optimisation.errors import OptimisationError
from optimisation.model import ClusterModel
from optimisation.standard_form import StandardForm, compile_standard_form


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
        Size of the model solved: the columns (of them binary) and rows
        HiGHS was given.
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


_Model = highspy.HighsModelStatus
#: HiGHS's model status → (outcome when a plan exists, outcome without one, termination name).
_OUTCOMES: dict[Any, tuple[SolveStatus, SolveStatus, str]] = {
    _Model.kOptimal: (SolveStatus.OPTIMAL, SolveStatus.NO_SOLUTION, "convergenceCriteriaSatisfied"),
    # HiGHS's presolve may stop at "infeasible or unbounded". Every power of the
    # model is bounded (imports through each point's balance), so the cost is
    # bounded below and that outcome can only mean infeasible.
    _Model.kInfeasible: (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE, "provenInfeasible"),
    _Model.kUnboundedOrInfeasible: (
        SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE, "infeasibleOrUnbounded"),
    _Model.kUnbounded: (SolveStatus.UNBOUNDED, SolveStatus.UNBOUNDED, "unbounded"),
    _Model.kTimeLimit: (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION, "maxTimeLimit"),
    _Model.kIterationLimit: (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION, "iterationLimit"),
    _Model.kSolutionLimit: (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION, "iterationLimit"),
    _Model.kObjectiveBound: (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION, "objectiveLimit"),
    _Model.kObjectiveTarget: (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION, "objectiveLimit"),
    _Model.kInterrupt: (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION, "interrupted"),
    _Model.kMemoryLimit: (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION, "maxMemoryLimit"),
}  # fmt: skip


def _pass_model(highs: highspy.Highs, form: StandardForm) -> None:
    """Hand the compiled model to HiGHS as arrays: copied whole, not converted entry by entry."""
    matrix = form.matrix
    status = highs.passModel(
        len(form.columns),
        len(form.row_lower),
        matrix.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        form.cost_offset,
        form.cost,
        form.col_lower,
        form.col_upper,
        form.row_lower,
        form.row_upper,
        matrix.indptr.astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data,
        # HighsVarType: 0 continuous, 1 integer.
        form.integer.astype(np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise OptimisationError(
            "HiGHS refused the compiled model",
            fix="report it: the model's rows or bounds are broken",
        )


def _give_mip_start(highs: highspy.Highs, columns: list[Any], start: Mapping[Any, float]) -> None:
    """Hand HiGHS a (partial) MIP start: values of some variables; HiGHS completes the rest."""
    column_of = {id(var): j for j, var in enumerate(columns)}
    known = [(column_of[id(var)], float(value)) for var, value in start.items()
             if id(var) in column_of]  # fmt: skip
    if known:
        index, values = zip(*known, strict=True)
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

    Raises
    ------
    OptimisationError
        If HiGHS refuses the compiled model itself (an infinite or huge
        coefficient): a broken build, not a day without a plan.
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    form = compile_standard_form(model.model)
    columns = form.columns
    # HiGHS keeps one thread pool per process, sized by the first solve; a
    # fresh pool lets this solve's thread count take effect.
    highspy.Highs.resetGlobalScheduler(True)
    # HiGHS prints its banner when created, before any option can silence it.
    with nullcontext() if options.tee else capture_output(capture_fd=True):
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", options.tee)
    highs.setOptionValue("time_limit", options.time_limit_s)
    highs.setOptionValue("mip_rel_gap", options.mip_rel_gap)
    if options.threads is not None:
        highs.setOptionValue("threads", options.threads)
    _pass_model(highs, form)
    is_mip = bool(form.integer.any())
    if warm_start:
        _give_mip_start(highs, columns, warm_start)
    highs.run()
    info = highs.getInfo()
    has_plan = info.primal_solution_status == int(highspy.SolutionStatus.kSolutionStatusFeasible)
    with_plan, without_plan, termination = _OUTCOMES.get(
        highs.getModelStatus(), (SolveStatus.ERROR, SolveStatus.ERROR, "error")
    )
    status = with_plan if has_plan else without_plan
    objective = None
    if status in _WITH_PLAN:
        for var, value in zip(columns, highs.getSolution().col_value, strict=True):
            var.set_value(value, skip_validation=True)
        objective = _finite(info.objective_function_value)
    bound = _finite(info.mip_dual_bound) if is_mip else None
    if not is_mip and status is SolveStatus.OPTIMAL:
        bound = objective
    gap = None
    if objective is not None and bound is not None:
        gap = abs(objective - bound) / max(1e-9, abs(objective))
    return SolveResult(
        status=status,
        termination=termination,
        objective_pln=objective,
        best_bound_pln=bound,
        mip_gap=gap,
        highs_time_s=float(highs.getRunTime()),
        wall_time_s=time.perf_counter() - started,
        n_variables=len(columns),
        n_binaries=sum(var.is_binary() for var in compress(columns, form.integer)),
        n_constraints=len(form.row_lower),
    )
