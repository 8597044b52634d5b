"""Synthetic history in the store stays one contiguous span, whatever ranges are asked for."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adapters.demo_history import generate_wide
from adapters.history import ensure_synthetic_history
from adapters.sqlite_store import SqliteStore
from cluster.config import Assets, load_demo_config
from cluster.timeseries import Quality, SeriesId

ZONE = "Europe/Warsaw"


def test_a_range_beyond_the_stored_span_is_joined_to_it(tmp_path: Path) -> None:
    demo = load_demo_config()
    config = demo.model_copy(
        update={"connection_points": demo.connection_points[:1], "assets": Assets()}
    )
    with SqliteStore.open(tmp_path) as store:
        first = pd.Timestamp("2027-01-01", tz=ZONE)
        ensure_synthetic_history(store, config, first, first + pd.Timedelta(days=3))
        # Later, a range a week after the stored span; then one inside the gap between.
        later = first + pd.Timedelta(days=10)
        ensure_synthetic_history(store, config, later, later + pd.Timedelta(days=2))
        inside_gap = first + pd.Timedelta(days=5)
        ensure_synthetic_history(store, config, inside_gap, inside_gap + pd.Timedelta(days=1))
        coverage = store.coverage(SeriesId.TEMPERATURE_C)
        earlier = first - pd.Timedelta(days=4)
        ensure_synthetic_history(store, config, earlier, earlier + pd.Timedelta(days=1))
        widened = store.coverage(SeriesId.TEMPERATURE_C)
    assert coverage is not None and widened is not None
    start, end, rows = coverage
    assert start == first.tz_convert("UTC")
    assert rows == 12 * 96  # 1 to 12 January, every quarter-hour: no gap left
    assert end == (first + pd.Timedelta(days=12)).tz_convert("UTC") - pd.Timedelta(minutes=15)
    assert widened[0] == earlier.tz_convert("UTC") and widened[2] == 16 * 96


def test_the_billing_meters_are_stored_only_when_asked_for(tmp_path: Path) -> None:
    demo = load_demo_config()
    config = demo.model_copy(
        update={
            "connection_points": [demo.connection_point("cp-sp-1")],
            "assets": Assets(pv_plants=[p for p in demo.assets.pv_plants if p.id == "pv-sp-1"]),
        }
    )
    start = pd.Timestamp("2027-06-01", tz=ZONE)
    end = start + pd.Timedelta(days=2)
    meters = [SeriesId.metered_import("cp-sp-1"), SeriesId.metered_export("cp-sp-1")]
    with SqliteStore.open(tmp_path) as store:
        ensure_synthetic_history(store, config, start, end)
        assert store.read_readings(meters, start, end).empty  # planning needs no meters
        assert not store.read_readings([SeriesId.load("cp-sp-1")], start, end).empty
        ensure_synthetic_history(store, config, start, end, meters=True)
        stored = store.read_readings(meters, start, end)
        wide = store.read_series(meters, start, end)
    assert len(stored) == 2 * 2 * 96
    assert set(stored["unit"]) == {"kWh"}
    assert (stored["quality"] == int(Quality.SYNTHETIC)).all()
    pd.testing.assert_frame_equal(
        wide, generate_wide(config, start, end)[meters], check_names=False, check_freq=False
    )
