"""The plant behind the rig's devices, as small pure functions of one time step.

Each function takes the state at the start of a step, the commands in force
and the step length, and returns the state at its end. They hold for any step
length (the rig's step grows with its speed): ramps are bounded per step and
storage limits cut power rather than let a state overshoot. The zones' thermal
model is the planner's too, in :mod:`cluster.thermal`.

Signs follow klaster's conventions: a generator's output is positive, a
battery's power is positive when discharging, a connection point's power is
positive when importing.
"""

from __future__ import annotations

import math

from cluster.config import ComfortBand

#: Setpoint of the controller's own schedule above the lower comfort bound, K.
SCHEDULE_MARGIN_K = 1.0
#: Mains voltage at no load, V, and its drop at contracted capacity, V.
NOMINAL_VOLTAGE_V = 231.0
FULL_LOAD_VOLTAGE_DROP_V = 4.0


def clip(value: float, low: float, high: float) -> float:
    """``value`` limited to ``[low, high]``."""
    return min(max(value, low), high)


def pv_output_kw(available_kw: float, limit_pct: float, rating_kw: float) -> float:
    """A PV inverter's AC output under an active-power limit.

    Parameters
    ----------
    available_kw
        What the array could deliver now, kW.
    limit_pct
        The active-power limit, % of the rating (100 when not limited).
    rating_kw
        The inverter's rated power, kW.

    Returns
    -------
    float
        ``min(available, limit × rating)``, never negative, kW.
    """
    return max(0.0, min(available_kw, clip(limit_pct, 0.0, 100.0) / 100.0 * rating_kw))


def ramp_towards(current: float, target: float, max_change: float) -> float:
    """Move from ``current`` towards ``target`` by at most ``max_change`` (same unit)."""
    return current + clip(target - current, -max_change, max_change)


def wte_output_kw(
    output_kw: float,
    setpoint_kw: float,
    min_kw: float,
    max_kw: float,
    ramp_kw_per_hour: float,
    dt_h: float,
) -> float:
    """The waste-to-energy turbine's electric output after one step.

    Parameters
    ----------
    output_kw
        Output at the start of the step, kW.
    setpoint_kw
        The output setpoint, kW; held inside ``[min_kw, max_kw]`` (the plant
        must burn its waste, so it never goes below its minimum stable load).
    min_kw, max_kw
        Minimum stable load and maximum output, kW.
    ramp_kw_per_hour
        The largest change of output per hour, kW/h.
    dt_h
        Step length, h.
    """
    target = clip(setpoint_kw, min_kw, max_kw)
    return clip(ramp_towards(output_kw, target, ramp_kw_per_hour * dt_h), min_kw, max_kw)


def biogas_step(
    setpoint_kw: float,
    level_kwh: float,
    inflow_kw: float,
    *,
    min_kw: float,
    max_kw: float,
    efficiency: float,
    holder_kwh: float,
    dt_h: float,
) -> tuple[float, float]:
    """A biogas engine and its gas holder over one step.

    The engine runs at its setpoint held in ``[min_kw, max_kw]`` (0 stops
    it) as long as the holder and the inflow can feed it; below its minimum
    load it stops. Gas beyond the holder's size is flared.

    Parameters
    ----------
    setpoint_kw
        Electric output setpoint, kW.
    level_kwh
        Gas in the holder at the start of the step, kWh of gas.
    inflow_kw
        Gas flowing in, kW of gas.
    min_kw, max_kw
        The engine's minimum and maximum electric output, kW.
    efficiency
        Electric output over gas input.
    holder_kwh
        Holder size, kWh of gas.
    dt_h
        Step length, h.

    Returns
    -------
    tuple[float, float]
        Electric output, kW, and the gas in the holder at the end, kWh.
    """
    target = 0.0 if setpoint_kw <= 0 else clip(setpoint_kw, min_kw, max_kw)
    affordable_kw = (level_kwh / dt_h + inflow_kw) * efficiency if dt_h > 0 else target
    output = min(target, affordable_kw)
    if output < min_kw:
        output = 0.0
    level = level_kwh + (inflow_kw - output / efficiency) * dt_h
    return output, clip(level, 0.0, holder_kwh)


def battery_step(
    soc_pct: float,
    setpoint_kw: float,
    *,
    power_max_kw: float,
    energy_kwh: float,
    round_trip_efficiency: float,
    soc_min_pct: float,
    soc_max_pct: float,
    dt_h: float,
) -> tuple[float, float]:
    """A battery following its power setpoint for one step.

    Losses are split evenly between charging and discharging (each
    ``sqrt(round_trip_efficiency)``); the power is cut so the state of charge
    stays within ``[soc_min_pct, soc_max_pct]``.

    Parameters
    ----------
    soc_pct
        State of charge at the start, %.
    setpoint_kw
        Requested power, kW, positive when discharging.
    power_max_kw
        Rated power in either direction, kW.
    energy_kwh
        Usable capacity, kWh.
    round_trip_efficiency
        Energy out over energy in, 0-1.
    soc_min_pct, soc_max_pct
        Permitted state of charge, %.
    dt_h
        Step length, h.

    Returns
    -------
    tuple[float, float]
        The power delivered, kW (positive discharging), and the state of charge at the end, %.
    """
    if dt_h <= 0:
        return 0.0, soc_pct
    one_way = math.sqrt(round_trip_efficiency)
    power = clip(setpoint_kw, -power_max_kw, power_max_kw)
    stored_kwh = soc_pct / 100.0 * energy_kwh
    if power >= 0:
        room_kwh = max(0.0, stored_kwh - soc_min_pct / 100.0 * energy_kwh)
        power = min(power, room_kwh * one_way / dt_h)
        stored_kwh -= power / one_way * dt_h
    else:
        room_kwh = max(0.0, soc_max_pct / 100.0 * energy_kwh - stored_kwh)
        power = max(power, -room_kwh / one_way / dt_h)
        stored_kwh -= power * one_way * dt_h
    return power, stored_kwh / energy_kwh * 100.0


def schedule_setpoint_c(comfort: ComfortBand, occupied: bool) -> float:
    """The setpoint a zone controller's own schedule sets, °C: just above the lower bound."""
    low = comfort.occupied_min_c if occupied else comfort.unoccupied_min_c
    return low + SCHEDULE_MARGIN_K


def circuit_power_kw(
    on: bool,
    dim_pct: float,
    dark: bool,
    luminaires: int,
    failed_lamps: int,
    luminaire_w: float,
) -> float:
    """A street-lighting circuit's power, kW.

    The cabinet's photocell gates the remote command: lamps burn only when it
    is dark and the circuit is switched on; LED drivers draw in proportion to
    the dimming level.

    Parameters
    ----------
    on
        The circuit's on/off command.
    dim_pct
        Dimming level, % of full output.
    dark
        Whether it is dark (dusk to dawn).
    luminaires
        Luminaires on the circuit.
    failed_lamps
        Luminaires that do not burn.
    luminaire_w
        Power of one luminaire at full output, W.
    """
    if not (on and dark):
        return 0.0
    burning = max(0, luminaires - failed_lamps)
    return burning * luminaire_w * clip(dim_pct, 0.0, 100.0) / 100.0 / 1000.0


def failed_lamps(luminaires: int) -> int:
    """Luminaires out of order on a circuit: a small, constant 2 %."""
    return round(0.02 * luminaires)


def import_export_kwh(power_kw: float, dt_h: float) -> tuple[float, float]:
    """Energy imported and exported in a step at a connection-point power (import positive), kWh."""
    energy = power_kw * dt_h
    return max(energy, 0.0), max(-energy, 0.0)


def supply_voltage_v(power_kw: float, contracted_kw: float) -> float:
    """Phase voltage at a connection point, V: a little lower under heavier load."""
    share = abs(power_kw) / contracted_kw if contracted_kw > 0 else 0.0
    return NOMINAL_VOLTAGE_V - FULL_LOAD_VOLTAGE_DROP_V * min(share, 2.0)
