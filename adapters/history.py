"""Filling the store with synthetic history where measured history is absent.

The demo cluster has no devices, so its history comes from the deterministic
generator. Because every quarter-hour's value is a pure function of the seed
and its time, only the missing range is generated, in chunks, and re-writing
an overlap changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from adapters.demo_history import DEMO_SEED, generate_history, history_series_ids
from cluster.config import ClusterConfig
from cluster.timeseries import TimeSeriesStore

#: Days of history generated and written per transaction.
CHUNK_DAYS = 30


def missing_ranges(
    store: TimeSeriesStore,
    series_ids: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    step: pd.Timedelta,
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The parts of ``[start, end)`` that some of ``series_ids`` do not cover yet.

    Synthetic history is kept as one contiguous span, so the span every series
    covers (the latest first timestamp to the earliest last one) is taken as
    whole; a range beyond it is extended to meet it, so no gap is ever left
    inside the span.
    """
    coverages = [store.coverage(series_id) for series_id in series_ids]
    if any(c is None for c in coverages):
        return [(start, end)]
    covered_start = max(c[0] for c in coverages if c is not None)
    covered_end = min(c[1] for c in coverages if c is not None) + step
    ranges = []
    if covered_start > start:
        ranges.append((start, covered_start))
    if covered_end < end:
        ranges.append((covered_end, end))
    return ranges


def ensure_synthetic_history(
    store: TimeSeriesStore,
    config: ClusterConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    seed: int = DEMO_SEED,
    on_progress: Callable[[int, int], None] | None = None,
    meters: bool = False,
) -> int:
    """Generate and store the synthetic history missing in ``[start, end)``.

    Returns the number of rows written. ``on_progress(done_days, total_days)``
    is called after each chunk. The billing meters (a third of the rows) are
    stored only with ``meters=True``: settlement needs them, planning does not.
    """
    series_ids = history_series_ids(config, meters=meters)
    step = pd.Timedelta(minutes=config.cluster.step_minutes)
    ranges = missing_ranges(store, series_ids, start, end, step)
    chunks: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for range_start, range_end in ranges:
        cursor = range_start
        while cursor < range_end:
            chunk_end = min(cursor + pd.Timedelta(days=CHUNK_DAYS), range_end)
            chunks.append((cursor, chunk_end))
            cursor = chunk_end
    total_days = sum((b - a).days for a, b in chunks)
    done_days = 0
    written = 0
    for chunk_start, chunk_end in chunks:
        history = generate_history(config, chunk_start, chunk_end, seed, meters=meters)
        written += store.write_readings(history)
        done_days += (chunk_end - chunk_start).days
        if on_progress:
            on_progress(done_days, total_days)
    return written
