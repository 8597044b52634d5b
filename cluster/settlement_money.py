r"""The money of a settled month: each member's invoice lines from its metered energy.

Energy is whole Wh in int64 arrays (a row per quarter-hour, a column per member
or connection point); money is exact integer micro-grosz (Wh × grosz/MWh) until
each line kind is split to the grosz across members (or connection points)
with :func:`~cluster.settlement.split_to_grosz`, so every line kind's members
add up to its rounded cluster total. Prices are quoted to the grosz per MWh;
finer digits of a price are rounded away. A settled period is a gapless run of
quarter-hours of one local month (normally all of them); the capacity charge
is the settled part of a month's.

Producers: each quarter-hour's allocated energy is split among the members
that export in it by their export (whole Wh, largest remainder), so delivered +
sold = export for every member and the delivered energy adds up to the
allocated energy exactly; curtailed energy is production that was neither.

In every quarter-hour :math:`t`, with :math:`R_t` the members' residual (grid)
energy, :math:`B_t` the blocks' energy, DA the day-ahead price, :math:`\mu`
the supplier's margin and :math:`\varphi` the sell-back fee, the cluster pays
the supplier

.. math::

    C_t = \sum_b B_{b,t}\,p_b + (R_t - B_t)^+ (DA_t + \mu) - (B_t - R_t)^+ (DA_t - \varphi)

and a member with residual :math:`g_{m,t}` pays :math:`g_{m,t}(DA_t + \mu)` plus
its share :math:`g_{m,t}/R_t` of the blocks' result
:math:`\Delta_t = C_t - R_t(DA_t + \mu)`, so the members' supplier lines add up
to :math:`\sum_t C_t` exactly. Each quarter-hour's :math:`\Delta_t` is split in
whole micro-grosz by largest remainder.

In a quarter-hour without residual energy (:math:`R_t = 0`, all consumption
covered locally) nobody's profile caused the blocks' result (the block cost
less the sale of all its energy), so it is shared by each member's residual
energy over the period's quarter-hours in which a block delivers: the members
that use the blocks over the month carry them when nobody does; equally when
no member has any such residual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from cluster.config import ClusterConfig
from cluster.invoices import (
    LineKind,
    MemberEnergy,
    MemberStatement,
    MeteredPeriod,
    Settlement,
)
from cluster.settlement import (
    WH_PER_KWH,
    allocate,
    grosz_per_mwh,
    internal_price_pln_per_mwh,
    split_integer,
)
from cluster.settlement_checks import (
    MEMBER_COLUMNS,
    MeteredWh,
    check_settlement,
    read_metered,
)
from cluster.settlement_lines import MemberMoney, PointMoney, rounded_lines
from cluster.settlement_savings import (
    CoalitionGame,
    shapley_saving_pln,
    standalone_energy_micro_grosz,
    standalone_pln,
)
from cluster.tariffs import billed_overrun_kw, block_power_kw, energy_rate_pln_per_mwh
from cluster.timegrid import step_hours

#: int64 products stay below this bound; larger ones are split in Python integers.
_INT64_SAFE = 2**62


@dataclass(frozen=True)
class MemberFlows:
    """Each member's energy in each step, Wh, int64 arrays of shape (steps, members).

    Attributes
    ----------
    consumption, export, curtailed
        Metered import, export and curtailment summed over the member's points.
    allocated
        Local energy allocated to the member by the cluster's key.
    delivered
        The member's export used in the cluster (the step's allocated total
        split among exporters by their export).
    """

    consumption: np.ndarray
    export: np.ndarray
    curtailed: np.ndarray
    allocated: np.ndarray
    delivered: np.ndarray

    @property
    def grid(self) -> np.ndarray:
        """Consumption not covered locally (residual), Wh."""
        return self.consumption - self.allocated

    @property
    def sold(self) -> np.ndarray:
        """Export the cluster could not use, sold to the grid, Wh."""
        return self.export - self.delivered


@dataclass(frozen=True)
class StepPrices:
    """Prices and the blocks in each step: grosz/MWh (int64) and Wh / micro-grosz.

    Attributes
    ----------
    day_ahead, internal : numpy.ndarray
        Day-ahead and internal price per step, grosz/MWh.
    margin, sell_fee : int
        Supplier's margin and sell-back fee, grosz/MWh.
    block_wh, block_cost : numpy.ndarray
        Energy of all blocks per step, Wh, and its cost at the block prices, micro-grosz.
    """

    day_ahead: np.ndarray
    internal: np.ndarray
    margin: int
    sell_fee: int
    block_wh: np.ndarray
    block_cost: np.ndarray

    @property
    def purchase(self) -> np.ndarray:
        """Price of residual energy bought at day-ahead, grosz/MWh."""
        return self.day_ahead + self.margin

    @property
    def sell_back(self) -> np.ndarray:
        """Price of energy sold to the grid, grosz/MWh."""
        return self.day_ahead - self.sell_fee


def settle(
    config: ClusterConfig, month: date, metered: MeteredPeriod, *, shapley: bool = False
) -> Settlement:
    """Settle a month: allocate local energy, price every member's lines, check the balances.

    Parameters
    ----------
    config : ClusterConfig
        The cluster: members, connection points, tariffs, supply contract, terms.
    month : datetime.date
        Any day of the settled local month.
    metered : MeteredPeriod
        Metered energy (kWh per step) of every connection point and the
        day-ahead price (PLN/MWh) for a gapless run of the month's steps.
    shapley : bool
        Also share the cluster's saving by the members' Shapley values.

    Returns
    -------
    Settlement
        Statements whose totals add up to the cluster's external costs to the
        grosz, and the quarter-hour energy they rest on.

    Raises
    ------
    SettlementError
        Inputs that cannot be settled (naming the point, quarter-hour or
        member), or a balance that does not hold.
    """
    data = read_metered(config, month, metered)
    flows = member_flows(config, data)
    prices = step_prices(config, data)
    lines, external = rounded_lines(
        config, supplier_lines(flows, prices), distribution_lines(config, data)
    )
    members = [m.id for m in config.members]
    standalone_micro = standalone_energy_micro_grosz(
        config, flows.consumption, flows.export, prices.day_ahead
    )
    distribution = {
        m: sum((line.amount_pln for line in lines[m] if line.connection_point_id), Decimal(0))
        for m in members
    }
    standalone = standalone_pln(members, standalone_micro, distribution)
    shares: Mapping[str, Decimal | None] = dict.fromkeys(members)
    if shapley:
        game = CoalitionGame(
            flows.consumption, flows.export, prices.purchase, prices.sell_back, standalone_micro
        )
        shares = shapley_saving_pln(game, members)
    settlement = Settlement(
        cluster_name=config.cluster.name,
        period=f"{month:%Y-%m}",
        start=data.steps[0],
        end=data.steps[-1] + pd.Timedelta(minutes=config.cluster.step_minutes),
        statements={
            m: MemberStatement(m, tuple(lines[m]), standalone[m], shares[m]) for m in members
        },
        energy=member_energy(members, data.steps, flows),
        cluster_energy=cluster_frame(data, flows, prices),
        external_costs_pln=external,
        member_names={m.id: m.name for m in config.members},
        timezone=config.cluster.timezone,
        terms=config.settlement,
        supply=config.supply_contract,
    )
    check_settlement(settlement)
    return settlement


def _sum_by_member(values: np.ndarray, member_of_point: np.ndarray, n_members: int) -> np.ndarray:
    """Columns of connection points summed into columns of their members (int64)."""
    if np.array_equal(member_of_point, np.arange(n_members)):
        return values  # one point per member, in member order: nothing to sum
    summed = np.zeros((values.shape[0], n_members), dtype=np.int64)
    if len(np.unique(member_of_point)) == len(member_of_point):
        summed[:, member_of_point] = values
        return summed
    order = np.argsort(member_of_point, kind="stable")
    owners = member_of_point[order]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    summed[:, owners[starts]] = np.add.reduceat(values[:, order], starts, axis=1)
    return summed


def member_flows(config: ClusterConfig, data: MeteredWh) -> MemberFlows:
    """Sum the points into members, allocate local energy and split it among the exporters.

    Parameters
    ----------
    config : ClusterConfig
        Members, connection points and the allocation key.
    data : MeteredWh
        The checked metered energy, Wh.
    """
    members = [m.id for m in config.members]
    position = {m: j for j, m in enumerate(members)}
    member_of_point = np.array([position[cp.member] for cp in config.connection_points])
    consumption, export, curtailed = (
        _sum_by_member(values, member_of_point, len(members))
        for values in (data.import_wh, data.export_wh, data.curtailed_wh)
    )
    allocation = allocate(
        pd.DataFrame(consumption / WH_PER_KWH, index=data.steps, columns=members),
        pd.DataFrame(export / WH_PER_KWH, index=data.steps, columns=members),
        config.settlement,
    )
    allocated = allocation.allocated_wh[members].to_numpy(dtype=np.int64)
    delivered = np.zeros_like(export)
    exporters = np.flatnonzero(export.any(axis=0))
    if exporters.size:
        delivered[:, exporters] = split_integer(allocated.sum(axis=1), export[:, exporters])
    return MemberFlows(consumption, export, curtailed, allocated, delivered)


def step_prices(config: ClusterConfig, data: MeteredWh) -> StepPrices:
    """Internal price and the blocks' energy and cost in each step.

    Parameters
    ----------
    config : ClusterConfig
        The supply contract (blocks, margin, fee) and the internal-price terms.
    data : MeteredWh
        The checked metered period (steps, day-ahead price).
    """
    contract = config.supply_contract
    day_ahead = data.day_ahead_grosz
    margin = int(grosz_per_mwh(contract.day_ahead_margin_pln_per_mwh))
    sell_fee = int(grosz_per_mwh(contract.sell_back_fee_pln_per_mwh))
    internal = internal_price_pln_per_mwh(
        config.settlement,
        pd.Series((day_ahead - sell_fee) / 100, index=data.steps),
        pd.Series((day_ahead + margin) / 100, index=data.steps),
    )
    hours = step_hours(config.cluster.step_minutes)
    zone, country = config.cluster.zone, config.cluster.country
    block_wh = np.zeros(len(data.steps), dtype=np.int64)
    block_cost = np.zeros(len(data.steps), dtype=np.int64)
    for block in contract.blocks:
        power_kw = block_power_kw(block, data.steps, zone, country).to_numpy()
        energy_wh = np.rint(power_kw * hours * WH_PER_KWH).astype(np.int64)
        block_wh += energy_wh
        block_cost += energy_wh * int(grosz_per_mwh(block.price_pln_per_mwh))
    return StepPrices(
        day_ahead, grosz_per_mwh(internal.to_numpy()), margin, sell_fee, block_wh, block_cost
    )


def supplier_cost_micro_grosz(residual_wh: np.ndarray, prices: StepPrices) -> np.ndarray:
    """The cluster's purchase cost :math:`C_t` in each step, micro-grosz (int64).

    Parameters
    ----------
    residual_wh : numpy.ndarray
        The members' residual energy :math:`R_t` per step, Wh.
    prices : StepPrices
        Day-ahead, margin, fee and the blocks.
    """
    bought = np.maximum(residual_wh - prices.block_wh, 0)
    sold_back = np.maximum(prices.block_wh - residual_wh, 0)
    return prices.block_cost + bought * prices.purchase - sold_back * prices.sell_back


def _split_exact(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """:func:`split_integer`, in Python integers where int64 products could overflow."""
    bound = int(np.abs(total).max(initial=0)) * int(weights.max(initial=0))
    if bound < _INT64_SAFE:
        return split_integer(total, weights)
    return split_integer(total.astype(object), weights.astype(object)).astype(object)


def supplier_lines(flows: MemberFlows, prices: StepPrices) -> MemberMoney:
    """Each member's energy lines and the quantities they rest on, micro-grosz and Wh.

    Parameters
    ----------
    flows : MemberFlows
        Members' energy per step, Wh.
    prices : StepPrices
        Prices per step and the blocks.
    """
    grid = flows.grid
    residual = grid.sum(axis=1)
    blocks_result = supplier_cost_micro_grosz(residual, prices) - residual * prices.purchase
    idle = residual == 0
    busy = ~idle
    fixed = _split_exact(blocks_result[busy], grid[busy]).sum(axis=0)
    idle_result = int(blocks_result[idle].sum())
    if idle_result:
        period = grid[prices.block_wh > 0].sum(axis=0)
        weights = period if period.any() else np.ones_like(period)
        idle_total = np.array([idle_result], dtype=np.int64)
        fixed = fixed + _split_exact(idle_total, weights[None, :])[0]
    sold = flows.sold
    return MemberMoney(
        amounts={
            LineKind.LOCAL_ENERGY: flows.allocated.T @ prices.internal,
            LineKind.DAY_AHEAD_ENERGY: grid.T @ prices.day_ahead,
            LineKind.SUPPLIER_MARGIN: grid.sum(axis=0) * prices.margin,
            LineKind.FIXED_BLOCKS: fixed,
            LineKind.LOCAL_ENERGY_DELIVERED: -(flows.delivered.T @ prices.internal),
            LineKind.SURPLUS_SOLD: -(sold.T @ prices.sell_back),
        },
        energy_wh={
            LineKind.LOCAL_ENERGY: flows.allocated.sum(axis=0),
            LineKind.DAY_AHEAD_ENERGY: grid.sum(axis=0),
            LineKind.SUPPLIER_MARGIN: grid.sum(axis=0),
            LineKind.FIXED_BLOCKS: grid.sum(axis=0),
            LineKind.LOCAL_ENERGY_DELIVERED: flows.delivered.sum(axis=0),
            LineKind.SURPLUS_SOLD: sold.sum(axis=0),
        },
    )


def distribution_lines(config: ClusterConfig, data: MeteredWh) -> PointMoney:
    """Each connection point's distribution energy, capacity and overrun.

    Parameters
    ----------
    config : ClusterConfig
        Connection points and their tariffs.
    data : MeteredWh
        Import energy per step and point, Wh, and the settled part of the month.
    """
    points = config.connection_points
    zone, country = config.cluster.zone, config.cluster.country
    energy_micro = np.zeros(len(points), dtype=np.int64)
    overrun_kw = np.zeros(len(points))
    kw_per_wh = 1 / (step_hours(config.cluster.step_minutes) * WH_PER_KWH)
    for tariff in config.tariffs:
        on_tariff = [i for i, cp in enumerate(points) if cp.tariff == tariff.id]
        if not on_tariff:
            continue
        rate = grosz_per_mwh(energy_rate_pln_per_mwh(tariff, data.steps, zone, country).to_numpy())
        energy_micro[on_tariff] = data.import_wh[:, on_tariff].T @ rate
        import_kw = pd.DataFrame(data.import_wh[:, on_tariff] * kw_per_wh, index=data.steps)
        contracted = [points[i].contracted_capacity_kw for i in on_tariff]
        overrun_kw[on_tariff] = billed_overrun_kw(import_kw, contracted, tariff.overrun_rule)
    return PointMoney(
        energy_micro_grosz=energy_micro,
        import_wh=data.import_wh.sum(axis=0),
        # Overruns are measured to the watt: the sum of float kW is rounded back to it.
        overrun_w=np.rint(overrun_kw * 1000).astype(np.int64),
        month_fraction=data.month_fraction,
    )


def member_energy(
    member_ids: list[str], steps: pd.DatetimeIndex, flows: MemberFlows
) -> dict[str, MemberEnergy]:
    """Each member's quarter-hour energy frame (whole Wh), in config order.

    Parameters
    ----------
    member_ids : list of str
        The members, in the column order of ``flows``.
    steps : pandas.DatetimeIndex
        The settled quarter-hours, UTC.
    flows : MemberFlows
        The members' energy per step, Wh.
    """
    # One (members, steps, columns) block: each member's frame is a view of one
    # contiguous slice, far cheaper than 1,000 frames built column by column.
    stacked = np.stack(
        [
            flows.consumption,
            flows.allocated,
            flows.grid,
            flows.export,
            flows.delivered,
            flows.sold,
            flows.curtailed,
        ],
        axis=-1,
    ).transpose(1, 0, 2)
    stacked = np.ascontiguousarray(stacked)
    return {
        m: MemberEnergy(m, pd.DataFrame(stacked[j], index=steps, columns=list(MEMBER_COLUMNS)))
        for j, m in enumerate(member_ids)
    }


def cluster_frame(data: MeteredWh, flows: MemberFlows, prices: StepPrices) -> pd.DataFrame:
    """The cluster's quarter-hours: energy in whole Wh, prices in PLN/MWh.

    Parameters
    ----------
    data, flows, prices
        The metered period, the members' energy and the prices of the settlement.
    """
    export = data.export_wh.sum(axis=1)
    curtailed = data.curtailed_wh.sum(axis=1)
    allocated = flows.allocated.sum(axis=1)
    consumption = flows.consumption.sum(axis=1)
    return pd.DataFrame(
        {
            "production_wh": export + curtailed,
            "allocated_wh": allocated,
            "sold_wh": export - allocated,
            "curtailed_wh": curtailed,
            "consumption_wh": consumption,
            "grid_wh": consumption - allocated,
            "block_wh": prices.block_wh,
            "day_ahead_pln_per_mwh": prices.day_ahead / 100,
            "internal_price_pln_per_mwh": prices.internal / 100,
        },
        index=data.steps,
    )
