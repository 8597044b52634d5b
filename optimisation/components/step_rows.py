"""Rows over the planned steps, collected term by term and built as one sparse matrix.

The connection points' rows add up powers that the assets' builders give as
expressions, numbers or variables per step.
:func:`~optimisation.standard_form.linear_terms` reads such a power into
(variable, coefficient) terms and a constant, :class:`StepRows` gathers terms
row by row into one :class:`~optimisation.rows.LinearRows`, and
:func:`linear_expression` turns terms back into one flat expression.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pyomo.core.expr.numeric_expr import LinearExpression
from scipy import sparse

from optimisation.rows import LinearRows

#: A linear power of one step: its (variable, coefficient) terms and its constant, kW.
Terms = tuple[list[tuple[Any, float]], float]


def linear_expression(terms: Sequence[tuple[Any, float]], constant: float = 0.0) -> Any:
    """(variable, coefficient) terms and a constant as one flat linear expression.

    Without terms, the constant itself (a number); one variable alone, the variable.
    """
    if not terms:
        return constant
    if len(terms) == 1 and terms[0][1] == 1.0 and constant == 0.0:
        return terms[0][0]
    return LinearExpression(
        constant=constant,
        linear_coefs=[coefficient for _, coefficient in terms],
        linear_vars=[var for var, _ in terms],
    )


class StepRows:
    """Rows ``lower <= sum of terms <= upper``, one per step, gathered term by term."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.variables: list[Any] = []
        self._column_of: dict[int, int] = {}
        self._rows: list[int] = []
        self._columns: list[int] = []
        self._coefficients: list[float] = []

    def add(self, row: int, variable: Any, coefficient: float) -> None:
        """Add ``coefficient × variable`` to row ``row``."""
        self.add_terms(row, ((variable, coefficient),))

    def add_terms(self, row: int, terms: Iterable[tuple[Any, float]], sign: float = 1.0) -> None:
        """Add ``sign ×`` each (variable, coefficient) term to row ``row``."""
        # The hot loop of the model's largest rows: attributes read once.
        column_of, variables = self._column_of, self.variables
        rows, columns, coefficients = self._rows, self._columns, self._coefficients
        for variable, coefficient in terms:
            column = column_of.get(id(variable))
            if column is None:
                column = column_of[id(variable)] = len(variables)
                variables.append(variable)
            rows.append(row)
            columns.append(column)
            coefficients.append(sign * coefficient)

    def build(
        self, lower: Sequence[float] | np.ndarray, upper: Sequence[float] | np.ndarray
    ) -> LinearRows:
        """The rows with these bounds; ``-inf``/``inf`` where a side is open."""
        matrix = sparse.coo_array(
            (self._coefficients, (self._rows, self._columns)),
            shape=(self.n_rows, len(self.variables)),
        ).tocsr()
        return LinearRows(matrix, lower, upper, self.variables)
