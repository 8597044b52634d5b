"""``klaster bms check``, ``baseline`` and ``flexibility``: wiring of the checks and baselines."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import pandas as pd
import typer

from adapters.bms_live import building_endpoints, live_readings, read_live, setpoint_holds
from adapters.sqlite_schema import default_data_dir
from adapters.sqlite_store import DATABASE_FILE_NAME, SqliteStore
from bms.baselines import (
    BuildingBaseline,
    ChangePointModel,
    building_baseline,
    daily_energy_from_power,
    daily_frame,
    daily_mean,
    ranking,
)
from bms.checks import check_buildings
from bms.findings import Severity, findings_frame
from bms.flexibility import zone_flexibility
from bms.frames import zone_series_ids
from bms.occupancy import occupied_hours
from bms.policies import load_bms_policy
from cli.bms_options import (
    AllowListOption,
    BacnetAddressOption,
    BmsUsageError,
    BuildingOption,
    DevicesOption,
    TimeoutOption,
    site_devices,
    write_policy,
)
from cli.bms_tables import findings_table, flexibility_table, ranking_table
from cli.common import ConfigOption, DataDirOption, console, show_adapter_log, user_errors
from cluster.config import ClusterConfig, PublicBuilding, load_config
from cluster.errors import ConfigError, ConfigProblem, DataError
from cluster.timegrid import day_steps, tomorrow
from cluster.timeseries import SeriesId

#: How far back a check looks when --since is left out.
DEFAULT_LOOK_BACK = timedelta(hours=24)


def selected_buildings(config: ClusterConfig, wanted: Sequence[str] | None) -> list[PublicBuilding]:
    """The buildings named (every building when none is), in the configuration's order."""
    buildings = config.assets.buildings
    if not wanted:
        return list(buildings)
    known = {b.id for b in buildings}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        fix = "use one of: " + ", ".join(sorted(known))
        raise ConfigError(
            "--building", [ConfigProblem(u, "no such building", fix) for u in unknown]
        )
    return [b for b in buildings if b.id in wanted]


def parse_instant(text: str, zone: ZoneInfo, now: datetime) -> pd.Timestamp:
    """An instant: ``7d`` or ``12h`` before now, a local day ``YYYY-MM-DD``, or ISO 8601."""
    relative = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dh])\s*", text)
    if relative is not None:
        amount = float(relative[1])
        span = timedelta(days=amount) if relative[2] == "d" else timedelta(hours=amount)
        return pd.Timestamp(now - span)
    try:
        moment = pd.Timestamp(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a time; write 7d, 12h, a day YYYY-MM-DD or an ISO time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        if pd.isna(moment):
            raise typer.BadParameter(f"{text!r} is ambiguous in {zone.key}; give its UTC offset")
    return pd.Timestamp(moment).tz_convert("UTC")


@user_errors
def check(
    building: BuildingOption = None,
    since: Annotated[
        str | None,
        typer.Option(help="Start of the history checked: 7d, 12h, YYYY-MM-DD or ISO; 24h ago."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End of the history checked (same forms); now.")
    ] = None,
    live: Annotated[
        bool, typer.Option("--live/--no-live", help="Also read the controllers now.")
    ] = True,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="BMS policy TOML (rule limits, pre-heat, setback)."),
    ] = None,
    allow_list: AllowListOption = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the findings as CSV.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write an HTML report with small plots.")
    ] = None,
    devices: DevicesOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    bacnet_address: BacnetAddressOption = None,
    timeout: TimeoutOption = 2.0,
) -> None:
    """Run the policy checks and fault rules on stored history and live values."""
    folder = data_dir or default_data_dir()
    cluster = load_config(config)
    info = cluster.cluster
    buildings = selected_buildings(cluster, building)
    rules_policy = load_bms_policy(policy)
    if allow_list is not None:
        site_policy = write_policy(allow_list)
        limits = rules_policy.rules.model_copy(
            update={
                "own_priority": site_policy.bacnet_priority,
                "manual_priority": site_policy.manual_priority,
            }
        )
        rules_policy = rules_policy.model_copy(update={"rules": limits})
    now = datetime.now(UTC)
    end = parse_instant(until, info.zone, now) if until else pd.Timestamp(now)
    start = parse_instant(since, info.zone, now) if since else end - DEFAULT_LOOK_BACK
    if start >= end:
        raise BmsUsageError(
            f"--since {start} is not before --until {end}", fix="give a start before the end"
        )
    parts = [_history(folder, buildings, start, end)]
    stored = len(parts[0])
    if live:
        site = site_devices(devices, folder, otherwise="give --no-live to check stored history")
        show_adapter_log(logging.ERROR)
        wanted = {b.id for b in buildings}
        served = {b.id for _, b in building_endpoints(site, cluster)} & wanted
        reads = asyncio.run(read_live(site, cluster, buildings=served, timeout_s=timeout,
                                      local_address=bacnet_address))  # fmt: skip
        for read in reads:
            if read.error:
                console.print(f"[red]{read.building_id}: no live values[/] ({read.error})")
        for missing in sorted(wanted - served):
            console.print(f"{missing}: no controller in the device list, history only")
        parts.append(live_readings(reads))
    readings = pd.concat([p for p in parts if not p.empty] or parts, ignore_index=True)
    result = check_buildings(readings, buildings, rules_policy, info.zone, info.country)
    findings = result.findings
    if findings:
        console.print(findings_table(findings, info.zone))
    counts = {s: sum(f.severity is s for f in findings) for s in Severity}
    zones = sum(len(b.zones) for b in buildings)
    first, last = (f"{t.tz_convert(info.zone):%Y-%m-%d %H:%M}" for t in (start, end))
    local = f"{first} to {last}"
    console.print(
        f"{len(findings)} finding(s): {counts[Severity.CRITICAL]} critical, "
        f"{counts[Severity.WARNING]} warning, {counts[Severity.INFO]} info — {zones} zones of "
        f"{len(buildings)} building(s); {stored:,} stored readings from {local}"
        + (", and live values" if live else ""),
        highlight=False,
    )
    if csv is not None:
        findings_frame(findings).to_csv(csv, index=False)
        console.print(f"findings written to {csv}", highlight=False)
    if html is not None:
        from cli.bms_report import write_check_report  # matplotlib only when a report is asked

        write_check_report(html, result, cluster, start, end)
        console.print(f"report written to {html}", highlight=False)


def _history(
    folder: Path, buildings: Sequence[PublicBuilding], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Stored readings of the buildings' zones in ``[start, end)``; empty without a store."""
    series = [s for b in buildings for z in b.zones for s in zone_series_ids(b.id, z.id)]
    if not (folder / DATABASE_FILE_NAME).is_file():
        return pd.DataFrame(columns=["series_id", "ts", "value", "unit", "quality"])
    with SqliteStore.open(folder) as store:
        return store.read_readings(series, start, end)


@user_errors
def baseline(
    building: BuildingOption = None,
    recent_days: Annotated[
        int, typer.Option(min=1, help="Days of the recent period compared with the baseline.")
    ] = 28,
    baseline_days: Annotated[
        int, typer.Option(min=28, help="Days before the recent period the baseline is fitted on.")
    ] = 365,
    until: Annotated[
        str | None,
        typer.Option(help="Last day of the recent period, YYYY-MM-DD; the store's last day."),
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the ranking as CSV.")] = None,
    max_cv_rmse: Annotated[
        float, typer.Option(min=0.1, help="Largest CV(RMSE) of a usable baseline, %.")
    ] = 25.0,
    max_nmbe: Annotated[
        float, typer.Option(min=0.01, help="Largest |NMBE| of a usable baseline, %.")
    ] = 5.0,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Rank buildings by avoidable energy against a weather-normalised baseline."""
    folder = data_dir or default_data_dir()
    cluster = load_config(config)
    zone = cluster.cluster.zone
    buildings = selected_buildings(cluster, building)
    with SqliteStore.open(folder) as store:
        coverage = store.coverage(SeriesId.TEMPERATURE_C)
        if coverage is None:
            raise DataError(
                f"the store in {folder} holds no outdoor temperature ({SeriesId.TEMPERATURE_C})",
                fix="store the weather first (klaster schedule --synthetic-history for the demo)",
            )
        last_day = date.fromisoformat(until) if until else coverage[1].tz_convert(zone).date()
        recent_start = last_day - timedelta(days=recent_days - 1)
        first_day = recent_start - timedelta(days=baseline_days)
        start = day_steps(first_day, zone)[0]
        end = day_steps(last_day, zone)[-1] + pd.Timedelta(minutes=15)
        temp = daily_mean(store.read_series([SeriesId.TEMPERATURE_C], start, end).iloc[:, 0], zone)
        results: list[BuildingBaseline] = []
        for item in buildings:
            energy, source = _daily_energy(store, item, start, end, zone)
            days = daily_frame(energy, temp, occupied_hours(item, list(energy.index), zone))
            area = sum(z.floor_area_m2 for z in item.zones)
            try:
                results.append(building_baseline(item.id, days, recent_start, area))
            except DataError as exc:
                console.print(f"[yellow]{item.id}: no baseline[/] ({exc.message})")
                continue
            fit = results[-1].fit
            console.print(
                f"{item.id}: {source}; {fit.days} baseline days, base {fit.base_kwh:,.0f} kWh/d, "
                f"heating {fit.heating_kwh_per_degree_day:,.1f} kWh/K·d below "
                f"{fit.balance_c:.1f} °C, occupancy {fit.occupied_kwh_per_hour:,.1f} kWh/h",
                highlight=False,
            )
    if not results:
        raise DataError("no building has enough data for a baseline", fix="poll the meters longer")
    table = ranking(results, max_cv_rmse, max_nmbe)
    console.print(ranking_table(table, recent_days))
    for result in results:
        for day, row in result.anomalies.iterrows():
            console.print(
                f"anomalous day: {result.building_id} {day} ({row['period']}): "
                f"{row['energy_kwh']:,.0f} kWh against {row['predicted_kwh']:,.0f} predicted",
                highlight=False,
            )
    if csv is not None:
        table.to_csv(csv, index=False)
        console.print(f"ranking written to {csv}", highlight=False)


def _daily_energy(
    store: SqliteStore,
    building: PublicBuilding,
    start: pd.Timestamp,
    end: pd.Timestamp,
    zone: ZoneInfo,
) -> tuple[pd.Series, str]:
    """Daily energy from the building's meter when polled long enough, else its connection
    point's demand series; and which it is."""
    meter = SeriesId.point(building.id, "meter_power")
    demand = SeriesId.load(building.connection_point)
    wide = store.read_series([meter, demand], start, end)
    from_meter = daily_energy_from_power(wide[meter], zone)
    if len(from_meter) >= ChangePointModel().min_days + 1:
        return from_meter, f"meter ({meter})"
    return daily_energy_from_power(wide[demand], zone), f"demand ({demand})"


@user_errors
def flexibility(
    day: Annotated[
        str | None, typer.Option(help="Local day planned, YYYY-MM-DD; tomorrow if left out.")
    ] = None,
    live: Annotated[
        bool,
        typer.Option("--live/--no-live", help="Read who holds each setpoint now (excludes held)."),
    ] = True,
    allow_list: AllowListOption = None,
    devices: DevicesOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    bacnet_address: BacnetAddressOption = None,
    timeout: TimeoutOption = 2.0,
) -> None:
    """Show which zones the optimiser may shift, and which it must leave (held setpoints)."""
    folder = data_dir or default_data_dir()
    cluster = load_config(config)
    info = cluster.cluster
    planned = date.fromisoformat(day) if day else tomorrow(info.zone)
    own = write_policy(allow_list).bacnet_priority
    holds = None
    if live:
        site = site_devices(devices, folder, otherwise="give --no-live to plan every zone")
        show_adapter_log(logging.ERROR)
        reads = asyncio.run(read_live(site, cluster, timeout_s=timeout,
                                      local_address=bacnet_address))  # fmt: skip
        holds = setpoint_holds(reads)
    steps = day_steps(planned, info.zone, info.step_minutes)
    plan = zone_flexibility(cluster, steps, own_priority=own, holds=holds)
    console.print(flexibility_table(plan, info.step_minutes / 60.0))
    console.print(
        f"{len(plan.zones)} zone(s) flexible on {planned}, {len(plan.excluded)} excluded",
        highlight=False,
    )
