"""The first-order (RC) thermal model of a BMS zone, and its own thermostat.

A zone's room temperature follows ``C dT/dt = Q_heat + Q_gains - (T - T_out) / R``
(C in kWh/K, R in K/kW, heat flows in kW). The planner and the
hardware-in-the-loop rig both step it with :func:`zone_temperature_c`, and a
zone's own controller, which heats to reach its setpoint by the end of each
step, is :func:`heating_power_kw`: one model, written once.
"""

from __future__ import annotations

import math

import numpy as np

from cluster.assets import BmsZone, HeatingKind


def zone_temperature_c(
    temp_c: float,
    outdoor_c: float,
    heat_kw: float,
    gains_kw: float,
    capacitance_kwh_per_k: float,
    resistance_k_per_kw: float,
    dt_h: float,
) -> float:
    """A zone's temperature after one step of the first-order (RC) model.

    Solves ``C dT/dt = Q_heat + Q_gains - (T - T_out) / R`` exactly for heat
    flows constant over the step, so any step length is stable.

    Parameters
    ----------
    temp_c
        Room temperature at the start, °C.
    outdoor_c
        Outdoor temperature, °C.
    heat_kw
        Heat delivered by the heating, kW.
    gains_kw
        Internal gains, kW.
    capacitance_kwh_per_k
        Thermal capacitance C, kWh/K.
    resistance_k_per_kw
        Thermal resistance R to outdoors, K/kW.
    dt_h
        Step length, h.
    """
    equilibrium = outdoor_c + resistance_k_per_kw * (heat_kw + gains_kw)
    decay = math.exp(-dt_h / (resistance_k_per_kw * capacitance_kwh_per_k))
    return equilibrium + (temp_c - equilibrium) * decay


def heating_power_kw(
    temp_c: float,
    setpoint_c: float,
    outdoor_c: float,
    gains_kw: float,
    capacitance_kwh_per_k: float,
    resistance_k_per_kw: float,
    heating_max_kw: float,
    dt_h: float,
) -> float:
    """The zone controller's heat output for the next step.

    The heat that brings the zone exactly to its setpoint by the end of the
    step (the inverse of :func:`zone_temperature_c`), within ``[0, heating_max_kw]``.

    Parameters
    ----------
    temp_c
        Room temperature now, °C.
    setpoint_c
        The active setpoint, °C.
    outdoor_c
        Outdoor temperature, °C.
    gains_kw
        Internal gains, kW.
    capacitance_kwh_per_k, resistance_k_per_kw
        The zone's C (kWh/K) and R (K/kW).
    heating_max_kw
        Largest heat output, kW.
    dt_h
        Step length, h.
    """
    if dt_h <= 0:
        return 0.0
    decay = math.exp(-dt_h / (resistance_k_per_kw * capacitance_kwh_per_k))
    equilibrium = (setpoint_c - decay * temp_c) / (1.0 - decay)
    heat = (equilibrium - outdoor_c) / resistance_k_per_kw - gains_kw
    return min(max(heat, 0.0), heating_max_kw)


def heating_electricity_kw(heat_kw: float, heating: HeatingKind, cop: float) -> float:
    """Electric power a zone's heating draws, kW.

    Parameters
    ----------
    heat_kw
        Heat delivered, kW.
    heating
        Heat pump (heat / COP), direct electric (heat), or district heat (no electricity).
    cop
        The heat pump's coefficient of performance.
    """
    if heating is HeatingKind.HEAT_PUMP:
        return heat_kw / cop
    if heating is HeatingKind.ELECTRIC:
        return heat_kw
    return 0.0


def retention(zone: BmsZone, step_h: float) -> float:
    r"""The share of a zone's distance from equilibrium left after a step, :math:`e^{-\Delta t/RC}`.

    Parameters
    ----------
    zone
        The zone (R in K/kW, C in kWh/K).
    step_h
        Step length :math:`\Delta t`, h.
    """
    return math.exp(
        -step_h / (zone.thermal_resistance_k_per_kw * zone.thermal_capacitance_kwh_per_k)
    )


def thermostat_run(
    zone: BmsZone,
    outdoor_c: np.ndarray,
    gains_kw: np.ndarray,
    setpoints_c: np.ndarray,
    initial_temp_c: float,
    step_h: float,
) -> tuple[np.ndarray, float]:
    """A zone's own controller over a run of steps: its heat (kW per step) and end temperature (°C).

    Each step, :func:`heating_power_kw` from where the previous step left
    the room, then :func:`zone_temperature_c` to the step's end.

    Parameters
    ----------
    zone
        The zone.
    outdoor_c
        Outdoor temperature of each step, °C.
    gains_kw
        Internal gains of each step, kW.
    setpoints_c
        The controller's setpoint in each step, °C.
    initial_temp_c
        Room temperature at the start of the first step, °C.
    step_h
        Step length, h.
    """
    capacitance = zone.thermal_capacitance_kwh_per_k
    resistance = zone.thermal_resistance_k_per_kw
    heat = np.zeros(len(outdoor_c))
    temp = initial_temp_c
    for t, (outdoor, gains, setpoint) in enumerate(
        zip(np.asarray(outdoor_c, dtype=float).tolist(), np.asarray(gains_kw, dtype=float).tolist(),
            np.asarray(setpoints_c, dtype=float).tolist(), strict=True)
    ):  # fmt: skip
        step_heat = heating_power_kw(temp, setpoint, outdoor, gains, capacitance, resistance,
                                     zone.heating_max_kw, step_h)  # fmt: skip
        temp = zone_temperature_c(temp, outdoor, step_heat, gains, capacitance, resistance, step_h)
        heat[t] = step_heat
    return heat, temp


def settled_temp_c(
    zone: BmsZone,
    outdoor_c: np.ndarray,
    gains_kw: np.ndarray,
    setpoints_c: np.ndarray,
    step_h: float,
) -> float:
    """Where a zone's own controller leaves the room at the start of a run of steps, °C.

    The days before are taken to be like these steps: the controller
    (:func:`thermostat_run`) runs over them again and again, each run
    starting where the last ended, until the end temperature settles
    (within 0.01 K, at most 20 runs). A heavy zone that cools slowly
    overnight thus starts warmer than its night setpoint.

    Parameters
    ----------
    zone
        The zone.
    outdoor_c
        Outdoor temperature of each step, °C.
    gains_kw
        Internal gains of each step, kW.
    setpoints_c
        The controller's setpoint in each step, °C.
    step_h
        Step length, h.
    """
    temp = float(setpoints_c[0])
    for _ in range(20):
        end = thermostat_run(zone, outdoor_c, gains_kw, setpoints_c, temp, step_h)[1]
        settled = abs(end - temp) < 0.01
        temp = end
        if settled:
            break
    return temp
