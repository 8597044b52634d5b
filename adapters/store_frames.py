"""The frames that cross a time-series store's border, whatever the database.

A readings frame is checked and turned into columns keyed by (series, UTC epoch
second) by :meth:`ReadingBatch.from_frame`; query bounds and result indexes use
the same integer seconds; many series read on one grid of steps come back as
the arrays of a :class:`StoredGrid`; result frames of a run travel as Parquet
bytes. Every store backend (SQLite now, PostgreSQL later) shares these rules, so
a frame one store accepts the other accepts too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cluster.errors import StoreError
from cluster.timeseries import READING_COLUMNS, Quality

_INDEX_FREQ_KEY = b"klaster.index_freq"
#: The quality code of a grid cell where the store holds no reading.
NO_READING = -1
_FIX_USE_HELPER = "build the frame with cluster.timeseries.readings_frame"


@dataclass(frozen=True)
class ReadingBatch:
    """A validated readings frame as columns, rows ordered by (series, ts).

    Attributes
    ----------
    series_names
        The distinct series ids of the frame.
    series_units
        The unit of each of ``series_names``.
    series_codes
        Per row, the position of its series in ``series_names``.
    ts_s
        Per row, the reading's time as UTC epoch seconds, s.
    values
        Per row, the value in its series' unit; NaN when missing.
    quality
        Per row, a :class:`~cluster.timeseries.Quality` code.
    """

    series_names: list[str]
    series_units: list[str]
    series_codes: npt.NDArray[np.intp]
    ts_s: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    quality: npt.NDArray[np.int64]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ReadingBatch:
        """Check a long frame of :data:`~cluster.timeseries.READING_COLUMNS` and take it apart.

        Raises
        ------
        StoreError
            Naming the column at fault and the fix: columns other than
            READING_COLUMNS, missing ids or units, a series in two units, naive or
            sub-second timestamps, non-numeric or infinite values, quality codes
            that are not :class:`~cluster.timeseries.Quality`, or two readings of a
            series at one time.
        """
        if not isinstance(frame, pd.DataFrame):
            raise _frame_error(f"expected a DataFrame, got {type(frame).__name__}", _FIX_USE_HELPER)
        if sorted(map(str, frame.columns)) != sorted(READING_COLUMNS):
            raise _frame_error(
                f"columns are {list(frame.columns)}, expected {list(READING_COLUMNS)}",
                _FIX_USE_HELPER,
            )
        if frame.empty:
            no_rows = np.empty(0, dtype=np.int64)
            return cls([], [], no_rows.astype(np.intp), no_rows, no_rows.astype(float), no_rows)
        series_codes, series_names = _string_codes(frame, "series_id")
        series_units = _unit_per_series(frame, series_codes, series_names)
        ts_s = _epoch_seconds(frame["ts"])
        values = _float_values(frame["value"])
        qualities = _quality_codes(frame["quality"])

        order = _series_time_order(series_codes, ts_s)
        if order is not None:
            series_codes, ts_s = series_codes[order], ts_s[order]
            values, qualities = values[order], qualities[order]
        same_key = (series_codes[1:] == series_codes[:-1]) & (ts_s[1:] == ts_s[:-1])
        if same_key.any():
            first = int(np.argmax(same_key))
            at = pd.Timestamp(int(ts_s[first]), unit="s", tz="UTC")
            raise _frame_error(
                f"series {series_names[series_codes[first]]!r} has two readings at {at}",
                "keep one reading per series and timestamp (drop_duplicates)",
            )
        return cls(series_names, series_units, series_codes, ts_s, values, qualities)


def _frame_error(problem: str, fix: str) -> StoreError:
    return StoreError(f"readings frame rejected, nothing was written: {problem}", fix=fix)


def _string_codes(frame: pd.DataFrame, column: str) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Integer codes of a column of non-empty strings, and the distinct strings."""
    values = frame[column]
    if values.isna().any() or not pd.api.types.is_string_dtype(values):
        raise _frame_error(
            f"column {column!r} must hold strings with no missing values",
            f"fill in {column!r} for every row",
        )
    codes, uniques = pd.factorize(values)
    # One conversion of the whole array: a poller's batch holds tens of thousands of names.
    names: list[str] = (
        uniques.to_numpy(dtype=object).tolist()
        if isinstance(uniques.dtype, pd.StringDtype)
        else [str(name) for name in uniques]
    )
    if "" in map(str.strip, names):
        raise _frame_error(f"column {column!r} holds an empty string", f"name every {column}")
    return codes, names


def _unit_per_series(
    frame: pd.DataFrame, series_codes: npt.NDArray[np.intp], series_names: list[str]
) -> list[str]:
    """The one unit of each series; a series given in two units is refused."""
    unit_codes, unit_names = _string_codes(frame, "unit")
    unit_count = len(unit_names)
    # Hashing (series, unit) pairs as single integers keeps this fast for millions of rows.
    pairs = pd.unique(series_codes.astype(np.int64) * unit_count + unit_codes)
    if len(pairs) != len(series_names):
        ambiguous = int(np.argmax(np.bincount(pairs // unit_count) > 1))
        raise _frame_error(
            f"series {series_names[ambiguous]!r} has readings in several units",
            "convert all readings of a series to one unit",
        )
    units = [""] * len(series_names)
    for pair in pairs.tolist():
        units[pair // unit_count] = unit_names[pair % unit_count]
    return units


def _epoch_seconds(timestamps: pd.Series) -> npt.NDArray[np.int64]:
    """Timezone-aware whole-second timestamps as UTC epoch seconds."""
    if not isinstance(timestamps.dtype, pd.DatetimeTZDtype) or timestamps.isna().any():
        raise _frame_error(
            f"column 'ts' must hold timezone-aware timestamps with no gaps, got {timestamps.dtype}",
            "localise the timestamps, e.g. frame['ts'].dt.tz_localize('Europe/Warsaw')",
        )
    utc_naive = pd.DatetimeIndex(timestamps).tz_convert("UTC").tz_localize(None).to_numpy()
    whole_seconds = utc_naive.astype("datetime64[s]")
    if (whole_seconds != utc_naive).any():
        raise _frame_error(
            "column 'ts' holds fractions of a second; readings are keyed by whole seconds",
            "round the timestamps to the step, e.g. frame['ts'].dt.floor('15min')",
        )
    return whole_seconds.astype(np.int64)


def _float_values(value: pd.Series) -> npt.NDArray[np.float64]:
    """Finite numbers or NaN (missing) as float64."""
    numeric = pd.api.types.is_numeric_dtype(value) and not pd.api.types.is_bool_dtype(value)
    if not numeric and pd.api.types.infer_dtype(value, skipna=True) not in (
        "floating",
        "integer",
        "mixed-integer-float",
        "empty",
    ):
        raise _frame_error(
            f"column 'value' must hold numbers, got {value.dtype}",
            "convert the values with pd.to_numeric; use NaN for a missing reading",
        )
    values = value.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise _frame_error(
            "column 'value' holds infinite numbers",
            "use NaN with quality MISSING for a reading that has no value",
        )
    return values


def _quality_codes(quality: pd.Series) -> npt.NDArray[np.int64]:
    """Integer :class:`Quality` codes."""
    if quality.isna().any() or not (
        pd.api.types.is_integer_dtype(quality)
        or pd.api.types.infer_dtype(quality, skipna=True) == "integer"
    ):
        raise _frame_error(
            f"column 'quality' must hold integers with no gaps, got {quality.dtype}",
            "use the codes of cluster.timeseries.Quality, e.g. int(Quality.GOOD)",
        )
    codes = quality.to_numpy(dtype=np.int64)
    if codes.size and (codes.min() < min(Quality) or codes.max() > max(Quality)):
        raise _frame_error(
            f"column 'quality' holds codes outside {min(Quality)}..{max(Quality)}",
            "use the codes of cluster.timeseries.Quality",
        )
    return codes


def _series_time_order(
    series_codes: npt.NDArray[np.intp], ts_s: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp] | None:
    """Row order by (series, ts), or None when the rows already follow it.

    Writing in key order appends to the store's index instead of scattering over it.
    """
    same_series = series_codes[1:] == series_codes[:-1]
    ordered = (series_codes[1:] > series_codes[:-1]) | (same_series & (ts_s[1:] >= ts_s[:-1]))
    if ordered.all():
        return None
    return np.lexsort((ts_s, series_codes))


def epoch_second_bounds(start: pd.Timestamp, end: pd.Timestamp) -> tuple[int, int]:
    """``[start, end)`` as the UTC epoch seconds ``[start_s, end_s)`` of the reading key.

    Raises
    ------
    StoreError
        When either bound has no time zone.
    """
    bounds = []
    for label, bound in (("start", start), ("end", end)):
        instant = pd.Timestamp(bound)
        if instant.tzinfo is None:
            raise StoreError(
                f"{label} {instant} has no time zone",
                fix="pass timezone-aware timestamps, e.g. pd.Timestamp('2026-01-01', tz='UTC')",
            )
        # An integer second t lies in [start, end) iff ceil(start) <= t < ceil(end).
        bounds.append(-(-instant.as_unit("ns").value // 1_000_000_000))
    return bounds[0], bounds[1]


def utc_index(ts_s: npt.NDArray[np.int64]) -> pd.DatetimeIndex:
    """UTC epoch seconds as a DatetimeIndex named ``ts``, in pandas' default microseconds."""
    microseconds = ts_s.astype("datetime64[s]").astype("datetime64[us]")
    return pd.DatetimeIndex(microseconds, name="ts").tz_localize("UTC")


@dataclass(frozen=True)
class StoredGrid:
    """Readings of many series on one grid of steps, as arrays of steps x series.

    Attributes
    ----------
    steps
        The grid, as asked.
    series_ids
        The series, one column each in the order asked.
    values
        Per step and series, the value in the series' unit; NaN where the store
        holds no reading or a reading without a value.
    quality
        Per step and series, the :class:`~cluster.timeseries.Quality` code;
        :data:`NO_READING` where the store holds no reading.
    units
        The unit of each asked series the store knows.
    """

    steps: pd.DatetimeIndex
    series_ids: tuple[str, ...]
    values: npt.NDArray[np.float64]
    quality: npt.NDArray[np.int8]
    units: dict[str, str]


@runtime_checkable
class GridReader(Protocol):
    """A store that reads many series on a grid of steps at once (as SqliteStore does)."""

    def read_grid(self, series_ids: Sequence[str], steps: pd.DatetimeIndex) -> StoredGrid:
        """``series_ids`` on ``steps``, a column each; readings off the steps are left out."""
        ...


class GridFiller:
    """Builds a :class:`StoredGrid` from the readings of one series at a time.

    The arrays are laid out a series after another (each column contiguous), so
    placing a series' readings and checking a series touch one run of memory.
    """

    def __init__(self, series_ids: Sequence[str], steps: pd.DatetimeIndex) -> None:
        self.grid_s = grid_seconds(steps)
        self.steps = steps
        self.series_ids = tuple(series_ids)
        shape = (len(self.series_ids), self.grid_s.size)
        self._values = np.full(shape, np.nan)
        self._quality = np.full(shape, NO_READING, dtype=np.int8)

    def place(self, column: int, table: npt.NDArray[np.float64]) -> None:
        """Put the readings of the series of ``column`` on the grid.

        Parameters
        ----------
        column
            The position of the series in ``series_ids``.
        table
            One row per reading: UTC epoch seconds (s), value (NaN when missing)
            and quality code. Readings at instants off the grid are left out.
        """
        if table.size == 0 or self.grid_s.size == 0:
            return
        ts_s = table[:, 0].astype(np.int64)
        position = np.searchsorted(self.grid_s, ts_s)
        np.minimum(position, self.grid_s.size - 1, out=position)
        on_grid = self.grid_s[position] == ts_s
        self._values[column, position[on_grid]] = table[on_grid, 1]
        self._quality[column, position[on_grid]] = table[on_grid, 2]

    def place_rows(self, column: int, rows: Sequence[tuple[int, float | None, int]]) -> None:
        """Like :meth:`place`, from ``(ts_s, value, quality)`` rows; a None value is missing."""
        flat = itertools.chain.from_iterable(rows)  # one pass over the tuples, no lists
        self.place(column, np.fromiter(flat, np.float64, 3 * len(rows)).reshape(-1, 3))

    def grid(self, units: dict[str, str]) -> StoredGrid:
        """The grid filled so far; ``units`` of the series the store knows."""
        wanted = set(self.series_ids)
        return StoredGrid(
            steps=self.steps,
            series_ids=self.series_ids,
            values=self._values.T,
            quality=self._quality.T,
            units={name: unit for name, unit in units.items() if name in wanted},
        )


def grid_from_readings(
    readings: pd.DataFrame, series_ids: Sequence[str], steps: pd.DatetimeIndex
) -> StoredGrid:
    """A :class:`StoredGrid` of a long frame of :data:`~cluster.timeseries.READING_COLUMNS`.

    For a store that can only return long frames; ``units`` then knows the
    series with readings in the frame.
    """
    filler = GridFiller(series_ids, steps)
    if readings.empty:
        return filler.grid({})
    table = np.column_stack(
        [
            _epoch_seconds(readings["ts"]).astype(np.float64),
            readings["value"].to_numpy(dtype=np.float64, na_value=np.nan),
            readings["quality"].to_numpy(dtype=np.float64),
        ]
    )
    codes, names = pd.factorize(readings["series_id"])
    for code, name in enumerate(names):
        rows = table[codes == code]
        for column, wanted in enumerate(filler.series_ids):
            if wanted == name:
                filler.place(column, rows)
    first = readings.drop_duplicates("series_id")
    return filler.grid(dict(zip(first["series_id"], first["unit"], strict=True)))


def grid_seconds(steps: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """The steps of a grid as UTC epoch seconds, s.

    Raises
    ------
    StoreError
        When the steps are not timezone-aware whole seconds, strictly increasing.
    """
    if not isinstance(steps, pd.DatetimeIndex) or steps.tz is None or steps.hasnans:
        raise StoreError(
            "the steps of a grid must be a timezone-aware DatetimeIndex without NaT",
            fix="pass steps such as cluster.timegrid.month_steps(...)",
        )
    nanoseconds = steps.as_unit("ns").asi8
    if (nanoseconds % 1_000_000_000).any():
        raise StoreError(
            "the steps of a grid hold fractions of a second; readings are keyed by whole seconds",
            fix="round the steps, e.g. steps.floor('s')",
        )
    ts_s = nanoseconds // 1_000_000_000
    if (ts_s[1:] <= ts_s[:-1]).any():
        raise StoreError(
            "the steps of a grid must be strictly increasing",
            fix="sort the steps and drop repeated ones (steps.unique().sort_values())",
        )
    return ts_s


def encode_frame(frame: pd.DataFrame) -> bytes:
    """A result frame as Parquet bytes, keeping dtypes, time zones and the index frequency.

    Raises
    ------
    StoreError
        When the frame cannot be written as Parquet (say, non-string column names).
    """
    try:
        table = pa.Table.from_pandas(frame)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise StoreError(
            f"the frame cannot be stored as Parquet: {exc}",
            fix="give the frame unique string column names and plain column types",
        ) from exc
    # Parquet keeps the index values but not their frequency; keep it beside them.
    if isinstance(frame.index, pd.DatetimeIndex) and frame.index.freqstr:
        metadata = dict(table.schema.metadata or {})
        metadata[_INDEX_FREQ_KEY] = frame.index.freqstr.encode()
        table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def decode_frame(blob: bytes) -> pd.DataFrame:
    """The frame :func:`encode_frame` encoded."""
    table = pq.read_table(pa.BufferReader(blob))
    frame: pd.DataFrame = table.to_pandas()
    freq = (table.schema.metadata or {}).get(_INDEX_FREQ_KEY)
    if freq and isinstance(frame.index, pd.DatetimeIndex):
        frame.index = pd.DatetimeIndex(frame.index, freq=freq.decode())
    return frame
