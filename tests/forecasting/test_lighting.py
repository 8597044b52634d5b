"""Street lighting: dusk and dawn from the sun, the share of each step lamps burn, circuit load."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pvlib
import pytest

from cluster.config import load_demo_config
from cluster.lighting import lamps_on
from cluster.timegrid import day_bounds_utc, day_steps
from cluster.timeseries import SeriesId
from forecasting.irradiance import Site
from forecasting.lighting import (
    apparent_elevation_deg,
    dusk_and_dawn,
    lamps_on_fraction,
    lighting_hours,
)
from forecasting.models import fit
from tests.forecasting.synthetic import WARSAW, local_range

KIELCE = Site(50.87, 20.63, 260.0)
DAYS = [date(2027, 3, 20), date(2027, 6, 21), date(2026, 10, 25), date(2026, 12, 21)]


def _minutes(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds()) / 60.0


@pytest.mark.parametrize("day", DAYS)
def test_dawn_and_dusk_of_a_clear_sky_are_within_minutes_of_sunrise_and_sunset(day: date) -> None:
    start, _ = day_bounds_utc(day, WARSAW)
    sun = pvlib.solarposition.sun_rise_set_transit_spa(
        pd.DatetimeIndex([start + pd.Timedelta(hours=12)]), KIELCE.latitude_deg,
        KIELCE.longitude_deg,
    )  # fmt: skip
    sunrise = sun["sunrise"].iloc[0].round("s").to_pydatetime()
    sunset = sun["sunset"].iloc[0].round("s").to_pydatetime()
    dawn, dusk = dusk_and_dawn(day, KIELCE, WARSAW)
    assert dawn is not None and dusk is not None
    # Photocells switch at -1° apparent elevation; sunrise and sunset are at -0.83°.
    assert _minutes(dawn, sunrise) <= 4.0
    assert _minutes(dusk, sunset) <= 4.0
    assert dawn < sunrise and dusk > sunset


def test_lamps_go_on_earlier_and_off_later_under_heavy_cloud() -> None:
    day = date(2027, 3, 20)
    start, end = day_bounds_utc(day, WARSAW)
    index = pd.date_range(start, end, freq="15min", inclusive="left")
    clear_dawn, clear_dusk = dusk_and_dawn(day, KIELCE, WARSAW, pd.Series(10.0, index=index))
    dark_dawn, dark_dusk = dusk_and_dawn(day, KIELCE, WARSAW, pd.Series(95.0, index=index))
    assert clear_dawn and clear_dusk and dark_dawn and dark_dusk
    # Three degrees of the sun's path at the equinox take about 20 minutes at 51° N.
    assert 10.0 <= _minutes(dark_dusk, clear_dusk) <= 30.0 and dark_dusk < clear_dusk
    assert 10.0 <= _minutes(dark_dawn, clear_dawn) <= 30.0 and dark_dawn > clear_dawn


def test_the_share_of_each_step_the_lamps_burn() -> None:
    day = date(2026, 12, 21)
    steps = day_steps(day, WARSAW)
    share = lamps_on_fraction(steps, KIELCE, 15, None)
    local = steps.tz_convert(WARSAW)
    assert share[local.hour == 0].tolist() == [1.0] * 4
    assert share[local.hour == 12].tolist() == [0.0] * 4
    assert ((share > 0) & (share < 1)).sum() <= 2  # only the switching steps are partial
    dawn, dusk = dusk_and_dawn(day, KIELCE, WARSAW)
    assert dawn and dusk
    dark_minutes = 1440 - _minutes(dusk, dawn)
    assert share.sum() * 15 == pytest.approx(dark_minutes, abs=15.0)
    # The rule of cluster.lighting, sampled at the middle of each step, agrees.
    middle = apparent_elevation_deg(steps + pd.Timedelta(minutes=7.5), KIELCE)
    burning = lamps_on(middle, np.zeros(len(steps)))
    assert np.all(burning[share == 1.0]) and not np.any(burning[share == 0.0])


def test_every_circuit_gets_its_dawn_and_dusk() -> None:
    config = load_demo_config()
    hours = lighting_hours(config, date(2027, 1, 13))
    assert list(hours.index) == [c.id for c in config.assets.lighting_circuits]
    assert hours["dawn"].str.match(r"0[6-8]:\d\d").all()
    assert hours["dusk"].str.match(r"1[56]:\d\d").all()
    assert hours["dark_hours"].between(15.0, 16.5).all()


def test_the_load_of_a_circuit_is_its_burning_power_while_the_lamps_burn() -> None:
    first = date(2026, 11, 1)
    index = local_range(first, 22)
    cloud = pd.DataFrame({SeriesId.CLOUD_PCT: np.full(len(index), 30.0)}, index=index)
    middle = apparent_elevation_deg(index + pd.Timedelta(minutes=7.5), KIELCE)
    burning = lamps_on(middle, cloud[SeriesId.CLOUD_PCT].to_numpy())
    # 40 kW of lamps; for the last two weeks 5 % of them have failed.
    power = np.where(index >= index[-1] - pd.Timedelta(days=14), 38.0, 40.0)
    noise = np.random.default_rng(3).normal(0.0, 0.1, len(index))
    load = pd.Series(np.where(burning, power + noise, 0.0), index=index, name="load/light/power_kw")
    steps = day_steps(first + timedelta(days=21), WARSAW)
    fitted = fit(
        load[load.index < steps[0]], cloud, model="street_lighting",
        latitude_deg=KIELCE.latitude_deg, longitude_deg=KIELCE.longitude_deg,
    )  # fmt: skip
    result = fitted.forecast(steps, regressors=cloud)
    assert result.model == "street_lighting"
    full = lamps_on_fraction(steps, KIELCE, 15, cloud.reindex(steps)[SeriesId.CLOUD_PCT].to_numpy())
    assert result.point[full == 1.0].to_numpy() == pytest.approx(38.0, abs=0.3)
    assert np.all(result.point[full == 0.0] == 0.0)
    actual = load.reindex(steps)
    assert np.abs(result.point - actual)[(full == 0.0) | (full == 1.0)].max() < 1.0
