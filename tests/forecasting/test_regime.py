"""Regime changes: detected where a daily pattern really changes, followed at once by the model."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from cluster.timegrid import day_steps
from forecasting.features import step_features
from forecasting.models import fit
from forecasting.regime import detect_regime_change
from tests.forecasting.synthetic import WARSAW, local_range, planted_pattern

START = date(2026, 7, 20)
#: 1 September 2026: the evening opening starts (a theatre after its summer recess).
CHANGE = date(2026, 9, 1)
EVENING_EXTRA = 100.0


def _evening_opening(days: int, seed: int = 0, drift: float = 0.0) -> pd.Series:
    """The planted load, plus evenings (18:00-23:00) 100 higher from :data:`CHANGE` on."""
    index = local_range(START, days)
    local = index.tz_convert(WARSAW)
    evening = (local.hour >= 18) & (local.hour < 23)
    reopened = np.asarray([stamp.date() >= CHANGE for stamp in local])
    rng = np.random.default_rng(seed)
    elapsed_days = np.asarray((index - index[0]) / pd.Timedelta(days=1), dtype=float)
    level = 1.0 + drift * np.sin(2 * np.pi * elapsed_days / 20.0)
    values = planted_pattern(index) * level + EVENING_EXTRA * (evening & reopened)
    noise = rng.normal(0.0, 3.0, len(index))
    return pd.Series(values + noise, index=index, name="load/stage/power_kw")


def _detect(series: pd.Series) -> object:
    """Detection on the deviations from the mean of each weekday and time of day."""
    index = pd.DatetimeIndex(series.index)
    features = step_features(index, WARSAW, 15)
    values = series.to_numpy()
    cell = features.effective_weekday * 96 + features.slot
    means = np.bincount(cell, weights=values, minlength=7 * 96) / np.maximum(
        np.bincount(cell, minlength=7 * 96), 1
    )
    return detect_regime_change(
        values - means[cell],
        features.day_number,
        features.slot,
        features.effective_weekday,
        96,
        float(np.mean(np.abs(values))),
    )


def test_an_evening_opening_is_found_on_its_first_day() -> None:
    change = _detect(_evening_opening(56))
    assert change is not None
    first_day = pd.Timestamp(change.first_day, unit="D").date()  # type: ignore[attr-defined]
    assert abs((first_day - CHANGE).days) <= 1


def test_noise_and_a_slow_drift_are_no_change() -> None:
    for seed in range(3):
        index = local_range(START, 56)
        rng = np.random.default_rng(seed)
        elapsed_days = np.asarray((index - index[0]) / pd.Timedelta(days=1), dtype=float)
        level = 1.0 + 0.05 * np.sin(2 * np.pi * elapsed_days / 20.0)
        values = planted_pattern(index) * level + rng.normal(0.0, 3.0, len(index))
        assert _detect(pd.Series(values, index=index)) is None


def test_a_week_after_the_change_the_model_forgets_the_old_days() -> None:
    series = _evening_opening(60, seed=3, drift=0.02)
    errors: dict[bool, list[np.ndarray]] = {True: [], False: []}
    notes: list[str] = []
    for offset in range(10, 17):
        day = CHANGE + timedelta(days=offset)
        steps = day_steps(day, WARSAW)
        history = series[series.index < steps[0]]
        truth = planted_pattern(steps) + EVENING_EXTRA * (
            (steps.tz_convert(WARSAW).hour >= 18) & (steps.tz_convert(WARSAW).hour < 23)
        )
        for cut in (True, False):
            result = fit(history, kind="load", regime_changes=cut).forecast(steps)
            errors[cut].append(np.abs(result.point.to_numpy() - truth))
            if cut:
                notes.extend(result.notes)
    mae_cut = float(np.mean(np.concatenate(errors[True])))
    mae_kept = float(np.mean(np.concatenate(errors[False])))
    assert mae_cut < 0.6 * mae_kept
    assert any("daily pattern changed on 2026-0" in note for note in notes)


def test_recency_weighting_follows_a_new_term_faster_than_equal_weights() -> None:
    """Without the cut, the half-life alone still adapts sooner than weighing all days alike."""
    series = _evening_opening(60, seed=4)
    errors: dict[float | None, list[np.ndarray]] = {14.0: [], None: []}
    for offset in range(10, 17):
        steps = day_steps(CHANGE + timedelta(days=offset), WARSAW)
        history = series[series.index < steps[0]]
        local = steps.tz_convert(WARSAW)
        truth = planted_pattern(steps) + EVENING_EXTRA * ((local.hour >= 18) & (local.hour < 23))
        for halflife, collected in errors.items():
            model = fit(history, kind="load", regime_changes=False, halflife_days=halflife)
            collected.append(np.abs(model.forecast(steps).point.to_numpy() - truth))
    weighted = float(np.mean(np.concatenate(errors[14.0])))
    equal = float(np.mean(np.concatenate(errors[None])))
    assert weighted < 0.8 * equal
