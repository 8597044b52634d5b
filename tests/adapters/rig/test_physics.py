"""The rig's plant physics, function by function, against hand calculations."""

from __future__ import annotations

import pytest

from adapters.rig import physics
from cluster.config import ComfortBand


@pytest.mark.parametrize(
    ("available_kw", "limit_pct", "rating_kw", "expected_kw"),
    [
        (30.0, 100.0, 45.0, 30.0),  # not limited: what the array gives
        (30.0, 50.0, 45.0, 22.5),  # limited to half the rating
        (10.0, 50.0, 45.0, 10.0),  # limit above what is available
        (-0.2, 100.0, 45.0, 0.0),  # night: never negative
        (30.0, 0.0, 45.0, 0.0),
        (60.0, 150.0, 45.0, 45.0),  # a limit above 100 % counts as 100 %
    ],
)
def test_pv_output_is_available_power_under_the_limit(
    available_kw: float, limit_pct: float, rating_kw: float, expected_kw: float
) -> None:
    assert physics.pv_output_kw(available_kw, limit_pct, rating_kw) == pytest.approx(expected_kw)


def test_wte_ramps_towards_its_setpoint_within_min_and_max() -> None:
    ramp = dict(min_kw=4000.0, max_kw=8000.0, ramp_kw_per_hour=2000.0)
    # Half an hour at 2000 kW/h moves 1000 kW.
    assert physics.wte_output_kw(5000.0, 8000.0, dt_h=0.5, **ramp) == pytest.approx(6000.0)
    assert physics.wte_output_kw(5000.0, 5400.0, dt_h=0.5, **ramp) == pytest.approx(5400.0)
    # A setpoint below the minimum stable load holds the minimum; above the maximum, the maximum.
    assert physics.wte_output_kw(4200.0, 0.0, dt_h=1.0, **ramp) == pytest.approx(4000.0)
    assert physics.wte_output_kw(7900.0, 9999.0, dt_h=1.0, **ramp) == pytest.approx(8000.0)


def test_battery_losses_are_split_between_charge_and_discharge() -> None:
    store = dict(power_max_kw=50.0, energy_kwh=100.0, round_trip_efficiency=0.81,
                 soc_min_pct=10.0, soc_max_pct=90.0)  # fmt: skip
    # Discharging 10 kW for 1 h takes 10 / 0.9 kWh from the cells.
    power, soc = physics.battery_step(50.0, 10.0, dt_h=1.0, **store)
    assert power == pytest.approx(10.0)
    assert soc == pytest.approx(50.0 - 10.0 / 0.9)
    # Charging 10 kW for 1 h stores 10 × 0.9 kWh.
    power, soc = physics.battery_step(50.0, -10.0, dt_h=1.0, **store)
    assert power == pytest.approx(-10.0)
    assert soc == pytest.approx(59.0)
    # A setpoint beyond the rating is cut to it.
    power, _ = physics.battery_step(50.0, -80.0, dt_h=0.1, **store)
    assert power == pytest.approx(-50.0)


def test_battery_stops_at_its_state_of_charge_limits() -> None:
    store = dict(power_max_kw=50.0, energy_kwh=100.0, round_trip_efficiency=0.81,
                 soc_min_pct=10.0, soc_max_pct=90.0)  # fmt: skip
    # 2 kWh above the minimum: 1.8 kW for an hour empties it to exactly 10 %.
    power, soc = physics.battery_step(12.0, 30.0, dt_h=1.0, **store)
    assert power == pytest.approx(1.8)
    assert soc == pytest.approx(10.0)
    power, soc = physics.battery_step(10.0, 30.0, dt_h=1.0, **store)
    assert (power, soc) == (pytest.approx(0.0), pytest.approx(10.0))
    power, soc = physics.battery_step(90.0, -30.0, dt_h=1.0, **store)
    assert (power, soc) == (pytest.approx(0.0), pytest.approx(90.0))


def test_biogas_engine_follows_its_setpoint_while_the_holder_feeds_it() -> None:
    engine = dict(min_kw=400.0, max_kw=1000.0, efficiency=0.4, holder_kwh=9000.0)
    output, level = physics.biogas_step(800.0, 4000.0, 1500.0, dt_h=1.0, **engine)
    assert output == pytest.approx(800.0)
    assert level == pytest.approx(4000.0 + 1500.0 - 800.0 / 0.4)
    # An empty holder with little inflow cannot feed the minimum load: the engine stops.
    output, level = physics.biogas_step(800.0, 0.0, 500.0, dt_h=1.0, **engine)
    assert output == 0.0
    assert level == pytest.approx(500.0)
    # Setpoint 0 stops it; the holder fills, up to its size.
    output, level = physics.biogas_step(0.0, 8800.0, 1500.0, dt_h=1.0, **engine)
    assert (output, level) == (0.0, pytest.approx(9000.0))


def test_circuit_power_follows_switch_dimming_and_darkness() -> None:
    # 100 luminaires of 80 W, 2 failed, at 50 %: 98 × 80 W × 0.5.
    assert physics.circuit_power_kw(True, 50.0, True, 100, 2, 80.0) == pytest.approx(3.92)
    assert physics.circuit_power_kw(False, 50.0, True, 100, 2, 80.0) == 0.0
    assert physics.circuit_power_kw(True, 50.0, False, 100, 2, 80.0) == 0.0


COMFORT = ComfortBand(
    occupied_min_c=20, occupied_max_c=24, unoccupied_min_c=16, unoccupied_max_c=27
)


def test_the_controllers_own_schedule_sits_just_above_the_lower_bound() -> None:
    assert physics.schedule_setpoint_c(COMFORT, True) == pytest.approx(21.0)
    assert physics.schedule_setpoint_c(COMFORT, False) == pytest.approx(17.0)


def test_meter_energy_splits_into_import_and_export() -> None:
    assert physics.import_export_kwh(40.0, 0.25) == (pytest.approx(10.0), 0.0)
    assert physics.import_export_kwh(-40.0, 0.25) == (0.0, pytest.approx(10.0))
