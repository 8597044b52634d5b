"""Tariff arithmetic: energy rates per step, block power and capacity overruns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd

from cluster.config import DayType, OverrunRule, SupplyBlock, Tariff

#: How many quarter-hour overruns the ``ten_largest`` rule charges.
TEN_LARGEST_OVERRUNS = 10


def working_days(days: Iterable[date], country: str = "PL") -> dict[date, bool]:
    """Whether each local day is a working day: Monday-Friday and not a public holiday."""
    days = list(days)
    years = sorted({d.year for d in days})
    public = holidays.country_holidays(country, years=years)
    return {d: d.weekday() < 5 and d not in public for d in days}


def _local_frame(steps: pd.DatetimeIndex, zone: ZoneInfo, country: str) -> pd.DataFrame:
    local = steps.tz_convert(zone)
    # Each local day is looked up once, not once per step.
    days, day_of_step = np.unique(local.tz_localize(None).normalize(), return_inverse=True)
    work = working_days([d.date() for d in pd.DatetimeIndex(days)], country)
    working = np.array([work[d.date()] for d in pd.DatetimeIndex(days)], dtype=bool)
    return pd.DataFrame(
        {
            "month": local.month,
            "hour": local.hour,
            "working": working[day_of_step.reshape(-1)],
        },
        index=steps,
    )


def energy_rate_pln_per_mwh(
    tariff: Tariff, steps: pd.DatetimeIndex, zone: ZoneInfo, country: str = "PL"
) -> pd.Series:
    """The distribution energy rate that applies in each step, PLN/MWh."""
    frame = _local_frame(steps, zone, country)
    # A zone depends only on (month, day type, hour): find it once per combination.
    keys = frame["month"].to_numpy() * 100 + frame["working"].to_numpy() * 50 + frame["hour"]
    combos, combo_of_step = np.unique(keys.to_numpy(), return_inverse=True)
    combo_rates = np.array(
        [
            next(
                z.rate_pln_per_mwh
                for z in tariff.zones
                if z.applies(int(key // 100), bool(key % 100 >= 50), int(key % 50))
            )
            for key in combos
        ],
        dtype=float,
    )
    return pd.Series(
        combo_rates[combo_of_step.reshape(-1)],
        index=steps,
        name=f"{tariff.id}_rate_pln_per_mwh",
        dtype=float,
    )


def block_power_kw(
    block: SupplyBlock, steps: pd.DatetimeIndex, zone: ZoneInfo, country: str = "PL"
) -> pd.Series:
    """The power a take-or-pay supply block delivers in each step, kW."""
    frame = _local_frame(steps, zone, country)
    active = frame["hour"].map(block.hours.contains).astype(bool)
    if block.days is DayType.WORKING_DAYS:
        active &= frame["working"]
    elif block.days is DayType.NON_WORKING_DAYS:
        active &= ~frame["working"]
    return pd.Series(active.to_numpy() * block.power_kw, index=steps, name=block.name, dtype=float)


def days_in_month(day: date) -> int:
    """How many days the month of ``day`` has."""
    return int(pd.Period(day, freq="M").days_in_month)


def billed_overrun_kw(
    import_kw: pd.DataFrame,
    contracted_capacity_kw: Sequence[float],
    rule: OverrunRule,
) -> pd.Series:
    r"""The billed overrun of each connection point's measured import power, kW.

    For every step :math:`t` and clock hour :math:`h`, with the quarter-hour
    overrun :math:`o_t = \max(0,\ p^{imp}_t - C)`:

    .. math::

        O^{hourly\_max\_sum} = \sum_h \max_{t \in h} o_t,
        \qquad O^{ten\_largest} = \sum_{t \in T_{10}} o_t

    - :math:`p^{imp}_t` import power in step :math:`t`, kW (energy per step
      over the step's hours);
    - :math:`C` contracted capacity, kW;
    - hours :math:`h` are UTC ``floor("h")`` groups: the repeated autumn hour
      counts twice, as the meter sees it (the same hours the optimiser's
      hourly overrun variables use);
    - :math:`T_{10}` the ten steps with the largest overruns (all steps when
      there are fewer).

    The charge is ``overrun_multiplier`` × ``capacity_rate_pln_per_kw_month`` ×
    :math:`O`, PLN.

    Parameters
    ----------
    import_kw : pandas.DataFrame
        Import power per step, kW ≥ 0, one column per connection point, on a
        sorted UTC index.
    contracted_capacity_kw : sequence of float
        Each column's contracted capacity, kW, in column order.
    rule : OverrunRule
        How the overruns of the period are summed.

    Returns
    -------
    pandas.Series
        The billed overrun :math:`O` of each column, kW (summed over hours or steps).
    """
    power = import_kw.to_numpy(dtype=float)
    capacity = np.asarray(contracted_capacity_kw, dtype=float)
    overrun = np.maximum(power - capacity[None, :], 0.0)
    if len(power) == 0:
        billed = np.zeros(power.shape[1])
    elif rule is OverrunRule.HOURLY_MAX_SUM:
        hours = pd.DatetimeIndex(import_kw.index).floor("h").asi8
        # The index is sorted, so each hour's steps are one run of rows.
        starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
        billed = np.maximum.reduceat(overrun, starts, axis=0).sum(axis=0)
    else:
        billed = np.zeros(power.shape[1])
        # Only columns that overran at all, each as one contiguous row; a full sort
        # is faster here than a partition, which degrades on the many zeros.
        over = np.flatnonzero(overrun.any(axis=0))
        rows = np.sort(np.ascontiguousarray(overrun[:, over].T), axis=1)
        billed[over] = rows[:, -TEN_LARGEST_OVERRUNS:].sum(axis=1)
    return pd.Series(billed, index=import_kw.columns, name="billed_overrun_kw")
