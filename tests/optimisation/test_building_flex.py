"""Building flexibility: BMS zones pre-heat, coast and stay in their bands; solved by HiGHS."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from cluster.config import (
    Assets,
    BmsZone,
    BuildingUse,
    ComfortBand,
    HeatingKind,
    HourRange,
    Occupancy,
    PublicBuilding,
    SupplyContract,
)
from cluster.occupancy import occupied_steps
from cluster.schedule import Schedule
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from optimisation.components.building import baseline_heat_kw, setpoint_plan_c
from optimisation.errors import OptimisationError, PlanningInputError
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import WORKING_DAY, demo_inputs, flat_tariff, one_point_config

STEP_H = 0.25
BAND = ComfortBand(occupied_min_c=20, occupied_max_c=24, unoccupied_min_c=16, unoccupied_max_c=27)
OFFICE_HOURS = Occupancy(working_days=HourRange(start=7, end=17))
ALWAYS = Occupancy(
    working_days=HourRange(start=0, end=24),
    non_working_days=HourRange(start=0, end=24),
    closed_on_public_holidays=False,
)


def zone(zone_id: str = "z1", **changes: object) -> BmsZone:
    """A small zone: C = 2 kWh/K, R = 10 K/kW (time constant 20 h), 16 kW, no gains."""
    fields: dict[str, object] = dict(
        id=zone_id, floor_area_m2=100.0, comfort=BAND, thermal_capacitance_kwh_per_k=2.0,
        thermal_resistance_k_per_kw=10.0, heating_max_kw=16.0, heating=HeatingKind.ELECTRIC,
        occupied_gains_w_per_m2=0.0,
    )  # fmt: skip
    return BmsZone.model_validate(fields | changes)


def building_inputs(
    zones: Sequence[BmsZone],
    *,
    occupancy: Occupancy,
    outdoor_c: Sequence[float] | np.ndarray,
    price: Sequence[float] | np.ndarray,
    first_step: int = 0,
    load_kw: Sequence[float] | np.ndarray | None = None,
) -> PlanningInputs:
    """One building behind ``cp`` (flat 50 PLN/MWh distribution, 20 PLN/MWh margin, no blocks),
    planned over ``len(price)`` quarter-hours from step ``first_step`` of a working day."""
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=50.0, capacity_rate_pln_per_kw_month=12.0),
        contracted_capacity_kw=500.0,
        export_limit_kw=0.0,
        contract=SupplyContract(day_ahead_margin_pln_per_mwh=20.0, sell_back_fee_pln_per_mwh=10.0),
        assets=Assets(buildings=[PublicBuilding(id="bldg", connection_point="cp",
                                                use=BuildingUse.OFFICE, occupancy=occupancy,
                                                zones=list(zones))]),
    )  # fmt: skip
    steps = day_steps(WORKING_DAY, config.cluster.zone)[first_step : first_step + len(price)]
    series = {SeriesId.TEMPERATURE_C: np.asarray(outdoor_c, dtype=float)}
    if load_kw is not None:
        series[SeriesId.load("cp")] = np.asarray(load_kw, dtype=float)
    forecasts = pd.DataFrame(series, index=steps)
    return PlanningInputs(config, WORKING_DAY, steps, forecasts, pd.Series(price, index=steps))


def plan(inputs: PlanningInputs, options: ModelOptions | None = None) -> tuple[float, Schedule]:
    model = build_model(inputs, options)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective_pln is not None
    return result.objective_pln, extract_schedule(model, inputs, result)


def values(schedule: Schedule, asset: str, quantity: str) -> np.ndarray:
    return schedule.asset_series(asset, quantity).to_numpy()


def test_preheats_in_the_cheap_steps_before_occupancy_as_computed_by_hand() -> None:
    # Steps 06:30, 06:45 (cheap), 07:00, 07:15 (dear) of a working day; the office opens at
    # 07:00, so the room must be at 20 °C or more at 07:00 (the end of step 1), 07:15 and
    # 07:30. Outdoors 0 °C, the room starts at 18 °C. Over one step the room keeps
    # a = exp(-0.25 / 20) of its excess over equilibrium and heat Q lifts it by b·Q,
    # b = (1 - a)·R:   T_t = a·T_{t-1} + b·Q_t.
    a = math.exp(-STEP_H / 20.0)
    b = (1.0 - a) * 10.0
    inputs = building_inputs(
        [zone(initial_temp_c=18.0)], occupancy=OFFICE_HOURS, outdoor_c=[0.0] * 4,
        price=[100.0, 100.0, 600.0, 600.0], first_step=26,
    )  # fmt: skip
    # A kWh costs 100 + 20 + 50 = 170 PLN/MWh in the cheap steps, 670 in the dear ones.
    # Heat in step 1 reaches 07:30 as a²·b per kW, heat in step 3 as b: at a² > 170/670 the
    # dear steps are not worth heating at all, so step 1 runs flat out (16 kW, the later of
    # the cheap steps loses less) and step 0 adds what is missing for T_1 = 20 / a², from
    # which the room coasts to exactly 20 °C at 07:30.
    q1 = 16.0
    q0 = (20.0 / a**2 - a * a * 18.0 - b * q1) / (a * b)
    assert 0 < q0 < 16.0
    expected_cost = (q0 + q1) * STEP_H * 0.170
    objective, schedule = plan(inputs)
    assert objective == pytest.approx(expected_cost, rel=1e-6)
    heat = values(schedule, "bldg/z1", "heat_kw")
    np.testing.assert_allclose(heat, [q0, q1, 0.0, 0.0], atol=1e-6)
    temp = values(schedule, "bldg/z1", "temp_c")
    np.testing.assert_allclose(temp, [a * 18 + b * q0, 20 / a**2, 20 / a, 20.0], atol=1e-6)
    # Setpoints: the planned temperatures rounded up to 0.1 °C (18.76 → 18.8, 20.51 → 20.6,
    # 20.25 → 20.3, 20 → 20).
    np.testing.assert_allclose(values(schedule, "bldg/z1", "setpoint_c"), [18.8, 20.6, 20.3, 20.0])
    np.testing.assert_allclose(values(schedule, "bldg/z1", "electric_kw"), heat, atol=1e-9)
    assert values(schedule, "bldg/z1", "comfort_violation_kh").sum() == 0


def test_the_baseline_thermostat_reaches_its_setpoint_as_the_ode_says() -> None:
    # Integrate C dT/dt = Q + g - (T - θ)/R with a fine explicit Euler and the baseline's
    # own heat: the room ends each step at the setpoint unless the heating is capped.
    subject = zone(thermal_capacitance_kwh_per_k=1.0, thermal_resistance_k_per_kw=2.0)
    outdoor = np.array([5.0, 5.0, 3.0, 3.0, 2.0, 2.0])
    gains = np.array([0.0, 0.0, 0.0, 0.5, 0.5, 0.5])
    occupied = np.array([False, False, False, True, True, True])
    heat = baseline_heat_kw(subject, outdoor, gains, occupied, 18.0, STEP_H)
    temp = 18.0
    ends = []
    for q, theta, g in zip(heat, outdoor, gains, strict=True):
        for _ in range(2000):
            temp += STEP_H / 2000 / 1.0 * (q + g - (temp - theta) / 2.0)
        ends.append(temp)
    # Step 0: the room coasts from 18 °C towards 5 °C and ends above the 16 °C setback,
    # so no heat. Steps 1-2 hold 16 °C. Step 3 (occupied): reaching 20 °C in a quarter
    # of an hour would take about 23 kW, so the heat is capped at 16 kW; steps 4-5 get
    # there and hold it.
    assert heat[0] == 0.0 and ends[0] > 16.0
    assert heat[3] == 16.0 and ends[3] < 20.0
    for t in (1, 2, 4, 5):
        assert 0.0 < heat[t] < 16.0
        assert ends[t] == pytest.approx(20.0 if occupied[t] else 16.0, abs=1e-3)


def test_a_band_the_heating_cannot_hold_is_reported_not_infeasible() -> None:
    # An always-occupied zone at -10 °C outdoors: holding 20 °C would take 30 / R = 3 kW
    # with R = 10, but the heating gives 1 kW. The room falls; every step it is short.
    inputs = building_inputs(
        [zone(heating_max_kw=1.0, initial_temp_c=20.0)], occupancy=ALWAYS,
        outdoor_c=[-10.0] * 8, price=[300.0] * 8,
    )  # fmt: skip
    objective, schedule = plan(inputs)
    heat = values(schedule, "bldg/z1", "heat_kw")
    np.testing.assert_allclose(heat, 1.0)  # flat out: a K·h costs far more than a kWh
    a = math.exp(-STEP_H / 20.0)
    expected = []
    temp = 20.0
    for _ in range(8):
        temp = a * temp + (1 - a) * (-10.0 + 10.0 * 1.0)
        expected.append(temp)
    np.testing.assert_allclose(values(schedule, "bldg/z1", "temp_c"), expected, atol=1e-6)
    violation = values(schedule, "bldg/z1", "comfort_violation_kh")
    np.testing.assert_allclose(violation, (20.0 - np.asarray(expected)) * STEP_H, atol=1e-6)
    costs = schedule.costs.set_index("component")["cost_pln"]
    assert costs["comfort_penalty"] == pytest.approx(1000.0 * violation.sum(), rel=1e-6)
    # The BMS is still asked for the band, never for the cold the plan cannot avoid.
    assert (values(schedule, "bldg/z1", "setpoint_c") == 20.0).all()
    assert objective == pytest.approx(costs.drop("capacity_fixed_share").sum(), rel=1e-9)


def demo_like_zones() -> list[BmsZone]:
    """Three like zones of a mid-sized office, one per heating kind."""
    common = dict(
        thermal_capacitance_kwh_per_k=40.0,
        thermal_resistance_k_per_kw=1.0,
        heating_max_kw=40.0,
        floor_area_m2=400.0,
        occupied_gains_w_per_m2=5.0,
    )
    return [
        zone("hp", heating=HeatingKind.HEAT_PUMP, cop=4.0, **common),
        zone("el", heating=HeatingKind.ELECTRIC, **common),
        zone("dh", heating=HeatingKind.DISTRICT_HEAT, **common),
    ]


@pytest.fixture(scope="module")
def office_day() -> tuple[PlanningInputs, Schedule]:
    # A whole cold working day: -5 °C at night, 3 °C in the afternoon, evening price peak.
    steps = day_steps(WORKING_DAY, ZoneInfo("Europe/Warsaw"))
    hours = np.arange(len(steps)) / 4.0
    outdoor = -1.0 + 4.0 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)
    price = 400.0 + 300.0 * np.exp(-(((hours - 19.0) / 2.0) ** 2))
    inputs = building_inputs(
        demo_like_zones(), occupancy=OFFICE_HOURS, outdoor_c=outdoor, price=price,
        load_kw=np.full(len(steps), 60.0),
    )  # fmt: skip
    return inputs, plan(inputs)[1]


def test_comfort_bands_hold_and_setpoints_stay_inside_them(
    office_day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = office_day
    config = inputs.config
    occupied = occupied_steps(OFFICE_HOURS, inputs.steps, config.cluster.zone)
    # The band at the end of a step: occupied when that step or the next is occupied.
    at_end = occupied | np.append(occupied[1:], False)
    low = np.where(at_end, 20.0, 16.0)
    high = np.where(at_end, 24.0, 27.0)
    for zone_id in ("hp", "el", "dh"):
        temp = values(schedule, f"bldg/{zone_id}", "temp_c")
        setpoint = values(schedule, f"bldg/{zone_id}", "setpoint_c")
        assert (temp >= low - 1e-6).all() and (temp <= high + 1e-6).all()
        assert (setpoint >= low).all() and (setpoint <= high).all()
        # Rounded up to the 0.1 °C grid: never below the plan, less than a step above it.
        assert (setpoint >= temp - 1e-6).all() and (setpoint - temp < 0.1 + 1e-6).all()
        np.testing.assert_allclose(setpoint * 10, np.round(setpoint * 10), atol=1e-9)
        assert values(schedule, f"bldg/{zone_id}", "comfort_violation_kh").sum() == 0
    # The heating does work in the cold: the zones are held well above their unoccupied
    # minimum by day, and the plan starts the morning warm-up before 07:00.
    heat = values(schedule, "bldg/hp", "heat_kw")
    assert heat.sum() > 0 and heat[: 7 * 4].sum() > 0


def test_each_heating_kind_draws_its_own_electricity(
    office_day: tuple[PlanningInputs, Schedule],
) -> None:
    _, schedule = office_day
    heat = {z: values(schedule, f"bldg/{z}", "heat_kw") for z in ("hp", "el", "dh")}
    electric = {z: values(schedule, f"bldg/{z}", "electric_kw") for z in ("hp", "el", "dh")}
    np.testing.assert_allclose(electric["hp"], heat["hp"] / 4.0, atol=1e-9)
    np.testing.assert_allclose(electric["el"], heat["el"], atol=1e-9)
    assert (electric["dh"] == 0).all() and heat["dh"].sum() > 0
    building = values(schedule, "bldg", "electric_kw")
    np.testing.assert_allclose(building, electric["hp"] + electric["el"], atol=1e-9)
    costs = schedule.costs.set_index("component")["cost_pln"]
    # District heat at the building's default 300 PLN/MWh.
    assert costs["building_district_heat"] == pytest.approx(
        heat["dh"].sum() * STEP_H * 0.300, rel=1e-6
    )
    # The heat pump and the direct heater keep the same room (same C, R, gains and band)
    # on the same heat, so the plan treats them alike but for the electricity.
    np.testing.assert_allclose(heat["hp"].sum(), heat["el"].sum(), rtol=1e-6)


def test_heating_in_the_load_forecast_is_not_counted_twice(
    office_day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = office_day
    points = schedule.connection_points
    baseline = values(schedule, "bldg", "in_load_forecast_kw")
    assert baseline.max() > 0
    # 60 kW forecast: the baseline heating in it comes off, the planned heating goes on.
    remainder = 60.0 - np.minimum(60.0, baseline)
    np.testing.assert_allclose(
        points["load_kw"].to_numpy(), remainder + values(schedule, "bldg", "electric_kw"),
        atol=1e-6,
    )  # fmt: skip
    # A forecast below the baseline estimate leaves nothing negative behind.
    small = replace(inputs, forecasts=inputs.forecasts.assign(**{SeriesId.load("cp"): 1.0}))
    _, tight = plan(small)
    np.testing.assert_allclose(
        tight.connection_points["load_kw"].to_numpy(),
        1.0 - np.minimum(1.0, values(tight, "bldg", "in_load_forecast_kw"))
        + values(tight, "bldg", "electric_kw"),
        atol=1e-6,
    )  # fmt: skip
    assert (tight.connection_points["load_kw"] >= values(tight, "bldg", "electric_kw") - 1e-9).all()


def test_the_day_is_periodic_unless_a_start_temperature_is_known(
    office_day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = office_day
    a = math.exp(-STEP_H / 40.0)
    outdoor = inputs.forecasts[SeriesId.TEMPERATURE_C].to_numpy()
    temp = values(schedule, "bldg/el", "temp_c")
    heat = values(schedule, "bldg/el", "heat_kw")
    # No measurement: the first step starts where the last one ends (no gains at night).
    assert temp[0] == pytest.approx(a * temp[-1] + (1 - a) * (outdoor[0] + heat[0]), abs=1e-6)
    measured = ModelOptions(zone_initial_temp_c={"bldg/el": 17.0})
    _, started = plan(inputs, measured)
    temp = values(started, "bldg/el", "temp_c")
    heat = values(started, "bldg/el", "heat_kw")
    assert temp[0] == pytest.approx(a * 17.0 + (1 - a) * (outdoor[0] + heat[0]), abs=1e-6)
    # The zones measured nothing for stay periodic in the same plan; every later
    # step of every zone follows from the one before (R = 1 K/kW; 2 kW of gains
    # while occupied).
    occupied = occupied_steps(OFFICE_HOURS, inputs.steps, inputs.config.cluster.zone)
    gains = np.where(occupied, 5.0 * 400.0 / 1000.0, 0.0)
    for zone_id in ("hp", "el", "dh"):
        temp = values(started, f"bldg/{zone_id}", "temp_c")
        heat = values(started, f"bldg/{zone_id}", "heat_kw")
        before = np.concatenate([[17.0 if zone_id == "el" else temp[-1]], temp[:-1]])
        expected = a * before + (1 - a) * (outdoor + heat + gains)
        np.testing.assert_allclose(temp, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda i: replace(i, forecasts=i.forecasts.drop(columns=SeriesId.TEMPERATURE_C)),
         [SeriesId.TEMPERATURE_C, "thermal model"]),
        (lambda i: replace(i, forecasts=i.forecasts.assign(
            **{SeriesId.TEMPERATURE_C: i.forecasts[SeriesId.TEMPERATURE_C] + 273.15})),
         [SeriesId.TEMPERATURE_C, "kelvin"]),
    ],
)  # fmt: skip
def test_unusable_temperature_forecasts_are_refused(
    change: Callable[[PlanningInputs], PlanningInputs], words: list[str]
) -> None:
    inputs = building_inputs([zone()], occupancy=OFFICE_HOURS, outdoor_c=[0.0] * 4,
                             price=[100.0] * 4)  # fmt: skip
    with pytest.raises(PlanningInputError) as caught:
        build_model(change(inputs))
    for word in words:
        assert word in str(caught.value) + (caught.value.fix or "")


def test_a_start_temperature_for_an_unknown_zone_is_refused() -> None:
    inputs = building_inputs([zone()], occupancy=OFFICE_HOURS, outdoor_c=[0.0] * 4,
                             price=[100.0] * 4)  # fmt: skip
    with pytest.raises(PlanningInputError, match="bldg/z9"):
        build_model(inputs, ModelOptions(zone_initial_temp_c={"bldg/z9": 20.0}))


@pytest.mark.parametrize(
    ("temp_c", "low", "high", "expected"),
    [
        (20.21, 20.0, 24.0, 20.3),  # up: the room must not end the step colder than planned
        (20.2000001, 20.0, 24.0, 20.2),  # the solver's tolerance is not a wish for more
        (19.2, 20.0, 24.0, 20.0),  # short of the band: the band is asked for
        (24.3, 20.0, 24.0, 24.0),
        (23.96, 20.0, 23.95, 23.9),  # rounding up would leave the band: the band's last step
        (20.42, 20.41, 20.44, 20.42),  # no 0.1 step inside the band: the value, kept inside
    ],
)
def test_setpoint_rounding_stays_in_the_band(
    temp_c: float, low: float, high: float, expected: float
) -> None:
    assert setpoint_plan_c(temp_c, low, high) == pytest.approx(expected)


def test_the_demo_day_keeps_every_zone_in_its_band() -> None:
    inputs = demo_inputs(date(2027, 1, 13))
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    schedule = extract_schedule(model, inputs, result)
    zones = [(b, z) for b in inputs.config.assets.buildings for z in b.zones]
    assert len(zones) == 45
    assets = schedule.assets
    violation = assets.loc[assets["quantity"] == "comfort_violation_kh", "value"].sum()
    assert violation == pytest.approx(0.0, abs=1e-6)
    config = inputs.config
    for building, bms_zone in zones:
        occupied = occupied_steps(building.occupancy, inputs.steps, config.cluster.zone)
        at_end = occupied | np.append(occupied[1:], False)
        band = bms_zone.comfort
        low = np.where(at_end, band.occupied_min_c, band.unoccupied_min_c)
        high = np.where(at_end, band.occupied_max_c, band.unoccupied_max_c)
        setpoint = values(schedule, f"{building.id}/{bms_zone.id}", "setpoint_c")
        assert (setpoint >= low).all() and (setpoint <= high).all()


def test_a_zone_held_by_a_higher_priority_is_left_out_of_flexibility(
    office_day: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, flexible = office_day
    _, held = plan(inputs, ModelOptions(excluded_zones=frozenset({"bldg/hp"})))
    planned = set(held.assets["asset"])
    assert "bldg/hp" not in planned and {"bldg/el", "bldg/dh"} <= planned
    # The held zone's heating stays in the load forecast: only the others' baseline
    # comes off, so the building's baseline share drops by exactly the held zone's.
    hp_share = values(flexible, "bldg/hp", "electric_kw")  # present in the flexible plan
    assert hp_share.sum() > 0
    in_forecast_all = values(flexible, "bldg", "in_load_forecast_kw")
    in_forecast_held = values(held, "bldg", "in_load_forecast_kw")
    assert (in_forecast_held <= in_forecast_all + 1e-9).all()
    assert in_forecast_held.sum() < in_forecast_all.sum()
    remainder = 60.0 - np.minimum(60.0, in_forecast_held)
    np.testing.assert_allclose(
        held.connection_points["load_kw"].to_numpy(),
        remainder + values(held, "bldg", "electric_kw"),
        atol=1e-6,
    )
    # Every zone held: the building gets no block and no setpoint plan at all.
    _, none = plan(
        inputs, ModelOptions(excluded_zones=frozenset({"bldg/hp", "bldg/el", "bldg/dh"}))
    )
    assert not any(str(asset).startswith("bldg") for asset in none.assets["asset"])


def test_a_zone_variable_left_without_a_value_is_named() -> None:
    inputs = building_inputs([zone("el")], occupancy=ALWAYS, outdoor_c=[0.0] * 4,
                             price=[300.0] * 4)  # fmt: skip
    model = build_model(inputs)
    result = solve(model)
    model.buildings["bldg"].zones["el"].temp_c[1].set_value(None)
    with pytest.raises(OptimisationError, match="the temperature of bldg/el holds no value"):
        extract_schedule(model, inputs, result)
