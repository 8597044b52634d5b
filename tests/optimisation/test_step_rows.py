"""Powers per step as (step, variable, coefficient) entries, and rows gathered from them."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from optimisation.components.step_rows import StepRows, StepTerms
from optimisation.standard_form import compile_standard_form


def three_variables() -> tuple[pyo.ConcreteModel, list[pyo.Var]]:
    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(3), bounds=(0.0, 10.0))
    return model, list(model.x.values())


def test_values_of_entries_and_constants_add_up_by_hand() -> None:
    _, (a, b, c) = three_variables()
    # Step 0: 2a - b + 5; step 1: the number 7; step 2: c alone.
    terms = StepTerms.one_column_each([0, 0, 2], [2.0, -1.0, 1.0], [a, b, c],
                                      np.array([5.0, 7.0, 0.0]))  # fmt: skip
    a.set_value(1.0)
    b.set_value(4.0)
    c.set_value(3.0)
    np.testing.assert_allclose(terms.values(), [2.0 - 4.0 + 5.0, 7.0, 3.0])
    # Many at once give each one's values, in order.
    other = StepTerms.of_variables([c, a, b], -2.0)
    many = StepTerms.values_of([terms, StepTerms.numbers([1.0, 2.0, 3.0]), other], 3)
    np.testing.assert_allclose(many, [[3.0, 7.0, 3.0], [1.0, 2.0, 3.0], [-6.0, -2.0, -8.0]])
    assert StepTerms.values_of([], 3).shape == (0, 3)
    # A variable without a value is an error, not a silent zero.
    b.set_value(None)
    with pytest.raises(TypeError):
        terms.values()


def test_sums_scaling_and_weighted_sums_add_up_by_hand() -> None:
    _, (a, b, c) = three_variables()
    first = StepTerms.of_variables([a, b])  # a in step 0, b in step 1
    second = StepTerms.one_column_each([0, 1], [1.0, 2.0], [c, c], np.array([1.0, 0.0]))
    total = StepTerms.total([first, second], 2)  # a + c + 1 in step 0, b + 2c in step 1
    assert total.n_entries == 4
    np.testing.assert_array_equal(total.constant, [1.0, 0.0])
    # Weights 3 and 0.5: 3(a + c + 1) + 0.5(b + 2c) = 3a + 0.5b + 4c + 3.
    weighted = total.scaled(-1.0, 10.0).weighted_sum([3.0, 0.5])
    for var, value in ((a, 1.0), (b, 2.0), (c, 3.0)):
        var.set_value(value)
    assert pyo.value(weighted) == pytest.approx(3.5 * 10.0 - (3.0 + 1.0 + 12.0 + 3.0))
    # A factor per step scales each step's entries and constant.
    np.testing.assert_allclose(total.scaled(np.array([2.0, -1.0])).values(), [2 * 5.0, -8.0])
    assert StepTerms.total([], 3).n_entries == 0
    # The hourly variable of each step: steps 0 and 1 in hour 0, step 2 in hour 1.
    hourly = StepTerms.of_variables([a, b], step_of=[0, 0, 1])
    np.testing.assert_allclose(hourly.values(), [1.0, 1.0, 2.0])


def test_rows_gathered_from_blocks_sum_repeated_variables_and_keep_empty_rows() -> None:
    model, (a, b, c) = three_variables()
    rows = StepRows(3)
    # Rows 0 and 1: a + b and b; then rows 1 and 2 less 2b and c.
    rows.add_block(0, StepTerms.one_column_each([0, 0, 1], [1.0, 1.0, 1.0], [a, b, b],
                                                np.zeros(2)))  # fmt: skip
    rows.add_block(1, StepTerms.one_column_each([0, 1], [2.0, 1.0], [b, c], np.zeros(2)), -1.0)
    model.rows = rows.build([-np.inf, 0.0, -np.inf], [4.0, 0.0, 9.0])
    model.cost = pyo.Objective(expr=a)
    form = compile_standard_form(model)
    dense = form.matrix.toarray()
    column = {var.name: j for j, var in enumerate(form.columns)}
    # Row 1 is b - 2b = -b: one coefficient for b, not two.
    expected = {0: {"x[0]": 1.0, "x[1]": 1.0}, 1: {"x[1]": -1.0}, 2: {"x[2]": -1.0}}
    for row, coefficients in expected.items():
        got = {name: dense[row, j] for name, j in column.items() if dense[row, j] != 0.0}
        assert got == coefficients
    model.empty = StepRows(2).build([0.0, 0.0], [1.0, 1.0])
    assert len(model.empty) == 2
    assert len(compile_standard_form(model).row_lower) == 3 + 2
