"""The embedded SQLite time-series store, klaster's default :class:`TimeSeriesStore`.

One file, ``klaster.sqlite``, in the data folder holds the readings, the run
records and the result frames of each run (layout in :mod:`adapters.sqlite_schema`).
Each write is one transaction: it lands whole or not at all, also when the
process is killed halfway.

Callers use only the :class:`~cluster.timeseries.TimeSeriesStore` methods, and the
frame rules live in :mod:`adapters.store_frames`, so a PostgreSQL store can take
this one's place without touching them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import pandas as pd

from adapters.sqlite_schema import (
    GRID_ROWS,
    UPSERT_READING,
    UPSERT_RUN,
    connect,
    store_error,
    writable_data_dir,
)
from adapters.store_frames import (
    GridFiller,
    ReadingBatch,
    StoredGrid,
    decode_frame,
    encode_frame,
    epoch_second_bounds,
    utc_index,
)
from cluster.errors import StoreError
from cluster.timeseries import READING_COLUMNS, RunRecord

DATABASE_FILE_NAME = "klaster.sqlite"

# Rows bound per executemany call: large enough that Python's per-call overhead
# vanishes, small enough that the tuples of one batch stay a few MB.
_ROWS_PER_STATEMENT = 100_000
# Names per ``IN (...)`` list; below the 999 bound parameters of old SQLite builds.
_NAMES_PER_STATEMENT = 500


class SqliteStore:
    """Readings, runs and result frames in one SQLite file (WAL mode).

    Open it with :meth:`open`; use it as a context manager or call :meth:`close`.
    One instance serves one thread; other processes may read while it writes.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.path = path
        # Integer id and unit by series name, of committed series rows. A series row is
        # never changed or deleted once committed, so an entry stays right for the
        # life of the file; a name not in it is looked up in the file (another
        # process may have added it since).
        self._series_ids: dict[str, int] = {}
        self._series_units: dict[str, str] = {}

    @classmethod
    def open(
        cls, data_dir: Path, *, busy_timeout_s: float = 5.0, cache_mib: int = 64
    ) -> SqliteStore:
        """Open (creating if needed) the store file ``klaster.sqlite`` in ``data_dir``.

        Parameters
        ----------
        data_dir
            The data folder; created with its parents when missing.
        busy_timeout_s
            How long to wait for another process's write to finish before giving
            up, s.
        cache_mib
            SQLite page cache of this connection, MiB.

        Raises
        ------
        StoreError
            When the folder cannot be created or written, the file is not a klaster
            store, is locked, or was written by a newer klaster.
        """
        path = writable_data_dir(data_dir) / DATABASE_FILE_NAME
        connection = connect(path, busy_timeout_s=busy_timeout_s, cache_mib=cache_mib)
        return cls(connection, path)

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def close(self) -> None:
        """Release the file; calling it again does nothing."""
        if self._connection is None:
            return
        # Refreshing the planner's statistics is a courtesy; closing must happen anyway.
        with suppress(sqlite3.Error):
            self._connection.execute("PRAGMA optimize")
        self._connection.close()
        self._connection = None

    # -- readings ---------------------------------------------------------------

    def write_readings(self, frame: pd.DataFrame) -> int:
        """Upsert a long frame of :data:`~cluster.timeseries.READING_COLUMNS` in one transaction.

        Parameters
        ----------
        frame
            Columns ``series_id`` (str), ``ts`` (timezone-aware, whole seconds),
            ``value`` (float in the series' unit, NaN when missing), ``unit`` (str,
            one per series) and ``quality`` (int, a :class:`~cluster.timeseries.Quality`).

        Returns
        -------
        int
            Rows inserted or changed; 0 when the store already held these readings.

        Raises
        ------
        StoreError
            When the frame is malformed, a series is stored in another unit, or the
            file cannot be written. Nothing of the frame is written then.
        """
        batch = ReadingBatch.from_frame(frame)
        if batch.ts_s.size == 0:
            return 0
        with self._write_transaction("write readings") as connection:
            ids_by_code, added = self._series_ids_for_write(
                connection, batch.series_names, batch.series_units
            )
            series_ids = ids_by_code[batch.series_codes]
            changes_before = connection.total_changes
            for begin in range(0, series_ids.size, _ROWS_PER_STATEMENT):
                rows = slice(begin, begin + _ROWS_PER_STATEMENT)
                # NaN binds as SQL NULL (SQLite stores no NaN), which is our "missing".
                connection.executemany(
                    UPSERT_READING,
                    zip(
                        series_ids[rows].tolist(),
                        batch.ts_s[rows].tolist(),
                        batch.values[rows].tolist(),
                        batch.quality[rows].tolist(),
                        strict=True,
                    ),
                )
            changed = connection.total_changes - changes_before
        # Committed now: the series this write added may be remembered (not before,
        # as a rolled-back write leaves no series behind).
        self._remember_series(added)
        return changed

    def read_series(
        self, series_ids: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Values in ``[start, end)`` as a wide frame: UTC index ``ts``, a column per series.

        The index holds every timestamp at which any asked series has a reading;
        steps a series lacks are NaN, and unknown series are all-NaN columns, in
        the order asked.
        """
        start_s, end_s = epoch_second_bounds(start, end)
        columns: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}
        with self._reading("read series") as connection:
            known = self._known_series(connection, series_ids)
            for name in dict.fromkeys(series_ids):
                if name not in known:
                    continue
                rows = connection.execute(
                    "SELECT ts, value FROM readings WHERE series = ? AND ts >= ? AND ts < ?"
                    " ORDER BY ts",
                    (known[name][0], start_s, end_s),
                ).fetchall()
                if rows:
                    table = np.array(rows, dtype=np.float64)  # NULL becomes NaN
                    columns[name] = (table[:, 0].astype(np.int64), table[:, 1])
        union = (
            np.unique(np.concatenate([ts for ts, _ in columns.values()]))
            if columns
            else np.empty(0, dtype=np.int64)
        )
        wide = np.full((union.size, len(series_ids)), np.nan)
        for position, name in enumerate(series_ids):
            if name in columns:
                ts, values = columns[name]
                wide[np.searchsorted(union, ts), position] = values
        return pd.DataFrame(wide, index=utc_index(union), columns=pd.Index(list(series_ids)))

    def read_readings(
        self, series_ids: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """The long frame of readings in ``[start, end)``, by series as asked, then time."""
        start_s, end_s = epoch_second_bounds(start, end)
        names: list[str] = []
        units: list[str] = []
        tables: list[npt.NDArray[np.float64]] = []
        with self._reading("read readings") as connection:
            known = self._known_series(connection, series_ids)
            for name in dict.fromkeys(series_ids):
                if name not in known:
                    continue
                key, unit = known[name]
                rows = connection.execute(
                    "SELECT ts, value, quality FROM readings"
                    " WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts",
                    (key, start_s, end_s),
                ).fetchall()
                if rows:
                    names.append(name)
                    units.append(unit)
                    tables.append(np.array(rows, dtype=np.float64))
        counts = [len(table) for table in tables]
        table = np.concatenate(tables) if tables else np.empty((0, 3))
        return pd.DataFrame(
            {
                "series_id": pd.Series(np.repeat(np.array(names, dtype=object), counts), dtype=str),
                "ts": utc_index(table[:, 0].astype(np.int64)),
                "value": table[:, 1],
                "unit": pd.Series(np.repeat(np.array(units, dtype=object), counts), dtype=str),
                "quality": table[:, 2].astype(np.int64),
            },
            columns=list(READING_COLUMNS),
        ).reset_index(drop=True)

    def read_grid(self, series_ids: Sequence[str], steps: pd.DatetimeIndex) -> StoredGrid:
        """Values and qualities of many series on a grid of steps, as arrays (steps x series).

        ``series_ids`` are the columns in the order asked (an unknown series has no
        readings and no unit); ``steps`` must be timezone-aware whole seconds,
        strictly increasing. Readings between or beyond the steps are left out.
        Raises :class:`StoreError` for other steps or when the file cannot be read.
        """
        filler = GridFiller(series_ids, steps)
        if filler.grid_s.size == 0:
            return filler.grid({})
        with self._reading("read a grid") as connection:
            known = self._known_series(connection, series_ids)
            for column, name in enumerate(filler.series_ids):
                if name in known:
                    bounds = (known[name][0], int(filler.grid_s[0]), int(filler.grid_s[-1]))
                    filler.place_rows(column, connection.execute(GRID_ROWS, bounds).fetchall())
        return filler.grid({name: unit for name, (_, unit) in known.items()})

    def coverage(self, series_id: str) -> tuple[pd.Timestamp, pd.Timestamp, int] | None:
        """First and last timestamp (UTC) and row count of a series, or None when empty."""
        with self._reading("read coverage") as connection:
            first_s, last_s, count = connection.execute(
                "SELECT min(ts), max(ts), count(*) FROM readings"
                " WHERE series = (SELECT id FROM series WHERE name = ?)",
                (series_id,),
            ).fetchone()
        if count == 0:
            return None
        first, last = utc_index(np.array([first_s, last_s], dtype=np.int64))
        return first, last, int(count)

    # -- runs and their frames --------------------------------------------------

    def record_run(self, run: RunRecord) -> None:
        """Store a run record, or update the one with the same ``run_id``."""
        if run.started_at.utcoffset() is None:
            raise StoreError(
                f"run {run.run_id!r}: started_at {run.started_at} has no time zone",
                fix="pass a timezone-aware time, such as datetime.now(UTC)",
            )
        try:
            details = json.dumps(run.details, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"run {run.run_id!r}: details cannot be stored as JSON ({exc})",
                fix="keep run details to strings, numbers, booleans, lists and dicts",
            ) from exc
        row = (
            run.run_id,
            run.kind,
            date(run.day.year, run.day.month, run.day.day).isoformat(),
            run.started_at.astimezone(UTC).isoformat(timespec="microseconds"),
            run.config_hash,
            run.inputs_hash,
            run.status,
            details,
        )
        with self._write_transaction("record a run") as connection:
            connection.execute(UPSERT_RUN, row)

    def runs(self, kind: str | None = None) -> list[RunRecord]:
        """Stored runs (of one ``kind`` when given), newest start first."""
        query = (
            "SELECT run_id, kind, day, started_at, config_hash, inputs_hash, status, details"
            " FROM runs WHERE ? IS NULL OR kind = ? ORDER BY started_at DESC, run_id DESC"
        )
        with self._reading("list runs") as connection:
            rows = connection.execute(query, (kind, kind)).fetchall()
        return [
            RunRecord(
                run_id=run_id,
                kind=run_kind,
                day=date.fromisoformat(day),
                started_at=datetime.fromisoformat(started_at),
                config_hash=config_hash,
                inputs_hash=inputs_hash,
                status=status,
                details=json.loads(details),
            )
            for run_id, run_kind, day, started_at, config_hash, inputs_hash, status, details in rows
        ]

    def save_frame(self, run_id: str, name: str, frame: pd.DataFrame) -> None:
        """Store a result frame under a recorded run as Parquet, replacing one of that name."""
        blob = encode_frame(frame)
        try:
            with self._write_transaction("save a result frame") as connection:
                connection.execute(
                    "INSERT INTO run_frames (run_id, name, parquet) VALUES (?, ?, ?)"
                    " ON CONFLICT (run_id, name) DO UPDATE SET parquet = excluded.parquet",
                    (run_id, name, blob),
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise StoreError(
                    f"cannot save frame {name!r}: run {run_id!r} is not recorded",
                    fix="record the run with record_run before saving its frames",
                ) from exc
            raise

    def load_frame(self, run_id: str, name: str) -> pd.DataFrame:
        """A result frame stored by :meth:`save_frame`, exactly as it was saved."""
        with self._reading("load a result frame") as connection:
            row = connection.execute(
                "SELECT parquet FROM run_frames WHERE run_id = ? AND name = ?", (run_id, name)
            ).fetchone()
            if row is None:
                stored = [
                    stored_name
                    for (stored_name,) in connection.execute(
                        "SELECT name FROM run_frames WHERE run_id = ? ORDER BY name", (run_id,)
                    )
                ]
        if row is None:
            raise StoreError(
                f"no frame {name!r} is stored under run {run_id!r} in {self.path}",
                fix=f"frames stored under this run: {', '.join(stored)}"
                if stored
                else "check the run id against the stored runs; this run has no frames",
            )
        return decode_frame(row[0])

    # -- plumbing -----------------------------------------------------------------

    def _live_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError(
                f"the store {self.path} is closed", fix="open it again with SqliteStore.open"
            )
        return self._connection

    @contextmanager
    def _write_transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; any failure, even an interrupt, rolls it back whole."""
        connection = self._live_connection()
        try:
            # IMMEDIATE takes the write lock now, so a busy file fails before any work.
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                # A failed rollback must not hide the error that caused it.
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise store_error(exc, self.path, action) from exc
            raise

    @contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        """One read transaction, so every series of a read comes from the same snapshot."""
        connection = self._live_connection()
        try:
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("COMMIT")  # ends the snapshot; nothing was written
        except sqlite3.Error as exc:
            raise store_error(exc, self.path, action) from exc

    @staticmethod
    def _series_rows(
        connection: sqlite3.Connection, names: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """Integer id and unit of each series among ``names``, as this transaction sees them."""
        rows: dict[str, tuple[int, str]] = {}
        distinct = list(dict.fromkeys(names))
        for begin in range(0, len(distinct), _NAMES_PER_STATEMENT):
            batch = distinct[begin : begin + _NAMES_PER_STATEMENT]
            placeholders = ",".join("?" * len(batch))
            for series_id, name, unit in connection.execute(
                f"SELECT id, name, unit FROM series WHERE name IN ({placeholders})", batch
            ):
                rows[name] = (series_id, unit)
        return rows

    def _remember_series(self, rows: dict[str, tuple[int, str]]) -> None:
        """Keep the id and unit of committed series rows for later writes and reads."""
        for name, (series_id, unit) in rows.items():
            self._series_ids[name] = series_id
            self._series_units[name] = unit

    def _known_series(
        self, connection: sqlite3.Connection, names: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """Integer id and unit of each committed series among ``names``.

        Call it before the transaction writes any series, so that every row it
        finds in the file is committed and may be remembered.
        """
        ids, units = self._series_ids, self._series_units
        if missing := [name for name in names if name not in ids]:
            self._remember_series(self._series_rows(connection, missing))
        return {name: (ids[name], units[name]) for name in names if name in ids}

    def _series_ids_for_write(
        self, connection: sqlite3.Connection, names: list[str], units: list[str]
    ) -> tuple[npt.NDArray[np.int64], dict[str, tuple[int, str]]]:
        """Integer ids of the distinct ``names``, adding new series; refuses a change of unit.

        Call it before the transaction writes any series. Returns the ids in the
        order of ``names``, and the rows of the series it added, which are not
        committed yet.
        """
        # Whole-list operations: a poller's batch names tens of thousands of series.
        ids: list[int | None] = list(map(self._series_ids.get, names))
        if None in ids:
            self._known_series(connection, names)  # looks up those not remembered
            ids = list(map(self._series_ids.get, names))
        stored_units = list(map(self._series_units.get, names))
        if stored_units != units:
            clashes = [
                f"{name!r} is stored in {stored!r}, the new readings are in {unit!r}"
                for name, unit, stored in zip(names, units, stored_units, strict=True)
                if stored is not None and stored != unit
            ]
            if clashes:
                raise StoreError(
                    f"unit mismatch, nothing was written: {'; '.join(clashes[:5])}"
                    + (f" (and {len(clashes) - 5} more)" if len(clashes) > 5 else ""),
                    fix="convert the readings to the stored unit, "
                    "or store them under a new series id",
                )
        added: dict[str, tuple[int, str]] = {}
        if None in ids:
            new = [
                (name, unit)
                for name, unit, series_id in zip(names, units, ids, strict=True)
                if series_id is None
            ]
            connection.executemany("INSERT INTO series (name, unit) VALUES (?, ?)", new)
            added = self._series_rows(connection, [name for name, _ in new])
            ids = [
                added[name][0] if series_id is None else series_id
                for name, series_id in zip(names, ids, strict=True)
            ]
        return np.array(ids, dtype=np.int64), added
