"""Many rows of one shape, given as a sparse matrix: ``lower <= A x <= upper``.

A Pyomo ``Constraint`` holds one expression per row, and building a city's
tens of thousands of such expressions, then reading them back into a matrix
for HiGHS, costs more than HiGHS's own solve. :class:`LinearRows` takes the
rows as arrays instead (Pyomo's :class:`MatrixConstraint`, which bypasses
the expression system), and :mod:`optimisation.standard_form` copies its
matrix as it is. Each row is still a constraint of the model: it has its
body, bounds and value, can be deactivated, and Pyomo's own writers read it.
Like Pyomo's ``MatrixConstraint`` it cannot be cloned, pickled or printed
with ``pprint``; klaster's models are built afresh rather than copied.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator, Sequence
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.matrix_constraint import MatrixConstraint, _MatrixConstraintData
from scipy import sparse

#: Whether a row is active (Pyomo keeps it as the row's ``_active``).
_ACTIVE = attrgetter("_active")


class _Row(_MatrixConstraintData):
    """One row of a :class:`LinearRows`."""

    __slots__ = ()

    def to_bounded_expression(self, evaluate_bounds: bool = False) -> tuple[Any, Any, Any]:
        """The row as ``(lower, body, upper)``; an open side is ``None``."""
        return self.lower, self.body, self.upper

    @property
    def expr(self) -> Any:
        """The row as a relational expression."""
        lower, body, upper = self.to_bounded_expression()
        if self.equality:
            return body == upper
        if lower is None:
            return body <= upper
        if upper is None:
            return lower <= body
        return pyo.inequality(lower, body, upper)


class LinearRows(MatrixConstraint):
    """Rows ``lower <= A x <= upper`` over a list of variables, indexed 0, 1, ...

    Parameters
    ----------
    matrix
        ``A``, one row per constraint and one column per entry of ``variables``.
    lower, upper
        Bounds of each row, in the rows' unit; ``-inf``/``inf`` where a side is open.
    variables
        The Pyomo variable data of each column of ``matrix``.

    Attributes
    ----------
    matrix
        ``A`` as given, duplicates summed.
    lower_bounds, upper_bounds
        The row bounds as given (read-only arrays).
    """

    def __init__(
        self,
        matrix: sparse.csr_array,
        lower: np.ndarray | Sequence[float],
        upper: np.ndarray | Sequence[float],
        variables: Sequence[Any],
    ) -> None:
        matrix = sparse.csr_array(matrix, dtype=float)
        if matrix.shape != (len(lower), len(variables)):
            raise ValueError(
                f"a {matrix.shape[0]} × {matrix.shape[1]} matrix for {len(lower)} row bounds "
                f"and {len(variables)} variables"
            )
        matrix.sum_duplicates()
        self.lower_bounds, self.upper_bounds = _bounds(lower), _bounds(upper)
        # The rows read their terms from the same arrays the compiler copies.
        super().__init__(
            matrix.data,
            matrix.indices,
            matrix.indptr,
            _OpenAsNone(self.lower_bounds),
            _OpenAsNone(self.upper_bounds),
            variables,
        )
        self.matrix = matrix

    def construct(self, data: Any = None) -> None:
        """Mark the rows constructed; their data objects are made on first use.

        The compiler reads the matrix and needs none; a city's 50,000 row
        objects would cost a tenth of the build and every later scan of the
        garbage collector. Pyomo's own walks, and any row a caller deactivates
        or reads, make them all then.
        """
        if self._constructed:  # type: ignore[has-type]
            return
        self._constructed = True
        del self._data

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not set: the row objects before first use.
        if name != "_data" or not self.__dict__.get("_constructed"):
            raise AttributeError(name)
        ref = weakref.ref(self)
        with PauseGC():
            rows = tuple(map(_Row, range(len(self._lower)), repeat(ref)))
        self._data = rows
        return rows

    # Pyomo's walk over a model passes a sort flag that MatrixConstraint does not take.
    def keys(self, sort: Any = None) -> Iterator[int]:
        """The row numbers."""
        return iter(range(len(self._lower)))

    def __len__(self) -> int:
        return len(self._lower)

    def values(self, sort: Any = None) -> Iterator[Any]:
        """The rows' constraint data."""
        return iter(self._data)

    def items(self, sort: Any = None) -> Iterator[tuple[int, Any]]:
        """Row numbers and constraint data."""
        return enumerate(self._data)

    def active_rows(self) -> np.ndarray:
        """True for each row that is active (all, while no row object has been made)."""
        if "_data" not in self.__dict__:
            return np.ones(len(self._lower), dtype=bool)
        return np.fromiter(map(_ACTIVE, self._data), bool, len(self._data))


def _bounds(bounds: np.ndarray | Sequence[float]) -> np.ndarray:
    """Row bounds as a read-only float array; ``-inf``/``inf`` where a side is open."""
    values = np.array(bounds, dtype=float)
    if np.isnan(values).any():
        raise ValueError("a row bound is NaN; an open side is -inf or inf")
    values.flags.writeable = False
    return values


class _OpenAsNone:
    """Row bounds as Pyomo's rows read them, ``None`` where a side is open.

    Read row by row when a row object asks, rather than turned into a list up
    front: the compiler reads the arrays, and most rows never ask.
    """

    __slots__ = ("_bounds",)

    def __init__(self, bounds: np.ndarray) -> None:
        self._bounds = bounds

    def __len__(self) -> int:
        return len(self._bounds)

    def __getitem__(self, row: int) -> float | None:
        value = float(self._bounds[row])
        return None if math.isinf(value) else value
