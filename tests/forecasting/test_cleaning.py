"""Bad data: gaps, duplicates, spikes and stuck values are found, handled and reported."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from cluster.timegrid import day_steps
from forecasting.base import ForecastError
from forecasting.cleaning import CleaningOptions, clean_history
from forecasting.models import fit
from tests.forecasting.synthetic import WARSAW, planted_pattern, planted_series

START = date(2026, 10, 5)


def test_a_clean_noisy_series_is_left_alone() -> None:
    history = planted_series(START, 21, noise_std=3.0, seed=1)
    cleaned, report = clean_history(history, WARSAW)
    assert report.clean, report.notes()
    pd.testing.assert_series_equal(cleaned, history, check_freq=False, check_names=False)


def test_the_demo_loads_have_no_false_alarms() -> None:
    from adapters.demo_history import generate_wide
    from cluster.config import load_demo_config

    config = load_demo_config()
    wide = generate_wide(
        config, pd.Timestamp("2026-10-05", tz=WARSAW), pd.Timestamp("2026-11-02", tz=WARSAW)
    )
    for series_id in [c for c in wide.columns if c.startswith("load/")][:12]:
        _, report = clean_history(wide[series_id], WARSAW)
        assert not len(report.spikes) and not len(report.stuck), (series_id, report.notes())


def test_spikes_are_removed_and_interpolated() -> None:
    history = planted_series(START, 21, noise_std=2.0, seed=2)
    spike_at = history.index[[500, 1203, 1204]]
    history[spike_at] = [900.0, -400.0, -380.0]
    cleaned, report = clean_history(history, WARSAW)
    assert set(report.spikes) == set(spike_at)
    assert set(spike_at) <= set(report.interpolated)
    truth = planted_pattern(pd.DatetimeIndex(spike_at))
    assert np.abs(cleaned[spike_at].to_numpy() - truth).max() < 15
    assert any("spike" in note for note in report.notes())


def test_a_stuck_meter_is_excluded_but_pv_at_night_is_not() -> None:
    history = planted_series(START, 21, noise_std=2.0, seed=3)
    # A frozen reading for three hours on a working day afternoon.
    frozen = history.index[
        (history.index >= "2026-10-14 10:00Z") & (history.index < "2026-10-14 13:00Z")
    ]
    history[frozen] = history[frozen[0]]
    cleaned, report = clean_history(history, WARSAW)
    assert set(report.stuck) == set(frozen[1:])
    assert cleaned[frozen[1:]].isna().all()  # longer than two hours: left out, not invented
    assert any("stuck" in note for note in report.notes())

    sunny = planted_series(START, 21, noise_std=2.0, seed=3)
    local_hour = sunny.index.tz_convert(WARSAW).hour
    daylight = (local_hour >= 7) & (local_hour < 17)
    pv = pd.Series(np.where(daylight, sunny.to_numpy() - 90.0, 0.0), index=sunny.index)
    _, pv_report = clean_history(pv, WARSAW)
    assert not len(pv_report.stuck)


def test_gaps_short_are_interpolated_long_are_left_out() -> None:
    history = planted_series(START, 21, noise_std=1.0, seed=4)
    short = history.index[1000:1004]  # one hour
    long = history.index[1500:1540]  # ten hours
    history = history.drop(short).drop(long)
    cleaned, report = clean_history(history, WARSAW)
    assert cleaned.index.equals(planted_series(START, 21).index)
    assert set(report.interpolated) == set(short)
    assert set(report.missing) == set(long)
    assert cleaned[short].notna().all() and cleaned[long].isna().all()


def test_duplicates_are_averaged_and_off_grid_stamps_dropped() -> None:
    history = planted_series(START, 14, noise_std=1.0, seed=5)
    duplicate = pd.Series([history.iloc[300] + 10.0], index=[history.index[300]])
    off_grid = pd.Series([5000.0], index=[history.index[400] + pd.Timedelta(minutes=7)])
    raw = pd.concat([history, duplicate, off_grid]).sample(frac=1.0, random_state=0)
    cleaned, report = clean_history(raw.rename(history.name), WARSAW)
    assert report.duplicates == 1
    assert report.off_grid == 1
    assert cleaned.iloc[300] == pytest.approx(history.iloc[300] + 5.0)
    assert cleaned.index.is_monotonic_increasing and cleaned.index.is_unique


def test_unusable_histories_name_the_series() -> None:
    naive_index = pd.date_range("2026-10-05", periods=200, freq="15min")
    with pytest.raises(ForecastError, match=r"load/naive/power_kw.*time zone"):
        clean_history(pd.Series(1.0, index=naive_index, name="load/naive/power_kw"), WARSAW)
    with pytest.raises(ForecastError, match="load/empty/power_kw"):
        clean_history(
            pd.Series(np.nan, index=naive_index.tz_localize("UTC"), name="load/empty/power_kw"),
            WARSAW,
        )
    odd = pd.date_range("2026-10-05", periods=200, freq="7min", tz="UTC")
    with pytest.raises(ForecastError, match="step of 420 s"):
        clean_history(pd.Series(1.0, index=odd, name="load/odd/power_kw"), WARSAW)


def test_cleaning_is_recorded_in_the_forecast_notes() -> None:
    history = planted_series(START, 28, noise_std=2.0, seed=6)
    history.iloc[900] = 5000.0
    history = history.drop(history.index[1500:1503])
    steps = day_steps(date(2026, 11, 2), WARSAW)
    result = fit(history, kind="load").forecast(steps)
    assert result.cleaning is not None and len(result.cleaning.spikes) == 1
    assert any("spike" in note for note in result.notes)
    assert any("interpolated" in note for note in result.notes)
    assert result.point.max() < 200  # the spike did not leak into the forecast


def test_cleaning_can_be_turned_off_or_tuned() -> None:
    history = planted_series(START, 21, noise_std=2.0, seed=7)
    history.iloc[700] = 300.0
    _, strict = clean_history(history, WARSAW)
    _, lenient = clean_history(history, WARSAW, options=CleaningOptions(spike_z=1000.0))
    assert len(strict.spikes) == 1 and not len(lenient.spikes)
