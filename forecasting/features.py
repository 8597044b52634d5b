"""Features of forecast steps: local time-of-day slots, day kinds and degree terms.

All calendar features come from :mod:`cluster.calendar` on the local wall
clock. Many series share one time index (every meter of a cluster), so the
features of an index are computed once per process and reused.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from cluster.calendar import step_calendar
from forecasting.grid import FloatArray, IntArray, slot_of_day

BoolArray = NDArray[np.bool_]

#: How many indexes' features a process keeps.
_CACHE_SIZE = 16


@dataclass(frozen=True)
class StepFeatures:
    """Calendar features of a run of UTC steps, as arrays aligned with the steps.

    Attributes
    ----------
    slot
        Local time-of-day slot: 0 at local midnight, one per step of the day.
    kind
        :class:`~cluster.calendar.DayKind` value of the local day.
    weekday
        Local weekday, Monday = 0.
    effective_weekday
        The weekday, but 6 (Sunday) for public holidays: the day a weekly
        pattern should take its shape from.
    holiday, bridge, school_break
        Flags of the local day.
    day_number
        The local day as days since 1970-01-01 (a key for per-day sums).
    """

    slot: IntArray
    kind: IntArray
    weekday: IntArray
    effective_weekday: IntArray
    holiday: BoolArray
    bridge: BoolArray
    school_break: BoolArray
    day_number: IntArray


_cache: OrderedDict[tuple[object, ...], StepFeatures] = OrderedDict()


def step_features(
    steps: pd.DatetimeIndex, zone: ZoneInfo, step_minutes: int, country: str = "PL"
) -> StepFeatures:
    """The calendar features of ``steps`` (memoised per index).

    Parameters
    ----------
    steps
        UTC step starts.
    zone
        The local time zone.
    step_minutes
        The step, minutes (fixes the slots).
    country
        ISO country code of the public holidays.
    """
    key: tuple[object, ...] = (
        int(steps.asi8[0]) if len(steps) else 0,
        int(steps.asi8[-1]) if len(steps) else 0,
        len(steps),
        hash(steps.asi8.tobytes()),
        str(zone),
        step_minutes,
        country,
    )
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    calendar = step_calendar(steps, zone, country)
    weekday = calendar["weekday"].to_numpy(dtype=np.int64)
    holiday = calendar["holiday"].to_numpy(dtype=bool)
    day_number = (
        pd.DatetimeIndex(pd.to_datetime(calendar["local_day"])).as_unit("s").asi8 // 86_400
    ).astype(np.int64)
    features = StepFeatures(
        slot=slot_of_day(steps, zone, step_minutes),
        kind=calendar["kind"].to_numpy(dtype=np.int64),
        weekday=weekday,
        effective_weekday=np.where(holiday, 6, weekday).astype(np.int64),
        holiday=holiday,
        bridge=calendar["bridge"].to_numpy(dtype=bool),
        school_break=calendar["school_break"].to_numpy(dtype=bool) & (weekday < 5) & ~holiday,
        day_number=day_number,
    )
    _cache[key] = features
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return features


def day_mean(values: FloatArray, day_number: IntArray) -> FloatArray:
    """Each step's value replaced by the mean over its local day (NaN-skipping)."""
    valid = ~np.isnan(values)
    days, position = np.unique(day_number, return_inverse=True)
    sums = np.bincount(position[valid], weights=values[valid], minlength=len(days))
    counts = np.bincount(position[valid], minlength=len(days))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    result: FloatArray = means[position]
    return result


def heating_degrees(daily_temp_c: FloatArray, base_c: float) -> FloatArray:
    """Heating degrees: how far the local day's mean temperature is below ``base_c``, K.

    Parameters
    ----------
    daily_temp_c
        Mean outdoor temperature of each step's local day, °C.
    base_c
        Temperature above which nothing is heated, °C.
    """
    result: FloatArray = np.maximum(0.0, base_c - daily_temp_c)
    return result


def cooling_degrees(temp_c: FloatArray, base_c: float) -> FloatArray:
    """Cooling degrees: how far the temperature of the step is above ``base_c``, K.

    Parameters
    ----------
    temp_c
        Outdoor temperature of each step, °C.
    base_c
        Temperature below which nothing is cooled, °C.
    """
    result: FloatArray = np.maximum(0.0, temp_c - base_c)
    return result
