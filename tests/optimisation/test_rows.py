"""Rows given as a sparse matrix: constraints of the model like any other, read as they are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.core.expr.relational_expr import RangedExpression
from scipy import sparse

from optimisation.rows import LinearRows
from optimisation.solve import SolveStatus, solve
from optimisation.standard_form import compile_standard_form
from tests.optimisation.test_standard_form import assert_same_rows, our_rows, pyomo_rows


def matrix_model() -> pyo.ConcreteModel:
    """x0 + 2 x1 <= 8, x1 - x2 >= -1, x0 + x2 == 3, 1 <= x0 - x1 <= 2; max x0 + x1 + x2."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), bounds=(0.0, 10.0))
    matrix = sparse.csr_array(
        np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])
    )
    m.rows = LinearRows(
        matrix, [-np.inf, -1.0, 3.0, 1.0], [8.0, np.inf, 3.0, 2.0], list(m.x.values())
    )
    m.cost = pyo.Objective(expr=-(m.x[0] + m.x[1] + m.x[2]))
    return m


def test_matrix_rows_are_constraints_that_pyomo_reads_the_same() -> None:
    model = matrix_model()
    names = [c.name for c in model.component_data_objects(pyo.Constraint, active=True)]
    assert names == ["rows[0]", "rows[1]", "rows[2]", "rows[3]"]
    assert model.rows[2].equality and not model.rows[3].equality
    assert (model.rows[0].lower, model.rows[0].upper) == (None, 8.0)

    form = compile_standard_form(model)
    ours = our_rows(model, form)
    theirs, _, _ = pyomo_rows(model)
    assert_same_rows(ours, theirs)
    assert ours["rows[0]"] == ({"x[0]": 1.0, "x[1]": 2.0}, -np.inf, 8.0)
    assert ours["rows[3]"] == ({"x[0]": 1.0, "x[1]": -1.0}, 1.0, 2.0)


def test_a_deactivated_row_is_left_out() -> None:
    model = matrix_model()
    model.rows[0].deactivate()
    form = compile_standard_form(model)
    assert form.matrix.shape[0] == 3
    assert sorted(our_rows(model, form)) == ["rows[1]", "rows[2]", "rows[3]"]


@dataclass(frozen=True)
class _Built:
    """What :func:`~optimisation.solve.solve` reads of a built model: the Pyomo model."""

    model: pyo.ConcreteModel


def test_highs_solves_matrix_rows_and_each_row_has_its_value() -> None:
    # x2 = 3 - x0, so the sum is 3 + x1 with x1 <= x0 - 1 and x1 <= (8 - x0) / 2;
    # x0 <= 3 (x2 >= 0) makes x0 - 1 = 2 the tighter: x = (3, 2, 0), sum 5.
    model = matrix_model()
    result = solve(_Built(model))  # type: ignore[arg-type]
    assert result.status is SolveStatus.OPTIMAL
    assert (result.n_variables, result.n_constraints) == (3, 4)
    assert [model.x[i].value for i in range(3)] == pytest.approx([3.0, 2.0, 0.0])
    assert result.objective_pln == pytest.approx(-5.0)
    assert model.rows[0]() == pytest.approx(7.0) and model.rows[3]() == pytest.approx(1.0)


def test_a_ranged_row_reads_as_one_relation_and_bad_shapes_or_bounds_are_refused() -> None:
    model = matrix_model()
    ranged = model.rows[3].expr
    assert isinstance(ranged, RangedExpression)
    assert (ranged.args[0], ranged.args[2]) == (1.0, 2.0)
    matrix = sparse.csr_array(np.eye(3))
    with pytest.raises(ValueError, match="3 × 3 matrix for 2 row bounds"):
        LinearRows(matrix, [0.0, 0.0], [1.0, 1.0], list(model.x.values()))
    with pytest.raises(ValueError, match="NaN"):
        LinearRows(matrix, [0.0, np.nan, 0.0], [1.0] * 3, list(model.x.values()))
