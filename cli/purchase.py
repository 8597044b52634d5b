"""``klaster purchase plan``: the volumes of the take-or-pay blocks for a coming period.

The scenarios come from the cluster's synthetic history (the same days 52
weeks before the period), scaled by daily forecast-error multipliers; the
expected cost is evaluated on a lot grid of every block's volume
(:mod:`optimisation.purchase_plan`) and printed as a table with the optimum
marked.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from adapters.demo_history import generate_wide
from cli.common import ConfigOption, console, errors, user_errors
from cluster.config import ClusterConfig, load_config
from cluster.timegrid import day_bounds_utc
from optimisation.purchase_plan import (
    HISTORY_SHIFT,
    PurchasePlan,
    PurchasePlanError,
    expected_cost_pln,
    lot_grid_kw,
    plan_purchase,
    scenarios_from_history,
)

purchase_app = typer.Typer(
    help="Plan the joint purchase: volumes of the fixed-price blocks.", no_args_is_help=True
)


def _period_days(text: str, days_cap: int | None) -> tuple[date, date]:
    """First day and the day after the last of a period like 2027Q1, 2027-01 or 2027."""
    try:
        period = pd.Period(text)
    except ValueError:
        raise PurchasePlanError(
            f"--period {text!r} is not a quarter, month or year",
            fix="write it as e.g. 2027Q1, 2027-01 or 2027",
        ) from None
    first = period.start_time.date()
    end = period.end_time.date() + timedelta(days=1)
    if days_cap is not None:
        end = min(end, first + timedelta(days=days_cap))
    return first, end


def _period_steps(config: ClusterConfig, first: date, end: date) -> pd.DatetimeIndex:
    zone = config.cluster.zone
    start_utc = day_bounds_utc(first, zone)[0]
    end_utc = day_bounds_utc(end, zone)[0]
    return pd.date_range(
        start_utc, end_utc, freq=f"{config.cluster.step_minutes}min", inclusive="left", name="ts"
    )


def _cost_table(plan: PurchasePlan) -> Table:
    """Expected cost, thousand PLN: rows the first block's volume, columns the second's."""
    names = plan.block_names
    costs = plan.expected_cost_pln.reshape(len(plan.volume_grids_kw[0]), -1)
    columns = plan.volume_grids_kw[1] if len(names) > 1 else np.array([np.nan])
    table = Table(
        title=f"Expected cost, thousand PLN (* optimum); rows {names[0]} kW"
        + (f", columns {names[1]} kW" if len(names) > 1 else "")
    )
    table.add_column(f"{names[0]} kW", justify="right")
    for volume in columns:
        table.add_column("cost" if np.isnan(volume) else f"{volume:g}", justify="right")
    best = np.unravel_index(int(np.argmin(costs)), costs.shape)
    for i, row_volume in enumerate(plan.volume_grids_kw[0]):
        cells = []
        for j in range(costs.shape[1]):
            text = f"{costs[i, j] / 1000:,.0f}"
            cells.append(f"[bold green]*{text}[/]" if (i, j) == best else text)
        table.add_row(f"{row_volume:g}", *cells)
    return table


@purchase_app.command("plan")
@user_errors
def plan(
    period: Annotated[str, typer.Option(help="Period to buy for: 2027Q1, 2027-01 or 2027.")],
    config: ConfigOption = None,
    days: Annotated[
        int | None, typer.Option(min=1, help="Use only the first DAYS days of the period.")
    ] = None,
    lot_kw: Annotated[
        float | None,
        typer.Option(min=1.0, help="Lot size of the blocks, kW; 8 lots up to --max-kw if out."),
    ] = None,
    max_kw: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Largest volume tried per block, kW; if left out, the larger of the "
            "peak net demand and twice the contract's largest block.",
        ),
    ] = None,
    scenarios: Annotated[
        int, typer.Option(min=1, help="Forecast-error scenarios of the period.")
    ] = 5,
    error_std: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Std of the daily forecast error (0.05 = 5 %).")
    ] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed of the forecast errors.")] = 0,
) -> None:
    """Choose the volumes of the contract's blocks for a period at least expected cost.

    Each scenario is the period's net demand (load minus PV and WtE) and day-ahead
    price from the same weekdays 52 weeks before (synthetic history), with a daily
    forecast-error multiplier; unused block energy is sold back at price minus fee,
    the rest bought at price plus margin.
    """
    loaded = load_config(config)
    contract = loaded.supply_contract
    if not 1 <= len(contract.blocks) <= 2:
        raise PurchasePlanError(
            f"the supply contract has {len(contract.blocks)} blocks; the plan takes one or two",
            fix="give a base block and optionally a peak block in [[supply_contract.blocks]]",
        )
    first, end = _period_days(period, days)
    steps = _period_steps(loaded, first, end)
    history = generate_wide(
        loaded,
        steps[0] - HISTORY_SHIFT,
        steps[-1] - HISTORY_SHIFT + pd.Timedelta(minutes=15),
        meters=False,
    )
    built = scenarios_from_history(loaded, steps, history, scenarios, error_std, seed)
    contract_volumes = tuple(b.power_kw for b in contract.blocks)
    top_kw = max_kw
    if top_kw is None:
        top_kw = max(float(built.net_demand_kw.max()), 2 * max(contract_volumes))
    # Without a lot size, eight lots in multiples of 50 kW keep the table readable.
    lot = lot_kw if lot_kw is not None else max(50.0, 50.0 * np.ceil(top_kw / 8 / 50))
    grids = [lot_grid_kw(top_kw, lot) for _ in contract.blocks]
    result = plan_purchase(
        built,
        list(contract.blocks),
        grids,
        contract.day_ahead_margin_pln_per_mwh,
        contract.sell_back_fee_pln_per_mwh,
    )
    contract_cost = expected_cost_pln(
        built,
        np.array([contract_volumes], dtype=float),
        np.array([b.price_pln_per_mwh for b in contract.blocks], dtype=float),
        contract.day_ahead_margin_pln_per_mwh,
        contract.sell_back_fee_pln_per_mwh,
    )[0]
    n_days = built.n_steps * built.step_hours / 24
    console.print(
        f"{period}: {n_days:g} days from {first} to {end - timedelta(days=1)}, "
        f"{built.n_scenarios} scenarios, net demand {built.net_demand_kw.mean():,.0f} kW mean, "
        f"{built.net_demand_kw.max():,.0f} kW peak"
    )
    console.print(_cost_table(result))
    volumes = ", ".join(
        f"{name} {volume:g} kW"
        for name, volume in zip(result.block_names, result.best_volumes_kw, strict=True)
    )
    console.print(
        f"optimum: {volumes}; expected cost {result.best_cost_pln:,.0f} PLN "
        f"(contract volumes {', '.join(f'{v:g}' for v in contract_volumes)} kW: "
        f"{contract_cost:,.0f} PLN)"
    )
    edges = [
        name
        for name, volume, grid in zip(
            result.block_names, result.best_volumes_kw, result.volume_grids_kw, strict=True
        )
        if volume > 0 and volume == grid[-1]
    ]
    if edges:
        errors.print(
            f"note: the optimum of {', '.join(edges)} is the largest volume tried: block energy "
            "costs less than the day-ahead price minus the fee, so a larger block may be "
            "cheaper still; try a larger --max-kw",
            highlight=False,
            markup=False,
        )
