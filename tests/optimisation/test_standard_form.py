"""The model's matrices match Pyomo's own compiler, row by row, and keep what it drops."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimisation.errors import OptimisationError
from optimisation.model import build_model
from optimisation.standard_form import StandardForm, compile_standard_form
from tests.optimisation.scenarios import demo_inputs

Row = tuple[dict[str, float], float, float]


def row_terms(matrix: Any, columns: list[Any], r: int) -> dict[str, float]:
    """Row ``r`` of a CSR matrix as {variable name: coefficient}."""
    start, end = matrix.indptr[r], matrix.indptr[r + 1]
    pairs = zip(matrix.indices[start:end], matrix.data[start:end], strict=True)
    return {columns[j].name: float(v) for j, v in pairs}


def our_rows(model: pyo.ConcreteModel, form: StandardForm) -> dict[str, Row]:
    """Each constraint's terms {variable name: coefficient} and its bounds on them."""
    names = [
        con.name
        for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True)
        if con.lb is not None or con.ub is not None
    ]
    matrix = form.matrix.tocsr()
    rows: dict[str, Row] = {}
    for r, name in enumerate(names):
        terms = row_terms(matrix, form.columns, r)
        rows[name] = (terms, float(form.row_lower[r]), float(form.row_upper[r]))
    return rows


def pyomo_rows(model: pyo.ConcreteModel) -> tuple[dict[str, Row], dict[str, float], float]:
    """The same from Pyomo's standard-form compiler (mixed form: a ranged row comes twice)."""
    info = LinearStandardFormCompiler().write(model, mixed_form=True)
    matrix = info.A.tocsr()
    rows: dict[str, Row] = {}
    for r, (con, kind) in enumerate(info.rows):
        terms = row_terms(matrix, info.columns, r)
        _, lower, upper = rows.get(con.name, ({}, -np.inf, np.inf))
        rhs = float(info.rhs[r])
        lower = rhs if kind in (0, -1) else lower
        upper = rhs if kind in (0, 1) else upper
        rows[con.name] = (terms, lower, upper)
    cost = info.c.toarray().ravel()
    costs = {var.name: float(c) for var, c in zip(info.columns, cost, strict=True) if c != 0}
    return rows, costs, float(info.c_offset[0])


def assert_same_rows(ours: dict[str, Row], theirs: dict[str, Row]) -> None:
    assert ours.keys() == theirs.keys()
    for name, (terms, lower, upper) in ours.items():
        their_terms, their_lower, their_upper = theirs[name]
        assert terms.keys() == their_terms.keys(), name
        for var, coef in terms.items():
            assert coef == pytest.approx(their_terms[var], rel=1e-12, abs=1e-12), (name, var)
        assert lower == pytest.approx(their_lower, rel=1e-12, abs=1e-9), name
        assert upper == pytest.approx(their_upper, rel=1e-12, abs=1e-9), name


def test_the_demo_day_compiles_to_pyomos_rows_bounds_and_costs() -> None:
    model = build_model(demo_inputs()).model
    form = compile_standard_form(model)
    theirs, their_costs, their_offset = pyomo_rows(model)
    assert_same_rows(our_rows(model, form), theirs)
    costs = {var.name: float(c) for var, c in zip(form.columns, form.cost, strict=True) if c != 0}
    assert costs.keys() == their_costs.keys()
    for name, cost in costs.items():
        assert cost == pytest.approx(their_costs[name], rel=1e-12, abs=1e-12), name
    assert form.cost_offset == pytest.approx(their_offset, rel=1e-12)
    bounds = {var.name: (lo, hi) for var, lo, hi in
              zip(form.columns, form.col_lower, form.col_upper, strict=True)}  # fmt: skip
    for var in form.columns:
        lower, upper = var.bounds
        assert bounds[var.name] == (-np.inf if lower is None else lower,
                                    np.inf if upper is None else upper)  # fmt: skip
    assert form.integer.sum() == sum(1 for var in form.columns if var.is_binary())


def small_model() -> Any:
    """Every shape of row the compiler reads: parameters, named expressions, products, ranges."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), bounds=(0.0, 10.0))
    m.on = pyo.Var(domain=pyo.Binary)
    m.price = pyo.Param(initialize=4.0, mutable=True)
    m.flow = pyo.Expression(expr=2.0 * m.x[0] - m.x[1] / 4.0)
    m.balance = pyo.Constraint(expr=-(m.flow - 3.0) + m.x[2] == m.price)
    m.ranged = pyo.Constraint(expr=pyo.inequality(1.0, m.x[0] + m.x[0] + 0.5 * m.x[1], 8.0))
    m.scaled = pyo.Constraint(expr=2.0 * (m.x[1] - 5.0 * m.on) <= m.price * 2)
    m.shared = pyo.Constraint(expr=(m.x[0] + m.x[2]) / 4.0 >= 1.0)
    m.cost = pyo.Objective(expr=m.price * m.x[2] + 3.0 * m.flow + 7.0)
    return m


def test_parameters_named_expressions_products_and_ranges_compile_like_pyomo() -> None:
    model = small_model()
    form = compile_standard_form(model)
    theirs, their_costs, their_offset = pyomo_rows(model)
    ours = our_rows(model, form)
    assert_same_rows(ours, theirs)
    # x[0] + x[0] is one entry of 2; the ranged row is one row with both bounds.
    assert ours["ranged"] == ({"x[0]": 2.0, "x[1]": 0.5}, 1.0, 8.0)
    # balance: -(2 x0 - x1/4 - 3) + x2 == 4  →  -2 x0 + x1/4 + x2 == 1
    assert ours["balance"] == ({"x[0]": -2.0, "x[1]": 0.25, "x[2]": 1.0}, 1.0, 1.0)
    assert ours["scaled"] == ({"x[1]": 2.0, "on": -10.0}, -np.inf, 8.0)
    assert ours["shared"] == ({"x[0]": 0.25, "x[2]": 0.25}, 1.0, np.inf)
    costs = {var.name: float(c) for var, c in zip(form.columns, form.cost, strict=True) if c != 0}
    assert costs == pytest.approx(their_costs) and costs == {"x[2]": 4.0, "x[0]": 6.0,
                                                             "x[1]": -0.75}  # fmt: skip
    assert form.cost_offset == their_offset == 7.0
    assert list(form.integer) == [var.name == "on" for var in form.columns]


def test_column_bounds_are_the_tighter_of_a_variables_own_and_its_domains() -> None:
    m = pyo.ConcreteModel()
    m.free = pyo.Var()
    m.above = pyo.Var(domain=pyo.NonNegativeReals, bounds=(-5.0, 7.0))  # the domain wins below
    m.within = pyo.Var(domain=pyo.NonNegativeReals, bounds=(2.0, None))
    m.step = pyo.Var(domain=pyo.Integers, bounds=(-3.0, 3.0))
    m.on = pyo.Var(domain=pyo.Binary)
    m.row = pyo.Constraint(expr=m.free + m.above + m.within + m.step + m.on >= 1.0)
    m.cost = pyo.Objective(expr=m.above)
    form = compile_standard_form(m)
    columns = zip(form.columns, form.col_lower, form.col_upper, form.integer, strict=True)
    got = {var.name: (lo, hi, bool(i)) for var, lo, hi, i in columns}
    assert got == {
        "free": (-np.inf, np.inf, False),
        "above": (0.0, 7.0, False),
        "within": (2.0, np.inf, False),
        "step": (-3.0, 3.0, True),
        "on": (0.0, 1.0, True),
    }
    # A bound that is NaN, or infinite on the wrong side, is a mistake, named as Pyomo names it.
    for lower, upper in ((float("nan"), 3.0), (float("inf"), 3.0), (-3.0, -float("inf"))):
        m.step.setlb(lower)
        m.step.setub(upper)
        with pytest.raises(ValueError, match="step"):
            compile_standard_form(m)
    m.step.setlb(-3.0)
    m.step.setub(3.0)
    # A bound given as a parameter is read through Pyomo, at its current value.
    m.limit = pyo.Param(initialize=4.0, mutable=True)
    m.above.setub(m.limit)
    form = compile_standard_form(m)
    j = next(j for j, var in enumerate(form.columns) if var.name == "above")
    assert (form.col_lower[j], form.col_upper[j]) == (0.0, 4.0)


def test_a_fixed_variable_stays_a_column_with_both_bounds_at_its_value() -> None:
    model = small_model()
    model.on.fix(1.0)
    form = compile_standard_form(model)
    j = next(j for j, var in enumerate(form.columns) if var.name == "on")
    assert (form.col_lower[j], form.col_upper[j]) == (1.0, 1.0)
    assert model.on.fixed and model.on.value == 1.0


def test_a_row_whose_variables_are_all_fixed_is_kept_for_the_solver_to_judge() -> None:
    model = small_model()
    model.x[0].fix(1.0)
    model.pinned = pyo.Constraint(expr=model.x[0] == 1.0 + 1e-12)
    form = compile_standard_form(model)
    rows = our_rows(model, form)
    terms, lower, upper = rows["pinned"]
    assert terms == {"x[0]": 1.0} and lower == upper == pytest.approx(1.0)


def test_a_non_linear_row_is_refused_by_name() -> None:
    model = small_model()
    model.curved = pyo.Constraint(expr=model.x[0] * model.x[1] <= 3.0)
    with pytest.raises(OptimisationError, match="curved is not linear"):
        compile_standard_form(model)


def test_a_model_to_maximise_is_refused() -> None:
    model = small_model()
    model.cost.sense = pyo.maximize
    with pytest.raises(OptimisationError, match="one to minimise"):
        compile_standard_form(model)
