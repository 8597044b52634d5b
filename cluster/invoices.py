"""What a settlement produces: invoice lines per member, the energy they rest on, the totals.

Plain frozen data shared by the settlement maths (which fills it), the run
registry (which stores it) and the reports (which present it). Money is
:class:`~decimal.Decimal` rounded to the grosz; energy is whole Wh in frames
and MWh (Decimal, to the Wh) on invoice lines. A positive amount is owed by
the member, a negative one is owed to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import pandas as pd

from cluster.members import SettlementTerms, SupplyContract


class LineKind(StrEnum):
    """The kinds of invoice line, in the order a statement lists them."""

    #: Local energy allocated to the member, at the internal price.
    LOCAL_ENERGY = "local_energy"
    #: The member's residual (grid) energy at the day-ahead price of each quarter-hour.
    DAY_AHEAD_ENERGY = "day_ahead_energy"
    #: The supplier's margin on the member's residual energy.
    SUPPLIER_MARGIN = "supplier_margin"
    #: The member's share, by its residual profile, of the fixed-price blocks'
    #: result: block cost, less the day-ahead energy the blocks replaced, less
    #: the revenue of unused block energy sold back.
    FIXED_BLOCKS = "fixed_blocks"
    #: A producer's energy used by other members, paid at the internal price (credit).
    LOCAL_ENERGY_DELIVERED = "local_energy_delivered"
    #: A producer's energy the cluster could not use, sold to the grid (credit).
    SURPLUS_SOLD = "surplus_sold"
    #: Distribution energy charge of a connection point, by its tariff zones.
    DISTRIBUTION_ENERGY = "distribution_energy"
    #: Distribution capacity charge of a connection point: contracted kW × rate.
    DISTRIBUTION_CAPACITY = "distribution_capacity"
    #: Charge for exceeding a connection point's contracted capacity.
    CAPACITY_OVERRUN = "capacity_overrun"


@dataclass(frozen=True)
class InvoiceLine:
    """One line of a member's statement.

    Attributes
    ----------
    kind : LineKind
        What the line charges or credits.
    quantity : Decimal
        The billed quantity in ``unit`` (energy in MWh to the Wh, capacity in kW).
    unit : str
        ``"MWh"``, ``"kW"`` (contracted capacity) or ``"kW·h"`` (summed overruns).
    amount_pln : Decimal
        The amount rounded to the grosz, PLN; positive = the member pays.
    connection_point_id : str or None
        The connection point of a distribution line; None for energy lines.
    """

    kind: LineKind
    quantity: Decimal
    unit: str
    amount_pln: Decimal
    connection_point_id: str | None = None


@dataclass(frozen=True)
class MemberStatement:
    """A member's month: its invoice lines and what standing alone would have cost.

    Attributes
    ----------
    member_id : str
        The member.
    lines : tuple of InvoiceLine
        In :class:`LineKind` order, distribution lines per connection point.
    standalone_pln : Decimal
        The counterfactual: the same metered energy on the member's own tariff
        and standalone supply price, exports sold alone, PLN (to the grosz).
    shapley_saving_pln : Decimal or None
        The member's Shapley share of the cluster's total saving, PLN, when computed.
    """

    member_id: str
    lines: tuple[InvoiceLine, ...]
    standalone_pln: Decimal
    shapley_saving_pln: Decimal | None = None

    @property
    def total_pln(self) -> Decimal:
        """What the member owes for the month, PLN (negative: the cluster owes it)."""
        return sum((line.amount_pln for line in self.lines), Decimal(0))

    @property
    def saving_pln(self) -> Decimal:
        """What being in the cluster saved the member, PLN."""
        return self.standalone_pln - self.total_pln

    @property
    def saving_pct(self) -> float | None:
        """Saving as a percentage of the standalone cost; None when that cost is not positive."""
        if self.standalone_pln <= 0:
            return None
        return float(self.saving_pln / self.standalone_pln * 100)


@dataclass(frozen=True)
class MemberEnergy:
    """A member's energy in each quarter-hour of the period, whole Wh, UTC index.

    Attributes
    ----------
    frame : pandas.DataFrame
        Columns ``consumption_wh`` (metered import), ``local_wh`` (allocated local
        energy), ``grid_wh`` (consumption not covered locally), ``export_wh``
        (metered export), ``delivered_wh`` (export used by other members or
        itself), ``sold_wh`` (export sold to the grid), ``curtailed_wh``.
    """

    member_id: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class MeteredPeriod:
    """The metered inputs of a settlement, one row per quarter-hour of the period (UTC).

    Attributes
    ----------
    import_kwh, export_kwh, curtailed_kwh : pandas.DataFrame
        Energy per step, kWh ≥ 0, one column per connection point of the config
        (all of them, in config order; zeros where a point never exports or curtails).
    day_ahead_pln_per_mwh : pandas.Series
        The day-ahead price of each step, PLN/MWh.
    """

    import_kwh: pd.DataFrame
    export_kwh: pd.DataFrame
    curtailed_kwh: pd.DataFrame
    day_ahead_pln_per_mwh: pd.Series


@dataclass(frozen=True)
class Settlement:
    """A settled period: per member statements and energy, and the cluster's aggregates.

    Attributes
    ----------
    cluster_name : str
        The cluster's name, for reports.
    period : str
        The settled month, ``YYYY-MM`` (local time of the cluster).
    start, end : pandas.Timestamp
        The period's first quarter-hour and the end of its last, UTC.
    statements : dict of str to MemberStatement
        Per member, in the config's member order.
    energy : dict of str to MemberEnergy
        Per member, in the config's member order.
    cluster_energy : pandas.DataFrame
        Per quarter-hour, whole Wh: ``production_wh`` (export + curtailed),
        ``allocated_wh``, ``sold_wh``, ``curtailed_wh``, ``consumption_wh``,
        ``grid_wh``, ``block_wh``; and ``day_ahead_pln_per_mwh``,
        ``internal_price_pln_per_mwh``.
    external_costs_pln : dict of str to Decimal
        The cluster's own money to the grosz, keyed by :class:`LineKind` value:
        what it pays the supplier and the distributor, less what it gets for
        energy sold; internal transfers (local energy) are absent. Their sum
        equals the sum of all statements' totals exactly.
    member_names : dict of str to str
        The members' names by id, for reports (a member without one is shown by its id).
    timezone : str
        The cluster's IANA time zone, for local dates in reports.
    terms : SettlementTerms or None
        The terms the period was settled under, for the reports' explanation.
    supply : SupplyContract or None
        The joint-purchase contract of the period, for the reports' explanation.
    """

    cluster_name: str
    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    statements: dict[str, MemberStatement]
    energy: dict[str, MemberEnergy]
    cluster_energy: pd.DataFrame
    external_costs_pln: dict[str, Decimal]
    member_names: dict[str, str] = field(default_factory=dict)
    timezone: str = "Europe/Warsaw"
    terms: SettlementTerms | None = None
    supply: SupplyContract | None = None

    @property
    def total_pln(self) -> Decimal:
        """The cluster's costs net of revenues for the period, PLN."""
        return sum(self.external_costs_pln.values(), Decimal(0))
