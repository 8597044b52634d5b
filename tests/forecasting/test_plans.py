"""Planned outages as forecast input: the forecast scaled by the plan, the fit kept clean of it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from cluster.config import load_demo_config
from cluster.outages import OutageWindow, PlannedOutage, outage_windows
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from forecasting.base import ForecastResult
from forecasting.batch import forecast_many
from forecasting.daily import fit_fingerprints, planned_outages
from forecasting.series import ON_OFF_CLEANING
from tests.forecasting.synthetic import WARSAW, local_range

DAY = date(2027, 2, 10)
SERIES = SeriesId.wte("plant")
LEVEL_KW = 6000.0
NOISE_KW = 30.0


def _history(days: int = 28, seed: int = 0) -> pd.Series:
    """A plant running at 6000 kW with a 300 kW afternoon rise and 30 kW noise, up to ``DAY``."""
    index = local_range(DAY - timedelta(days=days), days)
    local = index.tz_convert(WARSAW)
    hours = local.hour + local.minute / 60
    rise = 300.0 * np.exp(-0.5 * ((hours - 15.0) / 2.0) ** 2)
    noise = np.random.default_rng(seed).normal(0.0, NOISE_KW, len(index))
    return pd.Series(LEVEL_KW + rise + noise, index=index, name=SERIES)


def _window(start: datetime, end: datetime, fraction: float, reason: str = "") -> OutageWindow:
    outage = PlannedOutage(start=start, end=end, available_fraction=fraction, reason=reason)
    return outage_windows([outage], WARSAW)[0]


def _forecast(history: pd.Series, plan: tuple[OutageWindow, ...] = ()) -> ForecastResult:
    outcome = forecast_many(
        {SERIES: history},
        day_steps(DAY, WARSAW),
        workers=1,
        models="recent_level",
        options={SERIES: {"cleaning": ON_OFF_CLEANING}},
        plans={SERIES: plan} if plan else None,
    )[SERIES]
    assert isinstance(outcome, ForecastResult), outcome
    return outcome


def _local_hours(index: pd.Index) -> np.ndarray:
    local = pd.DatetimeIndex(index).tz_convert(WARSAW)
    return np.asarray(local.hour + local.minute / 60)


def test_a_planned_derate_and_outage_scale_the_forecast_and_its_intervals() -> None:
    history = _history()
    day = datetime(2027, 2, 10)
    plan = (
        _window(day.replace(hour=10), day.replace(hour=14), 0.5, "turbine derate"),
        _window(day.replace(hour=20), day.replace(hour=22), 0.0, "grate repair"),
    )
    plain, planned = _forecast(history), _forecast(history, plan)
    hours = _local_hours(planned.point.index)
    share = np.where((hours >= 10) & (hours < 14), 0.5, 1.0)
    share[(hours >= 20) & (hours < 22)] = 0.0
    np.testing.assert_allclose(planned.point.to_numpy(), plain.point.to_numpy() * share)
    for level in (0.8, 0.95):
        np.testing.assert_allclose(
            planned.intervals[level].to_numpy(),
            plain.intervals[level].to_numpy() * share[:, None],
        )
    # Outside the outages the plant runs as usual: at its level, not at zero.
    assert planned.point[hours >= 22].mean() == pytest.approx(LEVEL_KW, rel=0.03)
    assert any("turbine derate" in note and "× 0.5" in note for note in planned.notes)
    assert any("grate repair" in note and "× 0" in note for note in planned.notes)


def test_a_plant_whose_history_ends_in_a_planned_outage_returns_when_the_plan_says() -> None:
    history = _history()
    outage_start = pd.Timestamp(datetime(2027, 2, 9, 14), tz=WARSAW).tz_convert("UTC")
    history[history.index >= outage_start] = 0.0
    plan = (_window(datetime(2027, 2, 9, 14), datetime(2027, 2, 10, 6), 0.0, "inspection"),)
    # Without the plan an outage at the origin is forecast to last all day.
    assert _forecast(history).point.max() == 0.0
    planned = _forecast(history, plan)
    hours = _local_hours(planned.point.index)
    assert (planned.point[hours < 6] == 0.0).all()
    back = planned.point[(hours >= 6) & (hours < 12)]
    assert back.mean() == pytest.approx(LEVEL_KW, rel=0.03)
    assert any("history ends in the planned outage inspection" in n for n in planned.notes)


def test_a_past_planned_outage_does_not_pull_the_level_or_widen_the_intervals() -> None:
    history = _history()
    # Out for two days until three hours before the forecast origin.
    start = datetime(2027, 2, 7, 21)
    end = datetime(2027, 2, 9, 21)
    inside = (history.index >= pd.Timestamp(start, tz=WARSAW)) & (
        history.index < pd.Timestamp(end, tz=WARSAW)
    )
    history[inside] = 0.0
    plan = (_window(start, end, 0.0, "inspection"),)
    unplanned, planned = _forecast(history), _forecast(history, plan)
    hours = _local_hours(planned.point.index)
    night = (hours >= 0) & (hours < 5)
    # The 6 h level window holds 3 h of the outage's zeros unless they are left out.
    assert unplanned.point[night].mean() < 0.8 * LEVEL_KW
    assert planned.point[night].mean() == pytest.approx(LEVEL_KW, rel=0.02)
    # An 80 % band of Gaussian noise is 2.56 σ wide; the outage's drop, were it
    # learned as a forecast error, would make it about three times wider.
    width = planned.intervals[0.8]["upper"] - planned.intervals[0.8]["lower"]
    assert width.mean() < 4 * NOISE_KW
    assert any("48 h of planned outages in the history left out of the fit" in n
               for n in planned.notes)  # fmt: skip


def test_a_plant_out_for_the_whole_day_is_forecast_zero_without_a_fit() -> None:
    history = _history(days=2)
    plan = (_window(datetime(2027, 2, 9), datetime(2027, 2, 12), 0.0, "overhaul"),)
    result = _forecast(history, plan)
    assert result.model == "planned_outage"
    assert (result.point == 0.0).all()
    assert (result.intervals[0.8].to_numpy() == 0.0).all()


def test_the_demo_wte_plant_has_its_boiler_inspection_planned() -> None:
    config = load_demo_config()
    plans = planned_outages(config)
    chp = config.assets.wte_chps[0]
    (window,) = plans[SeriesId.wte(chp.id)]
    # Local 06:00 in May (UTC+2) is 04:00 UTC.
    assert window.start == pd.Timestamp("2027-05-18T04:00", tz="UTC")
    assert window.available_fraction == 0.0
    assert not any(sid.startswith("biogas/") for sid in plans)


def test_a_changed_plan_changes_only_its_plants_fit_fingerprint() -> None:
    config = load_demo_config()
    chp = config.assets.wte_chps[0]
    moved = PlannedOutage(
        start=datetime(2027, 6, 1, 6), end=datetime(2027, 6, 2, 6), reason="inspection"
    )
    changed = config.model_copy(
        update={
            "assets": config.assets.model_copy(
                update={"wte_chps": [chp.model_copy(update={"planned_outages": [moved]})]}
            )
        }
    )
    before, after = fit_fingerprints(config), fit_fingerprints(changed)
    differing = {sid for sid in before if before[sid] != after[sid]}
    assert differing == {SeriesId.wte(chp.id)}
