"""Readings on their way to the store: column by column, queued, then written in batches.

A poll's readings travel as :class:`ReadingColumns` (a list per field, no
object per reading); a client that can read straight into them is a
:class:`ColumnReader`, and :meth:`ReadingColumns.readings` makes the
:class:`~adapters.device.PointReading` objects only when someone asks.
The poller hands each poll's columns to :class:`ReadingBatcher`, which queues
them and writes ``batch_size`` readings per store transaction. What a batch holds:

* value NaN whenever the quality is not GOOD (a value is never passed on
  with a bad quality), quality as its integer code;
* one row per (series, second): when two polls of a point fall in the same
  second, the later one is kept, as the store would keep it anyway.

A batch the store refuses is written again series by series, so one bad
series (say, one whose unit changed) costs only its own readings, which are
counted as dropped and logged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from adapters.device import PointReading
from cluster.errors import KlasterError
from cluster.timeseries import Quality, TimeSeriesStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadingColumns:
    """One poll's readings of one device, column by column: row ``i`` is one point.

    Every column has one entry per point; as in a
    :class:`~adapters.device.PointReading`, a value is None whenever its
    quality is not GOOD. The columns are read-only: they may be shared with the
    client that made them.
    """

    point_ids: Sequence[str]
    values: Sequence[float | None]
    units: Sequence[str]
    qualities: Sequence[Quality]
    details: Sequence[str]
    #: When each point was read (UTC).
    ts: Sequence[datetime]

    def __len__(self) -> int:
        """Points read."""
        return len(self.point_ids)

    def readings(self) -> list[PointReading]:
        """One :class:`~adapters.device.PointReading` per row, in row order."""
        return list(
            map(
                PointReading,
                self.point_ids,
                self.values,
                self.units,
                self.qualities,
                self.ts,
                self.details,
            )
        )

    @classmethod
    def of(cls, readings: Sequence[PointReading]) -> ReadingColumns:
        """The columns of readings a client gave as objects."""
        return cls(
            [r.point_id for r in readings],
            [r.value for r in readings],
            [r.unit for r in readings],
            [r.quality for r in readings],
            [r.detail for r in readings],
            [r.ts for r in readings],
        )

    @classmethod
    def without_value(
        cls,
        point_ids: Sequence[str],
        units: Sequence[str],
        quality: Quality,
        ts: datetime,
        detail: str,
    ) -> ReadingColumns:
        """Points that all have no value, for one reason (say, MISSING or STALE)."""
        count = len(point_ids)
        return cls(
            point_ids=list(point_ids),
            values=[None] * count,
            units=list(units),
            qualities=[quality] * count,
            details=[detail] * count,
            ts=[ts] * count,
        )

    @classmethod
    def join(cls, parts: Sequence[ReadingColumns]) -> ReadingColumns:
        """The rows of every part, part after part."""
        if len(parts) == 1:
            return parts[0]
        point_ids: list[str] = []
        values: list[float | None] = []
        units: list[str] = []
        qualities: list[Quality] = []
        details: list[str] = []
        ts: list[datetime] = []
        for part in parts:
            point_ids += part.point_ids
            values += part.values
            units += part.units
            qualities += part.qualities
            details += part.details
            ts += part.ts
        return cls(point_ids, values, units, qualities, details, ts)

    def pick(self, rows: Sequence[int]) -> ReadingColumns:
        """These rows, in this order."""
        return ReadingColumns(
            [self.point_ids[i] for i in rows],
            [self.values[i] for i in rows],
            [self.units[i] for i in rows],
            [self.qualities[i] for i in rows],
            [self.details[i] for i in rows],
            [self.ts[i] for i in rows],
        )


@runtime_checkable
class ColumnReader(Protocol):
    """A device client that reads every mapped point straight into columns."""

    async def read_columns(self) -> ReadingColumns:
        """Read every mapped point; as ``read_points``, without an object per point."""
        ...


@dataclass(frozen=True)
class StoreCounts:
    """What happened to the readings: queued, written, refused, and the transactions made."""

    queued: int
    stored: int
    transactions: int
    dropped: int


class ReadingBatcher:
    """Queues readings and writes them to ``store``, ``batch_size`` per transaction.

    Parameters
    ----------
    store
        Where the readings go.
    batch_size
        Readings per store transaction.
    """

    def __init__(self, store: TimeSeriesStore, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.store = store
        self.batch_size = batch_size
        self._series: list[str] = []
        self._ts_s: list[int] = []
        self._values: list[float] = []
        self._units: list[str] = []
        self._quality: list[int] = []
        self._queued = self._stored = self._transactions = self._dropped = 0

    def __len__(self) -> int:
        """Readings queued and not yet written."""
        return len(self._series)

    @property
    def counts(self) -> StoreCounts:
        """Readings queued, stored and dropped so far, and store transactions made."""
        return StoreCounts(self._queued, self._stored, self._transactions, self._dropped)

    def add(
        self,
        readings: ReadingColumns,
        ts_s: int,
        series_ids: Mapping[str, str],
        new_series: Callable[[str, str], str],
    ) -> int:
        """Queue one poll's readings, writing every batch that fills up.

        Parameters
        ----------
        readings
            The readings of one poll.
        ts_s
            The poll's timestamp, UTC epoch seconds; every reading is stored under it.
        series_ids
            Point id → series id of the points seen before.
        new_series
            Gives the series id of a point (id, unit) that is not in ``series_ids``.

        Returns
        -------
        int
            How many of the readings are GOOD.
        """
        point_ids = readings.point_ids
        known = list(map(series_ids.get, point_ids))
        series: list[str] = [
            series_id or new_series(point_id, unit)
            for series_id, point_id, unit in zip(known, point_ids, readings.units, strict=True)
        ]
        good_quality = Quality.GOOD
        good = 0
        # One pass with the append bound once: this runs for every reading of every poll.
        add_value = self._values.append
        for value, quality in zip(readings.values, readings.qualities, strict=True):
            if quality is good_quality and value is not None:
                good += 1
                add_value(float(value))
            else:
                add_value(math.nan)
        self._series += series
        self._ts_s += repeat(ts_s, len(series))
        self._units += readings.units
        self._quality += map(int, readings.qualities)
        self._queued += len(series)
        while len(self._series) >= self.batch_size:
            self._write(self._take(self.batch_size))
        return good

    def flush(self) -> None:
        """Write everything queued now, ``batch_size`` readings per transaction."""
        while self._series:
            self._write(self._take(self.batch_size))

    def _take(self, count: int) -> pd.DataFrame:
        """The first ``count`` queued readings as a frame, removed from the queue."""
        frame = pd.DataFrame(
            {
                "series_id": pd.array(self._series[:count], dtype="str"),
                "ts": pd.to_datetime(np.array(self._ts_s[:count], dtype="datetime64[s]"), utc=True),
                "value": np.array(self._values[:count], dtype=np.float64),
                "unit": pd.array(self._units[:count], dtype="str"),
                "quality": np.array(self._quality[:count], dtype=np.int64),
            }
        )
        for column in (self._series, self._ts_s, self._values, self._units, self._quality):
            del column[:count]
        duplicate = frame.duplicated(["series_id", "ts"], keep="last")
        return frame[~duplicate] if duplicate.any() else frame

    def _write(self, frame: pd.DataFrame) -> None:
        try:
            self.store.write_readings(frame)
        except KlasterError as exc:
            log.error(
                "the store refused %d readings (%s); writing series by series", len(frame), exc
            )
        else:
            self._transactions += 1
            self._stored += len(frame)
            return
        for series_id, rows in frame.groupby("series_id", sort=False):
            try:
                self.store.write_readings(rows)
            except KlasterError as exc:
                log.error("dropped %d readings of %s: %s", len(rows), series_id, exc)
                self._dropped += len(rows)
            else:
                self._transactions += 1
                self._stored += len(rows)
