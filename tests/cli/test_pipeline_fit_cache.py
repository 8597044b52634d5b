"""The daily job's fit cache: what an earlier run kept serves the next day, unless told to refit."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.fit_cache_store import write_fit_cache
from cli.pipeline import load_fit_cache
from cluster.config import load_demo_config
from cluster.timeseries import SeriesId
from forecasting.batch import FitCache
from forecasting.daily import fit_fingerprints
from forecasting.models import fit
from forecasting.series import series_specs
from tests.forecasting.synthetic import local_range

DAY = date(2027, 1, 13)


def _kept_by_an_earlier_run(data_dir: Path) -> str:
    """Keep, as the run of ``DAY`` would, the demo WtE plant's fitted model; its series id."""
    config = load_demo_config()
    series_id = SeriesId.wte(config.assets.wte_chps[0].id)
    spec = next(s for s in series_specs(config) if s.series_id == series_id)
    index = local_range(DAY - timedelta(days=10), 10)
    noise = np.random.default_rng(0).normal(0.0, 50.0, len(index))
    history = pd.Series(6000.0 + noise, index=index, name=series_id)
    cache = FitCache()
    cache.store(series_id, fit(history, model=spec.model), spec.model, DAY)
    write_fit_cache(cache, data_dir, fit_fingerprints(config))
    return series_id


def test_the_next_day_reuses_what_the_day_before_kept(tmp_path: Path) -> None:
    series_id = _kept_by_an_earlier_run(tmp_path)
    loaded, fingerprints, usable = load_fit_cache(
        load_demo_config(), tmp_path, DAY + timedelta(days=1), refit=False
    )
    assert set(loaded.cache.entries) == {series_id}
    assert usable == 1
    assert set(fingerprints) == {s.series_id for s in series_specs(load_demo_config())}


def test_refit_ignores_the_kept_models(tmp_path: Path) -> None:
    _kept_by_an_earlier_run(tmp_path)
    loaded, _, usable = load_fit_cache(
        load_demo_config(), tmp_path, DAY + timedelta(days=1), refit=True
    )
    assert loaded.reused == 0 and usable == 0


def test_a_model_a_week_old_is_loaded_but_refitted(tmp_path: Path) -> None:
    _kept_by_an_earlier_run(tmp_path)
    loaded, _, usable = load_fit_cache(
        load_demo_config(), tmp_path, DAY + timedelta(days=7), refit=False
    )
    assert loaded.reused == 1 and usable == 0
