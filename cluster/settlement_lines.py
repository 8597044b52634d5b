"""A settled period's invoice lines: exact amounts split to the grosz, line by line.

Each line kind is rounded once per member (or connection point) with
:func:`~cluster.settlement.split_to_grosz`, so the members' lines of a kind
add up to the kind's rounded cluster total, internal transfers cancel to the
grosz and the statements add up to the cluster's external costs exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from cluster.config import ClusterConfig
from cluster.invoices import InvoiceLine, LineKind
from cluster.settlement import split_to_grosz
from cluster.settlement_checks import EXTERNAL_KINDS


@dataclass(frozen=True)
class MemberMoney:
    """Each member's energy lines before rounding, per line kind.

    Attributes
    ----------
    amounts : dict of LineKind to numpy.ndarray
        Exact amount per member (config order), micro-grosz; positive = the member pays.
    energy_wh : dict of LineKind to numpy.ndarray
        The energy each line bills, per member, Wh.
    """

    amounts: dict[LineKind, np.ndarray]
    energy_wh: dict[LineKind, np.ndarray]


@dataclass(frozen=True)
class PointMoney:
    """Each connection point's distribution figures before rounding (config order).

    Attributes
    ----------
    energy_micro_grosz : numpy.ndarray
        Distribution energy charge, micro-grosz.
    import_wh : numpy.ndarray
        Energy drawn from the grid in the period, Wh.
    overrun_w : numpy.ndarray
        Billed overrun by the tariff's rule, W (summed kW to the watt).
    month_fraction : fractions.Fraction
        The part of the month settled; the capacity charge is this part of a month's.
    """

    energy_micro_grosz: np.ndarray
    import_wh: np.ndarray
    overrun_w: np.ndarray
    month_fraction: Fraction


def pln_of_micro_grosz(micro_grosz: int) -> Decimal:
    """An exact amount in micro-grosz (1e-8 PLN) as PLN."""
    return Decimal(int(micro_grosz)).scaleb(-8)


def _decimal(value: float) -> Decimal:
    """A config number as the decimal a person wrote (12.6, not its binary neighbour)."""
    return Decimal(repr(float(value)))


def rounded_lines(
    config: ClusterConfig, member_money: MemberMoney, point_money: PointMoney
) -> tuple[dict[str, list[InvoiceLine]], dict[str, Decimal]]:
    """Every member's invoice lines, each kind split to the grosz across members or points.

    A member's energy line is listed when its energy or amount is not zero
    (the fixed-blocks line when its amount is not zero);
    every connection point has its distribution energy and capacity lines,
    and an overrun line when it overran.

    Parameters
    ----------
    config : ClusterConfig
        Members, connection points and tariffs.
    member_money, point_money
        The exact amounts.

    Returns
    -------
    tuple
        Lines per member id (:class:`LineKind` order, points in config order),
        and the cluster's external costs per line kind, PLN.
    """
    members = [m.id for m in config.members]
    lines: dict[str, list[InvoiceLine]] = {m: [] for m in members}
    external = {kind.value: Decimal(0) for kind in EXTERNAL_KINDS}
    for kind, micro in member_money.amounts.items():
        exact = {m: pln_of_micro_grosz(v) for m, v in zip(members, micro.tolist(), strict=True)}
        rounded = split_to_grosz(exact)
        billed = member_money.energy_wh[kind].tolist()
        # Without blocks a residual has no block share: no line of zeros for it.
        by_energy = kind is not LineKind.FIXED_BLOCKS
        for m, wh in zip(members, billed, strict=True):
            if exact[m] or (wh and by_energy):
                lines[m].append(InvoiceLine(kind, Decimal(wh).scaleb(-6), "MWh", rounded[m]))
        if kind in EXTERNAL_KINDS:
            external[kind.value] = sum(rounded.values(), Decimal(0))
    points = config.connection_points
    fraction = point_money.month_fraction
    month_part = Decimal(fraction.numerator) / Decimal(fraction.denominator)
    per_kind: dict[LineKind, tuple[str, dict[str, Decimal], dict[str, Decimal]]] = {
        LineKind.DISTRIBUTION_ENERGY: ("MWh", {}, {}),
        LineKind.DISTRIBUTION_CAPACITY: ("kW", {}, {}),
        LineKind.CAPACITY_OVERRUN: ("kW·h", {}, {}),
    }
    for i, cp in enumerate(points):
        tariff = config.tariff_of(cp)
        rate = _decimal(tariff.capacity_rate_pln_per_kw_month)
        overrun_kw = Decimal(int(point_money.overrun_w[i])).scaleb(-3)
        figures = {
            LineKind.DISTRIBUTION_ENERGY: (
                Decimal(int(point_money.import_wh[i])).scaleb(-6),
                pln_of_micro_grosz(point_money.energy_micro_grosz[i]),
            ),
            LineKind.DISTRIBUTION_CAPACITY: (
                _decimal(cp.contracted_capacity_kw),
                _decimal(cp.contracted_capacity_kw) * rate * month_part,
            ),
            LineKind.CAPACITY_OVERRUN: (
                overrun_kw,
                _decimal(tariff.overrun_multiplier) * rate * overrun_kw,
            ),
        }
        for kind, (quantity, amount) in figures.items():
            per_kind[kind][1][cp.id] = quantity
            per_kind[kind][2][cp.id] = amount
    for kind, (unit, quantities, amounts) in per_kind.items():
        rounded = split_to_grosz(amounts)
        for cp in points:
            if kind is not LineKind.CAPACITY_OVERRUN or quantities[cp.id]:
                lines[cp.member].append(
                    InvoiceLine(kind, quantities[cp.id], unit, rounded[cp.id], cp.id)
                )
        external[kind.value] = sum(rounded.values(), Decimal(0))
    return lines, external
