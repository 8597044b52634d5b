"""Closed-loop evaluation: plan each day, settle it against the actuals, compare three ways.

:mod:`~optimisation.evaluation.decisions` holds a day's fixed commands (from a
plan or from the uncoordinated rules), :mod:`~optimisation.evaluation.realised`
settles them against the actual day, and :mod:`~optimisation.evaluation.loop`
runs the baseline, klaster and perfect foresight through a period.
"""

from optimisation.evaluation.decisions import (
    Decisions,
    baseline_decisions,
    planned_decisions,
)
from optimisation.evaluation.loop import (
    DayData,
    DaySource,
    EvaluatedDay,
    Evaluation,
    EvaluationError,
    Mode,
    ModeDay,
    evaluate,
)
from optimisation.evaluation.realised import (
    DayMetrics,
    RealisedDay,
    SettlementError,
    money_cost_pln,
    settle_day,
)

__all__ = [
    "DayData",
    "DayMetrics",
    "DaySource",
    "Decisions",
    "EvaluatedDay",
    "Evaluation",
    "EvaluationError",
    "Mode",
    "ModeDay",
    "RealisedDay",
    "SettlementError",
    "baseline_decisions",
    "evaluate",
    "money_cost_pln",
    "planned_decisions",
    "settle_day",
]
