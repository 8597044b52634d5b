"""Rows over the planned steps, collected in blocks and built as one sparse matrix.

The connection points' rows add up powers that the assets' builders give as
numbers or variables per step. :class:`StepTerms` holds such a power as
arrays of (step, variable, coefficient) entries and a constant per step, as
each builder makes them; :class:`StepRows` gathers whole :class:`StepTerms`
into one :class:`~optimisation.rows.LinearRows`. For costs,
:func:`linear_expression` turns (variable, coefficient) terms into one flat
expression, and :func:`priced_sum` prices a plain sum of variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
from pyomo.core.expr.numeric_expr import LinearExpression, ProductExpression, SumExpression
from scipy import sparse

from optimisation.rows import LinearRows

#: A variable's value (``None`` until it has one).
_VALUE = attrgetter("value")


def variable_values(variables: Sequence[Any]) -> np.ndarray:
    """The variables' values, read at once.

    Raises
    ------
    TypeError
        If a variable holds no value.
    """
    # None (no value) reads as NaN here.
    values = np.fromiter(map(_VALUE, variables), float, len(variables))
    if np.isnan(values).any():
        raise TypeError("a variable holds no value")
    return values


def linear_expression(terms: Sequence[tuple[Any, float]], constant: float = 0.0) -> Any:
    """(variable, coefficient) terms and a constant as one flat linear expression.

    Without terms, the constant itself (a number).
    """
    if not terms:
        return constant
    return LinearExpression(
        constant=constant,
        linear_coefs=[coefficient for _, coefficient in terms],
        linear_vars=[var for var, _ in terms],
    )


@dataclass(frozen=True, eq=False)
class StepTerms:
    """A linear power per step as sparse (step, column, coefficient) entries plus a constant, kW.

    Entry ``i`` adds ``coefficients[i] × variables[columns[i]]`` to step
    ``steps[i]``; a variable may have more than one column. Rows built from
    these take whole arrays at a time instead of one term at a time, and plain
    arrays rather than sparse matrices: most are a few dozen entries, where a
    matrix's own upkeep would cost more than its arithmetic. The arrays are
    shared between the terms made from one another and never changed in place.
    """

    steps: np.ndarray
    columns: np.ndarray
    coefficients: np.ndarray
    variables: tuple[Any, ...]
    constant: np.ndarray

    @classmethod
    def one_column_each(cls, steps: Sequence[int], coefficients: Sequence[float],
                        variables: Sequence[Any], constant: np.ndarray) -> StepTerms:  # fmt: skip
        """Entry ``i`` is ``coefficients[i] × variables[i]`` in step ``steps[i]``."""
        return cls(
            np.asarray(steps, dtype=np.int64),
            np.arange(len(variables)),
            np.asarray(coefficients, dtype=float),
            tuple(variables),
            constant,
        )

    @classmethod
    def of_variables(cls, variables: Sequence[Any], coefficient: float = 1.0,
                     step_of: Sequence[int] | None = None) -> StepTerms:  # fmt: skip
        """``coefficient × variables[t]`` per step ``t``; ``variables[step_of[t]]`` if given."""
        n_steps = len(variables) if step_of is None else len(step_of)
        steps = np.arange(n_steps)
        columns = steps if step_of is None else np.asarray(step_of, dtype=np.int64)
        return cls(steps, columns, np.full(n_steps, coefficient), tuple(variables),
                   np.zeros(n_steps))  # fmt: skip

    @classmethod
    def numbers(cls, per_step: Sequence[float] | np.ndarray) -> StepTerms:
        """A number per step, with no variable."""
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, np.zeros(0), (), np.array(per_step, dtype=float))

    @classmethod
    def total(cls, parts: Sequence[StepTerms], n_steps: int) -> StepTerms:
        """The sum of ``parts`` (none: zero at every step)."""
        if not parts:
            return cls.numbers(np.zeros(n_steps))
        if len(parts) == 1:
            return parts[0]
        steps, columns, coefficients, variables = _stacked(parts, rows_apart=0)
        constant = np.sum([part.constant for part in parts], axis=0)
        return cls(steps, columns, coefficients, tuple(variables), constant)

    @property
    def n_entries(self) -> int:
        """How many (step, variable) entries it has: 0 when it is a number per step."""
        return len(self.coefficients)

    def scaled(self, factor: np.ndarray | float, offset: np.ndarray | float = 0.0) -> StepTerms:
        """``factor × self + offset``; a factor per step when ``factor`` is an array."""
        per_entry = factor[self.steps] if isinstance(factor, np.ndarray) else factor
        return StepTerms(self.steps, self.columns, per_entry * self.coefficients, self.variables,
                         factor * self.constant + offset)  # fmt: skip

    def weighted_sum(self, weights: Sequence[float] | np.ndarray) -> Any:
        """``Σ_t w_t × (step t)`` as one flat linear expression (or a number)."""
        weights = np.asarray(weights, dtype=float)
        by_column = np.bincount(self.columns, weights[self.steps] * self.coefficients,
                                minlength=len(self.variables))  # fmt: skip
        terms = [(self.variables[j], float(by_column[j])) for j in np.flatnonzero(by_column)]
        return linear_expression(terms, float(weights @ self.constant))

    def values(self) -> np.ndarray:
        """The power of each step at the variables' values, kW.

        Raises
        ------
        TypeError
            If a variable holds no value.
        """
        return StepTerms.values_of([self], len(self.constant))[0]

    @staticmethod
    def values_of(many: Sequence[StepTerms], n_steps: int) -> np.ndarray:
        """:meth:`values` of each of ``many`` (of ``n_steps`` steps each), as rows of one array.

        All at once: a few array operations in all rather than a few per power.

        Raises
        ------
        TypeError
            If a variable holds no value.
        """
        if not many:
            return np.zeros((0, n_steps))
        rows, columns, coefficients, variables = _stacked(many, rows_apart=n_steps)
        weighted = coefficients * variable_values(variables)[columns]
        totals = np.bincount(rows, weighted, minlength=len(many) * n_steps)
        return totals.reshape(len(many), n_steps) + np.stack([terms.constant for terms in many])


def _stacked(
    parts: Sequence[StepTerms], rows_apart: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]]:
    """The entries of ``parts`` side by side: (rows, columns, coefficients, variables).

    Each part's columns follow the previous parts' variables; its rows start
    ``rows_apart`` after the previous part's (0: all in the same steps).
    """
    entries = [len(part.coefficients) for part in parts]
    sizes = [len(part.variables) for part in parts]
    first_column = np.repeat(np.cumsum([0, *sizes[:-1]]), entries)
    first_row = np.repeat(np.arange(len(parts)) * rows_apart, entries)
    return (
        np.concatenate([part.steps for part in parts]) + first_row,
        np.concatenate([part.columns for part in parts]) + first_column,
        np.concatenate([part.coefficients for part in parts]),
        list(chain.from_iterable(part.variables for part in parts)),
    )


def priced_sum(variables: Sequence[Any], price: float) -> Any:
    """``price × Σ variables`` as one product over a plain sum (0.0 without variables).

    No term object per variable, as a linear expression has: for the many
    sums with one price (overruns, comfort slack, heat bought).
    """
    if not variables:
        return 0.0
    return ProductExpression((price, SumExpression(list(variables))))


class StepRows:
    """Rows ``lower <= sum of terms <= upper``, gathered block by block."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.variables: list[Any] = []
        self._blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add_block(self, first_row: int, terms: StepTerms, sign: float = 1.0) -> None:
        """Add ``sign × terms`` to rows ``first_row``, ``first_row + 1``, … (one per step).

        Each block's variables get columns of their own, even one met in an
        earlier block: the compiler maps every column to its variable anyway
        and merges them, which costs less than looking each one up here.
        """
        first_column = len(self.variables)
        self.variables.extend(terms.variables)
        self._blocks.append(
            (terms.steps + first_row, terms.columns + first_column, sign * terms.coefficients)
        )

    def build(
        self, lower: Sequence[float] | np.ndarray, upper: Sequence[float] | np.ndarray
    ) -> LinearRows:
        """The rows with these bounds; ``-inf``/``inf`` where a side is open."""
        # An empty block first, so that rows with no terms at all build too.
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        rows, columns, coefficients = zip(empty, *self._blocks, strict=True)
        matrix = sparse.coo_array(
            (np.concatenate(coefficients), (np.concatenate(rows), np.concatenate(columns))),
            shape=(self.n_rows, len(self.variables)),
        ).tocsr()
        return LinearRows(matrix, lower, upper, self.variables)
