"""Many series at once: worker processes, one error per bad series, fitted models reused."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from cluster.timegrid import day_steps
from forecasting.base import ForecastError, ForecastResult
from forecasting.batch import FitCache, forecast_many
from forecasting.models import fit
from tests.forecasting.synthetic import WARSAW, planted_series

DAY = date(2026, 11, 17)


def _histories(until: pd.Timestamp) -> dict[str, pd.Series]:
    good = {
        f"load/b{number}/power_kw": planted_series(
            DAY - timedelta(days=35), 37, noise_std=2.0, seed=number
        )
        * (1 + number / 10)
        for number in range(5)
    }
    histories = {series_id: s[s.index < until] for series_id, s in good.items()}
    index = next(iter(histories.values())).index
    histories["load/dead/power_kw"] = pd.Series(np.nan, index=index)
    histories["load/new/power_kw"] = histories["load/b0/power_kw"].iloc[-30:]
    return histories


def test_every_series_gets_a_result_or_its_own_error() -> None:
    steps = day_steps(DAY, WARSAW)
    histories = _histories(steps[0])
    parallel = forecast_many(histories, steps, workers=2, chunk_size=2)
    assert list(parallel) == list(histories)
    for series_id in [s for s in histories if "/b" in s]:
        result = parallel[series_id]
        assert isinstance(result, ForecastResult), result
        assert result.model == "calendar_regression"
        assert result.point.index.equals(steps)
    for bad in ("load/dead/power_kw", "load/new/power_kw"):
        error = parallel[bad]
        assert isinstance(error, ForecastError)
        assert bad in error.message
    # Processes change nothing: the same numbers as in this process.
    serial = forecast_many(histories, steps, workers=1)
    for series_id, result in serial.items():
        other = parallel[series_id]
        if isinstance(result, ForecastResult):
            assert isinstance(other, ForecastResult)
            pd.testing.assert_series_equal(result.point, other.point)


def test_models_and_options_per_series() -> None:
    steps = day_steps(DAY, WARSAW)
    histories = {k: v for k, v in _histories(steps[0]).items() if "/b" in k}
    models = {"load/b1/power_kw": "naive_weekly"}
    results = forecast_many(histories, steps, workers=1, models=models,
                            options={"load/b2/power_kw": {"school_breaks": True}})  # fmt: skip
    assert results["load/b1/power_kw"].model == "naive_weekly"  # type: ignore[union-attr]
    assert results["load/b0/power_kw"].model == "calendar_regression"  # type: ignore[union-attr]
    bad = forecast_many(histories, steps, workers=1, options={"load/b0/power_kw": {"x": 1}})
    assert isinstance(bad["load/b0/power_kw"], ForecastError)
    assert isinstance(bad["load/b1/power_kw"], ForecastResult)


def test_fitted_models_are_reused_until_they_are_old() -> None:
    cache = FitCache(refit_days=2)
    full = _histories(pd.Timestamp(DAY + timedelta(days=3), tz=WARSAW))
    good = {k: v for k, v in full.items() if "/b" in k}
    first = day_steps(DAY, WARSAW)
    forecast_many({k: v[v.index < first[0]] for k, v in good.items()}, first, cache=cache,
                  workers=2)  # fmt: skip
    assert set(cache.entries) == set(good)
    fitted_before = cache.entries["load/b0/power_kw"].fitted

    second = day_steps(DAY + timedelta(days=1), WARSAW)
    histories = {k: v[v.index < second[0]] for k, v in good.items()}
    reused = forecast_many(histories, second, cache=cache, workers=1)
    entry = cache.entries["load/b0/power_kw"]
    assert entry.fitted_on == DAY  # updated, not refitted
    assert entry.fitted.inner.profile is fitted_before.inner.profile  # type: ignore[attr-defined]
    expected = fitted_before.update(histories["load/b0/power_kw"]).forecast(second)
    result = reused["load/b0/power_kw"]
    assert isinstance(result, ForecastResult)
    pd.testing.assert_series_equal(result.point, expected.point)

    third = day_steps(DAY + timedelta(days=2), WARSAW)
    forecast_many({k: v[v.index < third[0]] for k, v in good.items()}, third, cache=cache,
                  workers=1)  # fmt: skip
    assert cache.entries["load/b0/power_kw"].fitted_on == DAY + timedelta(days=2)


def test_a_cached_model_is_not_used_for_another_model_name() -> None:
    cache = FitCache()
    steps = day_steps(DAY, WARSAW)
    history = {"load/b0/power_kw": _histories(steps[0])["load/b0/power_kw"]}
    forecast_many(history, steps, cache=cache, workers=1)
    assert cache.usable("load/b0/power_kw", None, DAY) is not None
    assert cache.usable("load/b0/power_kw", "naive_weekly", DAY) is None
    assert cache.usable("load/b0/power_kw", None, DAY - timedelta(days=1)) is None


def test_a_single_series_through_fit_and_through_the_batch_agree() -> None:
    steps = day_steps(DAY, WARSAW)
    history = _histories(steps[0])["load/b3/power_kw"].rename("load/b3/power_kw")
    direct = fit(history).forecast(steps)
    batch = forecast_many({"load/b3/power_kw": history}, steps, workers=1)["load/b3/power_kw"]
    assert isinstance(batch, ForecastResult)
    pd.testing.assert_series_equal(direct.point, batch.point)
    assert direct.notes == batch.notes


@pytest.mark.parametrize("workers", [1, 2])
def test_an_empty_batch_is_empty(workers: int) -> None:
    assert forecast_many({}, day_steps(DAY, WARSAW), workers=workers) == {}
