"""Forecasting: speed on many series, and day-ahead accuracy on the demo's building loads.

Run with ``python -m bench forecast_bench`` (both tables) or
``python bench/forecast_bench.py [speed|accuracy]``.

Speed: 1,000 quarter-hour load series with eight weeks of history each
(the demo's building loads, each scaled and given its own noise), fitted
with the default load model and forecast one day ahead with 80 % and 95 %
intervals, on 1 and on 2 worker processes; then the next day again with the
fitted models reused (:class:`forecasting.batch.FitCache`).

Accuracy: the demo's connection-point loads (street lighting aside),
forecast day-ahead from every local midnight of eight weeks (rolling
origins, eight weeks of history each, the demo's temperature as a perfect
temperature forecast) in three seasons. MASE is the model's MAE over the
weekly seasonal-naive MAE on the same steps; coverage is the share of
actual values inside the 80 % and 95 % intervals.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from adapters.demo_history import generate_wide
from cluster.config import LoadProfile, load_demo_config
from cluster.timegrid import day_steps
from cluster.timeseries import SeriesId
from forecasting.base import ForecastError, ForecastResult
from forecasting.batch import FitCache, forecast_many
from forecasting.metrics import coverage, relative_mae
from forecasting.naive import SeasonalNaive

ZONE = ZoneInfo("Europe/Warsaw")
SERIES_COUNT = 1000
HISTORY_DAYS = 56
SPEED_DAY = date(2026, 11, 17)
#: First origins of the accuracy periods: autumn (schools and theatre reopen,
#: heating starts), winter (Christmas, New Year, winter break), early summer.
ACCURACY_STARTS = (date(2026, 9, 14), date(2026, 11, 30), date(2027, 5, 10))
ACCURACY_ORIGINS = 56
SCHOOL_PROFILES = {LoadProfile.SCHOOL, LoadProfile.KINDERGARTEN}


def _demo(start: date, days: int) -> pd.DataFrame:
    config = load_demo_config()
    first = pd.Timestamp(start, tz=ZONE)
    return generate_wide(
        config, first, pd.Timestamp(start + timedelta(days=days), tz=ZONE), meters=False
    )


def _building_loads() -> dict[str, bool]:
    """Load series ids of the demo, with whether each follows the school calendar."""
    config = load_demo_config()
    return {
        SeriesId.load(point.id): point.profile in SCHOOL_PROFILES
        for point in config.connection_points
        if point.annual_consumption_mwh > 0 and point.profile is not LoadProfile.STREET_LIGHTING
    }


def _many_series(wide: pd.DataFrame, count: int) -> dict[str, pd.Series]:
    rng = np.random.default_rng(7)
    loads = list(_building_loads())
    series = {}
    for number in range(count):
        source = wide[loads[number % len(loads)]]
        scale = rng.uniform(0.3, 3.0)
        noise = 1.0 + 0.03 * rng.standard_normal(len(source))
        series[f"load/bench-{number:04d}/power_kw"] = source * scale * noise
    return series


def speed() -> list[dict[str, object]]:
    """Time 1,000 day-ahead fits and forecasts on 1 and 2 workers, and a reuse day."""
    wide = _demo(SPEED_DAY - timedelta(days=HISTORY_DAYS), HISTORY_DAYS + 2)
    temperature = wide[[SeriesId.TEMPERATURE_C]]
    rows: list[dict[str, object]] = []
    for workers in (1, 2):
        steps = day_steps(SPEED_DAY, ZONE)
        history = {k: v[v.index < steps[0]] for k, v in _many_series(wide, SERIES_COUNT).items()}
        cache = FitCache()
        started = time.perf_counter()
        results = forecast_many(history, steps, temperature, workers=workers, cache=cache)
        fit_s = time.perf_counter() - started
        next_steps = day_steps(SPEED_DAY + timedelta(days=1), ZONE)
        history = {
            k: v[v.index < next_steps[0]] for k, v in _many_series(wide, SERIES_COUNT).items()
        }
        started = time.perf_counter()
        reused = forecast_many(history, next_steps, temperature, workers=workers, cache=cache)
        reuse_s = time.perf_counter() - started
        failed = sum(isinstance(r, ForecastError) for r in [*results.values(), *reused.values()])
        rows.append({"workers": workers, "fit_s": fit_s, "reuse_s": reuse_s, "failed": failed})
    table = Table(title=f"{SERIES_COUNT} quarter-hour series, {HISTORY_DAYS} days of history")
    for column in ("workers", "fit + forecast s", "ms per series", "reuse next day s", "failed"):
        table.add_column(column, justify="right")
    for row in rows:
        fit_s = float(row["fit_s"])  # type: ignore[arg-type]
        table.add_row(
            str(row["workers"]), f"{fit_s:.1f}", f"{1000 * fit_s / SERIES_COUNT:.1f}",
            f"{float(row['reuse_s']):.1f}", str(row["failed"]),  # type: ignore[arg-type]
        )  # fmt: skip
    Console().print(table)
    return rows


def _period_accuracy(start: date, origins: int) -> pd.DataFrame:
    """Per demo load: MASE and coverage over ``origins`` day-ahead forecasts from ``start``."""
    loads = _building_loads()
    wide = _demo(start - timedelta(days=HISTORY_DAYS), HISTORY_DAYS + origins + 1)
    temperature = wide[[SeriesId.TEMPERATURE_C]]
    columns = ("actual", "model", "naive", "low80", "high80", "low95", "high95")
    collected: dict[str, dict[str, list[np.ndarray]]] = {
        series_id: {column: [] for column in columns} for series_id in loads
    }
    options = {series_id: {"school_breaks": school} for series_id, school in loads.items()}
    for offset in range(origins):
        steps = day_steps(start + timedelta(days=offset), ZONE)
        since = steps[0] - pd.Timedelta(days=HISTORY_DAYS)
        history = {s: wide[s][(wide.index >= since) & (wide.index < steps[0])] for s in loads}
        results = forecast_many(history, steps, temperature, options=options, workers=2)
        for series_id, result in results.items():
            if not isinstance(result, ForecastResult):
                raise result
            baseline = SeasonalNaive(7).fit(history[series_id]).forecast(steps, levels=())
            arrays = collected[series_id]
            arrays["actual"].append(wide[series_id].reindex(steps).to_numpy())
            arrays["model"].append(result.point.to_numpy())
            arrays["naive"].append(baseline.point.to_numpy())
            for level, name in ((0.8, "80"), (0.95, "95")):
                arrays[f"low{name}"].append(result.intervals[level]["lower"].to_numpy())
                arrays[f"high{name}"].append(result.intervals[level]["upper"].to_numpy())
    rows = []
    for series_id, arrays in collected.items():
        joined = {column: np.concatenate(values) for column, values in arrays.items()}
        rows.append(
            {
                "series": series_id.split("/")[1],
                "mase": relative_mae(joined["actual"], joined["model"], joined["naive"]),
                "cover80": coverage(joined["actual"], joined["low80"], joined["high80"]),
                "cover95": coverage(joined["actual"], joined["low95"], joined["high95"]),
            }
        )
    return pd.DataFrame(rows).set_index("series")


def accuracy(starts: tuple[date, ...] = ACCURACY_STARTS, origins: int = ACCURACY_ORIGINS) -> None:
    """Day-ahead MASE and interval coverage of the default load model on the demo loads."""
    loads = len(_building_loads())
    table = Table(title=f"{loads} demo loads, day-ahead from {origins} midnights per period")
    for column in ("from", "MASE", "median", "≤ 0.7", "80 % in", "95 % in", "worst"):
        table.add_column(column, justify="right")
    for start in starts:
        frame = _period_accuracy(start, origins)
        worst = str(frame["mase"].idxmax()).removeprefix("cp-")
        table.add_row(
            str(start), f"{frame['mase'].mean():.3f}",
            f"{frame['mase'].median():.3f}", str(int((frame["mase"] <= 0.7).sum())),
            f"{frame['cover80'].mean():.1%}", f"{frame['cover95'].mean():.1%}",
            f"{worst} {frame['mase'].max():.2f}",
        )  # fmt: skip
    Console().print(table)


def run() -> None:
    """Both tables: speed, then accuracy."""
    speed()
    accuracy()


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["speed", "accuracy"]
    if "speed" in chosen:
        speed()
    if "accuracy" in chosen:
        accuracy()
