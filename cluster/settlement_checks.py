"""Checks of a settlement: its metered inputs before, and its balances after.

:func:`read_metered` refuses inputs that cannot be settled (a missing or
unknown connection point, a gap, a negative or missing value, a price gap),
naming the point and the quarter-hour. :func:`check_settlement` proves a
settled period: in every quarter-hour the allocated energy equals the local
production used in the cluster and production = allocated + sold + curtailed,
each member's energy adds up, and the statements add up to the cluster's
external costs to the grosz. It fails loudly, naming the quarter-hour and the
member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.config import ClusterConfig
from cluster.invoices import LineKind, MeteredPeriod, Settlement
from cluster.settlement import WH_PER_KWH, SettlementError, grosz_per_mwh
from cluster.timegrid import month_steps

#: Line kinds that are the cluster's own money with the outside world.
EXTERNAL_KINDS = (
    LineKind.DAY_AHEAD_ENERGY,
    LineKind.SUPPLIER_MARGIN,
    LineKind.FIXED_BLOCKS,
    LineKind.SURPLUS_SOLD,
    LineKind.DISTRIBUTION_ENERGY,
    LineKind.DISTRIBUTION_CAPACITY,
    LineKind.CAPACITY_OVERRUN,
)

#: The columns of a member's energy frame, in order (whole Wh).
MEMBER_COLUMNS = (
    "consumption_wh", "local_wh", "grid_wh", "export_wh", "delivered_wh", "sold_wh",
    "curtailed_wh",
)  # fmt: skip
_BALANCE_FIX = "this is a defect in the settlement; report it with the run's input data"


def describe_step(step: pd.Timestamp, zone: ZoneInfo) -> str:
    """A quarter-hour named in UTC and in the cluster's local time, for messages."""
    utc = pd.Timestamp(step).tz_convert("UTC")
    return f"the quarter-hour {utc:%Y-%m-%d %H:%M} UTC ({utc.tz_convert(zone):%H:%M} local)"


@dataclass(frozen=True)
class MeteredWh:
    """Metered inputs checked and converted: whole Wh per step and prices in grosz/MWh.

    Attributes
    ----------
    steps : pandas.DatetimeIndex
        The settled quarter-hours, UTC, a gapless run of the month's steps.
    import_wh, export_wh, curtailed_wh : numpy.ndarray
        Energy per step and connection point (config order), Wh, int64.
    day_ahead_grosz : numpy.ndarray
        Day-ahead price per step, grosz/MWh, int64.
    month_fraction : fractions.Fraction
        The part of the month's steps settled (1 for a whole month).
    """

    steps: pd.DatetimeIndex
    import_wh: np.ndarray
    export_wh: np.ndarray
    curtailed_wh: np.ndarray
    day_ahead_grosz: np.ndarray
    month_fraction: Fraction


def read_metered(config: ClusterConfig, month: date, metered: MeteredPeriod) -> MeteredWh:
    """Check the metered inputs against the config and the month, and convert them to Wh.

    Parameters
    ----------
    config : ClusterConfig
        Gives the connection points (every one needs a column) and the time grid.
    month : datetime.date
        Any day of the settled local month.
    metered : MeteredPeriod
        Energy in kWh per step and the day-ahead price in PLN/MWh.
    """
    zone = config.cluster.zone
    month_index = month_steps(month, zone, config.cluster.step_minutes)
    steps = pd.DatetimeIndex(metered.import_kwh.index)
    frames = {
        "import": metered.import_kwh,
        "export": metered.export_kwh,
        "curtailed": metered.curtailed_kwh,
    }
    for name, frame in frames.items():
        if not frame.index.equals(steps):
            raise SettlementError(
                f"the metered {name} energy covers other quarter-hours than the import energy",
                fix="read import, export and curtailed energy for the same quarter-hours",
            )
    if steps.tz is None or len(steps) == 0:
        raise SettlementError(
            f"the metered period of {month:%Y-%m} has no quarter-hours on a UTC index",
            fix="read the month's metered energy with a timezone-aware UTC index",
        )
    positions = month_index.get_indexer(steps)
    if (positions < 0).any():
        outside = steps[int(np.argmax(positions < 0))]
        raise SettlementError(
            f"{describe_step(outside, zone)} is not a quarter-hour of {month:%Y-%m}",
            fix="settle one local month: give only its quarter-hours, on the step grid",
        )
    jumps = np.flatnonzero(np.diff(positions) != 1)
    if jumps.size:
        after = int(positions[jumps[0]])
        raise SettlementError(
            f"the metered period is not a gapless run of quarter-hours: after "
            f"{describe_step(month_index[after], zone)} comes "
            f"{describe_step(steps[jumps[0] + 1], zone)}",
            fix="give every quarter-hour of the period once, in time order (estimate gaps)",
        )
    point_ids = [cp.id for cp in config.connection_points]
    energy = {name: _energy_wh(frame, point_ids, name, zone) for name, frame in frames.items()}
    return MeteredWh(
        steps=steps,
        import_wh=energy["import"],
        export_wh=energy["export"],
        curtailed_wh=energy["curtailed"],
        day_ahead_grosz=_day_ahead_grosz(metered.day_ahead_pln_per_mwh, steps, zone),
        month_fraction=Fraction(len(steps), len(month_index)),
    )


def _energy_wh(frame: pd.DataFrame, point_ids: list[str], name: str, zone: ZoneInfo) -> np.ndarray:
    missing = [cp for cp in point_ids if cp not in frame.columns]
    if missing:
        raise SettlementError(
            f"the metered {name} energy has no column for connection point(s) {', '.join(missing)}",
            fix="give a column for every connection point of the config "
            "(zeros where a point never exports or curtails)",
        )
    unknown = [str(c) for c in frame.columns if c not in set(point_ids)]
    if unknown:
        raise SettlementError(
            f"the metered {name} energy has columns {', '.join(unknown)}, "
            "which are not connection points of the config",
            fix="remove them, or add the connection points to the config",
        )
    values = frame[point_ids].to_numpy(dtype=float)
    bad = ~(values >= 0) | ~np.isfinite(values)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        value = values[row, column]
        what = "is missing" if np.isnan(value) else f"is {value} kWh"
        raise SettlementError(
            f"the metered {name} energy of connection point {point_ids[column]!r} in "
            f"{describe_step(frame.index[row], zone)} {what}",
            fix="give energy as finite, non-negative kWh per quarter-hour (estimate gaps)",
        )
    return np.rint(values * WH_PER_KWH).astype(np.int64)


def _day_ahead_grosz(price: pd.Series, steps: pd.DatetimeIndex, zone: ZoneInfo) -> np.ndarray:
    if not price.index.is_unique:
        raise SettlementError(
            "the day-ahead price has repeated quarter-hours",
            fix="give one day-ahead price per quarter-hour",
        )
    values = price.reindex(steps).to_numpy(dtype=float)
    gaps = ~np.isfinite(values)
    if gaps.any():
        raise SettlementError(
            f"the day-ahead price is missing in {int(gaps.sum())} quarter-hour(s), the first "
            f"{describe_step(steps[int(np.argmax(gaps))], zone)}",
            fix="import the day-ahead prices of the whole period before settling",
        )
    return grosz_per_mwh(values)


def check_settlement(settlement: Settlement) -> None:
    """Raise :class:`SettlementError` unless the settled period balances exactly.

    Energy, in every quarter-hour: each member's consumption = local + grid and
    export = delivered + sold, none negative; the cluster's allocated energy =
    the members' local energy = the local production used in the cluster (the
    members' delivered energy); production = allocated + sold + curtailed, and
    the cluster's columns are the sums of the members'. Money: the statements'
    totals add up to the external costs to the grosz, and so do each external
    line kind's member lines (so the internal transfers cancel).

    Parameters
    ----------
    settlement : Settlement
        A settled period (as made by ``settle`` or read back from a run).
    """
    zone = ZoneInfo(settlement.timezone)
    cluster = settlement.cluster_energy
    steps = pd.DatetimeIndex(cluster.index)
    members = list(settlement.energy)
    for member_id in members:
        frame = settlement.energy[member_id].frame
        if not frame.index.equals(steps) or list(frame.columns) != list(MEMBER_COLUMNS):
            raise SettlementError(
                f"the energy of member {member_id!r} covers other quarter-hours than the "
                f"cluster's, or has other columns than {', '.join(MEMBER_COLUMNS)}",
                fix=_BALANCE_FIX,
            )
    # (members, steps, columns) -> one (steps, members) array per column.
    stacked = np.stack([settlement.energy[m].frame.to_numpy(dtype=np.int64) for m in members])
    energy = {column: stacked[:, :, k].T for k, column in enumerate(MEMBER_COLUMNS)}

    def member_problem(failing: np.ndarray, what: str) -> None:
        if failing.any():
            row, column = (int(i) for i in np.argwhere(failing)[0])
            raise SettlementError(
                f"in {describe_step(steps[row], zone)} member {members[column]!r}: {what}",
                fix=_BALANCE_FIX,
            )

    for column, values in energy.items():
        member_problem(values < 0, f"{column} is negative")
    member_problem(
        energy["consumption_wh"] != energy["local_wh"] + energy["grid_wh"],
        "consumption differs from local + grid energy",
    )
    member_problem(
        energy["export_wh"] != energy["delivered_wh"] + energy["sold_wh"],
        "export differs from delivered + sold energy",
    )

    def total(column: str) -> np.ndarray:
        return cluster[column].to_numpy(dtype=np.int64)

    def members_sum(column: str) -> np.ndarray:
        return energy[column].sum(axis=1)

    balances = (
        (total("allocated_wh"), members_sum("local_wh"), "allocated energy",
         "the energy allocated to members"),
        (total("allocated_wh"), members_sum("delivered_wh"), "allocated energy",
         "the local production used in the cluster"),
        (total("production_wh"),
         total("allocated_wh") + total("sold_wh") + total("curtailed_wh"),
         "production", "allocated + sold + curtailed energy"),
        (total("production_wh"), members_sum("export_wh") + members_sum("curtailed_wh"),
         "production", "the members' export + curtailed energy"),
        (total("sold_wh"), members_sum("sold_wh"), "sold energy", "the members' sold energy"),
        (total("consumption_wh"), members_sum("consumption_wh"), "consumption",
         "the members' consumption"),
        (total("grid_wh"), members_sum("grid_wh"), "grid energy", "the members' grid energy"),
    )  # fmt: skip
    for left, right, left_name, right_name in balances:
        failing = left != right
        if failing.any():
            row = int(np.argmax(failing))
            raise SettlementError(
                f"in {describe_step(steps[row], zone)} {left_name} ({int(left[row])} Wh) "
                f"differs from {right_name} ({int(right[row])} Wh)",
                fix=_BALANCE_FIX,
            )
    _check_money(settlement)


def _check_money(settlement: Settlement) -> None:
    by_kind = {kind: Decimal(0) for kind in LineKind}
    for statement in settlement.statements.values():
        for line in statement.lines:
            by_kind[line.kind] += line.amount_pln
    external = settlement.external_costs_pln
    statements = sum(by_kind.values(), Decimal(0))
    if statements != settlement.total_pln:
        raise SettlementError(
            f"the members' statements add up to {statements} PLN, the cluster's external "
            f"costs to {settlement.total_pln} PLN",
            fix=_BALANCE_FIX,
        )
    # Equal totals can still hide errors that cancel: each kind must add up too (the
    # internal transfers then cancel, being the rest of the total).
    for kind in EXTERNAL_KINDS:
        stated = external.get(kind.value, Decimal(0))
        if by_kind[kind] != stated:
            raise SettlementError(
                f"the members' {kind.value} lines add up to {by_kind[kind]} PLN, "
                f"the cluster's {kind.value} cost is {stated} PLN",
                fix=_BALANCE_FIX,
            )
