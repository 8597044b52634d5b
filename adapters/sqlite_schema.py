"""The layout of the SQLite store file: schema versions, connection settings, errors.

The schema version lives in ``PRAGMA user_version``. Opening a file brings it up
to :data:`SCHEMA_VERSION` with the statements of :data:`MIGRATIONS`, and refuses
a file written by a newer klaster rather than guess at its tables.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from cluster.errors import StoreError

SCHEMA_VERSION = 1

FIX_DATA_DIR = "set KLASTER_DATA_DIR to a writable folder of your choice"

# Readings are keyed by integer series id and UTC epoch seconds in a WITHOUT ROWID
# table: the key is the row, so millions of quarter-hours stay small and a range
# scan of one series reads consecutive pages.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            unit TEXT NOT NULL)""",
        """CREATE TABLE readings (
            series INTEGER NOT NULL REFERENCES series(id),
            ts INTEGER NOT NULL,
            value REAL,
            quality INTEGER NOT NULL,
            PRIMARY KEY (series, ts)) WITHOUT ROWID""",
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            day TEXT NOT NULL,
            started_at TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            inputs_hash TEXT NOT NULL,
            status TEXT NOT NULL,
            details TEXT NOT NULL)""",
        "CREATE INDEX runs_by_start ON runs (started_at)",
        """CREATE TABLE run_frames (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            parquet BLOB NOT NULL,
            PRIMARY KEY (run_id, name))""",
    ),
}


def connect(path: Path, *, busy_timeout_s: float, cache_mib: int) -> sqlite3.Connection:
    """Open the store file at ``path``, tuned and migrated to :data:`SCHEMA_VERSION`.

    Parameters
    ----------
    path
        The SQLite file; created when missing.
    busy_timeout_s
        How long to wait for another process's write to end, s.
    cache_mib
        Page cache of the connection, MiB.

    Raises
    ------
    StoreError
        When the file is not a klaster store, is locked, cannot be written, or
        was written by a newer klaster.
    """
    try:
        # Autocommit mode: the store issues BEGIN and COMMIT itself.
        connection = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise store_error(exc, path, "open the store") from exc
    try:
        # WAL lets other processes read while one writes; with WAL, NORMAL sync
        # never corrupts the file on power loss, it may only lose the last commits.
        for pragma in (
            "journal_mode = WAL",
            "synchronous = NORMAL",
            "foreign_keys = ON",
            f"cache_size = {-1024 * cache_mib}",
            "temp_store = MEMORY",
            "mmap_size = 268435456",
            # A big write leaves a WAL as big as itself; trim it once checkpointed.
            "journal_size_limit = 67108864",
        ):
            connection.execute(f"PRAGMA {pragma}")
        _migrate(connection, path)
    except sqlite3.Error as exc:
        connection.close()
        raise store_error(exc, path, "open the store") from exc
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the file's schema up to :data:`SCHEMA_VERSION`, refusing newer files."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer klaster (store schema {version}; this klaster "
            f"reads schema {SCHEMA_VERSION} and older)",
            fix="upgrade klaster, or set KLASTER_DATA_DIR to another folder",
        )
    if version == SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated meanwhile.
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        if version == 0 and tables:
            raise StoreError(
                f"{path} is an SQLite database of another program "
                f"(tables: {', '.join(tables[:5])})",
                fix="move that file away, or set KLASTER_DATA_DIR to another folder",
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def store_error(exc: sqlite3.Error, path: Path, action: str) -> StoreError:
    """A :class:`StoreError` that names the file and the fix for an SQLite failure.

    Parameters
    ----------
    exc
        The error SQLite raised.
    path
        The store file.
    action
        What was being done, as a verb phrase ("write readings").
    """
    primary_code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if primary_code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(
            f"cannot {action}: {path} is locked by another process",
            fix="wait for the other klaster command using this store to finish (or stop it),"
            " then try again",
        )
    if primary_code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return StoreError(
            f"cannot {action}: {path} is not a usable SQLite database ({exc})",
            fix="move that file away so klaster creates a new store, or set KLASTER_DATA_DIR"
            " to the folder of the right one",
        )
    if primary_code in (
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_PERM,
    ):
        return StoreError(
            f"cannot {action}: {path} cannot be written ({exc})",
            fix=f"make its folder writable and check the free disk space, or {FIX_DATA_DIR}",
        )
    return StoreError(f"cannot {action} in {path}: {exc}")


# Re-ingesting identical readings must change nothing, so the update only fires
# when value or quality differ; ``IS NOT`` compares NULLs (missing values) too.
UPSERT_READING = """
    INSERT INTO readings (series, ts, value, quality) VALUES (?, ?, ?, ?)
    ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality
    WHERE value IS NOT excluded.value OR quality IS NOT excluded.quality"""

GRID_ROWS = "SELECT ts, value, quality FROM readings WHERE series = ? AND ts BETWEEN ? AND ?"

UPSERT_RUN = """
    INSERT INTO runs (run_id, kind, day, started_at, config_hash, inputs_hash, status, details)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO UPDATE SET kind = excluded.kind, day = excluded.day,
        started_at = excluded.started_at, config_hash = excluded.config_hash,
        inputs_hash = excluded.inputs_hash, status = excluded.status, details = excluded.details"""


def default_data_dir() -> Path:
    """The folder of the store: ``$KLASTER_DATA_DIR``, else the XDG data folder.

    Returns ``$KLASTER_DATA_DIR`` when set, else ``$XDG_DATA_HOME/klaster``, else
    ``~/.local/share/klaster``.
    """
    if explicit := os.environ.get("KLASTER_DATA_DIR"):
        return Path(explicit).expanduser()
    if xdg_data_home := os.environ.get("XDG_DATA_HOME"):
        return Path(xdg_data_home).expanduser() / "klaster"
    return Path.home() / ".local" / "share" / "klaster"


def writable_data_dir(data_dir: Path) -> Path:
    """The data folder, created if needed and checked to be writable.

    Raises
    ------
    StoreError
        When the folder cannot be created or written.
    """
    data_dir = Path(data_dir).expanduser()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the data folder {data_dir}: {exc.strerror or exc}", fix=FIX_DATA_DIR
        ) from exc
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StoreError(f"the data folder {data_dir} is not writable", fix=FIX_DATA_DIR)
    return data_dir
