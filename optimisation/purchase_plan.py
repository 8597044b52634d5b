r"""Planning the volumes of the take-or-pay blocks of the joint purchase.

A block of the supply contract delivers a constant power in its hours and days
and is paid for whether used or not; what the cluster needs beyond the blocks
is bought on the day-ahead market at price plus margin, and block energy it
does not need is sold back at price minus fee (as in
:mod:`optimisation.components.purchasing`). Before the period, the volumes
are chosen against many days of scenarios of the cluster's net demand and the
day-ahead price. The cost of one scenario step is

.. math::

    c_{s,t}(v) = \frac{\Delta t}{1000}\Big(\sum_k a_{k,t} v_k \pi_k
        + (d_{s,t} - B_t)^+ (\lambda_{s,t} + \mu)
        - (B_t - d_{s,t})^+ (\lambda_{s,t} - \phi)\Big),
    \qquad B_t = \sum_k a_{k,t} v_k

with :math:`v_k` the volume of block :math:`k`, kW; :math:`a_{k,t}` 1 when the
block delivers in step :math:`t`; :math:`\pi_k` its price, PLN/MWh;
:math:`d_{s,t}` net demand, kW; :math:`\lambda_{s,t}` day-ahead price, PLN/MWh;
:math:`\mu` margin and :math:`\phi` fee, PLN/MWh; :math:`\Delta t` step, h.
Contracts are signed in lots, so the expected cost (the mean over scenarios)
is evaluated exactly on every combination of the lot grid of each block; with
:math:`\mu + \phi \ge 0` it is convex in the volumes, and the grid's best
point is the optimum among the volumes that can be signed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from cluster.config import ClusterConfig, SupplyBlock
from cluster.errors import KlasterError
from cluster.tariffs import block_power_kw
from cluster.timeseries import SeriesId

FloatArray = npt.NDArray[np.float64]

#: How far back the history of a day is taken: 52 weeks, so the weekday is the same.
HISTORY_SHIFT = pd.Timedelta(days=364)


class PurchasePlanError(KlasterError):
    """A purchase plan that cannot be made as asked."""


@dataclass(frozen=True)
class PurchaseScenarios:
    """Scenarios of the period: net demand and day-ahead price per scenario and step.

    Attributes
    ----------
    net_demand_kw
        Cluster load minus local generation, kW, shape (scenarios, steps);
        negative when the cluster has a surplus.
    price_pln_per_mwh
        Day-ahead price, PLN/MWh, same shape.
    block_active
        1.0 where a block delivers, shape (blocks, steps), in the contract's
        block order.
    step_hours
        Length of a step, h.
    """

    net_demand_kw: FloatArray
    price_pln_per_mwh: FloatArray
    block_active: FloatArray
    step_hours: float

    def __post_init__(self) -> None:
        if self.net_demand_kw.shape != self.price_pln_per_mwh.shape:
            raise PurchasePlanError(
                f"net demand has shape {self.net_demand_kw.shape} but prices "
                f"{self.price_pln_per_mwh.shape}",
                fix="give one price per scenario and step",
            )
        if self.net_demand_kw.ndim != 2 or self.net_demand_kw.shape[0] == 0:
            raise PurchasePlanError(
                "there are no scenarios", fix="give at least one day of history"
            )
        if self.block_active.ndim != 2 or self.block_active.shape[1] != self.n_steps:
            raise PurchasePlanError(
                f"block activity has shape {self.block_active.shape}, expected "
                f"(blocks, {self.n_steps})",
                fix="give one row per block and one column per step",
            )

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return int(self.net_demand_kw.shape[0])

    @property
    def n_steps(self) -> int:
        """Steps in a scenario."""
        return int(self.net_demand_kw.shape[1])


@dataclass(frozen=True)
class PurchasePlan:
    """Expected cost over a grid of block volumes, and the best volumes.

    Attributes
    ----------
    block_names
        The blocks, in contract order.
    volume_grids_kw
        Per block, the volumes evaluated, kW.
    expected_cost_pln
        Mean cost of a scenario, PLN, one axis per block.
    best_volumes_kw
        The volumes of least expected cost, kW, one per block.
    best_cost_pln
        Their expected cost, PLN per scenario.
    """

    block_names: tuple[str, ...]
    volume_grids_kw: tuple[FloatArray, ...]
    expected_cost_pln: FloatArray
    best_volumes_kw: tuple[float, ...]
    best_cost_pln: float


def expected_cost_pln(
    scenarios: PurchaseScenarios,
    volumes_kw: FloatArray,
    block_prices_pln_per_mwh: FloatArray,
    margin_pln_per_mwh: float,
    fee_pln_per_mwh: float,
) -> FloatArray:
    """Mean cost of a scenario for each row of block volumes, PLN.

    Parameters
    ----------
    scenarios
        Net demand (kW), prices (PLN/MWh) and block activity.
    volumes_kw
        Block volumes, kW, shape (candidates, blocks).
    block_prices_pln_per_mwh
        Price of each block, PLN/MWh.
    margin_pln_per_mwh, fee_pln_per_mwh
        Day-ahead purchase margin and sell-back fee, PLN/MWh.

    Returns
    -------
    numpy.ndarray
        Expected cost per candidate, PLN, shape (candidates,).
    """
    mwh_per_kw = scenarios.step_hours / 1000.0
    # Block power per candidate and step, kW: (candidates, steps).
    block_kw = volumes_kw @ scenarios.block_active
    blocks_cost = (
        (volumes_kw * block_prices_pln_per_mwh) @ scenarios.block_active.sum(axis=1)
    ) * mwh_per_kw
    buy_price = scenarios.price_pln_per_mwh + margin_pln_per_mwh
    sell_price = scenarios.price_pln_per_mwh - fee_pln_per_mwh
    costs = np.empty(len(volumes_kw))
    for i, power in enumerate(block_kw):
        gap = scenarios.net_demand_kw - power
        market = np.where(gap > 0, gap * buy_price, gap * sell_price)
        costs[i] = blocks_cost[i] + market.sum() * mwh_per_kw / scenarios.n_scenarios
    return costs


def plan_purchase(
    scenarios: PurchaseScenarios,
    blocks: list[SupplyBlock],
    volume_grids_kw: list[FloatArray],
    margin_pln_per_mwh: float,
    fee_pln_per_mwh: float,
) -> PurchasePlan:
    """Evaluate the expected cost on every combination of block volumes and pick the least.

    Parameters
    ----------
    scenarios
        Net demand (kW), prices (PLN/MWh) and the activity of ``blocks``.
    blocks
        The contract's blocks (their names and prices, PLN/MWh, are used).
    volume_grids_kw
        Per block, the volumes to evaluate, kW (>= 0).
    margin_pln_per_mwh, fee_pln_per_mwh
        Day-ahead purchase margin and sell-back fee, PLN/MWh.

    Returns
    -------
    PurchasePlan
        The cost grid and its optimum (the first on ties, i.e. the smallest volumes).
    """
    if not blocks:
        raise PurchasePlanError(
            "the supply contract has no blocks to plan",
            fix="add [[supply_contract.blocks]] with hours, days and price to the configuration",
        )
    if len(volume_grids_kw) != len(blocks) or scenarios.block_active.shape[0] != len(blocks):
        raise PurchasePlanError(
            f"{len(blocks)} blocks but {len(volume_grids_kw)} volume grids and "
            f"{scenarios.block_active.shape[0]} activity rows",
            fix="give one volume grid and one activity row per block",
        )
    for block, grid in zip(blocks, volume_grids_kw, strict=True):
        if grid.size == 0 or (grid < 0).any() or not np.isfinite(grid).all():
            raise PurchasePlanError(
                f"the volumes of block {block.name!r} are empty, negative or not finite",
                fix="give volumes of 0 kW or more",
            )
    candidates = np.array(list(itertools.product(*volume_grids_kw)), dtype=float)
    prices = np.array([b.price_pln_per_mwh for b in blocks], dtype=float)
    costs = expected_cost_pln(scenarios, candidates, prices, margin_pln_per_mwh, fee_pln_per_mwh)
    best = int(np.argmin(costs))
    return PurchasePlan(
        block_names=tuple(b.name for b in blocks),
        volume_grids_kw=tuple(np.asarray(g, dtype=float) for g in volume_grids_kw),
        expected_cost_pln=costs.reshape([len(g) for g in volume_grids_kw]),
        best_volumes_kw=tuple(float(v) for v in candidates[best]),
        best_cost_pln=float(costs[best]),
    )


def lot_grid_kw(max_kw: float, lot_kw: float) -> FloatArray:
    """Volumes 0, lot, 2·lot, … up to the first at or above ``max_kw``, kW."""
    if not (lot_kw > 0 and math.isfinite(lot_kw)):
        raise PurchasePlanError(f"the lot size is {lot_kw} kW", fix="give a positive lot, e.g. 100")
    lots = max(1, math.ceil(max(max_kw, 0.0) / lot_kw))
    return np.arange(lots + 1, dtype=float) * lot_kw


def net_demand_kw(config: ClusterConfig, history: pd.DataFrame) -> pd.Series:
    """Cluster load minus PV and WtE output per step, kW.

    Biogas CHPs are left out: they are dispatched each day by the daily plan,
    so the blocks are sized against the demand they do not cover.
    """
    loads = [c for c in history.columns if str(c).startswith("load/")]
    generation = [SeriesId.pv(p.id) for p in config.assets.pv_plants]
    generation += [SeriesId.wte(w.id) for w in config.assets.wte_chps]
    missing = [c for c in [*generation, SeriesId.DAY_AHEAD_PRICE] if c not in history.columns]
    if not loads or missing:
        raise PurchasePlanError(
            f"the history lacks {missing or 'every load series'}",
            fix="give history with the loads, PV, WtE and day-ahead price of the cluster",
        )
    net = history[loads].sum(axis=1) - history[generation].sum(axis=1)
    return net.rename("net_demand_kw")


def scenarios_from_history(
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
    history: pd.DataFrame,
    error_draws: int = 1,
    error_std: float = 0.0,
    seed: int = 0,
) -> PurchaseScenarios:
    """Scenarios of the period built from the same days 52 weeks earlier.

    Each scenario covers every whole local day of the period (days of a time
    change are left out): net demand and price of the same weekday a year
    before, the net demand scaled by a forecast-error multiplier drawn per
    day. The expected cost is then that of the whole period.

    Parameters
    ----------
    config
        The cluster (its blocks, zone and step).
    steps
        The steps of the period, UTC, whole local days of ``step_minutes``.
    history
        Wide history (UTC index, series-id columns) covering ``steps`` − 364 days.
    error_draws
        Number of scenarios; one when ``error_std`` is 0.
    error_std
        Standard deviation of the daily multiplier around 1 (0.05 = 5 %).
    seed
        Seed of the multipliers, for repeatable plans.
    """
    step_minutes = config.cluster.step_minutes
    per_day = 24 * 60 // step_minutes
    zone = config.cluster.zone
    local_days = steps.tz_convert(zone).normalize()
    counts = pd.Series(1, index=local_days).groupby(level=0).size()
    # Days of 92 or 100 quarter-hours (time change) are left out so every day
    # has one multiplier over the same number of steps.
    full_days = counts.index[counts.to_numpy() == per_day]
    if len(full_days) == 0:
        raise PurchasePlanError(
            "the period has no whole day", fix="give a period of at least one day"
        )
    keep = np.isin(local_days, full_days)
    kept = steps[keep]
    source = kept - HISTORY_SHIFT
    net = net_demand_kw(config, history).reindex(source)
    price = history[SeriesId.DAY_AHEAD_PRICE].reindex(source)
    if net.isna().any() or price.isna().any():
        raise PurchasePlanError(
            f"the history does not cover {source[0]} to {source[-1]} (52 weeks before the period)",
            fix="give history of the same days of the year before",
        )
    n_days = len(full_days)
    draws = max(1, error_draws) if error_std > 0 else 1
    # One multiplier per draw and day: a day-ahead forecast misses a whole day
    # by much the same factor, so the error is drawn per day, not per step.
    day_factor = 1.0 + error_std * np.random.default_rng(seed).standard_normal((draws, n_days))
    step_factor = np.repeat(day_factor, per_day, axis=1)
    net_all = net.to_numpy(dtype=float)[None, :] * step_factor
    price_all = np.repeat(price.to_numpy(dtype=float)[None, :], draws, axis=0)
    blocks = config.supply_contract.blocks
    active = np.array(
        [
            block_power_kw(b, kept, zone, config.cluster.country).to_numpy(dtype=float) / b.power_kw
            for b in blocks
        ],
        dtype=float,
    ).reshape(len(blocks), len(kept))
    return PurchaseScenarios(
        net_demand_kw=net_all,
        price_pln_per_mwh=price_all,
        block_active=active,
        step_hours=step_minutes / 60.0,
    )
