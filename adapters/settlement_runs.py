"""Immutable, versioned settlement runs: a registry in SQLite and files written once.

Each run of a month is identified by the SHA-256 of the inputs that change its
numbers (the config, the metered data and prices, the Shapley option and
klaster's version; :mod:`adapters.settlement_identity`). The first run of an
identity becomes the month's next version, in its own folder::

    <data_dir>/settlement/<YYYY-MM>/v<N>/
        settlement.json         the canonical settlement: what is billed
        inputs.json             the identity of its inputs
        diff-v<N-1>.csv, .txt   differences against the previous version
        members/<id>/allocation.csv                   a member's quarter-hours
        coordinator/summary.csv, allocation.csv       every member's totals, quarter-hours
        <lang>/members/<id>/report.html, report.pdf   a member's report, per language
        <lang>/coordinator/summary.html               the coordinator's, per language

Reports go into folders (``klaster settle`` puts HTML and PDF under their
language, the CSV data outside it); the top level is the run's own. A
version's reports may be completed later: settling the same inputs in
another language or for other members returns the same version and adds only
the files it lacks. No file is written twice: each is read-only once written
and recorded with its SHA-256 in the registry ``settlement_runs.sqlite``
beside the store (added files as new rows; recorded rows cannot be changed
or deleted), and a file the version holds is re-rendered and checked byte for
byte against the recorded one. A new identity for a month that has versions
gets the next version, with a difference report against the latest one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType

from adapters.settlement_identity import InputIdentity
from adapters.sqlite_schema import store_error, writable_data_dir
from cluster.errors import StoreError
from cluster.settlement import SettlementError
from cluster.settlement_records import difference_report

REGISTRY_FILE_NAME = "settlement_runs.sqlite"
SETTLEMENT_DIR_NAME = "settlement"
RECORD_FILE = "settlement.json"
INPUTS_FILE = "inputs.json"
_READ_ONLY = 0o444

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS settlement_runs (
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        input_sha256 TEXT NOT NULL,
        created_utc TEXT NOT NULL,
        folder TEXT NOT NULL,
        klaster_version TEXT NOT NULL,
        options TEXT NOT NULL,
        PRIMARY KEY (period, version),
        UNIQUE (period, input_sha256))""",
    """CREATE TABLE IF NOT EXISTS settlement_run_files (
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        PRIMARY KEY (period, version, path),
        FOREIGN KEY (period, version) REFERENCES settlement_runs (period, version))""",
    # A recorded run is evidence: the registry refuses to change or forget it.
    *(
        f"""CREATE TRIGGER IF NOT EXISTS {table}_{action.lower()}_refused
        BEFORE {action} ON {table}
        BEGIN SELECT RAISE(ABORT, 'settlement runs are immutable'); END"""
        for table in ("settlement_runs", "settlement_run_files")
        for action in ("UPDATE", "DELETE")
    ),
)


_INSERT_RUN = """
    INSERT INTO settlement_runs (period, version, input_sha256, created_utc, folder,
        klaster_version, options) VALUES (?, ?, ?, ?, ?, ?, ?)"""
_INSERT_FILE = """
    INSERT INTO settlement_run_files (period, version, path, sha256, size_bytes)
    VALUES (?, ?, ?, ?, ?)"""


class SettlementRunError(SettlementError):
    """A recorded run that cannot be reproduced or whose files were changed."""


@dataclass(frozen=True)
class RunFile:
    """A file of a run: its path inside the run's folder, SHA-256 (hex) and size, bytes."""

    path: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class SettlementRun:
    """A recorded version of a month's settlement.

    Attributes
    ----------
    period : str
        The month, ``YYYY-MM``.
    version : int
        1 for the month's first run, then 2, 3, ...
    input_sha256 : str
        The identity of its inputs.
    created_utc : datetime
        When it was recorded.
    folder : Path
        Its files' folder.
    files : tuple of RunFile
        Every file, by path.
    created : bool
        True when this call recorded it, False when it was found recorded.
    added : tuple of str
        The files this call added to a version found recorded (other languages, members).
    """

    period: str
    version: int
    input_sha256: str
    created_utc: datetime
    folder: Path
    files: tuple[RunFile, ...]
    created: bool = False
    added: tuple[str, ...] = ()

    def file(self, path: str) -> Path:
        """The full path of one of the run's files."""
        return self.folder / path

    @property
    def difference_files(self) -> list[Path]:
        """The difference report against the previous version, if any."""
        return [self.folder / f.path for f in self.files if f.path.startswith("diff-v")]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or ".." in path.parts or "\\" in name:
        raise SettlementRunError(
            f"a run's file may not be named {name!r}",
            fix="name report files by relative paths inside the run's folder",
        )
    return path


def _write_read_only(path: Path, data: bytes) -> None:
    """Write a new file (never over one), flushed to disk, then make it read-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    path.chmod(_READ_ONLY)


def _checked_reports(reports: Mapping[str, bytes]) -> dict[str, bytes]:
    for name in reports:
        # The folder's top level holds the run's own files: record, identity, differences.
        if len(_checked_path(name).parts) == 1:
            raise SettlementRunError(
                f"a report may not be named {name!r}: reports go into folders",
                fix="name report files by relative paths inside folders, e.g. members/<id>/",
            )
    return dict(reports)


class SettlementRuns:
    """The registry of settlement runs of one data folder, and their files.

    Open it with :meth:`open`; use it as a context manager or call :meth:`close`.
    """

    def __init__(self, connection: sqlite3.Connection, data_dir: Path) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.data_dir = data_dir
        self.path = data_dir / REGISTRY_FILE_NAME

    @classmethod
    def open(cls, data_dir: Path, *, busy_timeout_s: float = 10.0) -> SettlementRuns:
        """Open (creating if needed) the registry in ``data_dir``, beside the store."""
        data_dir = writable_data_dir(data_dir)
        path = data_dir / REGISTRY_FILE_NAME
        try:
            connection = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
            connection.execute("PRAGMA foreign_keys = ON")
            for statement in _SCHEMA:
                connection.execute(statement)
        except sqlite3.Error as exc:
            raise store_error(exc, path, "open the settlement registry") from exc
        return cls(connection, data_dir)

    def __enter__(self) -> SettlementRuns:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the registry file; calling it again does nothing."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- reading ------------------------------------------------------------------

    def versions(self, period: str) -> list[SettlementRun]:
        """Every recorded version of a month, oldest first."""
        with self._transaction("list settlement runs", write=False) as connection:
            return self._versions(connection, period)

    def find(self, period: str, input_sha256: str) -> SettlementRun | None:
        """The version of a month recorded for these inputs, if there is one."""
        return next((r for r in self.versions(period) if r.input_sha256 == input_sha256), None)

    def _versions(self, connection: sqlite3.Connection, period: str) -> list[SettlementRun]:
        files: dict[int, list[RunFile]] = {}
        for version, path, sha, size in connection.execute(
            "SELECT version, path, sha256, size_bytes FROM settlement_run_files"
            " WHERE period = ? ORDER BY version, path",
            (period,),
        ):
            files.setdefault(version, []).append(RunFile(path, sha, size))
        return [
            SettlementRun(
                period=period,
                version=version,
                input_sha256=sha,
                created_utc=datetime.fromisoformat(created),
                folder=self.data_dir / folder,
                files=tuple(files.get(version, ())),
            )
            for version, sha, created, folder in connection.execute(
                "SELECT version, input_sha256, created_utc, folder FROM settlement_runs"
                " WHERE period = ? ORDER BY version",
                (period,),
            )
        ]

    # -- recording ----------------------------------------------------------------

    def record(
        self,
        period: str,
        identity: InputIdentity,
        record_json: bytes,
        reports: Mapping[str, bytes],
    ) -> SettlementRun:
        """Record a run of ``period``, or complete the version these inputs already have.

        Parameters
        ----------
        period
            The month, ``YYYY-MM``.
        identity
            The identity of the run's inputs (:func:`~adapters.settlement_identity.input_identity`).
        record_json
            The settlement's canonical JSON (written as ``settlement.json``).
        reports
            Path in the run's folder (inside a folder of it) → bytes of every report.

        Returns
        -------
        SettlementRun
            A new version (``created`` True) with ``inputs.json``, ``settlement.json``,
            the reports and, after the first version, ``diff-v<N>.csv`` and ``.txt``
            against the latest version N; or the version of the same identity
            (``created`` False) with the reports it lacked ``added``, the others untouched.

        Raises
        ------
        SettlementRunError
            When the same inputs gave bytes other than those recorded, a recorded
            file was changed on disk, or a version's folder or file exists unrecorded.
        """
        files = {RECORD_FILE: record_json, **_checked_reports(reports)}
        written: list[Path] = []
        try:
            with self._transaction("record a settlement run", write=True) as connection:
                earlier = self._versions(connection, period)
                same = next((r for r in earlier if r.input_sha256 == identity.sha256), None)
                if same is not None:
                    return self._complete(connection, same, files, written)
                return self._record_new(connection, period, identity, earlier, files, written)
        except BaseException:
            # A failed commit must not leave a folder or file the registry does not know.
            for path in written:
                with suppress(OSError):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            raise

    def _record_new(
        self,
        connection: sqlite3.Connection,
        period: str,
        identity: InputIdentity,
        earlier: list[SettlementRun],
        files: dict[str, bytes],
        written: list[Path],
    ) -> SettlementRun:
        """Register the next version of ``period`` and write its folder, added to ``written``."""
        previous = earlier[-1] if earlier else None
        version = previous.version + 1 if previous else 1
        files[INPUTS_FILE] = identity.to_json()
        if previous is not None:
            report = difference_report(
                self._read_recorded(previous, RECORD_FILE), files[RECORD_FILE]
            )
            files[f"diff-v{previous.version}.csv"] = report.to_csv()
            summary = report.summary(f"v{previous.version}", f"v{version}")
            files[f"diff-v{previous.version}.txt"] = summary.encode("utf-8")
        relative = Path(SETTLEMENT_DIR_NAME) / period / f"v{version}"
        created = datetime.now(UTC)
        run_files = tuple(
            RunFile(name, _sha256(data), len(data)) for name, data in sorted(files.items())
        )
        connection.execute(
            _INSERT_RUN,
            (period, version, identity.sha256, created.isoformat(timespec="microseconds"),
             relative.as_posix(), identity.klaster_version,
             json.dumps(identity.options, sort_keys=True)),
        )  # fmt: skip
        connection.executemany(
            _INSERT_FILE, [(period, version, f.path, f.sha256, f.size_bytes) for f in run_files]
        )
        # Last, inside the transaction: a failed write leaves no registry row behind.
        folder = self.data_dir / relative
        self._write_folder(folder, files)
        written.append(folder)
        return SettlementRun(
            period, version, identity.sha256, created, folder, run_files, created=True
        )

    def _complete(
        self,
        connection: sqlite3.Connection,
        run: SettlementRun,
        files: Mapping[str, bytes],
        written: list[Path],
    ) -> SettlementRun:
        """Check the files a version holds against ``files``; add the others, to ``written``."""
        self.verify(run, files)
        recorded = {f.path for f in run.files}
        added = tuple(
            RunFile(name, _sha256(data), len(data))
            for name, data in sorted(files.items())
            if name not in recorded
        )
        if not added:
            return run
        # New rows only: a version's recorded files are never changed.
        connection.executemany(
            _INSERT_FILE,
            [(run.period, run.version, f.path, f.sha256, f.size_bytes) for f in added],
        )
        for file in added:
            self._add_file(run, file.path, files[file.path], written)
        return replace(
            run,
            files=tuple(sorted((*run.files, *added), key=lambda f: f.path)),
            added=tuple(f.path for f in added),
        )

    @staticmethod
    def _add_file(run: SettlementRun, name: str, data: bytes, written: list[Path]) -> None:
        """Write one new file into a recorded version's folder, never over another file."""
        path = run.folder / _checked_path(name)
        if path.is_file() and path.read_bytes() == data:
            # Left by a run interrupted before its commit: exactly what would be written.
            path.chmod(_READ_ONLY)
            return
        if path.exists():
            raise SettlementRunError(
                f"{path} exists but is not in the settlement registry",
                fix="a run was interrupted or the file was copied there: move it away "
                "and settle again",
            )
        partial = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            _write_read_only(partial, data)
            # A link, unlike a rename, never replaces a file that appeared meanwhile;
            # the file appears whole or not at all.
            os.link(partial, path)
            written.append(path)
        finally:
            partial.unlink(missing_ok=True)

    def verify(self, run: SettlementRun, rendered: Mapping[str, bytes] | None = None) -> None:
        """Raise :class:`SettlementRunError` unless every file of a run is as recorded.

        Files in ``rendered`` (path → bytes) that the run holds must have the recorded bytes.
        """
        recorded = {f.path: f for f in run.files}
        problems = [
            f"{name} re-rendered with other bytes"
            for name, data in sorted((rendered or {}).items())
            if name in recorded and _sha256(data) != recorded[name].sha256
        ]
        if problems:
            raise SettlementRunError(
                f"settlement {run.period} v{run.version}: the same inputs did not give the same "
                f"output: {'; '.join(problems)}",
                fix="the output is not reproducible; report this defect with the run's folder "
                f"{run.folder} (the recorded version stays as it was written)",
            )
        for name in recorded:
            self._read_recorded(run, name)

    def _read_recorded(self, run: SettlementRun, name: str) -> bytes:
        """A recorded file's bytes, checked against the registry."""
        path = run.folder / name
        expected = next(f for f in run.files if f.path == name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SettlementRunError(
                f"settlement {run.period} v{run.version}: cannot read {path} "
                f"({exc.strerror or exc})",
                fix="restore the run's folder from a backup; runs are never written again",
            ) from exc
        if _sha256(data) != expected.sha256:
            raise SettlementRunError(
                f"settlement {run.period} v{run.version}: {path} was changed after it was "
                "recorded (its SHA-256 differs)",
                fix="restore the file from a backup; runs are never written again",
            )
        return data

    @staticmethod
    def _write_folder(folder: Path, files: Mapping[str, bytes]) -> None:
        """Write a version's files read-only into a new folder, all of them or none."""
        if folder.exists():
            raise SettlementRunError(
                f"the folder {folder} exists but is not in the settlement registry",
                fix="a run was interrupted or the folder was copied there: move it away "
                "and settle again",
            )
        partial = folder.with_name(f".{folder.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            for name, data in files.items():
                _write_read_only(partial / _checked_path(name), data)
            # The version appears whole, by one rename, or not at all.
            partial.rename(folder)
        except BaseException:
            with suppress(OSError):
                shutil.rmtree(partial)
            raise

    # -- plumbing -----------------------------------------------------------------

    @contextmanager
    def _transaction(self, action: str, *, write: bool) -> Iterator[sqlite3.Connection]:
        if self._connection is None:
            raise StoreError(
                f"the settlement registry {self.path} is closed",
                fix="open it again with SettlementRuns.open",
            )
        connection = self._connection
        try:
            # IMMEDIATE: a second settle of the same month waits rather than
            # picking the same version number.
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield connection
            connection.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise store_error(exc, self.path, action) from exc
            raise
