"""Fitted models kept in the data folder between runs: reused exactly, discarded safely."""

from __future__ import annotations

import logging
import pickle
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.fit_cache_store import (
    CACHE_FILE,
    FORMAT_VERSION,
    code_version,
    fit_cache_path,
    read_fit_cache,
    write_fit_cache,
)
from cluster.timegrid import day_steps
from forecasting.base import ForecastResult
from forecasting.batch import FitCache, forecast_many
from tests.forecasting.synthetic import WARSAW, local_range, planted_series

DAY = date(2027, 3, 10)
PLANT = "wte/plant/power_kw"
LOAD = "load/planted/power_kw"
MODELS = {PLANT: "recent_level", LOAD: "naive_weekly"}
FINGERPRINTS = {PLANT: "plant-v1", LOAD: "load-v1"}


def _histories(until: date) -> dict[str, pd.Series]:
    """Five weeks of a noisy plant and a planted load, up to local midnight of ``until``."""
    start = DAY - timedelta(days=35)
    days = (until - start).days
    index = local_range(start, days)
    noise = np.random.default_rng(1).normal(0.0, 40.0, len(index))
    plant = pd.Series(5000.0 + noise, index=index, name=PLANT)
    return {PLANT: plant, LOAD: planted_series(start, days, noise_std=3.0)}


def _forecast(day: date, cache: FitCache) -> dict[str, ForecastResult]:
    outcomes = forecast_many(
        _histories(day), day_steps(day, WARSAW), workers=1, models=MODELS, cache=cache
    )
    results = {sid: r for sid, r in outcomes.items() if isinstance(r, ForecastResult)}
    assert len(results) == len(MODELS), outcomes
    return results


def _assert_same(left: ForecastResult, right: ForecastResult) -> None:
    pd.testing.assert_series_equal(left.point, right.point)
    assert left.intervals.keys() == right.intervals.keys()
    for level in left.intervals:
        pd.testing.assert_frame_equal(left.intervals[level], right.intervals[level])


def test_a_model_read_back_forecasts_exactly_as_the_one_kept_in_memory(tmp_path: Path) -> None:
    in_memory = FitCache()
    _forecast(DAY, in_memory)
    assert write_fit_cache(in_memory, tmp_path, FINGERPRINTS) == tmp_path / CACHE_FILE
    loaded = read_fit_cache(tmp_path, FINGERPRINTS)
    assert loaded.reused == 2 and not loaded.discarded
    assert {sid: e.fitted_on for sid, e in loaded.cache.entries.items()} == dict.fromkeys(
        MODELS, DAY
    )
    next_day = DAY + timedelta(days=1)
    from_memory, from_file = _forecast(next_day, in_memory), _forecast(next_day, loaded.cache)
    for series_id in MODELS:
        _assert_same(from_memory[series_id], from_file[series_id])
    # The models were updated, not refitted: a fresh fit learns the plant's
    # pattern and errors from a different window, so it forecasts otherwise.
    refitted = _forecast(next_day, FitCache())
    assert not refitted[PLANT].point.equals(from_file[PLANT].point)


def test_a_changed_fingerprint_or_a_dropped_series_is_discarded(tmp_path: Path) -> None:
    cache = FitCache()
    _forecast(DAY, cache)
    write_fit_cache(cache, tmp_path, FINGERPRINTS)
    loaded = read_fit_cache(tmp_path, {PLANT: "plant-v2"})
    assert loaded.reused == 0
    assert "configuration" in loaded.discarded[PLANT]
    assert "no longer forecast" in loaded.discarded[LOAD]


def test_a_series_without_a_fingerprint_is_not_written(tmp_path: Path) -> None:
    cache = FitCache()
    _forecast(DAY, cache)
    write_fit_cache(cache, tmp_path, {PLANT: "plant-v1"})
    assert set(read_fit_cache(tmp_path, FINGERPRINTS).cache.entries) == {PLANT}


def _write_raw(tmp_path: Path, stored: object) -> None:
    fit_cache_path(tmp_path).write_bytes(pickle.dumps(stored))


def test_a_cache_of_other_code_is_discarded_whole(tmp_path: Path) -> None:
    cache = FitCache()
    _forecast(DAY, cache)
    write_fit_cache(cache, tmp_path, FINGERPRINTS)
    stored = pickle.loads(fit_cache_path(tmp_path).read_bytes())
    _write_raw(tmp_path, {**stored, "code": "klaster 0.0.1; forecasting 0000"})
    loaded = read_fit_cache(tmp_path, FINGERPRINTS)
    assert loaded.reused == 0
    assert "klaster 0.0.1" in loaded.discarded["(file)"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a pickle at all",
        pickle.dumps({"format": FORMAT_VERSION, "code": "x"})[:-3],  # cut short mid-write
        pickle.dumps(pd.Timestamp("2027-03-10")),  # objects at the top: not our file
        pickle.dumps({"format": FORMAT_VERSION + 1, "entries": {}}),
    ],
    ids=["empty", "garbage", "truncated", "foreign objects", "newer format"],
)
def test_an_unusable_file_gives_an_empty_cache_and_a_log_line(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    fit_cache_path(tmp_path).write_bytes(content)
    with caplog.at_level(logging.INFO, logger="adapters.fit_cache_store"):
        loaded = read_fit_cache(tmp_path, FINGERPRINTS, refit_days=3)
    assert loaded.reused == 0 and loaded.cache.refit_days == 3
    assert "(file)" in loaded.discarded
    assert any("fit cache" in record.getMessage() for record in caplog.records)


def test_an_entry_that_no_longer_unpickles_is_discarded_alone(tmp_path: Path) -> None:
    cache = FitCache()
    _forecast(DAY, cache)
    write_fit_cache(cache, tmp_path, FINGERPRINTS)
    stored = pickle.loads(fit_cache_path(tmp_path).read_bytes())
    stored["entries"][LOAD]["fitted"] = b"\x80\x05garbage"
    _write_raw(tmp_path, stored)
    loaded = read_fit_cache(tmp_path, FINGERPRINTS)
    assert set(loaded.cache.entries) == {PLANT}
    assert "cannot be read back" in loaded.discarded[LOAD]
    assert stored["code"] == code_version()


def test_no_file_is_a_quiet_cold_start(tmp_path: Path) -> None:
    loaded = read_fit_cache(tmp_path / "missing", FINGERPRINTS)
    assert loaded.reused == 0 and not loaded.discarded


def test_writing_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    cache = FitCache()
    _forecast(DAY, cache)
    write_fit_cache(cache, tmp_path, FINGERPRINTS)
    write_fit_cache(cache, tmp_path, {PLANT: "plant-v1"})
    assert [p.name for p in tmp_path.iterdir()] == [CACHE_FILE]
    assert set(read_fit_cache(tmp_path, FINGERPRINTS).cache.entries) == {PLANT}


def test_a_folder_that_cannot_be_written_does_not_fail_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FitCache()
    _forecast(DAY, cache)
    blocked = tmp_path / "data"
    blocked.write_text("a file where the data folder should be")
    with caplog.at_level(logging.WARNING, logger="adapters.fit_cache_store"):
        assert write_fit_cache(cache, blocked, FINGERPRINTS) is None
    assert any("cannot be written" in record.getMessage() for record in caplog.records)
    assert blocked.read_text() == "a file where the data folder should be"
