"""Readings on their way to the store: queued, then written in batches.

The poller hands over each poll's readings; :class:`ReadingBatcher` keeps
them column by column (no object per reading) and writes ``batch_size`` of
them per store transaction. What a batch holds:

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

import numpy as np
import pandas as pd

from adapters.device import PointReading
from cluster.errors import KlasterError
from cluster.timeseries import Quality, TimeSeriesStore

log = logging.getLogger(__name__)


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
        readings: Sequence[PointReading],
        ts_s: int,
        series_ids: Mapping[str, str],
        new_series: Callable[[PointReading], str],
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
            Gives the series id of a reading whose point is not in ``series_ids``.

        Returns
        -------
        int
            How many of the readings are GOOD.
        """
        good_quality = Quality.GOOD
        good = 0
        # One pass with the appends bound once: this runs for every reading of every poll.
        add_series, add_ts, add_value = self._series.append, self._ts_s.append, self._values.append
        add_unit, add_quality = self._units.append, self._quality.append
        for reading in readings:
            add_series(series_ids.get(reading.point_id) or new_series(reading))
            value = reading.value
            if reading.quality is good_quality and value is not None:
                good += 1
                add_value(float(value))
            else:
                add_value(math.nan)
            add_ts(ts_s)
            add_unit(reading.unit)
            add_quality(int(reading.quality))
        self._queued += len(readings)
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
