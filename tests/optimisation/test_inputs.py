"""check_inputs refuses unusable inputs with a message naming the series and the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cluster.timeseries import SeriesId
from optimisation.errors import PlanningInputError
from optimisation.inputs import PlanningInputs, check_inputs
from optimisation.model import ModelOptions, build_model
from tests.optimisation.scenarios import demo_inputs


@pytest.fixture(scope="module")
def good() -> PlanningInputs:
    return demo_inputs()


def _with_value(series_id: str, value: float) -> Callable[[PlanningInputs], PlanningInputs]:
    def change(inputs: PlanningInputs) -> PlanningInputs:
        forecasts = inputs.forecasts.copy()
        forecasts.loc[forecasts.index[10], series_id] = value
        return replace(inputs, forecasts=forecasts)

    return change


def _without(series_id: str) -> Callable[[PlanningInputs], PlanningInputs]:
    return lambda inputs: replace(inputs, forecasts=inputs.forecasts.drop(columns=series_id))


def _price_nan(inputs: PlanningInputs) -> PlanningInputs:
    price = inputs.day_ahead_price_pln_per_mwh.copy()
    price.iloc[3] = np.nan
    return replace(inputs, day_ahead_price_pln_per_mwh=price)


def _forecasts_shifted(inputs: PlanningInputs) -> PlanningInputs:
    shifted = inputs.forecasts.set_axis(inputs.steps + pd.Timedelta(hours=1), axis=0)
    return replace(inputs, forecasts=shifted)


def _text_in_load(inputs: PlanningInputs) -> PlanningInputs:
    forecasts = inputs.forecasts.astype({SeriesId.load("cp-theatre"): object})
    forecasts.loc[forecasts.index[0], SeriesId.load("cp-theatre")] = "n/a"
    return replace(inputs, forecasts=forecasts)


def _price_short(inputs: PlanningInputs) -> PlanningInputs:
    return replace(inputs, day_ahead_price_pln_per_mwh=inputs.day_ahead_price_pln_per_mwh[:-4])


def _local_steps(inputs: PlanningInputs) -> PlanningInputs:
    return replace(inputs, steps=inputs.steps.tz_convert("Europe/Warsaw"))


def _gap_in_steps(inputs: PlanningInputs) -> PlanningInputs:
    keep = inputs.steps.delete(5)
    return replace(
        inputs,
        steps=keep,
        forecasts=inputs.forecasts.loc[keep],
        day_ahead_price_pln_per_mwh=inputs.day_ahead_price_pln_per_mwh.loc[keep],
    )


BAD_INPUTS = [
    (_with_value(SeriesId.pv("pv-farm"), np.nan), ["'pv/pv-farm/power_kw'", "NaN"]),
    (_with_value(SeriesId.wte("wte-ztpo"), np.inf), ["'wte/wte-ztpo/power_kw'", "infinite"]),
    (_with_value(SeriesId.load("cp-biz-mall"), np.nan), ["'load/cp-biz-mall/power_kw'"]),
    (_with_value(SeriesId.load("cp-sp-1"), -5.0), ["'load/cp-sp-1/power_kw'", "negative"]),
    (_with_value(SeriesId.pv("pv-sp-12"), -1.0), ["'pv/pv-sp-12/power_kw'", "negative"]),
    (_without(SeriesId.pv("pv-library")), ["no column 'pv/pv-library/power_kw'", "pv-library"]),
    (_without(SeriesId.biogas_inflow("biogas-wwtp")), ["'biogas/biogas-wwtp/inflow_kw'"]),
    (_text_in_load, ["'load/cp-theatre/power_kw'", "not numbers"]),
    (_price_nan, ["'market/day_ahead_pln_per_mwh'", "missing for 1 step"]),
    (_price_short, ["day-ahead price series", "does not match"]),
    (_forecasts_shifted, ["forecasts frame", "does not match"]),
    (_local_steps, ["UTC"]),
    (_gap_in_steps, ["15 minutes apart"]),
]


@pytest.mark.parametrize(("spoil", "phrases"), BAD_INPUTS)
def test_unusable_inputs_are_refused_by_name(
    good: PlanningInputs, spoil: Callable[[PlanningInputs], PlanningInputs], phrases: list[str]
) -> None:
    with pytest.raises(PlanningInputError) as caught:
        check_inputs(spoil(good))
    for phrase in phrases:
        assert phrase in str(caught.value)
    assert caught.value.fix


def test_good_inputs_pass_and_a_missing_load_means_no_load(good: PlanningInputs) -> None:
    check_inputs(good)
    without_load = _without(SeriesId.load("cp-mopr"))(good)
    check_inputs(without_load)
    assert not without_load.load_kw("cp-mopr").any()
    assert without_load.step_hours == 0.25


def test_end_of_day_soc_target_outside_the_limits_is_refused(good: PlanningInputs) -> None:
    with pytest.raises(PlanningInputError, match="battery-kof"):
        build_model(good, ModelOptions(battery_end_soc_pct={"battery-kof": 99.0}))
    with pytest.raises(PlanningInputError, match="not a battery"):
        build_model(good, ModelOptions(battery_end_soc_pct={"no-such-battery": 50.0}))
