"""Policy checks and fault rules: each a small pure function over one zone frame.

Every rule takes a zone frame (see :mod:`bms.frames`) with the policy
columns of :func:`bms.policies.zone_context` joined on, and a
:class:`RuleContext`; it returns the :class:`~bms.findings.Hit` objects it
finds — none when the readings show nothing wrong, or when the columns it
needs were never read. A rule never reads a device, a file or the clock.

The rules about equipment (sensors, valves, control loops) live in
:mod:`bms.equipment_rules`; :data:`bms.checks.RULES` lists them all, in the
order a check runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from bms.findings import Hit, Severity
from bms.frames import duration_h, episodes
from bms.policies import RuleLimits

#: The priority a controller's own program writes at (the lowest).
PROGRAM_PRIORITY = 16
#: What the BACnet priorities are used for (ASHRAE 135 clause 19.2 and common site practice).
PRIORITY_ROLES = {
    1: "manual life safety",
    2: "automatic life safety",
    5: "critical equipment control",
    6: "minimum on/off",
    8: "manual operator",
}


@dataclass(frozen=True)
class RuleContext:
    """What every rule needs besides the frame: the limits and the local time zone."""

    limits: RuleLimits = field(default_factory=RuleLimits)
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Warsaw"))

    @property
    def max_gap(self) -> pd.Timedelta:
        """Readings further apart than this break a run: nothing is known in between."""
        return pd.Timedelta(hours=self.limits.max_gap_hours)


Rule = Callable[[pd.DataFrame, RuleContext], list[Hit]]


# --- helpers shared by the rules ------------------------------------------------------------


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of the frame as floats, all NaN when the frame lacks it."""
    if name not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return frame[name].astype(float)


def local_time(ts: pd.Timestamp, time_zone: ZoneInfo) -> str:
    """An instant on the local clock, e.g. ``2027-03-10 07:15``."""
    return f"{ts.tz_convert(time_zone):%Y-%m-%d %H:%M}"


def span(start: pd.Timestamp, end: pd.Timestamp, time_zone: ZoneInfo) -> str:
    """``from 2027-03-10 07:15 to 11:00 (3.8 h)``, the end day shown when it differs."""
    first, last = start.tz_convert(time_zone), end.tz_convert(time_zone)
    end_text = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%Y-%m-%d %H:%M}"
    return f"from {first:%Y-%m-%d %H:%M} to {end_text} ({duration_h(start, end):.1f} h)"


def lasting(
    mask: pd.Series, context: RuleContext, min_hours: float
) -> list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """The runs of ``mask`` that last at least ``min_hours``, oldest first."""
    return [
        run for run in episodes(mask, context.max_gap) if duration_h(run[0], run[2]) >= min_hours
    ]


def times_text(runs: list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]]) -> str:
    """``; 3 times in the period`` when a condition came back, else nothing."""
    return f"; {len(runs)} times in the period" if len(runs) > 1 else ""


def heating(frame: pd.DataFrame, context: RuleContext) -> pd.Series:
    """Where the heating output is on (at least ``heating_on_pct``)."""
    return column(frame, "heat_output_pct") >= context.limits.heating_on_pct


def not_set_back(frame: pd.DataFrame, context: RuleContext) -> pd.Series:
    """Where the setpoint lies above the setback temperature by more than the tolerance."""
    setback = column(frame, "setback_c") + context.limits.setback_tolerance_c
    return column(frame, "setpoint_c") > setback


# --- policy checks ---------------------------------------------------------------------------


def setpoint_outside_band(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """The effective setpoint lies outside the zone's comfort band for the occupancy.

    The band is the occupied band while the building is open, the unoccupied
    one otherwise (the wider of the two around opening and closing): a
    setpoint outside it is reported at once, without a minimum duration.
    """
    setpoint = column(frame, "setpoint_c")
    tolerance = context.limits.band_tolerance_c
    low, high = column(frame, "band_min_c"), column(frame, "band_max_c")
    outside = (setpoint < low - tolerance) | (setpoint > high + tolerance)
    runs = lasting(outside, context, 0.0)
    if not runs:
        return []
    start, last, end = runs[-1]
    value = setpoint.loc[last]
    side = "above" if value > high.loc[last] else "below"
    band = "occupied" if bool(frame["occupied"].loc[last]) else "unoccupied"
    return [
        Hit(
            "setpoint",
            Severity.WARNING,
            start,
            last,
            f"setpoint {value:.1f} °C lies {side} the {band} band "
            f"{low.loc[last]:g}-{high.loc[last]:g} °C {span(start, end, context.time_zone)}"
            + times_text(runs),
            "set the setpoint inside the band (klaster bms set {point} VALUE), or correct the "
            "zone's comfort band in the cluster file if the band is wrong",
        )
    ]


def _trailing_hold(
    frame: pd.DataFrame, point: str, value_column: str, context: RuleContext
) -> tuple[int, float, pd.Timestamp, pd.Timestamp] | None:
    """(priority, value, since, last seen) of the command in force at the last observation.

    ``since`` is the first reading of the unbroken run, back from the last
    observation of the priority array, in which the value stayed the same and
    no other priority was seen in control.
    """
    priorities = column(frame, f"{point}_priority")
    seen = priorities.dropna()
    if seen.empty:
        return None
    last_seen = seen.index[-1]
    priority = int(seen.iloc[-1])
    values = column(frame, value_column).loc[:last_seen]
    known = values.dropna()
    if known.empty:
        return None
    value = float(known.iloc[-1])
    same_priority = priorities.loc[:last_seen].isna() | (priorities.loc[:last_seen] == priority)
    same_value = values.isna() | ((values - value).abs() <= context.limits.band_tolerance_c)
    runs = episodes(same_priority & same_value, context.max_gap)
    if not runs or runs[-1][1] != last_seen:
        return priority, value, last_seen, last_seen
    return priority, value, runs[-1][0], last_seen


def override_held_too_long(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """A setpoint or heating output held at a manual priority longer than allowed.

    Any priority but the controller's own program (16) counts, klaster's own
    too: a person's ``klaster bms set`` stays until it is released.
    """
    hits = []
    limits = context.limits
    for point, value_column, unit in (
        ("setpoint", "setpoint_c", "°C"),
        ("heat_output", "heat_output_pct", "%"),
    ):
        hold = _trailing_hold(frame, point, value_column, context)
        if hold is None or hold[0] >= PROGRAM_PRIORITY:
            continue  # the program's own value, or the relinquish default
        priority, value, since, last_seen = hold
        hours = duration_h(since, last_seen)
        if hours < limits.override_max_hours:
            continue
        held_since = f"since {local_time(since, context.time_zone)} ({hours:.1f} h)"
        if priority in (limits.own_priority, limits.manual_priority):
            evidence = (
                f"klaster's own priority {priority} holds {value:g} {unit} {held_since}, "
                f"longer than {limits.override_max_hours:g} h"
            )
            fix = "release it when the change is no longer needed: klaster bms release {point}"
        else:
            role = PRIORITY_ROLES.get(priority, "another party")
            evidence = (
                f"priority {priority} ({role}) holds {value:g} {unit} {held_since}, longer "
                f"than {limits.override_max_hours:g} h; the program's value applies only "
                "once it is released"
            )
            fix = (
                f"ask whoever commands priority {priority} to release it; klaster never "
                "writes above another party's priority nor releases it"
            )
        hits.append(Hit(point, Severity.WARNING, since, last_seen, evidence, fix))
    return hits


def heating_while_unoccupied(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """Heating above the setback temperature after the setback time of an open day.

    Closed days (holidays, breaks, weekends without hours) are the business
    of :func:`heating_on_closed_day`.
    """
    due = frame["setback_due"].astype(bool) & ~frame["day_closed"].astype(bool)
    mask = due & heating(frame, context) & not_set_back(frame, context)
    runs = lasting(mask, context, context.limits.min_duration_hours)
    if not runs:
        return []
    start, last, end = runs[-1]
    setpoint = column(frame, "setpoint_c").loc[start:last]
    output = column(frame, "heat_output_pct").loc[start:last]
    setback = float(frame["setback_c"].loc[last])
    return [
        Hit(
            "heat_output",
            Severity.WARNING,
            start,
            last,
            f"heating at {output.median():.0f} % (median) to a setpoint of "
            f"{setpoint.median():.1f} °C while the building is closed, "
            f"{span(start, end, context.time_zone)}; the setback is {setback:g} °C"
            + times_text(runs),
            "set the zone back after closing time: compare the BMS time program's occupied "
            "hours with the building's opening hours in the cluster file",
        )
    ]


def heating_on_closed_day(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """Heating to an occupied setpoint on a day the building is closed (the calendar's).

    The BMS's own time program not knowing a public holiday or a school
    break is the usual cause.
    """
    closed = frame["day_closed"].astype(bool)
    mask = closed & heating(frame, context) & not_set_back(frame, context)
    runs = lasting(mask, context, context.limits.min_duration_hours)
    if not runs:
        return []
    start, last, end = runs[-1]
    label = str(frame["day_label"].loc[last])
    day = last.tz_convert(context.time_zone).date()
    setpoint = column(frame, "setpoint_c").loc[start:last].median()
    output = column(frame, "heat_output_pct").loc[start:last].median()
    return [
        Hit(
            "setpoint",
            Severity.WARNING,
            start,
            last,
            f"{day} is a {label} and the building is closed, yet the zone heats at "
            f"{output:.0f} % to {setpoint:.1f} °C {span(start, end, context.time_zone)}"
            + times_text(runs),
            f"the BMS time program runs a normal day on a {label}: add the Polish public "
            "holidays and school breaks to its calendar; meanwhile set the zone back "
            "(klaster bms set {point} VALUE)",
        )
    ]
