"""Zone frames: a zone's readings side by side, the input of every rule.

A zone frame has a sorted UTC index (the instants at which the zone was read,
in any spacing) and a column per zone point, named with its unit:

========================  ===================================================
``room_temp_c``           room temperature, °C
``room_temp_quality``     its :class:`~cluster.timeseries.Quality` code
``setpoint_c``            the effective setpoint (present value), °C
``heat_output_pct``       heating output or valve position, %
``occupancy``             the occupancy sensor, 1 occupied, 0 not
``cool_output_pct``       cooling output, % (only zones that cool)
``setpoint_priority``     the BACnet priority in control of the setpoint (17: none)
``heat_output_priority``  the same for the heating output
========================  ===================================================

A missing or unusable reading is NaN. The policy columns of
:func:`bms.policies.zone_context` are joined on before the rules run.

Readings come as the long frame of :data:`cluster.timeseries.READING_COLUMNS`
— stored history and live reads alike — with series ids
``point/<building>/<zone>/<point>``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cluster.timeseries import Quality, SeriesId

#: The frame column of each zone point id.
COLUMN_OF_POINT: dict[str, str] = {
    "room_temp": "room_temp_c",
    "setpoint": "setpoint_c",
    "heat_output": "heat_output_pct",
    "occupancy": "occupancy",
    "cool_output": "cool_output_pct",
    "setpoint_priority": "setpoint_priority",
    "heat_output_priority": "heat_output_priority",
}
#: The zone point whose reading quality is kept as a column.
QUALITY_POINT = "room_temp"
QUALITY_COLUMN = "room_temp_quality"
#: The point a pseudo-point ``<point>_priority`` describes.
PRIORITY_SUFFIX = "_priority"
#: What a priority column holds when no slot is in control (the relinquish default applies).
RELINQUISH_DEFAULT = 17


def zone_point_series(building_id: str, zone_id: str, point_id: str) -> str:
    """The series id of a zone point, ``point/<building>/<zone>/<point>``."""
    return SeriesId.point(building_id, f"{zone_id}/{point_id}")


def zone_series_ids(building_id: str, zone_id: str) -> list[str]:
    """The series ids of every zone point a zone frame can hold."""
    return [zone_point_series(building_id, zone_id, p) for p in COLUMN_OF_POINT]


def zone_frame(readings: pd.DataFrame, building_id: str, zone_id: str) -> pd.DataFrame:
    """One zone's readings as a zone frame.

    Parameters
    ----------
    readings
        A long readings frame (``series_id``, ``ts``, ``value``, ``unit``,
        ``quality``); series of other zones are ignored.
    building_id, zone_id
        The zone.

    Returns
    -------
    pandas.DataFrame
        Sorted UTC index ``ts``; the columns of :data:`COLUMN_OF_POINT` (every
        one present, NaN where never read) and ``room_temp_quality``. A value
        whose quality is not GOOD is NaN.
    """
    columns = {zone_point_series(building_id, zone_id, p): c for p, c in COLUMN_OF_POINT.items()}
    mine = readings[readings["series_id"].isin(list(columns))]
    if mine.empty:
        names = [*COLUMN_OF_POINT.values(), QUALITY_COLUMN]
        empty = pd.DatetimeIndex([], tz="UTC", name="ts")
        return pd.DataFrame({name: pd.Series(dtype=float) for name in names}, index=empty)
    ts = pd.DatetimeIndex(pd.to_datetime(mine["ts"], utc=True))
    good = mine["quality"].to_numpy() == int(Quality.GOOD)
    long = pd.DataFrame(
        {
            "ts": ts,
            "column": mine["series_id"].map(columns).to_numpy(),
            "value": np.where(good, mine["value"].to_numpy(dtype=float), np.nan),
            "quality": mine["quality"].to_numpy(dtype=float),
        }
    )
    # dropna=False keeps instants and points whose every reading was unusable.
    wide = long.pivot_table(
        index="ts", columns="column", values="value", aggfunc="last", dropna=False
    )
    frame = wide.reindex(columns=list(COLUMN_OF_POINT.values()))
    quality_series = zone_point_series(building_id, zone_id, QUALITY_POINT)
    quality = long[long["column"] == columns[quality_series]].groupby("ts")["quality"].last()
    frame[QUALITY_COLUMN] = quality.reindex(frame.index)
    frame.index = pd.DatetimeIndex(frame.index, name="ts").tz_convert("UTC")
    frame.columns.name = None
    return frame.sort_index().astype(float)


def nanoseconds(index: pd.Index) -> np.ndarray:
    """The instants of a datetime index as integer nanoseconds (whatever its unit)."""
    return pd.DatetimeIndex(index).as_unit("ns").asi8


def episodes(
    mask: pd.Series, max_gap: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """The runs of consecutive True values of a boolean series on a time index.

    A run is broken where the mask turns False, and where two readings lie
    more than ``max_gap`` apart (nothing is known in between).

    Returns
    -------
    list of (start, last, end)
        ``start`` and ``last``: the first and last instant of the run;
        ``end``: the instant of the next reading after the run (when it
        follows within ``max_gap``), else ``last``. ``end - start`` is the
        run's duration.
    """
    if mask.empty:
        return []
    flags = mask.fillna(False).to_numpy(dtype=bool)
    index = pd.DatetimeIndex(mask.index)
    apart = np.diff(nanoseconds(index)) > max_gap.value  # between reading i and i + 1
    before_breaks = np.r_[True, apart] | ~np.r_[False, flags[:-1]]
    after_breaks = np.r_[apart, True] | ~np.r_[flags[1:], False]
    firsts = np.flatnonzero(flags & before_breaks)
    lasts = np.flatnonzero(flags & after_breaks)
    # The run lasts until the next reading, when that follows within max_gap.
    ends = np.where(np.r_[~apart, False][lasts], np.minimum(lasts + 1, len(flags) - 1), lasts)
    return [
        (index[int(first)], index[int(last)], index[int(end)])
        for first, last, end in zip(firsts, lasts, ends, strict=True)
    ]


def duration_h(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Hours from ``start`` to ``end``."""
    return (end - start) / pd.Timedelta(hours=1)
