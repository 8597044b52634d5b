"""Every model on planted structure: daily and weekly patterns, holidays, DST, intervals.

Statistical models run on hourly series where that keeps the test fast; the
load model runs on quarter-hours, its native step.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from cluster.timegrid import day_steps
from forecasting.base import ForecastError, SeriesKind
from forecasting.models import available_models, default_model, fit, make_model
from tests.forecasting.synthetic import (
    DAYTIME_LEVEL,
    WARSAW,
    WORKING_LEVEL,
    local_range,
    planted_pattern,
    planted_series,
)

PATTERN_MODELS = ("mstl_ets", "mstl_arima", "double_seasonal_ets", "calendar_regression")
#: The noise-free pattern's amplitude: working hours over night.
AMPLITUDE = WORKING_LEVEL - 100.0


def _step_for(model: str) -> int:
    return 15 if model in {"calendar_regression", "naive_weekly", "naive_daily"} else 60


def _history_until(day: date, days: int, step: int, seed: int = 0, noise: float = 2.0) -> pd.Series:
    return planted_series(day - timedelta(days=days), days, step_minutes=step, noise_std=noise,
                          seed=seed)  # fmt: skip


def test_the_registry_names_every_model_and_a_default_per_kind() -> None:
    names = set(available_models())
    assert names == {
        "naive_daily", "naive_weekly", "mstl_ets", "mstl_arima", "double_seasonal_ets",
        "calendar_regression", "pv_physical", "recent_level", "street_lighting",
    }  # fmt: skip
    assert all(available_models().values())
    assert default_model(SeriesKind.LOAD) == "calendar_regression"
    assert {default_model(kind) for kind in SeriesKind} <= names
    assert SeriesKind.of_series_id("load/cp-1/power_kw") is SeriesKind.LOAD
    assert SeriesKind.of_series_id("market/day_ahead_pln_per_mwh") is SeriesKind.PRICE
    assert SeriesKind.of_series_id("something/else") is SeriesKind.GENERIC
    with pytest.raises(ForecastError, match="no forecasting model called 'prophet'"):
        make_model("prophet")
    with pytest.raises(ForecastError, match="does not take"):
        make_model("naive_weekly", colour="blue")


@pytest.mark.parametrize("model", PATTERN_MODELS)
def test_models_recover_the_daily_and_weekly_pattern(model: str) -> None:
    step = _step_for(model)
    monday, saturday = date(2026, 11, 9), date(2026, 11, 14)
    history = _history_until(monday, 35, step)
    fitted = fit(history, model=model)
    for day in (monday,):
        steps = day_steps(day, WARSAW, step)
        error = fitted.forecast(steps).point.to_numpy() - planted_pattern(steps)
        assert np.abs(error).mean() < 0.1 * AMPLITUDE, model
    # A Saturday five days on: the weekly pattern, not Monday's.
    steps = day_steps(saturday, WARSAW, step)
    error = fitted.forecast(steps).point.to_numpy() - planted_pattern(steps)
    assert np.abs(error).mean() < 0.1 * AMPLITUDE, model


@pytest.mark.parametrize("model", PATTERN_MODELS)
def test_a_holiday_is_forecast_like_a_sunday(model: str) -> None:
    step = _step_for(model)
    holiday = date(2026, 11, 11)  # Independence Day, a Wednesday
    fitted = fit(_history_until(holiday, 35, step, seed=1), model=model)
    steps = day_steps(holiday, WARSAW, step)
    local_hour = steps.tz_convert(WARSAW).hour
    working_hours = (local_hour >= 7) & (local_hour < 17)
    point = fitted.forecast(steps).point[working_hours]
    assert abs(point.mean() - DAYTIME_LEVEL) < 0.1 * AMPLITUDE, model


@pytest.mark.parametrize("model", ["naive_daily", "naive_weekly"])
def test_seasonal_naive_baselines_repeat_their_season(model: str) -> None:
    tuesday = date(2026, 11, 10)
    history = _history_until(tuesday, 21, 15, seed=2, noise=0.5)
    result = fit(history, model=model).forecast(day_steps(tuesday, WARSAW))
    error = result.point.to_numpy() - planted_pattern(result.point.index)
    assert np.abs(error).mean() < 2.0
    assert set(result.intervals) == {0.8, 0.95}


@pytest.mark.parametrize(
    ("model", "step"),
    [("calendar_regression", 15), ("naive_weekly", 15), ("mstl_ets", 60),
     ("double_seasonal_ets", 60)],
)  # fmt: skip
@pytest.mark.parametrize(("day", "hours"), [(date(2027, 3, 28), 23), (date(2026, 10, 25), 25)])
def test_dst_days_keep_the_wall_clock(model: str, step: int, day: date, hours: int) -> None:
    history = _history_until(day, 28, step, seed=3, noise=1.0)
    steps = day_steps(day, WARSAW, step)
    result = fit(history, model=model).forecast(steps)
    assert len(result.point) == hours * 60 // step
    assert result.point.notna().all()
    local_hour = steps.tz_convert(WARSAW).hour
    # The daytime level starts at 06:00 local on the DST day too, not an hour early or late.
    before, after = result.point[local_hour == 5].mean(), result.point[local_hour == 6].mean()
    assert before == pytest.approx(100.0, abs=4.0), model
    assert after == pytest.approx(DAYTIME_LEVEL, abs=4.0), model


def test_short_history_falls_back_with_a_note_that_says_why() -> None:
    day = date(2026, 11, 10)
    history = _history_until(day, 10, 15)
    result = fit(history, kind="load").forecast(day_steps(day, WARSAW))
    assert result.model == "naive_daily"
    note = next(n for n in result.notes if "fell back" in n)
    assert "calendar_regression needs 14" in note and "10.0 days" in note


def test_a_series_too_short_for_any_model_names_itself() -> None:
    history = planted_series(date(2026, 11, 9), 1).iloc[:40]
    with pytest.raises(ForecastError, match=r"load/planted/power_kw.*cannot be forecast"):
        fit(history, kind="load")


def test_weekly_models_fall_back_too() -> None:
    day = date(2026, 11, 10)
    history = _history_until(day, 9, 60)
    for model in ("naive_weekly", "mstl_ets", "double_seasonal_ets"):
        fitted = fit(history, model=model)
        assert fitted.model_name == "naive_daily"
        assert any(f"{model} needs 14" in note for note in fitted.notes)


def _coverage(model: str, step: int, origins: int) -> tuple[float, float]:
    """Share of actuals inside the 80 % and 95 % intervals over day-ahead forecasts."""
    first = date(2026, 11, 23)  # a week clear of the 11 November holiday
    full = planted_series(first - timedelta(days=42), 42 + origins, step_minutes=step,
                          noise_std=3.0, seed=11)  # fmt: skip
    hits: dict[float, list[np.ndarray]] = {0.8: [], 0.95: []}
    fitted = None
    for offset in range(origins):
        steps = day_steps(first + timedelta(days=offset), WARSAW, step)
        history = full[full.index < steps[0]]
        fitted = fit(history, model=model) if fitted is None else fitted.update(history)
        result = fitted.forecast(steps)
        actual = full.reindex(steps).to_numpy()
        for level, rows in hits.items():
            band = result.intervals[level]
            rows.append((actual >= band["lower"].to_numpy()) & (actual <= band["upper"].to_numpy()))
    return float(np.concatenate(hits[0.8]).mean()), float(np.concatenate(hits[0.95]).mean())


@pytest.mark.parametrize(
    ("model", "step", "origins"),
    [("calendar_regression", 15, 4), ("naive_weekly", 15, 4), ("mstl_ets", 60, 12),
     ("double_seasonal_ets", 60, 12)],
)  # fmt: skip
def test_intervals_cover_what_they_claim(model: str, step: int, origins: int) -> None:
    cover_80, cover_95 = _coverage(model, step, origins)
    assert 0.70 <= cover_80 <= 0.90, (model, cover_80)
    assert 0.88 <= cover_95 <= 0.99, (model, cover_95)


def test_results_are_well_formed() -> None:
    day = date(2026, 11, 10)
    fitted = fit(_history_until(day, 28, 15), kind="load")
    steps = day_steps(day, WARSAW)
    result = fitted.forecast(steps, levels=(0.5, 0.9))
    assert result.point.index.equals(steps) and result.point.name == "load/planted/power_kw"
    inner, outer = result.intervals[0.5], result.intervals[0.9]
    assert (outer["lower"] <= inner["lower"]).all() and (inner["upper"] <= outer["upper"]).all()
    assert (inner["lower"] <= result.point).all() and (result.point <= inner["upper"]).all()
    frame = result.to_frame()
    assert list(frame.columns) == ["point", "lower_50", "upper_50", "lower_90", "upper_90"]
    assert len(fitted.forecast(8).point) == 8  # a step count works as well
    with pytest.raises(ForecastError, match="between 0 and 1"):
        fitted.forecast(steps, levels=(80,))
    with pytest.raises(ForecastError, match="not after the end of its history"):
        fitted.forecast(day_steps(day - timedelta(days=3), WARSAW))


def test_series_that_cannot_be_negative_are_clipped_at_zero() -> None:
    index = local_range(date(2026, 10, 12), 28)
    local_hour = index.tz_convert(WARSAW).hour
    noise = np.random.default_rng(5).normal(0.0, 3.0, len(index))
    # A PV-like series: zero at night, small and noisy by day.
    values = np.where((local_hour >= 8) & (local_hour < 16), 2.0 + noise, 0.0)
    history = pd.Series(values, index=index, name="pv/roof/power_kw")
    result = fit(history, model="mstl_ets").forecast(day_steps(date(2026, 11, 9), WARSAW))
    assert (result.point >= 0).all()
    assert all((band["lower"] >= 0).all() for band in result.intervals.values())


def test_mstl_with_a_daily_season_only() -> None:
    day = date(2026, 11, 10)
    fitted = fit(_history_until(day, 10, 60), model="mstl_ets", period_days=(1,))
    assert fitted.model_name == "mstl_ets" and not fitted.notes
    steps = day_steps(day, WARSAW, 60)
    error = fitted.forecast(steps).point.to_numpy() - planted_pattern(steps)
    assert np.abs(error).mean() < 0.2 * AMPLITUDE  # Tuesday from Monday: close, not exact
