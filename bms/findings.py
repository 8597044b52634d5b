"""Findings: what a check found wrong, where, since when, the evidence and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import pandas as pd

#: Columns of :func:`findings_frame` (and of the CSV a check writes).
FINDING_COLUMNS = (
    "severity", "building", "zone", "point", "rule", "since", "until", "evidence", "fix",
)  # fmt: skip


class Severity(IntEnum):
    """How urgent a finding is; higher is worse."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        """The lower-case name, e.g. ``warning``."""
        return self.name.lower()


@dataclass(frozen=True)
class Hit:
    """What one rule found in one zone frame.

    Attributes
    ----------
    point
        The zone point it is about (``setpoint``, ``room_temp``, ``heat_output``).
    severity
        How urgent it is.
    since, until
        UTC instants of the first and last reading that show it.
    evidence
        What the readings show, with numbers and local times.
    fix
        What to do about it.
    """

    point: str
    severity: Severity
    since: pd.Timestamp
    until: pd.Timestamp
    evidence: str
    fix: str


@dataclass(frozen=True)
class Finding:
    """A hit placed in its building and zone, named by its rule."""

    rule: str
    severity: Severity
    building_id: str
    zone_id: str
    point_id: str
    since: pd.Timestamp
    until: pd.Timestamp
    evidence: str
    fix: str

    @classmethod
    def of(cls, rule: str, building_id: str, zone_id: str, hit: Hit) -> Finding:
        """The finding of ``hit``; the point id is ``<building>/<zone>/<point>``.

        ``{point}`` in the hit's fix becomes the point id, so that a command
        the fix names can be run as written.
        """
        point_id = f"{building_id}/{zone_id}/{hit.point}"
        return cls(
            rule=rule,
            severity=hit.severity,
            building_id=building_id,
            zone_id=zone_id,
            point_id=point_id,
            since=hit.since,
            until=hit.until,
            evidence=hit.evidence,
            fix=hit.fix.replace("{point}", point_id),
        )


def sorted_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Worst first, then by building, zone and time."""
    return sorted(
        findings, key=lambda f: (-int(f.severity), f.building_id, f.zone_id, f.since, f.rule)
    )


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """Findings as a table with the columns of :data:`FINDING_COLUMNS`, worst first.

    ``since`` and ``until`` are UTC timestamps; ``point`` is the klaster point id.
    """
    rows = [
        (f.severity.label, f.building_id, f.zone_id, f.point_id, f.rule, f.since, f.until,
         f.evidence, f.fix)
        for f in sorted_findings(findings)
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    for column in ("since", "until"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
