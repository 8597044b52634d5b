"""The cluster MILP at scale: build, HiGHS, hand-over and extraction times, peak memory.

Three generated tiers (:mod:`bench.clusters`): the demo cluster, a city
(300 members, 40 PV, 5 batteries, 500 lighting circuits, one day, MIP gap
0.5 %) and a region (2,000 members, 7 days, LP relaxation). Each tier runs in
a fresh process so that its peak resident memory is its own. A last run
builds the dominant blocks of the city-tier LP (connection points, PV,
batteries, joint purchase, cluster balance) once through Pyomo and once
directly against highspy, so that Pyomo's share of the time is visible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

#: CPU threads HiGHS may use, and the time limit of one solve, s.
THREADS = 2
TIME_LIMIT_S = 600.0
#: Steps of the region tier; BENCH_REGION_DAYS shortens it for a quick look.
REGION_DAYS = int(os.environ.get("BENCH_REGION_DAYS", "7"))


@dataclass(frozen=True)
class Tier:
    """One generated cluster and how it is solved."""

    name: str
    n_members: int
    n_pv: int
    n_batteries: int
    n_lighting_circuits: int
    n_days: int
    mip_rel_gap: float
    relax_integers: bool
    target: str


TIERS = (
    Tier("demo", 0, 0, 0, 0, 1, 1e-4, False, "-"),
    Tier("city", 300, 40, 5, 500, 1, 0.005, False, "total <= 30 s; overhead <= 0.5 x HiGHS"),
    Tier("region", 2000, 270, 33, 500, REGION_DAYS, 0.0, True, "total <= 300 s; <= 8 GiB"),
)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_tier(tier: Tier) -> dict[str, Any]:
    """Generate, build, solve and extract one tier in this process; times in s."""
    import pyomo.environ as pyo

    # Pyomo's compiler to matrices imports scipy.stats on first use (~1 s), and
    # the first holiday calendar loads the holidays package's country data
    # (~0.06 s); in `klaster schedule` the forecasting stage has done both long
    # before the build.
    import scipy.stats  # noqa: F401

    from bench.clusters import BENCH_DAY, generate_cluster, synthetic_inputs
    from cluster.calendar import public_holidays
    from optimisation.extract import extract_schedule
    from optimisation.model import build_model
    from optimisation.solve import SolveOptions, solve

    public_holidays([BENCH_DAY.year], "PL")
    started = time.perf_counter()
    config = generate_cluster(n_members=tier.n_members, n_pv=tier.n_pv,
                              n_batteries=tier.n_batteries,
                              n_lighting_circuits=tier.n_lighting_circuits)  # fmt: skip
    inputs = synthetic_inputs(config, tier.n_days)
    generated_s = time.perf_counter() - started
    model = build_model(inputs)
    relax_s = 0.0
    if tier.relax_integers:
        relax_started = time.perf_counter()
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(model.model)
        relax_s = time.perf_counter() - relax_started
    options = SolveOptions(mip_rel_gap=tier.mip_rel_gap, threads=THREADS,
                           time_limit_s=TIME_LIMIT_S)  # fmt: skip
    result = solve(model, options)
    extract_started = time.perf_counter()
    if result.has_plan:
        extract_schedule(model, inputs, result)
    extract_s = time.perf_counter() - extract_started
    return {
        "tier": tier.name,
        "members": len(config.members),
        "points": len(config.connection_points),
        "pv": len(config.assets.pv_plants),
        "batteries": len(config.assets.batteries),
        "circuits": len(config.assets.lighting_circuits),
        "steps": len(inputs.steps),
        "generate_s": generated_s,
        "build_s": model.build_time_s + relax_s,
        "highs_s": result.highs_time_s,
        "rest_s": result.wall_time_s - result.highs_time_s,
        "extract_s": extract_s,
        "total_s": time.perf_counter() - started - generated_s,
        "peak_rss_mb": _peak_rss_mb(),
        "status": str(result.status),
        "objective": result.objective_pln,
        "gap": result.mip_gap,
        "variables": result.n_variables,
        "binaries": result.n_binaries,
        "constraints": result.n_constraints,
        "target": tier.target,
    }


def _pyomo_subset(inputs: Any) -> tuple[Any, float]:
    """The dominant blocks built by the production builders, integers relaxed; (model, s)."""
    import pyomo.environ as pyo
    from pyomo.common.gc_manager import PauseGC

    from optimisation.components.balance import add_cluster_balance
    from optimisation.components.battery import add_batteries
    from optimisation.components.connection import add_connection_points
    from optimisation.components.purchasing import add_purchasing
    from optimisation.components.pv import add_pv_plants
    from optimisation.horizon import define_horizon
    from optimisation.model import ClusterModel, ModelOptions

    started = time.perf_counter()
    # Built as build_model builds: with the garbage collector paused.
    with PauseGC():
        model = pyo.ConcreteModel()
        horizon = define_horizon(model, inputs)
        pv = add_pv_plants(model, horizon, inputs)
        batteries = add_batteries(model, horizon, inputs, {})
        injections = [*(h.injection for h in pv.values()),
                      *(h.injection for h in batteries.values())]  # fmt: skip
        points = add_connection_points(model, horizon, inputs, injections)
        purchasing = add_purchasing(model, horizon, inputs)
        balance = add_cluster_balance(model, horizon, points, purchasing)
        terms = (*purchasing.cost_terms, *(t for cp in points.values() for t in cp.cost_terms),
                 *(t for b in batteries.values() for t in b.cost_terms))  # fmt: skip
        model.total_cost_pln = pyo.Objective(
            expr=sum(t.expression for t in terms if t.optimised), sense=pyo.minimize
        )
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(model)
    built_s = time.perf_counter() - started
    cluster_model = ClusterModel(
        model=model, inputs=inputs, options=ModelOptions(), horizon=horizon, pv_plants=pv,
        batteries=batteries, wte_chps={}, district_heating={}, biogas_chps={},
        connection_points=points, purchasing=purchasing, cluster_balance=balance,
        emissions=None, buildings={}, lighting_circuits={}, forecast_corrections={},
        cost_terms=terms, build_time_s=built_s,
    )  # fmt: skip
    return cluster_model, built_s


def _highspy_subset(model: Any) -> dict[str, Any]:
    """The same LP written directly against highspy from the same data, vectorised."""
    import highspy
    import numpy as np
    from scipy import sparse

    inputs, horizon = model.inputs, model.horizon
    n_steps, n_hours = len(horizon.steps), len(horizon.hour_set)
    step_h = inputs.step_hours
    hour_of = np.asarray(horizon.hour_of_step)
    points = list(model.connection_points.values())
    purchasing = model.purchasing
    contract = purchasing.contract
    price = np.asarray(purchasing.price_pln_per_mwh, dtype=float)
    started = time.perf_counter()
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    cost: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    row_lo: list[np.ndarray] = []
    row_hi: list[np.ndarray] = []
    n_cols = 0
    n_rows = 0
    steps = np.arange(n_steps)
    zeros, ones = np.zeros(n_steps), np.ones(n_steps)

    def add_cols(lo: np.ndarray, hi: np.ndarray, c: np.ndarray) -> np.ndarray:
        nonlocal n_cols
        lower.append(lo)
        upper.append(hi)
        cost.append(c)
        n_cols += len(lo)
        return np.arange(n_cols - len(lo), n_cols)

    def add_rows(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        nonlocal n_rows
        row_lo.append(lo)
        row_hi.append(hi)
        n_rows += len(lo)
        return np.arange(n_rows - len(lo), n_rows)

    def add_terms(r: np.ndarray, *terms: tuple[np.ndarray, float]) -> None:
        for c, v in terms:
            rows.append(r)
            cols.append(c)
            vals.append(np.full(r.shape, v))

    bus: dict[str, np.ndarray] = {}
    # A point with no asset imports its load: its charges and its draw on the
    # cluster are numbers, as the production builder makes them.
    with_assets = {h.plant.connection_point for h in model.pv_plants.values()}
    with_assets |= {h.battery.connection_point for h in model.batteries.values()}
    known_cost_pln = 0.0
    known_kw = np.zeros(n_steps)
    for cp in points:
        tariff = cp.tariff
        overrun_price = tariff.overrun_multiplier * tariff.capacity_rate_pln_per_kw_month
        rate = np.asarray(cp.energy_rate_pln_per_mwh)
        if cp.connection_point.id not in with_assets:
            load = np.asarray(cp.load_kw)
            peaks = np.zeros(n_hours)
            np.maximum.at(peaks, hour_of, load)
            capacity = cp.connection_point.contracted_capacity_kw
            known_cost_pln += float(rate @ load) * step_h / 1000.0
            known_cost_pln += overrun_price * float(np.maximum(peaks - capacity, 0.0).sum())
            known_kw += load
            continue
        imp = add_cols(zeros, np.full(n_steps, highspy.kHighsInf), rate * step_h / 1000.0)
        exp = add_cols(zeros, np.full(n_steps, cp.connection_point.export_limit_kw), zeros)
        over = add_cols(np.zeros(n_hours), np.full(n_hours, highspy.kHighsInf),
                        np.full(n_hours, overrun_price))  # fmt: skip
        load = np.asarray(cp.load_kw)
        balance = add_rows(load, load)  # import - export + injections = load
        add_terms(balance, (imp, 1.0), (exp, -1.0))
        bus[cp.connection_point.id] = balance
        capacity = cp.connection_point.contracted_capacity_kw
        overrun = add_rows(np.full(n_steps, -highspy.kHighsInf), np.full(n_steps, capacity))
        add_terms(overrun, (imp, 1.0), (over[hour_of], -1.0))
        cp_cols = (imp, exp)
        bus[cp.connection_point.id + "/cols"] = np.concatenate(cp_cols)
    for handle in model.pv_plants.values():
        out = add_cols(zeros, np.asarray(handle.available_kw), zeros)
        add_terms(bus[handle.plant.connection_point], (out, 1.0))
    for handle in model.batteries.values():
        battery, eta = handle.battery, handle.efficiency
        power = battery.power_kw
        cycle = battery.cycle_cost_pln_per_mwh * step_h / 1000.0
        charge = add_cols(zeros, np.full(n_steps, power), zeros)
        discharge = add_cols(zeros, np.full(n_steps, power), np.full(n_steps, cycle))
        charging = add_cols(zeros, ones, zeros)
        soc_lo, soc_hi = (battery.energy_kwh * p / 100.0
                          for p in (battery.soc_min_pct, battery.soc_max_pct))  # fmt: skip
        soc_lo_all, soc_hi_all = np.full(n_steps, soc_lo), np.full(n_steps, soc_hi)
        soc_lo_all[-1] = max(soc_lo, handle.soc_end_min_kwh)
        soc = add_cols(soc_lo_all, soc_hi_all, zeros)
        balance = bus[battery.connection_point]
        add_terms(balance, (discharge, 1.0), (charge, -1.0))
        only_charge = add_rows(np.full(n_steps, -highspy.kHighsInf), zeros)
        add_terms(only_charge, (charge, 1.0), (charging, -power))
        only_discharge = add_rows(np.full(n_steps, -highspy.kHighsInf), np.full(n_steps, power))
        add_terms(only_discharge, (discharge, 1.0), (charging, power))
        start = np.where(steps == 0, handle.soc_initial_kwh, 0.0)
        dynamics = add_rows(start, start)  # soc_t - soc_(t-1) - flow_t * h = 0 (t=0: initial)
        add_terms(dynamics, (soc, 1.0), (charge, -eta * step_h), (discharge, step_h / eta))
        add_terms(dynamics[1:], (soc[:-1], -1.0))
    buy = add_cols(
        zeros,
        np.full(n_steps, highspy.kHighsInf),
        (price + contract.day_ahead_margin_pln_per_mwh) * step_h / 1000.0,
    )
    sell = add_cols(
        zeros,
        np.full(n_steps, highspy.kHighsInf),
        -(price - contract.sell_back_fee_pln_per_mwh) * step_h / 1000.0,
    )
    blocks = np.asarray(purchasing.block_kw) - known_kw
    cluster = add_rows(blocks, blocks)  # sum(import - export) - buy + sell = blocks - known
    for cp in points:
        if cp.connection_point.id not in with_assets:
            continue
        both = bus[cp.connection_point.id + "/cols"]
        add_terms(cluster, (both[:n_steps], 1.0), (both[n_steps:], -1.0))
    add_terms(cluster, (buy, -1.0), (sell, 1.0))
    matrix = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = (np.concatenate(cost), np.concatenate(lower),
                                                  np.concatenate(upper))  # fmt: skip
    lp.row_lower_, lp.row_upper_ = np.concatenate(row_lo), np.concatenate(row_hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (
        matrix.indptr, matrix.indices, matrix.data)  # fmt: skip
    built_s = time.perf_counter() - started
    # HiGHS sizes one thread pool per process on its first run; a fresh pool lets
    # THREADS apply whatever ran before (else the run fails and reports no plan).
    highspy.Highs.resetGlobalScheduler(True)
    handed = time.perf_counter()
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", THREADS)
    highs.passModel(lp)
    handover_s = time.perf_counter() - handed
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(
            f"the direct highspy LP ended {highs.modelStatusToString(highs.getModelStatus())}"
        )
    # The take-or-pay blocks and the known points' charges are constants of the Pyomo objective.
    fixed = purchasing.blocks_cost_pln + known_cost_pln
    return {"build_s": built_s, "handover_s": handover_s, "vars": n_cols, "rows": n_rows,
            "nonzeros": int(matrix.nnz), "highs_s": highs.getRunTime(),
            "objective": highs.getInfo().objective_function_value + fixed}  # fmt: skip


def compare_builds() -> dict[str, Any]:
    """Build the city tier's dominant blocks through Pyomo and through highspy; time both."""
    from bench.clusters import generate_cluster, synthetic_inputs
    from optimisation.model import build_model
    from optimisation.solve import SolveOptions, solve

    city = next(t for t in TIERS if t.name == "city")
    config = generate_cluster(n_members=city.n_members, n_pv=city.n_pv,
                              n_batteries=city.n_batteries,
                              n_lighting_circuits=city.n_lighting_circuits)  # fmt: skip
    inputs = synthetic_inputs(config, city.n_days)
    model, built_s = _pyomo_subset(inputs)
    result = solve(model, SolveOptions(threads=THREADS))
    pyomo = {"build_s": built_s, "handover_s": result.wall_time_s - result.highs_time_s,
             "vars": result.n_variables, "rows": result.n_constraints, "nonzeros": None,
             "highs_s": result.highs_time_s, "objective": result.objective_pln}  # fmt: skip
    whole = build_model(inputs)
    size = whole.size()
    paths = _handover_paths(whole.model)
    del whole
    floor = pyomo_floor(size.n_variables, size.n_constraints)
    floor["matrix_floor_s"] = matrix_floor(size.n_variables, size.n_constraints)
    return {"pyomo": pyomo, "highspy": _highspy_subset(model), **paths, **floor}


def _handover_paths(model: Any) -> dict[str, float]:
    """Four paths from the built city-tier MILP (a Pyomo model) to a HiGHS model, s each."""
    import tempfile
    from pathlib import Path

    import highspy
    from pyomo.contrib.solver.common.factory import SolverFactory
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    from optimisation.standard_form import compile_standard_form

    started = time.perf_counter()
    compile_standard_form(model)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    LinearStandardFormCompiler().write(model, mixed_form=True)
    compiled_s = time.perf_counter() - started
    started = time.perf_counter()
    SolverFactory("highs").set_instance(model)
    persistent_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.lp"
        started = time.perf_counter()
        model.write(str(path), format="lp", io_options={"symbolic_solver_labels": False})
        written_s = time.perf_counter() - started
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        started = time.perf_counter()
        highs.readModel(str(path))
        read_s = time.perf_counter() - started
    return {"ours_s": ours_s, "standard_form_s": compiled_s, "persistent_s": persistent_s,
            "lp_write_s": written_s, "lp_read_s": read_s}  # fmt: skip


def pyomo_floor(n_variables: int, n_rows: int) -> dict[str, float]:
    """The least Pyomo can spend on a model of this size; s.

    One indexed variable and one indexed constraint of two terms per row
    (``x[i] - x[i + 1] <= 1``): no data look-ups, no sums, nothing but
    Pyomo's own objects and klaster's compiler to a matrix.
    """
    import pyomo.environ as pyo
    from pyomo.common.gc_manager import PauseGC

    from optimisation.standard_form import compile_standard_form

    started = time.perf_counter()
    # Built as build_model builds: with the garbage collector paused.
    with PauseGC():
        model = pyo.ConcreteModel()
        model.x = pyo.Var(range(n_variables), bounds=(0.0, 10.0))
        # More rows than variables wrap around the variables.
        model.row = pyo.Constraint(
            range(n_rows),
            rule=lambda m, i: m.x[i % n_variables] - m.x[(i + 1) % n_variables] <= 1.0,
        )
        model.cost = pyo.Objective(expr=pyo.quicksum(model.x.values()))
    built_s = time.perf_counter() - started
    started = time.perf_counter()
    compile_standard_form(model)
    return {"floor_build_s": built_s, "floor_compile_s": time.perf_counter() - started}


def matrix_floor(n_variables: int, n_rows: int) -> float:
    """The same floor with the rows as a ready sparse matrix, as klaster builds its bulk; s.

    One indexed variable and one :class:`~optimisation.rows.LinearRows`
    holding the two-term rows of :func:`pyomo_floor`, compiled by
    :mod:`optimisation.standard_form`.
    """
    import numpy as np
    import pyomo.environ as pyo
    from pyomo.common.gc_manager import PauseGC
    from scipy import sparse

    from optimisation.rows import LinearRows
    from optimisation.standard_form import compile_standard_form

    rows = np.arange(n_rows)
    matrix = sparse.csr_array(
        (np.repeat([1.0, -1.0], n_rows),
         (np.tile(rows, 2), np.concatenate([rows % n_variables, (rows + 1) % n_variables]))),
        shape=(n_rows, n_variables),
    )  # fmt: skip
    started = time.perf_counter()
    with PauseGC():
        model = pyo.ConcreteModel()
        model.x = pyo.Var(range(n_variables), bounds=(0.0, 10.0))
        model.row = LinearRows(
            matrix, np.full(n_rows, -np.inf), np.ones(n_rows), list(model.x.values())
        )
        model.cost = pyo.Objective(expr=pyo.quicksum(model.x.values()))
    compile_standard_form(model)
    return time.perf_counter() - started


def _child(argument: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.milp_bench", argument],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _verdict(row: dict[str, Any]) -> str:
    overhead = row["build_s"] + row["rest_s"] + row["extract_s"]
    if row["tier"] == "city":
        fast = row["total_s"] <= 30.0
        lean = overhead <= 0.5 * row["highs_s"]
        return f"total {'ok' if fast else 'MISS'}; overhead {'ok' if lean else 'MISS'}"
    if row["tier"] == "region":
        fast = row["total_s"] <= 300.0
        small = row["peak_rss_mb"] <= 8 * 1024
        return f"time {'ok' if fast else 'MISS'}; memory {'ok' if small else 'MISS'}"
    return "-"


def _tier_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Cluster MILP by tier (HiGHS threads={THREADS}); times in s")
    columns = ["tier", "members", "points", "PV", "batt.", "circuits", "steps", "build",
               "HiGHS", "rest", "extract", "total", "overhead / HiGHS", "peak RSS MB",
               "status", "objective PLN", "gap", "vars", "binaries", "rows", "target",
               "verdict"]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        overhead = row["build_s"] + row["rest_s"] + row["extract_s"]
        table.add_row(
            row["tier"], f"{row['members']:,}", f"{row['points']:,}", str(row["pv"]),
            str(row["batteries"]), str(row["circuits"]), str(row["steps"]),
            f"{row['build_s']:.2f}", f"{row['highs_s']:.2f}", f"{row['rest_s']:.2f}",
            f"{row['extract_s']:.2f}", f"{row['total_s']:.2f}",
            f"{overhead / max(row['highs_s'], 1e-9):.2f}", f"{row['peak_rss_mb']:,.0f}",
            row["status"],
            "-" if row["objective"] is None else f"{row['objective']:,.0f}",
            "-" if row["gap"] is None else f"{row['gap']:.1e}",
            f"{row['variables']:,}", f"{row['binaries']:,}", f"{row['constraints']:,}",
            row["target"], _verdict(row),
        )  # fmt: skip
    return table


def _direct_table(row: dict[str, Any]) -> Table:
    table = Table(
        title="City-tier LP, dominant blocks only (connection points, PV, batteries, "
        "joint purchase, cluster balance): Pyomo against highspy"
    )
    for column in ["path", "build s", "hand-over to HiGHS s", "build + hand-over s",
                   "vars", "rows", "nonzeros", "HiGHS s", "objective PLN"]:  # fmt: skip
        table.add_column(column, justify="right")
    for path in ("pyomo", "highspy"):
        facts = row[path]
        table.add_row(
            path, f"{facts['build_s']:.3f}", f"{facts['handover_s']:.3f}",
            f"{facts['build_s'] + facts['handover_s']:.3f}", f"{facts['vars']:,}",
            f"{facts['rows']:,}",
            "-" if facts["nonzeros"] is None else f"{facts['nonzeros']:,}",
            f"{facts['highs_s']:.2f}",
            f"{facts['objective']:,.0f}",
        )  # fmt: skip
    pyomo_s = row["pyomo"]["build_s"] + row["pyomo"]["handover_s"]
    direct_s = row["highspy"]["build_s"] + row["highspy"]["handover_s"]
    table.caption = f"Pyomo / highspy (build + hand-over): {pyomo_s / max(direct_s, 1e-9):.0f} x"
    return table


def _handover_table(rows: list[dict[str, Any]], direct: dict[str, Any]) -> Table:
    city = next(row for row in rows if row["tier"] == "city")
    table = Table(title="City-tier MILP: Pyomo's paths to HiGHS, s")
    for column in ["path", "seconds", "with build", "target (0.5 x HiGHS)"]:
        table.add_column(column, justify="right")
    budget = f"{0.5 * city['highs_s']:.2f}"
    floor_s = direct["floor_build_s"] + direct["floor_compile_s"]
    for path, seconds, build_s in [
        ("optimisation.standard_form (in use; pass to highspy ~0.01 s)", direct["ours_s"],
         city["build_s"]),
        ("Pyomo's LinearStandardFormCompiler", direct["standard_form_s"], city["build_s"]),
        ("persistent interface (pyomo.contrib.solver highs)", direct["persistent_s"],
         city["build_s"]),
        ("LP file write + HiGHS read", direct["lp_write_s"] + direct["lp_read_s"],
         city["build_s"]),
        ("floor: same size, 2-term rows, no data (build | compile)",
         direct["floor_compile_s"], direct["floor_build_s"]),
        ("floor, vectorised: the same rows as LinearRows (build + compile)",
         direct["matrix_floor_s"], 0.0),
    ]:  # fmt: skip
        table.add_row(path, f"{seconds:.2f}", f"{seconds + build_s:.2f}", budget)
    highs_s = max(city["highs_s"], 1e-9)
    matrix_s = direct["matrix_floor_s"]
    table.caption = (
        f"Pyomo's floor for a model of the city tier's size: {floor_s:.2f} s "
        f"= {floor_s / highs_s:.1f} x HiGHS time; vectorised {matrix_s:.2f} s "
        f"= {matrix_s / highs_s:.1f} x"
    )
    return table


def run() -> list[dict[str, Any]]:
    """Run every tier and the Pyomo-against-highspy build, each in a fresh process; print."""
    rows = [_child(tier.name) for tier in TIERS]
    console = Console(width=250)
    console.print(_tier_table(rows))
    direct = _child("direct")
    console.print(_direct_table(direct))
    console.print(_handover_table(rows, direct))
    return [*rows, direct]


def _main(argument: str) -> None:
    if argument == "direct":
        print(json.dumps(compare_builds()))
        return
    tier = next(t for t in TIERS if t.name == argument)
    print(json.dumps(run_tier(tier)))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _main(sys.argv[1])
    else:
        run()
