"""The errors the optimisation package raises on purpose.

Each says what is wrong and how to fix it; the CLI prints the message without
a traceback.
"""

from __future__ import annotations

from cluster.errors import KlasterError


class OptimisationError(KlasterError):
    """Base class of the optimisation package's errors."""

    exit_code = 5


class PlanningInputError(OptimisationError):
    """The inputs of a planning run (steps, forecasts, prices) cannot be used as given."""


class NoPlanError(OptimisationError):
    """A solve ended without a plan (infeasible, unbounded or stopped before one was found)."""
