"""Settlement maths: allocation of local energy among members, and money to the grosz.

Energy is settled in whole watt-hours (integers), so that the balance of every
quarter-hour holds exactly: allocated = min(produced, consumed by the keyed
members), allocated + sold = produced. Money is exact integer arithmetic in
micro-grosz until the very end, where it becomes :class:`~decimal.Decimal`
rounded once to the grosz; splits of a total use largest-remainder rounding so
that the members' lines add up to the rounded total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from cluster.errors import KlasterError
from cluster.members import AllocationKeyKind, SettlementTerms

WH_PER_KWH = 1000
GROSZ = Decimal("0.01")
# Static shares become integer weights in parts per million: exact integer
# arithmetic without losing any share a person would write in a config.
_SHARE_SCALE = 1_000_000
# Prices are kept in grosz per MWh; Wh × grosz/MWh is micro-grosz (1e-6 grosz).
_MICRO_GROSZ_PER_GROSZ = 1_000_000
# Integer keys below this bound cannot overflow int64.
_INT64_SAFE = 2**62


class SettlementError(KlasterError):
    """Settlement inputs that cannot be settled, or a balance check that failed."""

    exit_code = 5


@dataclass(frozen=True)
class Allocation:
    """Local energy allocated to each member in each quarter-hour, in whole Wh.

    Attributes
    ----------
    consumption_wh : pandas.DataFrame
        Metered consumption, Wh, one column per member, UTC quarter-hour index.
    production_wh : pandas.Series
        Local production of all sources together, Wh.
    allocated_wh : pandas.DataFrame
        Local energy allocated to each member, Wh (same shape as consumption).
    """

    consumption_wh: pd.DataFrame
    production_wh: pd.Series
    allocated_wh: pd.DataFrame

    @property
    def sold_wh(self) -> pd.Series:
        """Local production not allocated to any member, sold to the grid, Wh."""
        return (self.production_wh - self.allocated_wh.sum(axis=1)).rename("sold_wh")

    @property
    def grid_wh(self) -> pd.DataFrame:
        """Each member's consumption not covered by local energy, Wh."""
        return self.consumption_wh - self.allocated_wh

    def check(self, keyed_members: Sequence[str] | None = None) -> None:
        """Raise :class:`SettlementError` unless every quarter-hour balances exactly.

        Parameters
        ----------
        keyed_members : sequence of str, optional
            Members that can receive local energy under the key (all by default).
        """
        allocated = self.allocated_wh.to_numpy()
        consumed = self.consumption_wh.to_numpy()
        keyed = list(self.consumption_wh.columns if keyed_members is None else keyed_members)
        eligible = self.consumption_wh[keyed].to_numpy().sum(axis=1)
        expected = np.minimum(self.production_wh.to_numpy(), eligible)
        problems = []
        if (allocated < 0).any():
            problems.append("a member was allocated negative energy")
        if (allocated > consumed).any():
            problems.append("a member was allocated more than it consumed")
        if (allocated.sum(axis=1) != expected).any():
            problems.append("allocated energy differs from min(production, consumption)")
        if problems:
            raise SettlementError(
                "the allocation does not balance: " + "; ".join(problems),
                fix="this is a defect in the allocation; report it with the input data",
            )


def to_wh(energy_kwh: pd.DataFrame) -> pd.DataFrame:
    """Metered energy in whole Wh (rounded half to even), checked to be finite and ≥ 0.

    Parameters
    ----------
    energy_kwh : pandas.DataFrame
        Energy per quarter-hour, kWh, one column per member or source.
    """
    values = energy_kwh.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise SettlementError(
            "metered energy has missing or infinite values",
            fix="fill the gaps in the meter data (estimate them) before settling",
        )
    if (values < 0).any():
        column = energy_kwh.columns[int(np.argmax((values < 0).any(axis=0)))]
        raise SettlementError(
            f"metered energy of {column!r} is negative",
            fix="give consumption and production as non-negative kWh per quarter-hour",
        )
    wh = np.rint(values * WH_PER_KWH).astype(np.int64)
    return pd.DataFrame(wh, index=energy_kwh.index, columns=energy_kwh.columns)


def _largest_remainder(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer ``total`` of each row by integer ``weights``, exactly.

    Each row's parts sum to its total (0 where a row's weights are all 0);
    leftover units go to the largest remainders, ties to the earlier column.
    """
    weight_sum = weights.sum(axis=1)
    safe_sum = np.where(weight_sum > 0, weight_sum, 1)
    scaled = total[:, None] * weights
    parts = scaled // safe_sum[:, None]
    remainder = scaled % safe_sum[:, None]
    leftover = np.where(weight_sum > 0, total - parts.sum(axis=1), 0)
    columns = weights.shape[1]
    if remainder.dtype == np.int64 and int(safe_sum.max(initial=1)) < _INT64_SAFE // columns:
        # A key unique in its row, larger for a larger remainder and, among equal
        # remainders, for the earlier column; the ``leftover`` largest keys get a
        # unit. Sorting the keys is much faster than ranking by a stable argsort.
        key = remainder * columns + (columns - 1 - np.arange(columns))[None, :]
        ordered = np.sort(key, axis=1)
        cut = np.take_along_axis(ordered, (columns - np.maximum(leftover, 1))[:, None], axis=1)
        return parts + ((key >= cut) & (leftover[:, None] > 0)).astype(np.int64)
    order = np.argsort(-remainder, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(columns)[None, :], axis=1)
    return parts + (rank < leftover[:, None]).astype(np.int64)


def split_integer(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each row's integer total by the row's integer weights, exactly.

    Largest-remainder rounding: the parts of a row add up to its total (a row
    whose weights are all 0 gets nothing); leftover units go to the largest
    remainders, ties to the earlier column. Totals may be negative.

    Parameters
    ----------
    total : numpy.ndarray
        One integer per row (int64), e.g. Wh or micro-grosz.
    weights : numpy.ndarray
        Non-negative integer weights (int64), one row per total.
    """
    return _largest_remainder(total, weights)


def _fill(
    allocated: np.ndarray, rest: np.ndarray, consumption: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Hand ``rest`` out by ``weights``, capped at consumption, re-offering what a cap frees.

    Every round either places all of a row's rest or caps at least one member,
    so at most one round per member is needed. Returns the rest left unplaced.
    """
    for _ in range(weights.shape[1] + 1):
        headroom = consumption - allocated
        active = np.where((headroom > 0) & (rest[:, None] > 0), weights, 0)
        if not (active.sum(axis=1) > 0).any():
            break
        taken = np.minimum(_largest_remainder(rest, active), headroom)
        allocated += taken
        rest = rest - taken.sum(axis=1)
    return rest


def _static_weights(members: Sequence[str], shares: Mapping[str, float]) -> np.ndarray:
    unknown = sorted(set(shares) - set(members))
    if unknown:
        raise SettlementError(
            f"static shares name members without consumption data: {', '.join(unknown)}",
            fix="give consumption for every member with a static share, or remove its share",
        )
    return np.array(
        [max(1, round(shares[m] * _SHARE_SCALE)) if m in shares else 0 for m in members],
        dtype=np.int64,
    )


def allocate(
    consumption_kwh: pd.DataFrame, production_kwh: pd.DataFrame, terms: SettlementTerms
) -> Allocation:
    """Allocate local production to members in every quarter-hour by the cluster's key.

    Parameters
    ----------
    consumption_kwh : pandas.DataFrame
        Metered consumption per quarter-hour, kWh ≥ 0, one column per member id.
        Members with a static share come first in the key's order; the rest keep
        the column order (it breaks ties of the last watt-hour).
    production_kwh : pandas.DataFrame
        Metered production per quarter-hour, kWh ≥ 0, one column per local source,
        on the same index.
    terms : SettlementTerms
        The allocation key and its static shares.

    Returns
    -------
    Allocation
        Whole-Wh allocation, checked to balance in every quarter-hour.
    """
    if not consumption_kwh.index.equals(production_kwh.index):
        raise SettlementError(
            "consumption and production cover different quarter-hours",
            fix="read both for the same period and align them on the same index",
        )
    keyed = [m for m in terms.static_shares if m in consumption_kwh.columns]
    order = keyed + [m for m in consumption_kwh.columns if m not in terms.static_shares]
    consumption = to_wh(consumption_kwh[order])
    production = to_wh(production_kwh).sum(axis=1).rename("production_wh")
    used = consumption.to_numpy()
    allocated = np.zeros_like(used)
    rest = production.to_numpy().copy()
    if terms.allocation_key is AllocationKeyKind.DYNAMIC:
        _fill(allocated, rest, used, used)
    else:
        static = np.broadcast_to(_static_weights(order, terms.static_shares), used.shape)
        if terms.allocation_key is AllocationKeyKind.STATIC:
            _fill(allocated, rest, used, static)
        else:
            # Hybrid: one static round (a capped member's surplus is not re-offered
            # by shares), then the remainder by the consumption still uncovered.
            taken = np.minimum(_largest_remainder(rest, static), used)
            allocated += taken
            rest = rest - taken.sum(axis=1)
            _fill(allocated, rest, used, used - allocated)
    result = Allocation(
        consumption_wh=consumption,
        production_wh=production,
        allocated_wh=pd.DataFrame(allocated, index=consumption.index, columns=order),
    )
    eligible = keyed if terms.allocation_key is AllocationKeyKind.STATIC else None
    result.check(eligible)
    return result


def round_to_grosz(amount_pln: Decimal) -> Decimal:
    """An amount rounded to the grosz, half away from zero, PLN."""
    return amount_pln.quantize(GROSZ, rounding=ROUND_HALF_UP)


def split_to_grosz(amounts_pln: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Round each amount to the grosz so that the parts add up to the rounded total.

    Each part is rounded down to the grosz, then the grosze missing from the
    rounded total go one each to the largest remainders (ties to the earlier key).

    Parameters
    ----------
    amounts_pln : mapping of str to Decimal
        Exact amounts, PLN (may be negative).
    """
    total = round_to_grosz(sum(amounts_pln.values(), Decimal(0)))
    floors = {
        k: (v / GROSZ).to_integral_value(rounding=ROUND_FLOOR) for k, v in amounts_pln.items()
    }
    missing = int(total / GROSZ - sum(floors.values(), Decimal(0)))
    by_remainder = sorted(
        amounts_pln, key=lambda k: -(amounts_pln[k] / GROSZ - floors[k])
    )  # sorted is stable: equal remainders keep the mapping's order
    bonus = set(by_remainder[:missing])
    return {k: (floors[k] + (1 if k in bonus else 0)) * GROSZ for k in amounts_pln}


def internal_price_pln_per_mwh(
    terms: SettlementTerms, sell_back_pln_per_mwh: pd.Series, purchase_pln_per_mwh: pd.Series
) -> pd.Series:
    """The internal price of local energy in each quarter-hour, PLN/MWh, to the grosz.

    Parameters
    ----------
    terms : SettlementTerms
        A fixed internal price, or the split factor between the two prices.
    sell_back_pln_per_mwh : pandas.Series
        What the cluster would get for selling a MWh to the grid, PLN/MWh.
    purchase_pln_per_mwh : pandas.Series
        What a member would pay for a MWh from the grid, PLN/MWh.
    """
    if terms.internal_price_pln_per_mwh is not None:
        price = pd.Series(terms.internal_price_pln_per_mwh, index=sell_back_pln_per_mwh.index)
    else:
        gap = purchase_pln_per_mwh - sell_back_pln_per_mwh
        price = sell_back_pln_per_mwh + terms.internal_price_split * gap
    # A price is quoted to the grosz per MWh; rounding it here keeps every later
    # product exact in integers.
    return price.round(2).rename("internal_price_pln_per_mwh")


def grosz_per_mwh(price_pln_per_mwh: np.ndarray | float) -> np.ndarray:
    """Prices in PLN/MWh as whole grosz/MWh (int64): prices are quoted to the grosz."""
    return np.rint(np.asarray(price_pln_per_mwh, dtype=float) * 100).astype(np.int64)


def energy_cost_pln(energy_wh: pd.DataFrame, price_pln_per_mwh: pd.Series) -> dict[str, Decimal]:
    """Exact cost of each column's energy at a price per quarter-hour, PLN (not rounded).

    Parameters
    ----------
    energy_wh : pandas.DataFrame
        Energy per quarter-hour, whole Wh, one column per member.
    price_pln_per_mwh : pandas.Series
        Price per quarter-hour on the same index, PLN/MWh, to the grosz.
    """
    price = price_pln_per_mwh.reindex(energy_wh.index).to_numpy(dtype=float)
    if not np.isfinite(price).all():
        raise SettlementError(
            "the price is missing for some quarter-hours of the energy",
            fix="give a price for every quarter-hour of the settled period",
        )
    micro_grosz = (energy_wh.to_numpy().astype(np.int64) * grosz_per_mwh(price)[:, None]).sum(
        axis=0
    )
    scale = Decimal(_MICRO_GROSZ_PER_GROSZ * 100)
    return {
        str(m): Decimal(int(v)) / scale for m, v in zip(energy_wh.columns, micro_grosz, strict=True)
    }
