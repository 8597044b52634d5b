"""The RC zone model and a zone's own controller, against hand calculations and the ODE."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cluster.config import BmsZone, ComfortBand, HeatingKind
from cluster.thermal import (
    heating_electricity_kw,
    heating_power_kw,
    retention,
    settled_temp_c,
    thermostat_run,
    zone_temperature_c,
)


def test_zone_model_matches_a_fine_numerical_integration() -> None:
    zone = dict(capacitance_kwh_per_k=100.0, resistance_k_per_kw=0.5)
    exact = zone_temperature_c(20.0, -5.0, 30.0, 2.0, dt_h=3.0, **zone)
    temp = 20.0
    steps = 30_000
    for _ in range(steps):  # explicit Euler of C dT/dt = Q + G - (T - Tout) / R
        temp += (30.0 + 2.0 - (temp + 5.0) / 0.5) / 100.0 * (3.0 / steps)
    assert exact == pytest.approx(temp, abs=1e-3)
    # Without heat the zone decays towards outdoors with time constant R·C = 50 h.
    cooled = zone_temperature_c(20.0, 0.0, 0.0, 0.0, dt_h=50.0, **zone)
    assert cooled == pytest.approx(20.0 / math.e)


def test_zone_controller_reaches_its_setpoint_and_respects_its_limits() -> None:
    zone = dict(capacitance_kwh_per_k=80.0, resistance_k_per_kw=0.6)
    heat = heating_power_kw(20.0, 20.5, 0.0, 1.0, heating_max_kw=100.0, dt_h=1.0, **zone)
    # About 0.5 K × 80 kWh/K in an hour plus the losses, 20.25 K / 0.6 K/kW, less the gains.
    assert heat == pytest.approx(40.0 + 20.25 / 0.6 - 1.0, rel=0.02)
    reached = zone_temperature_c(20.0, 0.0, heat, 1.0, dt_h=1.0, **zone)
    assert reached == pytest.approx(20.5)
    # Far below its setpoint the heating runs flat out; above it, not at all.
    assert heating_power_kw(15.0, 24.0, 0.0, 0.0, heating_max_kw=60.0, dt_h=0.25,
                                    **zone) == pytest.approx(60.0)  # fmt: skip
    assert heating_power_kw(23.0, 21.0, 0.0, 0.0, heating_max_kw=60.0, dt_h=0.25,
                                    **zone) == 0.0  # fmt: skip


def test_heating_electricity_by_kind() -> None:
    assert heating_electricity_kw(30.0, HeatingKind.HEAT_PUMP, 3.0) == pytest.approx(10.0)
    assert heating_electricity_kw(30.0, HeatingKind.ELECTRIC, 3.0) == pytest.approx(30.0)
    assert heating_electricity_kw(30.0, HeatingKind.DISTRICT_HEAT, 3.0) == 0.0


ZONE = BmsZone(
    id="z1",
    floor_area_m2=100.0,
    comfort=ComfortBand(
        occupied_min_c=20, occupied_max_c=24, unoccupied_min_c=16, unoccupied_max_c=27
    ),
    thermal_capacitance_kwh_per_k=2.0,
    thermal_resistance_k_per_kw=10.0,
    heating_max_kw=16.0,
)


def test_retention_is_the_decay_over_one_step() -> None:
    # R·C = 20 h; a quarter-hour keeps exp(-1/80) of the distance from equilibrium.
    assert retention(ZONE, 0.25) == pytest.approx(math.exp(-0.25 / 20.0))
    cooled = zone_temperature_c(20.0, 0.0, 0.0, 0.0, 2.0, 10.0, 0.25)
    assert cooled == pytest.approx(20.0 * retention(ZONE, 0.25))


def test_the_controller_holds_its_setpoints_step_by_step() -> None:
    outdoor = np.zeros(8)
    gains = np.zeros(8)
    setpoints = np.array([16.0] * 4 + [20.0] * 4)
    heat, _ = thermostat_run(ZONE, outdoor, gains, setpoints, 16.0, 0.25)
    # Holding 16 °C at 0 °C outdoors takes the losses, 16 / R = 1.6 kW.
    np.testing.assert_allclose(heat[:4], 1.6)
    # Four kelvin in a quarter-hour would take far more than 16 kW: flat out, then holding.
    assert heat[4] == 16.0
    temp = 16.0
    for q in heat:
        temp = zone_temperature_c(temp, 0.0, q, 0.0, 2.0, 10.0, 0.25)
    assert temp == pytest.approx(20.0)


def test_the_settled_start_repeats_itself() -> None:
    # Setback at night, 20 °C by day, -5 °C outdoors: a run of the day from the start
    # found ends where it began.
    hours = np.arange(96) / 4.0
    setpoints = np.where((hours >= 7) & (hours < 17), 20.0, 16.0)
    outdoor = np.full(96, -5.0)
    gains = np.zeros(96)
    start = settled_temp_c(ZONE, outdoor, gains, setpoints, 0.25)
    heat, _ = thermostat_run(ZONE, outdoor, gains, setpoints, start, 0.25)
    temp = start
    for q in heat:
        temp = zone_temperature_c(temp, -5.0, q, 0.0, 2.0, 10.0, 0.25)
    assert temp == pytest.approx(start, abs=0.01)
    # This light zone (20 h time constant) is back at its setback by midnight.
    assert start == pytest.approx(16.0, abs=0.01)
