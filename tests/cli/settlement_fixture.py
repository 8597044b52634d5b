"""A small, consistent settlement built by hand: three members over three days of quarter-hours.

A school, a bakery with two connection points and a PV farm (which also uses a
little energy itself), settled with the dynamic key, an internal price halfway
between the sell-back and purchase prices, and one fixed-price block. Every
line follows the settlement design's formulas, each line kind is split to the
grosz over the members, so the members' totals equal the cluster's external
costs exactly; the reports' tests rely on that, not on the settlement code.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from cluster.fields import HourRange
from cluster.invoices import (
    InvoiceLine,
    LineKind,
    MemberEnergy,
    MemberStatement,
    Settlement,
)
from cluster.members import SettlementTerms, SupplyBlock, SupplyContract
from cluster.settlement import (
    allocate,
    energy_cost_pln,
    internal_price_pln_per_mwh,
    round_to_grosz,
    split_to_grosz,
)

ZONE = "Europe/Warsaw"
MEMBERS = {
    "szkola_zagorze": "Szkoła Podstawowa w Zagórzu",
    "piekarnia_lan": "Piekarnia Łan",
    "pv_bukowka": "Farma Fotowoltaiczna Bukówka",
}
#: Connection point id → (member id, contracted kW).
CONNECTION_POINTS = {
    "szkola_zagorze_ppe": ("szkola_zagorze", 40.0),
    "piekarnia_lan_ppe1": ("piekarnia_lan", 26.0),
    "piekarnia_lan_ppe2": ("piekarnia_lan", 15.0),
    "pv_bukowka_ppe": ("pv_bukowka", 50.0),
}
DAYS = 3
MARGIN = 20.0
SELL_FEE = 10.0
BLOCK_KW = 30.0
BLOCK_PRICE = Decimal("450.00")
DISTRIBUTION_RATE = 180.5
CAPACITY_RATE = Decimal("25.40")
OVERRUN_MULTIPLIER = Decimal(10)
STANDALONE_PRICE = 760.0
STANDALONE_SELL_FEE = 40.0
_MWH = Decimal("0.000001")


def _index() -> pd.DatetimeIndex:
    start = pd.Timestamp("2026-11-02 00:00", tz=ZONE)  # a Monday
    return pd.date_range(start, periods=DAYS * 96, freq="15min").tz_convert("UTC")


def metered_wh(index: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Import, export and curtailed energy per connection point, whole Wh."""
    local = index.tz_convert(ZONE)
    hour = np.asarray(local.hour + local.minute / 60)
    day = np.asarray((local.normalize() - local[0].normalize()).days)
    school = 2000 + 6000 * ((hour >= 8) & (hour < 15))
    bakery_1 = 3000 + 3000 * ((hour >= 4) & (hour < 6))
    bakery_1 = np.where((day == 0) & (hour == 5), 7000, bakery_1)  # 28 kW > 26 kW contracted
    bakery_2 = 1500 + 500 * ((hour >= 6) & (hour < 18))
    sun = np.clip(np.sin(np.pi * (hour - 7) / 9), 0, None) * ((hour > 7) & (hour < 16))
    export = np.rint(16000 * sun).astype(np.int64)
    curtailed = np.where((day == 1) & (hour >= 11) & (hour < 13), 1500, 0)
    columns = list(CONNECTION_POINTS)
    imports = pd.DataFrame(
        np.column_stack([school, bakery_1, bakery_2, np.full(len(index), 100)]),
        index=index,
        columns=columns,
    ).astype("int64")
    exports = pd.DataFrame(0, index=index, columns=columns, dtype="int64")
    exports["pv_bukowka_ppe"] = export
    curtail = pd.DataFrame(0, index=index, columns=columns, dtype="int64")
    curtail["pv_bukowka_ppe"] = curtailed
    return imports, exports, curtail


def _by_member(per_point: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            member: per_point[
                [cp for cp, (owner, _) in CONNECTION_POINTS.items() if owner == member]
            ].sum(axis=1)
            for member in MEMBERS
        }
    )


def _mwh(energy_wh: float) -> Decimal:
    return (Decimal(int(energy_wh)) / 1_000_000).quantize(_MWH)


def _overrun_kw_h(import_wh: pd.Series, contracted_kw: float) -> Decimal:
    """Σ over hours of the hour's largest quarter-hour overrun, kW (the hourly_max_sum rule)."""
    over_kw = (import_wh * 4 / 1000 - contracted_kw).clip(lower=0)
    return Decimal(
        str(
            round(float(over_kw.groupby(pd.DatetimeIndex(over_kw.index).floor("h")).max().sum()), 3)
        )
    )


def build_settlement(*, shapley: bool = True) -> Settlement:
    """The three members' settlement of three November days (see the module's docstring)."""
    index = _index()
    imports, exports, curtailed = metered_wh(index)
    consumption, export, curtail = _by_member(imports), _by_member(exports), _by_member(curtailed)
    terms = SettlementTerms(
        standalone_price_pln_per_mwh=STANDALONE_PRICE,
        standalone_sell_fee_pln_per_mwh=STANDALONE_SELL_FEE,
    )
    supply = SupplyContract(
        blocks=[
            SupplyBlock(
                name="dzień", power_kw=BLOCK_KW, price_pln_per_mwh=float(BLOCK_PRICE),
                hours=HourRange(start=8, end=16),
            )
        ],
        day_ahead_margin_pln_per_mwh=MARGIN,
        sell_back_fee_pln_per_mwh=SELL_FEE,
    )  # fmt: skip
    allocation = allocate(consumption / 1000, export / 1000, terms)
    local = allocation.allocated_wh[list(MEMBERS)]
    grid = consumption - local
    delivered = pd.DataFrame(0, index=index, columns=list(MEMBERS), dtype="int64")
    delivered["pv_bukowka"] = local.sum(axis=1)  # the only exporter delivers it all
    sold = export - delivered

    hour = np.asarray(index.tz_convert(ZONE).hour)
    day_ahead = pd.Series(np.round(420 + 180 * np.sin(np.pi * hour / 12), 2), index=index)
    internal = internal_price_pln_per_mwh(terms, day_ahead - SELL_FEE, day_ahead + MARGIN)
    block_wh = pd.Series(np.where((hour >= 8) & (hour < 16), int(BLOCK_KW * 250), 0), index=index)

    # The blocks' result per quarter-hour, shared by the members' residual (grid) energy.
    # Where no member draws from the grid, by the members' residual in the block hours.
    residual = grid.sum(axis=1)
    in_blocks = grid[block_wh > 0].sum()
    blocks_exact = dict.fromkeys(MEMBERS, Decimal(0))
    grid_by_step = grid.to_numpy()
    for step, (block, res, price) in enumerate(
        zip(block_wh.to_numpy(), residual.to_numpy(), day_ahead.to_numpy(), strict=True)
    ):
        b, r = int(block), int(res)
        buy = Decimal(str(price)) + Decimal(str(MARGIN))
        sell = Decimal(str(price)) - Decimal(str(SELL_FEE))
        cost = b * BLOCK_PRICE + max(r - b, 0) * buy - max(b - r, 0) * sell
        delta = (cost - r * buy) / 1_000_000
        weights = grid_by_step[step] if r > 0 else in_blocks.to_numpy()
        for column, m in enumerate(MEMBERS):
            blocks_exact[m] += delta * int(weights[column]) / int(weights.sum())

    def flat(price: float) -> pd.Series:
        return pd.Series(price, index=index)

    member_kinds = {
        LineKind.LOCAL_ENERGY: (energy_cost_pln(local, internal), local),
        LineKind.DAY_AHEAD_ENERGY: (energy_cost_pln(grid, day_ahead), grid),
        LineKind.SUPPLIER_MARGIN: (energy_cost_pln(grid, flat(MARGIN)), grid),
        LineKind.FIXED_BLOCKS: (blocks_exact, grid),
        LineKind.LOCAL_ENERGY_DELIVERED: (
            {m: -v for m, v in energy_cost_pln(delivered, internal).items()},
            delivered,
        ),
        LineKind.SURPLUS_SOLD: (
            {m: -v for m, v in energy_cost_pln(sold, day_ahead - SELL_FEE).items()},
            sold,
        ),
    }
    fraction = Decimal(DAYS) / 30
    point_kinds = {
        LineKind.DISTRIBUTION_ENERGY: (
            energy_cost_pln(imports, flat(DISTRIBUTION_RATE)),
            {cp: ("MWh", _mwh(imports[cp].sum())) for cp in CONNECTION_POINTS},
        ),
        LineKind.DISTRIBUTION_CAPACITY: (
            {cp: Decimal(str(kw)) * CAPACITY_RATE * fraction
             for cp, (_, kw) in CONNECTION_POINTS.items()},
            {cp: ("kW", Decimal(str(kw))) for cp, (_, kw) in CONNECTION_POINTS.items()},
        ),
    }  # fmt: skip
    overrun = {
        cp: _overrun_kw_h(imports[cp], kw)
        for cp, (_, kw) in CONNECTION_POINTS.items()
        if _overrun_kw_h(imports[cp], kw) > 0
    }
    point_kinds[LineKind.CAPACITY_OVERRUN] = (
        {cp: OVERRUN_MULTIPLIER * CAPACITY_RATE * kw_h for cp, kw_h in overrun.items()},
        {cp: ("kW·h", kw_h) for cp, kw_h in overrun.items()},
    )

    lines: dict[str, list[InvoiceLine]] = {m: [] for m in MEMBERS}
    external: dict[str, Decimal] = {}
    for kind, (exact, billed) in member_kinds.items():
        rounded = split_to_grosz(exact)
        for m in MEMBERS:
            if billed[m].sum() > 0:
                lines[m].append(InvoiceLine(kind, _mwh(billed[m].sum()), "MWh", rounded[m]))
        if kind not in (LineKind.LOCAL_ENERGY, LineKind.LOCAL_ENERGY_DELIVERED):
            external[kind.value] = sum(rounded.values(), Decimal(0))
    distribution = dict.fromkeys(MEMBERS, Decimal(0))
    for kind, (exact, quantities) in point_kinds.items():
        rounded = split_to_grosz(exact)
        for cp, amount in rounded.items():
            member, _ = CONNECTION_POINTS[cp]
            unit, quantity = quantities[cp]
            lines[member].append(InvoiceLine(kind, quantity, unit, amount, cp))
            distribution[member] += amount
        external[kind.value] = sum(rounded.values(), Decimal(0))

    alone = {m: Decimal(0) for m in MEMBERS}
    bought = energy_cost_pln(consumption, flat(STANDALONE_PRICE))
    sold_alone = energy_cost_pln(export, day_ahead - STANDALONE_SELL_FEE)
    for m in MEMBERS:
        alone[m] = round_to_grosz(bought[m] - sold_alone[m]) + distribution[m]
    totals = {m: sum((line.amount_pln for line in lines[m]), Decimal(0)) for m in MEMBERS}
    fair: dict[str, Decimal | None] = dict.fromkeys(MEMBERS)
    if shapley:
        # A stand-in for the Shapley shares: the cluster's saving split by consumption.
        saving = sum(alone.values(), Decimal(0)) - sum(totals.values(), Decimal(0))
        used = {m: Decimal(int(consumption[m].sum())) for m in MEMBERS}
        fair = dict(split_to_grosz({m: saving * used[m] / sum(used.values()) for m in MEMBERS}))

    energy = {
        m: MemberEnergy(
            m,
            pd.DataFrame(
                {
                    "consumption_wh": consumption[m],
                    "local_wh": local[m],
                    "grid_wh": grid[m],
                    "export_wh": export[m],
                    "delivered_wh": delivered[m],
                    "sold_wh": sold[m],
                    "curtailed_wh": curtail[m],
                }
            ).astype("int64"),
        )
        for m in MEMBERS
    }
    cluster_energy = pd.DataFrame(
        {
            "production_wh": export.sum(axis=1) + curtail.sum(axis=1),
            "allocated_wh": local.sum(axis=1),
            "sold_wh": sold.sum(axis=1),
            "curtailed_wh": curtail.sum(axis=1),
            "consumption_wh": consumption.sum(axis=1),
            "grid_wh": residual,
            "block_wh": block_wh,
        }
    ).astype("int64")
    cluster_energy["day_ahead_pln_per_mwh"] = day_ahead
    cluster_energy["internal_price_pln_per_mwh"] = internal
    statements = {m: MemberStatement(m, tuple(lines[m]), alone[m], fair[m]) for m in MEMBERS}
    settlement = Settlement(
        cluster_name="Klaster Energii Dolina Bobrzy",
        period="2026-11",
        start=index[0],
        end=index[-1] + pd.Timedelta(minutes=15),
        statements=statements,
        energy=energy,
        cluster_energy=cluster_energy,
        external_costs_pln=external,
        member_names=dict(MEMBERS),
        timezone=ZONE,
        terms=terms,
        supply=supply,
    )
    assert sum(totals.values(), Decimal(0)) == settlement.total_pln
    return settlement
