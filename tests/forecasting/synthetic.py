"""Synthetic series with a known structure, for the forecasting tests.

The planted load is 100 at night and 110 in the daytime (06:00-22:00 local)
every day, 160 during working hours (07:00-17:00 local) on working days and
130 on Saturday mornings (08:00-13:00 local); Sundays and public holidays
keep the plain daytime level. A daily pattern, a weekly one and a holiday
effect, all on the local wall clock. Noise is Gaussian with a known spread.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.calendar import DayKind, day_calendar

WARSAW = ZoneInfo("Europe/Warsaw")
NIGHT_LEVEL = 100.0
DAYTIME_LEVEL = 110.0
WORKING_LEVEL = 160.0
SATURDAY_LEVEL = 130.0


def local_range(start: date, days: int, step_minutes: int = 15) -> pd.DatetimeIndex:
    """UTC steps covering ``days`` local days from ``start``."""
    first = pd.Timestamp(start, tz=WARSAW)
    last = pd.Timestamp(start + timedelta(days=days), tz=WARSAW)
    return pd.date_range(
        first.tz_convert("UTC"), last.tz_convert("UTC"), freq=f"{step_minutes}min",
        inclusive="left", name="ts",
    )  # fmt: skip


def planted_pattern(index: pd.DatetimeIndex) -> np.ndarray:
    """The noise-free planted load at each UTC step."""
    local = index.tz_convert(WARSAW)
    hours = local.hour + local.minute / 60
    days = [stamp.date() for stamp in local]
    kinds = day_calendar(days)["kind"].reindex(days).to_numpy()
    working_hours = (hours >= 7) & (hours < 17)
    saturday_hours = (hours >= 8) & (hours < 13)
    values = np.where((hours >= 6) & (hours < 22), DAYTIME_LEVEL, NIGHT_LEVEL)
    values[(kinds == DayKind.WORKING) & working_hours] = WORKING_LEVEL
    values[(kinds == DayKind.SATURDAY) & saturday_hours] = SATURDAY_LEVEL
    return values


def planted_series(
    start: date,
    days: int,
    *,
    step_minutes: int = 15,
    noise_std: float = 2.0,
    seed: int = 0,
    name: str = "load/planted/power_kw",
) -> pd.Series:
    """The planted load with Gaussian noise of ``noise_std`` over ``days`` local days."""
    index = local_range(start, days, step_minutes)
    noise = np.random.default_rng(seed).normal(0.0, noise_std, len(index))
    return pd.Series(planted_pattern(index) + noise, index=index, name=name)


def flat_temperature(index: pd.DatetimeIndex, temp_c: float = 5.0) -> pd.DataFrame:
    """A constant outdoor temperature frame, °C."""
    return pd.DataFrame({"weather/temp_c": np.full(len(index), temp_c)}, index=index)
