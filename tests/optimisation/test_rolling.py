"""Re-planning the rest of a day from the measured state, and plans that repeat exactly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cluster.timeseries import SeriesId
from optimisation.components.wte import WteState
from optimisation.extract import extract_schedule
from optimisation.inputs import PlanningInputs
from optimisation.model import build_model
from optimisation.solve import SolveOptions, solve
from optimisation.state import measured_initial_state, replan_steps, warm_start_values
from tests.optimisation.scenarios import WORKING_DAY, demo_inputs

#: The re-plan starts at 14:00 local (12:00 UTC in June): step 56 of the day.
AT = pd.Timestamp(f"{WORKING_DAY} 14:07", tz="Europe/Warsaw")
MEASURED = {
    SeriesId.point("battery-kof", "soc"): 73.0,
    SeriesId.point("wte-ztpo", "electric_power"): 6000.0,
    SeriesId.point("biogas-wwtp", "gas_holder_level"): 30.0,
    SeriesId.point("dh-kielce", "heat_store_level"): 40.0,
    SeriesId.point("bldg-city-hall", "z1/room_temp"): 19.5,
}
OPTIONS = SolveOptions(mip_rel_gap=1e-3, threads=1)


def _rest_of_day(day_inputs: PlanningInputs, at: pd.Timestamp) -> PlanningInputs:
    steps = replan_steps(day_inputs.steps, at.tz_convert("UTC"))
    return PlanningInputs(
        config=day_inputs.config,
        day=day_inputs.day,
        steps=steps,
        forecasts=day_inputs.forecasts.loc[steps],
        day_ahead_price_pln_per_mwh=day_inputs.day_ahead_price_pln_per_mwh.loc[steps],
    )


def test_replan_steps_start_at_the_quarter_hour_containing_the_time() -> None:
    day = demo_inputs().steps
    steps = replan_steps(day, AT.tz_convert("UTC"))
    assert steps[0] == pd.Timestamp(f"{WORKING_DAY} 14:00", tz="Europe/Warsaw")
    assert len(steps) == 96 - 56
    assert steps[-1] == day[-1]


def test_the_model_starts_from_the_measured_state() -> None:
    day_inputs = demo_inputs()
    rest = _rest_of_day(day_inputs, AT)
    state = measured_initial_state(rest.config, rest.steps, MEASURED.get)
    inputs = PlanningInputs(state.config, rest.day, rest.steps, rest.forecasts,
                            rest.day_ahead_price_pln_per_mwh)  # fmt: skip
    model = build_model(inputs, state.options)

    assert set(state.sources.values()) <= {"measured", "configured"}
    assert state.sources["battery-kof state of charge"] == "measured"
    assert model.batteries["battery-kof"].soc_initial_kwh == pytest.approx(0.73 * 2000.0)
    assert model.wte_chps["wte-ztpo"].initial == WteState(on=True, output_kw=6000.0)
    assert model.biogas_chps["biogas-wwtp"].holder_initial_kwh == pytest.approx(0.30 * 9000.0)
    assert model.district_heating["dh-kielce"].store_initial_kwh == pytest.approx(0.40 * 60000.0)
    assert model.buildings["bldg-city-hall"].zones["z1"].initial_temp_c == 19.5
    # The end-of-day floor stays the configured 50 %, reachable in ten hours.
    assert state.options.battery_end_soc_pct == {"battery-kof": 50.0}

    result = solve(model, OPTIONS)
    schedule = extract_schedule(model, inputs, result)
    battery = {q: schedule.asset_series("battery-kof", q).to_numpy()
               for q in ("charge_kw", "discharge_kw", "soc_kwh")}  # fmt: skip
    eta = math.sqrt(0.88)
    # The trajectory starts at the measured 1,460 kWh.
    first = 1460.0 + (eta * battery["charge_kw"][0] - battery["discharge_kw"][0] / eta) * 0.25
    assert battery["soc_kwh"][0] == pytest.approx(first, abs=1e-3)
    # From 6,000 kW the plant can move at most 2,000 kW/h × 0.25 h in the first step.
    wte_first = schedule.asset_series("wte-ztpo", "output_kw").to_numpy()[0]
    assert 5500.0 - 1e-6 <= wte_first <= 6500.0 + 1e-6
    assert schedule.assets["ts"].min() == rest.steps[0]


def test_a_missing_measurement_falls_back_to_the_earlier_plan_then_the_configuration() -> None:
    day_inputs = demo_inputs()
    rest = _rest_of_day(day_inputs, AT)
    step_before = rest.steps[0] - pd.Timedelta(minutes=15)
    earlier_plan = pd.DataFrame(
        {"ts": [step_before, step_before - pd.Timedelta(minutes=15)],
         "asset": ["battery-kof", "battery-kof"], "quantity": ["soc_kwh", "soc_kwh"],
         "value": [1700.0, 100.0], "unit": ["kWh", "kWh"]}
    )  # fmt: skip
    only_wte = {SeriesId.point("wte-ztpo", "electric_power"): 0.0}
    state = measured_initial_state(rest.config, rest.steps, only_wte.get, earlier_plan)

    battery = next(b for b in state.config.assets.batteries if b.id == "battery-kof")
    # The plan's level at the end of 13:45-14:00: 1,700 of 2,000 kWh.
    assert battery.soc_initial_pct == pytest.approx(85.0)
    assert state.sources["battery-kof state of charge"] == "plan"
    assert state.sources["dh-kielce heat store"] == "configured"
    assert "dh-kielce heat store" not in state.options.heat_store_initial_pct
    assert state.options.wte_initial["wte-ztpo"] == WteState(on=False, output_kw=0.0)
    assert any("battery-kof state of charge" in note for note in state.notes)


def test_an_unreachable_end_of_day_floor_is_lowered_with_a_note() -> None:
    day_inputs = demo_inputs()
    late = _rest_of_day(day_inputs, pd.Timestamp(f"{WORKING_DAY} 23:30", tz="Europe/Warsaw"))
    low = {SeriesId.point("battery-kof", "soc"): 12.0}
    state = measured_initial_state(late.config, late.steps, low.get)
    # Two steps at 1,000 kW × √0.88 × 0.25 h = 469 kWh = 23.5 % more at most.
    reachable = 12.0 + 2 * 1000.0 * math.sqrt(0.88) * 0.25 / 2000.0 * 100.0
    assert state.options.battery_end_soc_pct["battery-kof"] == pytest.approx(reachable)
    assert any("lowered" in note for note in state.notes)
    build_model(PlanningInputs(state.config, late.day, late.steps, late.forecasts,
                               late.day_ahead_price_pln_per_mwh), state.options)  # fmt: skip


def test_the_same_inputs_give_the_same_schedule() -> None:
    inputs = _rest_of_day(demo_inputs(), pd.Timestamp(f"{WORKING_DAY} 16:00", tz="Europe/Warsaw"))
    schedules = []
    for _ in range(2):
        model = build_model(inputs)
        schedules.append(extract_schedule(model, inputs, solve(model, OPTIONS)))
    first, second = schedules
    for name in ("connection_points", "assets", "cluster", "costs"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert np.array_equal(first.assets["value"].to_numpy(), second.assets["value"].to_numpy())


def test_an_earlier_plan_is_accepted_as_a_mip_start(capfd: pytest.CaptureFixture[str]) -> None:
    full = demo_inputs()
    model = build_model(full)
    earlier = extract_schedule(model, full, solve(model, OPTIONS))
    rest = _rest_of_day(full, pd.Timestamp(f"{WORKING_DAY} 14:00", tz="Europe/Warsaw"))
    cold = solve(build_model(rest), OPTIONS)
    capfd.readouterr()

    warm_model = build_model(rest)
    start = warm_start_values(warm_model, earlier.assets)
    warm = solve(warm_model, SolveOptions(mip_rel_gap=1e-3, threads=1, tee=True), start)

    # Battery (3 quantities + is_charging), WtE (3), biogas (2 + on) and heat network (3)
    # in each of the 40 steps left: 13 × 40 values.
    assert len(start) == 13 * 40
    assert "MIP start solution is feasible" in capfd.readouterr().out
    assert warm.objective_pln is not None and cold.objective_pln is not None
    assert warm.objective_pln == pytest.approx(cold.objective_pln, rel=2e-3)
