"""Write and re-write six million readings to a fresh SQLite store and time it.

Run with ``python bench/store_bench.py``. The demo's first run writes about this
much: 160 series of 38,400 quarter-hours (400 days). The second pass writes the
same frame again and must change nothing; then two typical reads are timed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from adapters.sqlite_store import DATABASE_FILE_NAME, SqliteStore
from cluster.timeseries import READING_COLUMNS, Quality

SERIES_COUNT = 160
STEPS_PER_SERIES = 38_400
STEP_S = 900


def synthetic_readings(series_count: int, steps: int, seed: int = 0) -> pd.DataFrame:
    """A long readings frame of ``series_count`` kW series with ``steps`` quarter-hours each.

    One value in 97 is missing (NaN, quality MISSING), as real meter data has gaps.
    """
    rng = np.random.default_rng(seed)
    names = np.array([f"load/bench-{number:03d}/power_kw" for number in range(series_count)])
    start = pd.Timestamp("2025-06-01", tz="UTC")
    ts = pd.date_range(start, periods=steps, freq=f"{STEP_S}s", name="ts")
    values = rng.gamma(2.0, 40.0, size=series_count * steps)
    quality = np.full(values.size, int(Quality.GOOD), dtype=np.int64)
    values[::97] = np.nan
    quality[::97] = int(Quality.MISSING)
    frame = pd.DataFrame(
        {
            "series_id": np.repeat(names, steps),
            "ts": np.tile(ts, series_count),
            "value": values,
            "unit": "kW",
            "quality": quality,
        }
    )
    return frame[list(READING_COLUMNS)]


def run(series_count: int = SERIES_COUNT, steps: int = STEPS_PER_SERIES) -> list[dict[str, object]]:
    """Time a first write, an idempotent re-write and two reads; print and return the table.

    Parameters
    ----------
    series_count
        Number of series written.
    steps
        Quarter-hours per series.
    """
    frame = synthetic_readings(series_count, steps)
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="klaster-bench-") as folder:
        data_dir = Path(folder)
        with SqliteStore.open(data_dir) as store:
            for label in ("first write", "re-write (idempotent)"):
                began = time.perf_counter()
                changed = store.write_readings(frame)
                seconds = time.perf_counter() - began
                results.append(
                    {
                        "pass": label,
                        "rows": len(frame),
                        "rows changed": changed,
                        "seconds": seconds,
                        "rows per s": len(frame) / seconds,
                        "file MB": (data_dir / DATABASE_FILE_NAME).stat().st_size / 1e6,
                    }
                )
            first_ts = frame["ts"].iloc[0]
            names = list(dict.fromkeys(frame["series_id"]))
            reads = (
                ("read 14 days x all series", names, pd.Timedelta(days=14)),
                ("read 400 days x 1 series", names[:1], pd.Timedelta(days=400)),
            )
            for label, asked, span in reads:
                began = time.perf_counter()
                wide = store.read_series(asked, first_ts, first_ts + span)
                seconds = time.perf_counter() - began
                results.append(
                    {
                        "pass": label,
                        "rows": int(wide.notna().to_numpy().sum()),
                        "rows changed": 0,
                        "seconds": seconds,
                        "rows per s": int(wide.notna().to_numpy().sum()) / seconds,
                        "file MB": (data_dir / DATABASE_FILE_NAME).stat().st_size / 1e6,
                    }
                )
    _print(results)
    return results


def _print(results: list[dict[str, object]]) -> None:
    table = Table(title="SQLite time-series store")
    for column in results[0]:
        table.add_column(column, justify="left" if column == "pass" else "right")
    for row in results:
        table.add_row(*(_cell(value) for value in row.values()))
    Console().print(table)


def _cell(value: object) -> str:
    if isinstance(value, float) and value < 100:
        return f"{value:.3f}"
    if isinstance(value, float | int):
        return f"{value:,.0f}"
    return str(value)


if __name__ == "__main__":
    run()
