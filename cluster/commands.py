"""Commands from a schedule: what each writable point is told to do in one step.

A schedule says what every asset should do in every quarter-hour; a command
says which value to write to which point for that. This module only plans:
it never talks to a device, and a value that makes no sense (NaN, out of
range) is planned as it stands, so that the write-safety check refuses it
openly instead of the plan quietly changing it.

Point ids of commands are klaster's: ``<asset id>/<point id>``, and for a
building zone ``<building id>/<zone id>/<point id>`` (the zone's asset id in
a schedule is ``<building id>/<zone id>``). How a device names the point is
the adapters' business.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from cluster.config import Asset, ClusterConfig
from cluster.errors import KlasterError
from cluster.points import Point
from cluster.schedule import Schedule
from cluster.timegrid import day_steps

#: A PV plant counts as curtailed when the schedule curtails more than this, kW.
CURTAILMENT_TOLERANCE_KW = 1e-6

#: The writable point each scheduled quantity commands, and its unit.
PV_LIMIT_POINT = "power_limit"
BATTERY_SETPOINT_POINT = "power_setpoint"
GENERATION_SETPOINT_POINT = "output_setpoint"
LIGHTING_ON_POINT = "on_off"
LIGHTING_DIM_POINT = "dim_level"
ZONE_SETPOINT_POINT = "setpoint"

#: Schedule quantities (the ``quantity`` column of :attr:`Schedule.assets`).
LIGHTING_DIM_QUANTITY = "dim_pct"
LIGHTING_ON_QUANTITY = "on"
ZONE_SETPOINT_QUANTITY = "setpoint_c"


class CommandPlanError(KlasterError):
    """A schedule that cannot be turned into commands for the time asked."""

    exit_code = 2


@dataclass(frozen=True)
class PlannedCommand:
    """One value to write to one point for one step.

    Attributes
    ----------
    point_id
        klaster's point id: ``<asset>/<point>``, or ``<building>/<zone>/<point>``.
    value
        The value to write, in ``unit``; NaN when the schedule holds none.
    unit
        The point's unit: ``%`` (power limit, dim level), ``kW`` (setpoints,
        battery discharge positive), ``bool`` (on/off as 0/1), ``degC``.
    step_start
        UTC start of the step the command belongs to.
    reason
        What in the schedule asks for it, for people.
    """

    point_id: str
    value: float
    unit: str
    step_start: pd.Timestamp
    reason: str


def command_point_id(asset_id: str, point_id: str, zone_id: str | None = None) -> str:
    """klaster's id of a commanded point: ``battery/power_setpoint``, ``bldg/z1/setpoint``."""
    if zone_id is None:
        return f"{asset_id}/{point_id}"
    return f"{zone_asset_id(asset_id, zone_id)}/{point_id}"


def zone_asset_id(building_id: str, zone_id: str) -> str:
    """The asset id a schedule uses for a building zone, ``<building>/<zone>``."""
    return f"{building_id}/{zone_id}"


def split_point_id(point_id: str) -> tuple[str, str | None, str]:
    """``(asset id, zone id or None, point id)`` of a command point id.

    Raises
    ------
    ValueError
        If the id has neither two nor three ``/``-separated parts.
    """
    parts = point_id.split("/")
    if len(parts) == 2 and all(parts):
        return parts[0], None, parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise ValueError(
        f"{point_id!r} is not a point id; write <asset>/<point> or <building>/<zone>/<point>"
    )


def configured_point(config: ClusterConfig, point_id: str) -> Point | None:
    """The configured :class:`Point` a command point id names, or None when there is none."""
    try:
        asset_id, zone_id, point_name = split_point_id(point_id)
    except ValueError:
        return None
    if zone_id is None:
        asset = next((a for a in config.assets.all() if a.id == asset_id), None)
        points = asset.points if asset is not None else []
    else:
        building = next((b for b in config.assets.buildings if b.id == asset_id), None)
        zone = next((z for z in building.zones if z.id == zone_id), None) if building else None
        points = zone.points if zone is not None else []
    return next((p for p in points if p.id == point_name), None)


# --- the time grid of a schedule ------------------------------------------------------


def schedule_steps(schedule: Schedule) -> pd.DatetimeIndex:
    """UTC starts of every step of the schedule's local day (92, 96 or 100 quarter-hours)."""
    return day_steps(schedule.day, ZoneInfo(schedule.timezone), schedule.step_minutes)


def step_start_of(schedule: Schedule, at: pd.Timestamp) -> pd.Timestamp:
    """The UTC start of the schedule's step that contains the instant ``at``.

    Raises
    ------
    CommandPlanError
        If ``at`` has no time zone or lies outside the schedule's local day.
    """
    if at.tzinfo is None:
        raise CommandPlanError(
            f"the time {at} has no time zone, so it names no single instant",
            fix="give the time with its offset (e.g. 2027-01-13T10:00+01:00) or as local HH:MM",
        )
    steps = schedule_steps(schedule)
    step = timedelta(minutes=schedule.step_minutes)
    instant = at.tz_convert("UTC")
    if not steps[0] <= instant < steps[-1] + step:
        zone = ZoneInfo(schedule.timezone)
        raise CommandPlanError(
            f"{instant.tz_convert(zone):%Y-%m-%d %H:%M %Z} lies outside the schedule's day "
            f"{schedule.day} ({steps[0].tz_convert(zone):%H:%M} to "
            f"{(steps[-1] + step).tz_convert(zone):%H:%M} local time, {schedule.timezone})",
            fix=f"choose a time on {schedule.day}, or the schedule of the day you mean",
        )
    return steps[int(steps.searchsorted(instant, side="right")) - 1]


def dispatch_steps(schedule: Schedule, at: pd.Timestamp, count: int) -> list[pd.Timestamp]:
    """UTC starts of ``count`` consecutive steps, the first being the one containing ``at``.

    Raises
    ------
    CommandPlanError
        If ``at`` lies outside the day, ``count`` is below 1, or fewer than
        ``count`` steps remain in the day.
    """
    if count < 1:
        raise CommandPlanError(f"{count} steps asked for", fix="ask for at least 1 step")
    first = step_start_of(schedule, at)
    steps = schedule_steps(schedule)
    position = int(steps.searchsorted(first))
    remaining = len(steps) - position
    if count > remaining:
        raise CommandPlanError(
            f"{count} steps from {first.tz_convert(ZoneInfo(schedule.timezone)):%H:%M} local time "
            f"run past the end of the schedule's day "
            f"{schedule.day}: {remaining} remain",
            fix=f"ask for at most {remaining} steps, or dispatch the next day's schedule after",
        )
    return list(steps[position : position + count])


# --- planning -------------------------------------------------------------------------


def power_limit_pct(output_kw: float, curtailed_kw: float, inverter_limit_kw: float) -> float:
    """The inverter's active-power limit for a planned PV output, %.

    100 % when the plant is not curtailed; otherwise ``output_kw`` over the
    inverter's limit, rounded up to 0.1 % so that the limit never holds the
    plant below its planned output. NaN when either schedule value is NaN.

    Parameters
    ----------
    output_kw
        Planned output, kW.
    curtailed_kw
        Planned curtailment (available minus output), kW.
    inverter_limit_kw
        The inverter's maximum active power, kW; the limit's 100 %.
    """
    if not (math.isfinite(output_kw) and math.isfinite(curtailed_kw)):
        return math.nan
    if curtailed_kw <= CURTAILMENT_TOLERANCE_KW:
        return 100.0
    share_pct = output_kw / inverter_limit_kw * 100.0
    # Rounded to 1e-6 first so that 80.0000000001 (float noise) stays 80.0.
    return math.ceil(round(share_pct * 10.0, 6)) / 10.0


class _StepValues:
    """The schedule's asset values of one step, looked up by (asset, quantity)."""

    def __init__(self, schedule: Schedule, step_start: pd.Timestamp) -> None:
        frame = schedule.assets
        rows = frame[pd.to_datetime(frame["ts"], utc=True) == step_start]
        self.values: dict[tuple[str, str], float] = {
            (str(asset), str(quantity)): float(value)
            for asset, quantity, value in zip(
                rows["asset"], rows["quantity"], rows["value"], strict=True
            )
        }
        self.assets = {asset for asset, _ in self.values}

    def get(self, asset_id: str, quantity: str) -> float | None:
        return self.values.get((asset_id, quantity))

    def require(self, asset_id: str, quantity: str, why: str) -> float:
        value = self.get(asset_id, quantity)
        if value is None:
            raise CommandPlanError(
                f"the schedule has no {quantity!r} for {asset_id!r}, needed for {why}",
                fix="use a schedule written by 'klaster schedule', or add the quantity",
            )
        return value


def _tidy(value: float, decimals: int) -> float:
    """Solver noise off a value (NaN stays NaN), never a change a device would notice."""
    return round(value, decimals) if math.isfinite(value) else value


def plan_commands(
    schedule: Schedule, config: ClusterConfig, at: pd.Timestamp
) -> list[PlannedCommand]:
    """The commands of the schedule's step that contains ``at``.

    * PV plant ``power_limit`` (%): see :func:`power_limit_pct`;
    * battery ``power_setpoint`` (kW, discharge positive): discharge − charge;
    * waste-to-energy and biogas CHP ``output_setpoint`` (kW): ``output_kw``;
    * lighting circuit ``on_off`` (0/1) from ``on`` and ``dim_level`` (%) from ``dim_pct``;
    * building zone ``setpoint`` (°C) from ``setpoint_c`` of asset ``<building>/<zone>``.

    An asset gets commands only for the quantities the schedule holds for it
    in that step. Commands come in the configuration's order of assets.

    Raises
    ------
    CommandPlanError
        If ``at`` lies outside the schedule's day, or the schedule names an
        asset the configuration does not have (it was planned for another
        cluster), or a PV plant lacks the output it needs.
    """
    step_start = step_start_of(schedule, at)
    values = _StepValues(schedule, step_start)
    known = {a.id for a in config.assets.all()} | {
        zone_asset_id(b.id, z.id) for b in config.assets.buildings for z in b.zones
    }
    unknown = sorted(values.assets - known)
    if unknown:
        raise CommandPlanError(
            f"the schedule names assets the configuration does not have: {', '.join(unknown)}",
            fix="give --config the cluster configuration the schedule was planned with",
        )
    return list(_commands(values, config, step_start))


def _commands(
    values: _StepValues, config: ClusterConfig, step_start: pd.Timestamp
) -> Iterator[PlannedCommand]:
    def command(asset: Asset, point: str, value: float, unit: str, reason: str) -> PlannedCommand:
        return PlannedCommand(command_point_id(asset.id, point), value, unit, step_start, reason)

    assets = config.assets
    for plant in assets.pv_plants:
        if plant.id not in values.assets:
            continue
        output = values.require(plant.id, "output_kw", "the power limit")
        curtailed = values.get(plant.id, "curtailed_kw")
        if curtailed is None:
            curtailed = values.require(plant.id, "available_kw", "the power limit") - output
        pct = power_limit_pct(output, curtailed, plant.inverter_limit_kw)
        reason = (
            f"curtailed {curtailed:.1f} kW: output {output:.1f} of "
            f"{plant.inverter_limit_kw:g} kW inverter limit"
            if pct != 100.0
            else "not curtailed"
        )
        yield command(plant, PV_LIMIT_POINT, pct, "%", reason)
    for battery in assets.batteries:
        charge = values.get(battery.id, "charge_kw")
        discharge = values.get(battery.id, "discharge_kw")
        if charge is None and discharge is None:
            continue
        net = _tidy((discharge or 0.0) - (charge or 0.0), 3)
        reason = (
            f"discharge {net:.1f} kW" if net > 0 else f"charge {-net:.1f} kW" if net < 0 else "idle"
        )
        if not math.isfinite(net):
            reason = "the schedule's battery power is not a number"
        yield command(battery, BATTERY_SETPOINT_POINT, net, "kW", reason)
    for generator in [*assets.wte_chps, *assets.biogas_chps]:
        planned_kw = values.get(generator.id, "output_kw")
        if planned_kw is not None:
            yield command(
                generator,
                GENERATION_SETPOINT_POINT,
                _tidy(planned_kw, 3),
                "kW",
                f"planned output {planned_kw:.1f} kW",
            )
    for circuit in assets.lighting_circuits:
        on = values.get(circuit.id, LIGHTING_ON_QUANTITY)
        if on is not None:
            yield command(circuit, LIGHTING_ON_POINT, _tidy(on, 6), "bool", f"lamps {_on_text(on)}")
        dim = values.get(circuit.id, LIGHTING_DIM_QUANTITY)
        if dim is not None:
            yield command(circuit, LIGHTING_DIM_POINT, _tidy(dim, 1), "%", f"dim to {dim:g} %")
    for building in assets.buildings:
        for zone in building.zones:
            setpoint = values.get(zone_asset_id(building.id, zone.id), ZONE_SETPOINT_QUANTITY)
            if setpoint is not None:
                yield PlannedCommand(
                    command_point_id(building.id, ZONE_SETPOINT_POINT, zone.id),
                    _tidy(setpoint, 2),
                    "degC",
                    step_start,
                    f"zone setpoint {setpoint:g} °C",
                )


def _on_text(on: float) -> str:
    if on == 1:
        return "on"
    return "off" if on == 0 else f"state {on:g}"
