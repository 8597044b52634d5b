"""The metered inputs of a month's settlement, read from the time-series store.

A settlement is only as good as its meter data, so nothing is guessed here:
every connection point's import, the export of each point that may export,
and the day-ahead price must be present for every quarter-hour of the local
month, each with a quality a bill may rest on. Whatever is missing or unusable
is reported per series with its first quarter-hour, how many are affected and
how to fix it. The curtailment series are estimates that many sites do not
have, and a point that may not export has no export: such optional series
count as zero wherever they have no value (but a value they have must be fit
for a bill).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from adapters.store_frames import NO_READING, GridReader, StoredGrid, grid_from_readings
from cluster.config import ClusterConfig
from cluster.errors import DataError
from cluster.invoices import MeteredPeriod
from cluster.timegrid import month_bounds_utc, month_steps
from cluster.timeseries import Quality, SeriesId, TimeSeriesStore

UNIT_KWH = "kWh"
UNIT_PLN_PER_MWH = "PLN/MWh"

#: Qualities a bill may rest on: measured values, and the estimates a meter
#: operator publishes for a gap (a later correction gives a new settlement version).
BILLABLE_QUALITIES = frozenset({Quality.GOOD, Quality.ESTIMATED})

FIX_METER_DATA = (
    "import the meter data with `klaster settle import-meter FILE.csv` "
    "(columns connection_point, ts, import_kwh, export_kwh[, curtailed_kwh]), "
    "or wait until the meter operator has delivered the whole month"
)
FIX_PRICES = (
    f"store the day-ahead prices of every quarter-hour of the month as series "
    f"{SeriesId.DAY_AHEAD_PRICE!r} ({UNIT_PLN_PER_MWH})"
)
# Series named in full in an error message; the rest are counted.
_LISTED_PROBLEMS = 12


class MeterDataError(DataError):
    """Meter data or prices of a settled month missing, unusable, or the month not over."""


@dataclass(frozen=True)
class SeriesGap:
    """What is wrong with one series in the settled month.

    Attributes
    ----------
    series_id : str
        The series.
    problem : str
        ``"missing"``, ``"quality"`` (a value not fit for a bill), ``"negative"``
        or ``"unit"``.
    first : pandas.Timestamp or None
        The first quarter-hour affected, UTC (None for a unit problem).
    count : int
        How many quarter-hours are affected.
    detail : str
        Anything more to say (the stored unit, the qualities found).
    """

    series_id: str
    problem: str
    first: pd.Timestamp | None
    count: int
    detail: str = ""

    def describe(self, config: ClusterConfig) -> str:
        """One line for an error message, times in the cluster's zone."""
        if self.problem == "unit":
            return f"{self.series_id}: {self.detail}"
        assert self.first is not None
        first = self.first.tz_convert(config.cluster.zone).isoformat()
        what = {
            "missing": "missing",
            "quality": "not fit for a bill",
            "negative": "negative",
        }[self.problem]
        extra = f" ({self.detail})" if self.detail else ""
        plural = "s" if self.count != 1 else ""
        return f"{self.series_id}: {self.count} quarter-hour{plural} {what}{extra}, from {first}"


def last_complete_month(config: ClusterConfig, now: datetime | None = None) -> date:
    """The first day of the last local month that has ended, in the cluster's zone."""
    current = (now or datetime.now(UTC)).astimezone(config.cluster.zone).date()
    return (current.replace(day=1) - timedelta(days=1)).replace(day=1)


def check_month_over(config: ClusterConfig, month: date, now: datetime | None = None) -> None:
    """Raise :class:`MeterDataError` unless the local month of ``month`` has ended.

    Parameters
    ----------
    config
        The cluster (its time zone).
    month
        Any day of the month.
    now
        The present instant, timezone-aware; the clock if left out.
    """
    zone = config.cluster.zone
    end = month_bounds_utc(month, zone)[1]
    if pd.Timestamp(now or datetime.now(UTC)) < end:
        local_end = end.tz_convert(zone)
        raise MeterDataError(
            f"the month {month:%Y-%m} is not over yet: it ends at "
            f"{local_end:%Y-%m-%d %H:%M} {config.cluster.timezone} ({end:%Y-%m-%d %H:%M} UTC)",
            fix="settle it after it has ended and its meter data is in, "
            "or give an earlier month with --month YYYY-MM",
        )


def required_series(config: ClusterConfig) -> list[str]:
    """The series without which a month cannot be settled.

    The day-ahead price, every connection point's import, and the export of
    every point that may export (``export_limit_kw`` > 0).
    """
    points = config.connection_points
    return (
        [SeriesId.DAY_AHEAD_PRICE]
        + [SeriesId.metered_import(cp.id) for cp in points]
        + [SeriesId.metered_export(cp.id) for cp in points if cp.export_limit_kw > 0]
    )


def _read_grid(
    store: TimeSeriesStore, series_ids: list[str], steps: pd.DatetimeIndex, step: pd.Timedelta
) -> StoredGrid:
    """The series on ``steps``: as arrays from a store that reads grids, else from readings."""
    if isinstance(store, GridReader):
        return store.read_grid(series_ids, steps)
    readings = store.read_readings(series_ids, steps[0], steps[-1] + step)
    return grid_from_readings(readings, series_ids, steps)


def _gaps(grid: StoredGrid, required: set[str], qualities: frozenset[Quality]) -> list[SeriesGap]:
    """What is wrong with the series of ``grid``, series by series in its order.

    A series without any reading is missing whole when required and nothing
    otherwise; one in the wrong unit is reported as that alone; else a required
    series' steps without a value, and any series' values of a quality not in
    ``qualities`` and negative energy.
    """
    steps, values, quality = grid.steps, grid.values, grid.quality
    # Whole-grid passes, then a cheap look at each column's counts.
    has_reading = (quality != NO_READING).any(axis=0).tolist()
    missing = np.isnan(values)
    unfit = ~missing & ~np.isin(quality, [int(q) for q in qualities])
    negative = values < 0
    missing_count = missing.sum(axis=0).tolist()
    unfit_count = unfit.sum(axis=0).tolist()
    negative_count = negative.sum(axis=0).tolist()
    gaps: list[SeriesGap] = []
    for column, series_id in enumerate(grid.series_ids):
        if not has_reading[column]:
            if series_id in required:
                gaps.append(SeriesGap(series_id, "missing", steps[0], len(steps)))
            continue
        expected_unit = UNIT_PLN_PER_MWH if series_id == SeriesId.DAY_AHEAD_PRICE else UNIT_KWH
        if grid.units[series_id] != expected_unit:
            detail = f"stored in {grid.units[series_id]}, a settlement needs {expected_unit}"
            gaps.append(SeriesGap(series_id, "unit", None, len(steps), detail))
            continue
        # Optional series record only what happened: a step without a value had none.
        if missing_count[column] and series_id in required:
            first = steps[int(np.argmax(missing[:, column]))]
            gaps.append(SeriesGap(series_id, "missing", first, missing_count[column]))
        if unfit_count[column]:
            unfit_here = unfit[:, column]
            found = sorted(Quality(int(q)).name for q in np.unique(quality[unfit_here, column]))
            first = steps[int(np.argmax(unfit_here))]
            detail = f"quality {', '.join(found)}"
            gaps.append(SeriesGap(series_id, "quality", first, unfit_count[column], detail))
        if negative_count[column] and expected_unit == UNIT_KWH:
            first = steps[int(np.argmax(negative[:, column]))]
            gaps.append(SeriesGap(series_id, "negative", first, negative_count[column]))
    return gaps


def _error(config: ClusterConfig, month: date, gaps: Iterable[SeriesGap]) -> MeterDataError:
    gaps = list(gaps)
    lines = [f"  {gap.describe(config)}" for gap in gaps[:_LISTED_PROBLEMS]]
    if len(gaps) > _LISTED_PROBLEMS:
        lines.append(f"  ... and {len(gaps) - _LISTED_PROBLEMS} more")
    fixes = []
    if any(g.series_id != SeriesId.DAY_AHEAD_PRICE for g in gaps):
        fixes.append(FIX_METER_DATA)
    if any(g.series_id == SeriesId.DAY_AHEAD_PRICE for g in gaps):
        fixes.append(FIX_PRICES)
    return MeterDataError(
        f"cannot settle {month:%Y-%m}: the data of {len(gaps)} series is incomplete or unusable:\n"
        + "\n".join(lines),
        fix="; ".join(fixes),
    )


def read_metered_period(
    store: TimeSeriesStore,
    config: ClusterConfig,
    month: date,
    *,
    allow_synthetic: bool = False,
    now: datetime | None = None,
) -> MeteredPeriod:
    """The metered inputs of the local month of ``month``, checked to be complete.

    Parameters
    ----------
    store
        The time-series store holding the meter series (kWh per step) and the
        day-ahead price (PLN/MWh).
    config
        The cluster: its connection points (columns, in config order), time zone
        and step length.
    month
        Any day of the month to settle.
    allow_synthetic
        Accept values of :attr:`~cluster.timeseries.Quality.SYNTHETIC` quality too:
        for a demo cluster whose history is generated.
    now
        The present instant, timezone-aware; the clock if left out.

    Returns
    -------
    MeteredPeriod
        Import, export and curtailment per connection point, kWh per step, and
        the day-ahead price, on every UTC step of the month; export at points
        that may not export and curtailment are zero in the steps without a value.

    Raises
    ------
    MeterDataError
        When the month has not ended, any required series lacks a value of
        billable quality in any step, or any series has a value that is not
        billable or is negative; every such series is named with its first
        quarter-hour and the number affected.
    """
    check_month_over(config, month, now)
    steps = month_steps(month, config.cluster.zone, config.cluster.step_minutes)
    qualities = BILLABLE_QUALITIES | ({Quality.SYNTHETIC} if allow_synthetic else set())
    points = config.connection_points
    # The price, then a block of columns per kind of meter series, points in config order.
    wanted = [SeriesId.DAY_AHEAD_PRICE] + [
        series_id(cp.id)
        for series_id in (SeriesId.metered_import, SeriesId.metered_export, SeriesId.curtailed)
        for cp in points
    ]
    step = pd.Timedelta(minutes=config.cluster.step_minutes)
    grid = _read_grid(store, wanted, steps, step)
    gaps = _gaps(grid, set(required_series(config)), frozenset(qualities))
    if gaps:
        raise _error(config, month, gaps)
    # Only optional series may lack values now: they had none in those steps.
    values = np.where(np.isnan(grid.values), 0.0, grid.values)
    ids = [cp.id for cp in points]

    def per_point(block: int) -> pd.DataFrame:
        columns = slice(1 + block * len(points), 1 + (block + 1) * len(points))
        return pd.DataFrame(values[:, columns], index=steps, columns=ids, dtype=float)

    return MeteredPeriod(
        import_kwh=per_point(0),
        export_kwh=per_point(1),
        curtailed_kwh=per_point(2),
        day_ahead_pln_per_mwh=pd.Series(values[:, 0], index=steps, name="day_ahead_pln_per_mwh"),
    )
