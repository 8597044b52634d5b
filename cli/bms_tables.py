"""Rich tables of ``klaster bms``: live zones, changes, the audit log, findings, baselines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from rich.table import Table

from adapters.audit import AuditEntry, Verdict
from adapters.bms_live import BuildingLive, PointHold, ZoneLive
from adapters.device import PointReading
from bms.findings import Finding, Severity
from bms.flexibility import FlexibilityPlan
from bms.policies import BmsPolicy, zone_context
from bms.rules import PRIORITY_ROLES, PROGRAM_PRIORITY
from cluster.config import ClusterConfig, PublicBuilding
from cluster.timeseries import Quality

VERDICT_STYLE = {
    Verdict.APPLIED: "green",
    Verdict.DRY_RUN: "cyan",
    Verdict.OVERRIDDEN: "yellow",
    Verdict.REFUSED: "red",
    Verdict.FAILED: "red",
}
SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _table(title: str, *columns: str, numeric: Sequence[str] = ()) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for name in columns:
        table.add_column(name, justify="right" if name in numeric else "left", overflow="fold")
    return table


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def holder_text(
    hold: PointHold | str | None, own_priority: int, manual_priority: int | None = None
) -> str:
    """Who holds a point: ``16 program``, ``12 klaster``, ``10 klaster bms set``, ``5 …``."""
    if hold is None:
        return "-"
    if isinstance(hold, str):
        return f"[red]unknown[/] ({hold})"
    priority = hold.active_priority
    if priority is None:
        return "default (no slot)"
    held = hold.slots[priority - 1]
    value = f" = {held:g}" if held is not None else ""
    if priority == own_priority:
        text = f"[green]{priority} klaster{value}[/]"
    elif priority == manual_priority:
        text = f"[cyan]{priority} klaster bms set{value}[/]"
    elif priority == PROGRAM_PRIORITY:
        text = f"{priority} program"
    else:
        role = PRIORITY_ROLES.get(priority, "other party")
        style = "red" if priority < own_priority else "yellow"
        text = f"[{style}]{priority} {role}{value}[/]"
    others = [p for p, _ in hold.occupied if p != priority]
    if own_priority in others:
        text += f" (klaster's {own_priority} waits below)"
    return text


def _quality(readings: Sequence[PointReading]) -> str:
    worst = max((r.quality for r in readings), default=Quality.MISSING)
    if worst is Quality.GOOD:
        return "[green]GOOD[/]"
    details = "; ".join(r.detail for r in readings if r.quality is not Quality.GOOD and r.detail)
    return f"[red]{worst.name}[/] {details}".rstrip()


def _zone_row(
    zone: ZoneLive,
    band: tuple[float, float, bool],
    own_priority: int,
    now: datetime,
    manual_priority: int | None = None,
) -> list[str]:
    read = zone.readings

    def value(point: str, digits: int = 1) -> str:
        reading = read.get(point)
        return _number(reading.value if reading else None, digits)

    occupancy = read.get("occupancy")
    sensed = "-" if occupancy is None or occupancy.value is None else (
        "yes" if occupancy.value else "no"
    )  # fmt: skip
    ages = [(now - r.ts).total_seconds() for r in read.values()]
    low, high, scheduled = band
    return [
        zone.zone_id,
        value("room_temp"),
        value("setpoint"),
        holder_text(zone.holds.get("setpoint"), own_priority, manual_priority),
        f"{low:g}-{high:g}",
        f"{sensed} / {'open' if scheduled else 'closed'}",
        value("heat_output", 0),
        holder_text(zone.holds.get("heat_output"), own_priority, manual_priority),
        f"{max(ages):.1f}" if ages else "-",
        _quality(list(read.values())),
    ]


def points_table(
    read: BuildingLive,
    building: PublicBuilding,
    config: ClusterConfig,
    own_priority: int,
    now: datetime,
    manual_priority: int | None = None,
) -> Table:
    """A building's zones as read live, with its meter in the title."""
    meter = read.readings.get("meter_power")
    power = f"{meter.value:,.1f} kW" if meter and meter.value is not None else "-"
    title = f"{building.id} ({building.name or building.use}) · {read.device_id} · power {power}"
    table = _table(
        title,
        "zone", "room °C", "setpoint °C", "setpoint held by", "band °C", "occupied sensor/schedule",
        "heating %", "heating held by", "age s", "quality",
        numeric=("room °C", "setpoint °C", "heating %", "age s"),
    )  # fmt: skip
    if read.error:
        table.add_row("-", "", "", "", "", "", "", "", "", f"[red]no answer[/]: {read.error}")
        return table
    instant = pd.DatetimeIndex([pd.Timestamp(now)])
    info = config.cluster
    for zone, config_zone in zip(read.zones, building.zones, strict=True):
        context = zone_context(instant, building, config_zone, BmsPolicy(), info.zone, info.country)
        band = (
            float(context["band_min_c"].iloc[0]),
            float(context["band_max_c"].iloc[0]),
            bool(context["occupied"].iloc[0]),
        )
        table.add_row(*_zone_row(zone, band, own_priority, now, manual_priority))
    return table


def change_table(entry: AuditEntry) -> Table:
    """One change or release as audited."""
    table = _table(
        "Change", "point", "device", "action", "current", "new", "priority", "read back",
        "verdict", "reason", numeric=("current", "new", "priority", "read back"),
    )  # fmt: skip
    new = (
        _number(entry.new, 2)
        if entry.new is not None
        else ("Null" if entry.action == "release" else "-")
    )
    table.add_row(
        entry.point,
        entry.device or "-",
        str(entry.action),
        _number(entry.old, 2),
        new,
        str(entry.priority) if entry.priority is not None else "-",
        _number(entry.read_back, 2),
        f"[{VERDICT_STYLE[entry.result]}]{entry.result}[/]",
        entry.reason,
    )
    return table


def audit_table(lines: Sequence[dict[str, Any]], time_zone: ZoneInfo) -> Table:
    """Audit log lines, oldest first, times on the local clock."""
    table = _table(
        "Audit log", "time", "user", "action", "point", "old", "new", "prio", "dry run",
        "result", "reason", "why", numeric=("old", "new", "prio"),
    )  # fmt: skip
    for line in lines:
        when = pd.Timestamp(line["time"]).tz_convert(time_zone)
        result = str(line.get("result", ""))
        style = VERDICT_STYLE.get(Verdict(result), "") if result in set(Verdict) else ""
        new = line.get("new")
        table.add_row(
            f"{when:%Y-%m-%d %H:%M:%S}",
            str(line.get("user", "")),
            str(line.get("action", "")),
            str(line.get("point", "")),
            _number(line.get("old"), 2),
            "Null" if new is None and line.get("action") == "release" else _number(new, 2),
            str(line.get("priority") or "-"),
            "yes" if line.get("dry_run") else "no",
            f"[{style}]{result}[/]" if style else result,
            str(line.get("reason", "")),
            str(line.get("plan", "")),
        )
    return table


def findings_table(findings: Sequence[Finding], time_zone: ZoneInfo) -> Table:
    """Findings, worst first: severity, point, rule, since, evidence and fix."""
    table = _table("Findings", "severity", "point", "rule", "since", "evidence", "fix")
    for finding in findings:
        style = SEVERITY_STYLE[finding.severity]
        table.add_row(
            f"[{style}]{finding.severity.label}[/]",
            finding.point_id,
            finding.rule,
            f"{finding.since.tz_convert(time_zone):%Y-%m-%d %H:%M}",
            finding.evidence,
            finding.fix,
        )
    return table


def ranking_table(ranking: pd.DataFrame, recent_days: int) -> Table:
    """Buildings by avoidable energy in the recent period."""
    table = _table(
        f"Avoidable energy, last {recent_days} days (weather and occupancy normalised)",
        "building", "avoidable kWh", "kWh/m²", "gap %", "used kWh", "baseline kWh",
        "CV(RMSE) %", "NMBE %", "fit", "anomalous days",
        numeric=("avoidable kWh", "kWh/m²", "gap %", "used kWh", "baseline kWh", "CV(RMSE) %",
                 "NMBE %", "anomalous days"),
    )  # fmt: skip
    for row in ranking.itertuples(index=False):
        table.add_row(
            str(row.building),
            f"{row.avoidable_kwh:,.0f}",
            f"{row.avoidable_kwh_per_m2:.2f}",
            f"{row.gap_pct:+.1f}",
            f"{row.actual_kwh:,.0f}",
            f"{row.predicted_kwh:,.0f}",
            f"{row.cv_rmse_pct:.1f}",
            f"{row.nmbe_pct:+.2f}",
            "[green]ok[/]" if row.fit_ok else "[red]poor[/]",
            str(row.anomalous_days),
        )
    return table


def flexibility_table(plan: FlexibilityPlan, step_hours: float) -> Table:
    """Zones the optimiser may shift, with their configured band and model, and those excluded."""
    table = _table(
        "Building flexibility for the optimiser", "zone", "included", "occupied band °C",
        "unoccupied band °C", "occupied h", "C kWh/K", "R K/kW", "heating kW", "reason",
        numeric=("occupied h", "C kWh/K", "R K/kW", "heating kW"),
    )  # fmt: skip
    for item in plan.zones:
        zone, comfort = item.zone, item.zone.comfort
        table.add_row(
            f"{item.building_id}/{zone.id}", "[green]yes[/]",
            f"{comfort.occupied_min_c:g}-{comfort.occupied_max_c:g}",
            f"{comfort.unoccupied_min_c:g}-{comfort.unoccupied_max_c:g}",
            f"{item.occupied.sum() * step_hours:g}",
            f"{zone.thermal_capacitance_kwh_per_k:g}", f"{zone.thermal_resistance_k_per_kw:g}",
            f"{zone.heating_max_kw:g}", "",
        )  # fmt: skip
    for excluded in plan.excluded:
        table.add_row(
            f"{excluded.building_id}/{excluded.zone_id}", "[red]no[/]", "", "", "", "", "", "",
            excluded.reason,
        )  # fmt: skip
    return table
