"""Adaptive street lighting: the EN 13201 class of each step is a hard floor; solved by HiGHS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cluster.config import (
    Assets,
    ClusterConfig,
    LightingCircuit,
    SupplyContract,
)
from cluster.lighting import classes_per_step, required_dim_pct, weighting_table
from cluster.schedule import Schedule
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from optimisation.errors import PlanningInputError
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import (
    WORKING_DAY,
    demo_inputs,
    flat_tariff,
    local_hours,
    one_point_config,
    traffic_share,
)

STEP_H = 0.25
FULL_KW = 10.0  # 100 luminaires × 100 W
PEAK_VEHICLES_PER_HOUR = 1000.0

# The road's fixed options weigh 2 (CEN/TR 13201-1 example table): design speed
# moderate -1, mixed traffic +1, no separation +1, many junctions +1, no parked cars 0,
# easy navigation 0. With the evening's moderate traffic (0) and bright town
# surroundings (+1) that is 6 - 3 = M3, the design class. After 22:00 the surroundings
# are ordinary (0) and traffic is low (-0.5): 6 - 1.5 = 4.5, which rounds to the
# brighter M4. Once traffic is very low (-1, below 10 % of the peak): 6 - 1 = M5.
ROAD = {
    "design_speed": "moderate",
    "traffic_composition": "mixed",
    "separation_of_carriageways": "no",
    "junction_density": "high",
    "parked_vehicles": "not_present",
    "navigational_task": "easy",
}


def circuit() -> LightingCircuit:
    return LightingCircuit(
        id="road", connection_point="cp", municipality="kielce", luminaires=100,
        luminaire_w=100.0, design_class="M3", road=ROAD,
        peak_traffic_vehicles_per_hour=PEAK_VEHICLES_PER_HOUR,
    )  # fmt: skip


def lamps_on_fraction(hours: np.ndarray) -> np.ndarray:
    """Dark before 04:30 and from 21:00; dusk is 40 % of the 20:45 step, dawn 50 % of 04:30."""
    fraction = ((hours < 4.5) | (hours >= 21.0)).astype(float)
    fraction[hours == 20.75] = 0.4
    fraction[hours == 4.5] = 0.5
    return fraction


def lighting_inputs(
    *,
    price: float = 400.0,
    contracted_capacity_kw: float = 50.0,
    weighting: dict[str, dict[str, dict[str, float]]] | None = None,
    other_load_kw: float = 0.0,
    forecast_share_of_lamps: float = 1.0,
) -> PlanningInputs:
    """One cabinet ``cp`` with the circuit ``road`` over a whole working day.

    The cabinet's load forecast holds the lamps at ``forecast_share_of_lamps`` of full
    output while they burn, plus ``other_load_kw``.
    """
    config = one_point_config(
        tariff=flat_tariff(rate_pln_per_mwh=50.0, capacity_rate_pln_per_kw_month=12.0),
        contracted_capacity_kw=contracted_capacity_kw,
        export_limit_kw=0.0,
        contract=SupplyContract(day_ahead_margin_pln_per_mwh=20.0, sell_back_fee_pln_per_mwh=10.0),
        assets=Assets(lighting_circuits=[circuit()]),
    )
    if weighting is not None:
        info = config.cluster.model_copy(update={"lighting_weighting": weighting})
        config = ClusterConfig.model_validate(config.model_dump() | {"cluster": info.model_dump()})
    steps = day_steps(WORKING_DAY, config.cluster.zone)
    hours = local_hours(config, steps)
    fraction = lamps_on_fraction(hours)
    forecasts = pd.DataFrame(
        {
            SeriesId.LAMPS_ON_FRACTION: fraction,
            SeriesId.traffic("road"): PEAK_VEHICLES_PER_HOUR * traffic_share(hours),
            SeriesId.load("cp"): other_load_kw + forecast_share_of_lamps * FULL_KW * fraction,
        },
        index=steps,
    )
    prices = pd.Series(price, index=steps, dtype=float)
    return PlanningInputs(config, WORKING_DAY, steps, forecasts, prices)


def plan(inputs: PlanningInputs) -> Schedule:
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    return extract_schedule(model, inputs, result)


def at(schedule: Schedule, quantity: str, inputs: PlanningInputs) -> pd.Series:
    """A quantity of the circuit indexed by local clock time as fractional hours."""
    series = schedule.asset_series("road", quantity)
    hours = local_hours(inputs.config, pd.DatetimeIndex(series.index))
    return pd.Series(series.to_numpy(), index=hours)


@pytest.fixture(scope="module")
def evening_to_dawn() -> tuple[PlanningInputs, Schedule]:
    inputs = lighting_inputs()
    return inputs, plan(inputs)


@pytest.mark.parametrize(
    ("hour", "share", "expected_class", "floor_pct"),
    [
        (20.75, 0.32, 3, 100),  # dusk: moderate traffic, bright town: M3, full output
        (21.5, 0.25, 3, 100),
        (22.25, 0.1825, 4, 85),  # ordinary surroundings, low traffic: M4 needs 75 % → 85
        (23.5, 0.105, 4, 85),
        (23.75, 0.0925, 5, 50),  # very low traffic: M5 needs 50 %
        (0.5, 0.065, 5, 50),
        (4.0, 0.07, 5, 50),
        (4.5, 0.135, 4, 85),  # dawn: traffic picks up again
    ],
)
def test_the_class_steps_down_after_midnight_and_never_below_its_floor(
    evening_to_dawn: tuple[PlanningInputs, Schedule],
    hour: float,
    share: float,
    expected_class: int,
    floor_pct: int,
) -> None:
    inputs, schedule = evening_to_dawn
    assert traffic_share(np.array([hour]))[0] == pytest.approx(share)
    assert at(schedule, "class", inputs)[hour] == expected_class
    assert at(schedule, "min_dim_pct", inputs)[hour] == floor_pct
    # Energy costs money, so the plan dims right down to the floor.
    assert at(schedule, "dim_pct", inputs)[hour] == floor_pct


def test_power_follows_the_dim_level_and_the_share_of_the_step_lit(
    evening_to_dawn: tuple[PlanningInputs, Schedule],
) -> None:
    inputs, schedule = evening_to_dawn
    fraction = inputs.forecasts[SeriesId.LAMPS_ON_FRACTION].to_numpy()
    dim = schedule.asset_series("road", "dim_pct").to_numpy()
    power = schedule.asset_series("road", "power_kw").to_numpy()
    np.testing.assert_allclose(power, FULL_KW * dim / 100.0 * fraction, atol=1e-9)
    assert at(schedule, "power_kw", inputs)[20.75] == pytest.approx(FULL_KW * 0.4)
    assert at(schedule, "power_kw", inputs)[0.5] == pytest.approx(FULL_KW * 0.5)
    # Every lit step runs at one of the controller's steps, at or above its floor.
    floors = schedule.asset_series("road", "min_dim_pct")
    lit_dim = schedule.asset_series("road", "dim_pct").reindex(floors.index)
    assert (lit_dim >= floors).all()
    assert set(lit_dim) <= {30, 50, 70, 85, 100}


def test_lamps_are_off_in_daylight(evening_to_dawn: tuple[PlanningInputs, Schedule]) -> None:
    inputs, schedule = evening_to_dawn
    on = schedule.asset_series("road", "on").to_numpy()
    fraction = inputs.forecasts[SeriesId.LAMPS_ON_FRACTION].to_numpy()
    np.testing.assert_array_equal(on, fraction > 0)
    daylight = fraction == 0
    assert daylight.sum() == 96 - 19 - 13  # 00:00-04:30 and 20:45-23:45 lit
    assert (schedule.asset_series("road", "power_kw").to_numpy()[daylight] == 0).all()
    # Left at full output, so lamps the photocell lights early still meet the design class.
    assert (schedule.asset_series("road", "dim_pct").to_numpy()[daylight] == 100).all()
    # A class exists only where lamps burn.
    assert len(schedule.asset_series("road", "class")) == (~daylight).sum()


def test_the_plan_picks_above_the_floor_for_cost_but_within_the_capacity_it_can() -> None:
    # At -600 PLN/MWh a kWh drawn earns 600 - 20 - 50 = 530 PLN/MWh, so brighter pays;
    # but the cabinet is contracted for 8 kW and each kW over it in an hour costs
    # 10 × 12 = 120 PLN on the hour's largest quarter-hour. M5 steps (floor 50 %) go to
    # 70 % = 7 kW, the brightest step within 8 kW; M4 steps (floor 85 %) cannot avoid
    # the overrun and stay at 85 % rather than 100 %; M3 steps burn at 100 % = 10 kW,
    # 2 kW over, since the class comes first. An M5 step in an hour whose M4 steps are
    # over anyway (23:45, 04:00) goes to 85 %: the hour's peak does not grow. The
    # half-lit dawn step (M4, 5 kW at full output) goes to 100 %.
    inputs = lighting_inputs(price=-600.0, contracted_capacity_kw=8.0)
    schedule = plan(inputs)
    dim = at(schedule, "dim_pct", inputs)
    assert dim[0.5] == 70 and dim[3.75] == 70
    assert dim[23.75] == 85 and dim[4.0] == 85
    assert dim[22.25] == 85 and dim[23.5] == 85
    assert dim[21.0] == 100 and dim[21.75] == 100
    assert dim[4.5] == 100
    costs = schedule.costs.set_index("component")["cost_pln"]
    # Hour 21 is 2 kW over; hours 22, 23 and 4 (04:15 is M4 again) 0.5 kW each.
    assert costs["capacity_overrun"] == pytest.approx(120.0 * (2.0 + 3 * 0.5))


def test_the_weighting_table_of_the_configuration_changes_the_class() -> None:
    # A country that weighs very low traffic -2 instead of -1: after midnight 6 - 0 = M6,
    # which needs 0.3 / 1.0 = 30 % of the M3 design output.
    inputs = lighting_inputs(weighting={"M": {"traffic_volume": {"very_low": -2.0}}})
    schedule = plan(inputs)
    assert at(schedule, "class", inputs)[0.5] == 6
    assert at(schedule, "dim_pct", inputs)[0.5] == 30
    assert at(schedule, "class", inputs)[22.25] == 4  # low traffic weighs as before


def test_the_lamps_in_the_cabinet_forecast_are_not_counted_twice() -> None:
    # A 2 kW controller besides the lamps: the lamps' full output comes off the
    # forecast and the planned lighting goes on.
    inputs = lighting_inputs(other_load_kw=2.0)
    schedule = plan(inputs)
    power = schedule.asset_series("road", "power_kw").to_numpy()
    load = schedule.connection_points["load_kw"].to_numpy()
    np.testing.assert_allclose(load, 2.0 + power, atol=1e-9)
    # A forecast that holds only half the lamps (say, a bad week of history) leaves no
    # negative remainder: the load is the planned lighting.
    inputs = lighting_inputs(forecast_share_of_lamps=0.5)
    schedule = plan(inputs)
    np.testing.assert_allclose(
        schedule.connection_points["load_kw"].to_numpy(),
        schedule.asset_series("road", "power_kw").to_numpy(),
        atol=1e-9,
    )


def test_without_a_traffic_forecast_the_road_is_lit_as_at_its_peak() -> None:
    inputs = lighting_inputs()
    inputs = replace(inputs, forecasts=inputs.forecasts.drop(columns=SeriesId.traffic("road")))
    schedule = plan(inputs)
    # Peak traffic (+1) after midnight: 6 - (2 + 1 + 0) = M3.
    assert at(schedule, "class", inputs)[0.5] == 3
    assert at(schedule, "dim_pct", inputs)[0.5] == 100


def _set(column: str, value: float) -> Callable[[PlanningInputs], PlanningInputs]:
    def change(inputs: PlanningInputs) -> PlanningInputs:
        forecasts = inputs.forecasts.copy()
        forecasts.loc[forecasts.index[2], column] = value
        return replace(inputs, forecasts=forecasts)

    return change


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda i: replace(i, forecasts=i.forecasts.drop(columns=SeriesId.LAMPS_ON_FRACTION)),
         [SeriesId.LAMPS_ON_FRACTION, "when the street lamps must burn"]),
        (_set(SeriesId.LAMPS_ON_FRACTION, 1.5), [SeriesId.LAMPS_ON_FRACTION, "0 to 1"]),
        (_set(SeriesId.LAMPS_ON_FRACTION, np.nan), [SeriesId.LAMPS_ON_FRACTION, "1 NaN"]),
        (_set(SeriesId.traffic("road"), -5.0), [SeriesId.traffic("road"), "'road'"]),
    ],
)  # fmt: skip
def test_unusable_lighting_forecasts_are_refused(
    change: Callable[[PlanningInputs], PlanningInputs], words: list[str]
) -> None:
    with pytest.raises(PlanningInputError) as caught:
        build_model(change(lighting_inputs()))
    for word in words:
        assert word in str(caught.value)


def test_the_demo_day_lights_every_circuit_at_or_above_its_class() -> None:
    inputs = demo_inputs()
    model = build_model(inputs)
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    schedule = extract_schedule(model, inputs, result)
    config = inputs.config
    circuits = config.assets.lighting_circuits
    assert len(circuits) == 60
    fraction = inputs.forecasts[SeriesId.LAMPS_ON_FRACTION].to_numpy()
    lit = fraction > 0
    hours = inputs.steps.tz_convert(config.cluster.zone).hour.to_numpy()
    table = weighting_table(config.cluster.lighting_weighting)
    stepped_down = 0
    for road in circuits:
        traffic = inputs.forecasts[SeriesId.traffic(road.id)].to_numpy()
        needed = classes_per_step(road.lighting_class, road.road, traffic[lit],
                                  road.peak_traffic_vehicles_per_hour, hours[lit],
                                  road.ambient_luminosity, table)  # fmt: skip
        floors = [required_dim_pct(c, road.lighting_class, road.dim_steps_pct) for c in needed]
        dim = schedule.asset_series(road.id, "dim_pct").to_numpy()
        power = schedule.asset_series(road.id, "power_kw").to_numpy()
        assert (dim[lit] >= np.asarray(floors)).all(), road.id
        assert set(dim[lit]) <= set(road.dim_steps_pct)
        np.testing.assert_allclose(power, road.full_power_kw * dim / 100.0 * fraction, atol=1e-6)
        assert (power[~lit] == 0).all()
        stepped_down += any(c > road.lighting_class for c in needed)
    # The arterial M2 roads step down to M3 and the M4 side roads to M5 after midnight.
    assert stepped_down == 6 + 16


def test_given_dim_levels_are_kept_whatever_the_floor() -> None:
    # A settlement runs the lamps at the levels commanded, even below the class.
    inputs = lighting_inputs()
    model = build_model(
        inputs, ModelOptions(lighting_dim_pct={"road": np.full(len(inputs.steps), 30.0)})
    )
    assert model.lighting_circuits["road"].dim_pct.n_entries == 0
    result = solve(model)
    assert result.status is SolveStatus.OPTIMAL
    schedule = extract_schedule(model, inputs, result)

    fraction = inputs.forecasts[SeriesId.LAMPS_ON_FRACTION].to_numpy()
    dim = schedule.asset_series("road", "dim_pct").to_numpy()
    power = schedule.asset_series("road", "power_kw").to_numpy()
    # Reported at every step, lit or not; an unlit step draws nothing.
    assert (dim == 30.0).all()
    np.testing.assert_allclose(power, FULL_KW * 0.3 * fraction, atol=1e-9)
    assert (schedule.asset_series("road", "min_dim_pct") > 30.0).all()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"avenue": [100.0] * 96}, "not a lighting circuit"),
        ({"road": [100.0] * 3}, "3 dim levels are given"),
        ({"road": [100.0] * 95 + [np.nan]}, "not all from 0 to 100"),
        ({"road": [100.0] * 95 + [101.0]}, "not all from 0 to 100"),
        ({"road": [-5.0] * 96}, "not all from 0 to 100"),
    ],
)
def test_dim_levels_for_an_unknown_circuit_or_not_covering_the_day_are_refused(
    given: dict[str, list[float]], message: str
) -> None:
    with pytest.raises(PlanningInputError, match=message):
        build_model(lighting_inputs(), ModelOptions(lighting_dim_pct=given))
