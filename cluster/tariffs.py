"""Tariff arithmetic: energy rates per step and the day's capacity charges."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

import holidays
import pandas as pd

from cluster.config import DayType, SupplyBlock, Tariff


def working_days(days: Iterable[date], country: str = "PL") -> dict[date, bool]:
    """Whether each local day is a working day: Monday-Friday and not a public holiday."""
    days = list(days)
    years = sorted({d.year for d in days})
    public = holidays.country_holidays(country, years=years)
    return {d: d.weekday() < 5 and d not in public for d in days}


def _local_frame(steps: pd.DatetimeIndex, zone: ZoneInfo, country: str) -> pd.DataFrame:
    local = steps.tz_convert(zone)
    work = working_days({ts.date() for ts in local}, country)
    return pd.DataFrame(
        {
            "month": local.month,
            "hour": local.hour,
            "working": [work[ts.date()] for ts in local],
        },
        index=steps,
    )


def energy_rate_pln_per_mwh(
    tariff: Tariff, steps: pd.DatetimeIndex, zone: ZoneInfo, country: str = "PL"
) -> pd.Series:
    """The distribution energy rate that applies in each step, PLN/MWh."""
    frame = _local_frame(steps, zone, country)
    rates = [
        next(z.rate_pln_per_mwh for z in tariff.zones if z.applies(m, w, h))
        for m, w, h in zip(frame["month"], frame["working"], frame["hour"], strict=True)
    ]
    return pd.Series(rates, index=steps, name=f"{tariff.id}_rate_pln_per_mwh", dtype=float)


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
