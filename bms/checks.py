"""A check of buildings: their zones' readings, the policy laid on them, every rule run.

:func:`check_buildings` takes readings (stored history and live reads, one
long frame), builds each zone's frame, joins the policy on and runs every
rule of :data:`RULES`. It returns the findings and the frames, so that a
report can plot the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from bms import equipment_rules as equipment
from bms import rules
from bms.findings import Finding, sorted_findings
from bms.frames import zone_frame
from bms.policies import BmsPolicy, zone_context
from bms.rules import Rule, RuleContext
from cluster.assets import BmsZone, PublicBuilding

#: Every rule by name, in the order a check runs them.
RULES: Mapping[str, Rule] = {
    "setpoint-outside-band": rules.setpoint_outside_band,
    "override-held-too-long": rules.override_held_too_long,
    "heating-while-unoccupied": rules.heating_while_unoccupied,
    "heating-on-closed-day": rules.heating_on_closed_day,
    "simultaneous-heating-cooling": equipment.simultaneous_heating_cooling,
    "sensor-frozen": equipment.sensor_frozen,
    "sensor-out-of-range": equipment.sensor_out_of_range,
    "control-loop": equipment.control_loop_fault,
    "short-cycling": equipment.short_cycling,
}


@dataclass(frozen=True)
class CheckResult:
    """Findings, worst first, and the zone frames they were found in (by building, zone)."""

    findings: list[Finding]
    frames: dict[tuple[str, str], pd.DataFrame]


def zone_check_frame(
    readings: pd.DataFrame,
    building: PublicBuilding,
    zone: BmsZone,
    policy: BmsPolicy,
    time_zone: ZoneInfo,
    country: str = "PL",
) -> pd.DataFrame:
    """A zone's frame with the policy columns joined on (see :mod:`bms.frames`)."""
    frame = zone_frame(readings, building.id, zone.id)
    context = zone_context(
        pd.DatetimeIndex(frame.index), building, zone, policy, time_zone, country
    )
    return frame.join(context)


def check_zone(
    frame: pd.DataFrame,
    building_id: str,
    zone_id: str,
    context: RuleContext,
    rules_to_run: Mapping[str, Rule] = RULES,
) -> list[Finding]:
    """Run rules on one zone's frame (policy columns joined on); their findings."""
    if frame.empty:
        return []
    return [
        Finding.of(name, building_id, zone_id, hit)
        for name, rule in rules_to_run.items()
        for hit in rule(frame, context)
    ]


def check_buildings(
    readings: pd.DataFrame,
    buildings: Sequence[PublicBuilding],
    policy: BmsPolicy,
    time_zone: ZoneInfo,
    country: str = "PL",
    rules_to_run: Mapping[str, Rule] = RULES,
) -> CheckResult:
    """Check every zone of ``buildings`` on ``readings``.

    Parameters
    ----------
    readings
        A long readings frame holding the zones' series
        (``point/<building>/<zone>/<point>``), history and live alike.
    buildings
        The buildings to check.
    policy
        The BMS policy (rule limits, pre-heat and setback by building type).
    time_zone
        The cluster's time zone (local days and hours).
    country
        ISO country code of the public holidays.
    rules_to_run
        The rules, by name.
    """
    context = RuleContext(policy.rules, time_zone)
    findings: list[Finding] = []
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    for building in buildings:
        for zone in building.zones:
            frame = zone_check_frame(readings, building, zone, policy, time_zone, country)
            frames[(building.id, zone.id)] = frame
            findings += check_zone(frame, building.id, zone.id, context, rules_to_run)
    return CheckResult(sorted_findings(findings), frames)
