"""Fault rules about equipment: sensors, valves and coils, control loops, cycling.

Each is a small pure function over a zone frame, as in :mod:`bms.rules`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.findings import Hit, Severity
from bms.frames import duration_h, nanoseconds
from bms.rules import RuleContext, column, heating, lasting, local_time, span, times_text
from cluster.timeseries import Quality


def simultaneous_heating_cooling(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """Heating and cooling on together in one zone (only zones with a cooling output)."""
    cooling = column(frame, "cool_output_pct")
    if cooling.isna().all():
        return []
    both = heating(frame, context) & (cooling >= context.limits.heating_on_pct)
    runs = lasting(both, context, context.limits.min_duration_hours)
    if not runs:
        return []
    start, last, end = runs[-1]
    heat = column(frame, "heat_output_pct").loc[start:last].median()
    cool = cooling.loc[start:last].median()
    return [
        Hit(
            "heat_output",
            Severity.WARNING,
            start,
            last,
            f"heating at {heat:.0f} % and cooling at {cool:.0f} % (medians) at the same time "
            f"{span(start, end, context.time_zone)}" + times_text(runs),
            "widen the dead band between the heating and cooling setpoints and check the "
            "sequence of the heating valve and the cooling coil",
        )
    ]


def _flat_runs(
    values: pd.Series, tolerance: float, min_duration: pd.Timedelta, max_gap: pd.Timedelta
) -> list[tuple[int, int]]:
    """(first, last) positions of stretches at least ``min_duration`` long whose readings
    span at most ``tolerance``."""
    array = values.to_numpy(dtype=float)
    stamps = nanoseconds(values.index)
    # A step larger than the tolerance, or a gap, ends any flat stretch: only the
    # segments between such breaks that last long enough need a closer look.
    breaks = (np.abs(np.diff(array)) > tolerance) | (np.diff(stamps) > max_gap.value)
    starts = np.r_[0, np.flatnonzero(breaks) + 1]
    stops = np.r_[starts[1:] - 1, len(array) - 1]
    runs: list[tuple[int, int]] = []
    for segment_start, segment_stop in zip(starts, stops, strict=True):
        if stamps[segment_stop] - stamps[segment_start] < min_duration.value:
            continue
        first = int(segment_start)
        low = high = array[first]
        for i in range(first + 1, int(segment_stop) + 1):
            low, high = min(low, array[i]), max(high, array[i])
            if high - low > tolerance:
                runs.append((first, i - 1))
                first, low, high = i, array[i], array[i]
        runs.append((first, int(segment_stop)))
    return runs


def sensor_frozen(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """The room temperature reads the same for hours while the zone's setpoint says it should move.

    A flat reading alone could be a perfect controller; it counts as frozen
    only when, over the flat stretch, the setpoint moved by at least
    ``frozen_evidence_c`` or the reading stayed that far from the setpoint.
    """
    limits = context.limits
    temperature = column(frame, "room_temp_c").dropna()
    if temperature.empty:
        return []
    setpoint = column(frame, "setpoint_c")
    frozen = []
    min_duration = pd.Timedelta(hours=limits.frozen_min_hours)
    stretches = _flat_runs(temperature, limits.frozen_tolerance_c, min_duration, context.max_gap)
    for first, last in stretches:
        start, end = temperature.index[first], temperature.index[last]
        if duration_h(start, end) < limits.frozen_min_hours:
            continue
        targets = setpoint.loc[start:end].dropna()
        if targets.empty:
            continue
        reading = float(temperature.iloc[last])
        moved = float(targets.max() - targets.min())
        apart = float((targets - reading).abs().median())
        if moved >= limits.frozen_evidence_c or apart >= limits.frozen_evidence_c:
            frozen.append((start, end, reading, moved, float(targets.iloc[-1])))
    if not frozen:
        return []
    start, end, reading, moved, target = frozen[-1]
    why = (
        f"while the setpoint moved by {moved:.1f} K"
        if moved >= limits.frozen_evidence_c
        else f"while the setpoint is {target:.1f} °C"
    )
    return [
        Hit(
            "room_temp",
            Severity.CRITICAL,
            start,
            end,
            f"room temperature reads {reading:.2f} °C unchanged "
            f"{span(start, end, context.time_zone)} {why}",
            "check the sensor, its wiring and its controller input: the zone's heating now "
            "acts on a value that does not follow the room",
        )
    ]


def sensor_out_of_range(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """The room temperature outside what a heated room can be, or flagged out of range."""
    limits = context.limits
    temperature = column(frame, "room_temp_c")
    implausible = (temperature < limits.plausible_min_c) | (temperature > limits.plausible_max_c)
    flagged = column(frame, "room_temp_quality") == int(Quality.OUT_OF_RANGE)
    bad = implausible | flagged
    if not bad.any():
        return []
    stamps = bad[bad].index
    count = len(stamps)
    if implausible.any():
        worst = temperature[implausible]
        what = (
            f"room temperature reads {worst.iloc[-1]:.1f} °C, outside the plausible "
            f"{limits.plausible_min_c:g}-{limits.plausible_max_c:g} °C"
        )
    else:
        what = "the controller reports the room temperature outside the point's range"
    return [
        Hit(
            "room_temp",
            Severity.CRITICAL,
            stamps[0],
            stamps[-1],
            f"{what}: {count} reading(s) from {local_time(stamps[0], context.time_zone)} to "
            f"{local_time(stamps[-1], context.time_zone)}",
            "check the sensor (broken, shorted or disconnected) and the controller input's "
            "scaling; until then the zone is controlled on a false value",
        )
    ]


def temperature_trend(frame: pd.DataFrame, context: RuleContext) -> pd.Series:
    """The room temperature's rate of change over the trend window, K/h; NaN where unknown."""
    temperature = column(frame, "room_temp_c").dropna()
    trend = pd.Series(np.nan, index=frame.index, dtype=float)
    if len(temperature) < 2:
        return trend
    stamps = nanoseconds(temperature.index)
    window = pd.Timedelta(hours=context.limits.loop_trend_window_hours).value
    earlier = np.searchsorted(stamps, stamps - window, side="right") - 1
    valid = earlier >= 0
    earlier = np.where(valid, earlier, 0)
    elapsed_h = (stamps - stamps[earlier]) / pd.Timedelta(hours=1).value
    # A trend needs most of the window behind it, and no gap in the data it spans.
    valid &= (elapsed_h >= 0.5 * context.limits.loop_trend_window_hours) & (
        elapsed_h <= context.limits.loop_trend_window_hours + context.limits.max_gap_hours
    )
    values = temperature.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(valid, (values - values[earlier]) / elapsed_h, np.nan)
    trend.loc[temperature.index] = rate
    return trend


#: (valve state, temperature against setpoint, trend, severity, what it shows, the fix)
_LOOP_FAULTS = (
    ("open", "below", "falling", Severity.WARNING,
     "the valve is open, yet the room lies below its setpoint and cools: the heat does not "
     "arrive",
     "check the valve actuator (stuck closed), the supply water and the heat source"),
    ("open", "above", "rising", Severity.WARNING,
     "the valve is open while the room lies above its setpoint and warms: the valve is stuck "
     "open or held, or the controller ignores the setpoint",
     "check the valve and its actuator, and whether a priority above the program holds it "
     "(klaster bms points)"),
    ("closed", "below", "falling", Severity.WARNING,
     "the valve is closed while the room lies below its setpoint and cools: the controller "
     "does not open it",
     "check the controller's loop (its input, output and enable) and the valve actuator"),
    ("closed", "above", "rising", Severity.INFO,
     "the valve is closed, yet the room lies above its setpoint and warms: a passing valve, "
     "or large solar or internal gains",
     "check the valve for leakage; if the gains are the cause, shade or ventilate"),
)  # fmt: skip


def control_loop_fault(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """The room temperature does not follow its setpoint the way the valve says it should."""
    limits = context.limits
    temperature = column(frame, "room_temp_c")
    error = temperature - column(frame, "setpoint_c")
    valve = column(frame, "heat_output_pct")
    trend = temperature_trend(frame, context)
    states = {"open": valve >= limits.valve_open_pct, "closed": valve <= limits.valve_closed_pct}
    sides = {"below": error < -limits.loop_deadband_c, "above": error > limits.loop_deadband_c}
    trends = {
        "falling": trend < -limits.loop_min_rate_c_per_hour,
        "rising": trend > limits.loop_min_rate_c_per_hour,
    }
    hits = []
    for state, side, direction, severity, shows, fix in _LOOP_FAULTS:
        mask = states[state] & sides[side] & trends[direction]
        runs = lasting(mask, context, limits.loop_min_hours)
        if not runs:
            continue
        start, last, end = runs[-1]
        hits.append(
            Hit(
                "heat_output",
                severity,
                start,
                last,
                f"{shows}: valve {valve.loc[start:last].median():.0f} %, room "
                f"{temperature.loc[start]:.1f} → {temperature.loc[last]:.1f} °C against a "
                f"setpoint of {column(frame, 'setpoint_c').loc[last]:.1f} °C "
                f"{span(start, end, context.time_zone)}" + times_text(runs),
                fix,
            )
        )
    return hits


def short_cycling(frame: pd.DataFrame, context: RuleContext) -> list[Hit]:
    """The heating starts more often in an hour than equipment should (on/off cycling)."""
    output = column(frame, "heat_output_pct").dropna()
    if len(output) < 2:
        return []
    on = output >= context.limits.heating_on_pct
    starts = (on & ~on.shift(1, fill_value=True)).astype(float)
    per_hour = starts.rolling(pd.Timedelta(hours=1)).sum()
    worst = float(per_hour.max())
    if worst < context.limits.short_cycle_max_starts_per_hour:
        return []
    end = pd.DatetimeIndex(per_hour.index)[int(np.argmax(per_hour.to_numpy()))]
    in_hour = starts.loc[end - pd.Timedelta(hours=1) : end]
    start = in_hour[in_hour > 0].index[0]
    return [
        Hit(
            "heat_output",
            Severity.WARNING,
            start,
            end,
            f"the heating started {worst:.0f} times within the hour to "
            f"{local_time(end, context.time_zone)} ({starts.sum():.0f} starts in the period; "
            f"at most {context.limits.short_cycle_max_starts_per_hour} an hour allowed)",
            "widen the controller's hysteresis or lengthen its minimum on and off times: "
            "cycling wears compressors, burners and valves",
        )
    ]
