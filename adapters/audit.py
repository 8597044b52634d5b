"""The dispatch audit log: one JSON line per attempted write, appended and synced.

Every write dispatch considers is recorded, whatever became of it: sent and
confirmed, refused by the safety rules, failed, overridden by a higher BACnet
priority, or only shown in a dry run; and every release at the end. The file
is only ever appended to (``O_APPEND``), and each line is flushed and synced
to disk before dispatch goes on, so a crash loses at most the line being
written.

A line holds: ``time`` (UTC, ISO 8601), ``user``, ``point`` (klaster's point
id), ``device``, ``action`` (``write`` or ``release``), ``old`` (value read
before), ``new`` (value asked for; null for a BACnet release), ``unit``,
``priority`` (BACnet) or null, ``dry_run``, ``result`` (see :class:`Verdict`),
``reason``, ``read_back``, ``step_start`` (UTC start of the schedule step) and
``plan`` (why the schedule asked for it). A number that is not finite is
written as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``, so every
line stays strict JSON.
"""

from __future__ import annotations

import getpass
import json
import math
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from adapters.errors import AdapterError


class Verdict(StrEnum):
    """What became of one attempted write."""

    APPLIED = "applied"
    REFUSED = "refused"
    FAILED = "failed"
    OVERRIDDEN = "overridden"
    DRY_RUN = "dry-run"


class AuditAction(StrEnum):
    """Whether a line records a command or the release of one."""

    WRITE = "write"
    RELEASE = "release"


class AuditLogError(AdapterError):
    """The audit log cannot be opened or written; nothing is sent without it."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log (see the module docstring for the fields)."""

    time: str
    user: str
    point: str
    device: str | None
    action: AuditAction
    old: float | None
    new: float | None
    unit: str
    priority: int | None
    dry_run: bool
    result: Verdict
    reason: str
    read_back: float | None
    step_start: str | None
    plan: str

    def to_json(self) -> str:
        """The entry as one line of strict JSON (no newline)."""
        fields = {key: _json_value(value) for key, value in asdict(self).items()}
        return json.dumps(fields, ensure_ascii=False, allow_nan=False)


def _json_value(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def utc_now_iso() -> str:
    """The current time, UTC ISO 8601, e.g. ``2027-01-13T09:00:00.123456+00:00``."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def current_user() -> str:
    """The login name of the person running klaster, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # No login name (e.g. a container without a passwd entry): say so, never guess.
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class AuditLog:
    """An append-only JSON-lines file; open it before any device is touched.

    Parameters
    ----------
    path
        The log file; created (with its folder) when missing, never truncated.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        #: Lines appended through this object.
        self.lines_written = 0

    def open(self) -> None:
        """Open the file for appending.

        Raises
        ------
        AuditLogError
            If the file cannot be created or opened for appending.
        """
        if self._file is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open
        except OSError as exc:
            raise AuditLogError(
                f"cannot open the audit log {self.path}: {exc.strerror or exc}",
                fix="give --audit-log a file in a folder you may write to",
            ) from None

    def append(self, entry: AuditEntry) -> None:
        """Append one line, flushed and synced to disk before returning.

        Raises
        ------
        AuditLogError
            If the line cannot be written.
        """
        self.open()
        assert self._file is not None
        try:
            self._file.write(entry.to_json() + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise AuditLogError(
                f"cannot write to the audit log {self.path}: {exc.strerror or exc}",
                fix="free disk space or fix the file's permissions; dispatch stops without it",
            ) from None
        self.lines_written += 1

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()


def read_audit_log(path: Path) -> list[dict[str, Any]]:
    """Every line of an audit log, parsed; non-finite numbers come back as floats."""
    entries = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            if line.strip():
                entries.append(json.loads(line, object_hook=_restore_numbers))
    return entries


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_NUMBER_FIELDS = ("old", "new", "read_back")


def _restore_numbers(entry: dict[str, Any]) -> dict[str, Any]:
    for key in _NUMBER_FIELDS:
        value = entry.get(key)
        if isinstance(value, str) and value in _NON_FINITE:
            entry[key] = _NON_FINITE[value]
    return entry
