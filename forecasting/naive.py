"""Seasonal-naive forecasts: the value at the same local clock time one season ago.

The season is counted on the local wall clock, not in UTC steps, so that a
building that opens at 07:00 local still opens at 07:00 after a DST change.
A target whose season-ago time is missing (a gap, or the hour the spring DST
change skipped) takes the value one more season back.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from forecasting.base import FittedForecaster, ForecastError, ForecastResult

#: How many seasons back a forecast may reach for a value before giving up.
MAX_SEASONS_BACK = 4


@dataclass(frozen=True)
class SeasonalNaive:
    """Seasonal-naive model with a season of ``season_days`` local days (1 or 7)."""

    season_days: int
    timezone: str = "Europe/Warsaw"

    @property
    def name(self) -> str:
        return "naive_weekly" if self.season_days == 7 else f"naive_{self.season_days}d"

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Keep the history by local wall-clock time; nothing else to fit."""
        values = history.dropna()
        if values.empty:
            raise ForecastError(
                f"series {history.name!r} has no values in its history",
                fix="load or import history for it before forecasting",
            )
        index = pd.DatetimeIndex(values.index)
        if index.tz is None:
            raise ForecastError(f"series {history.name!r}: history index must be tz-aware")
        zone = ZoneInfo(self.timezone)
        wall_clock = index.tz_convert(zone).tz_localize(None)
        # The repeated autumn hour gives two readings for one wall-clock time: average them.
        by_wall_clock = pd.Series(values.to_numpy(dtype=float), index=wall_clock).groupby(level=0)
        return _FittedSeasonalNaive(self, by_wall_clock.mean(), zone, str(history.name))


@dataclass(frozen=True)
class _FittedSeasonalNaive:
    model: SeasonalNaive
    by_wall_clock: pd.Series
    zone: ZoneInfo
    series_name: str

    def forecast(self, steps: pd.DatetimeIndex, levels: tuple[float, ...] = ()) -> ForecastResult:
        target = steps.tz_convert(self.zone).tz_localize(None)
        values = np.full(len(steps), np.nan)
        for seasons_back in range(1, MAX_SEASONS_BACK + 1):
            missing = np.isnan(values)
            if not missing.any():
                break
            lagged = target[missing] - pd.Timedelta(days=self.model.season_days * seasons_back)
            values[missing] = self.by_wall_clock.reindex(lagged).to_numpy()
        notes: tuple[str, ...] = ()
        if np.isnan(values).any():
            filled = pd.Series(values, index=steps).interpolate(limit_direction="both")
            if filled.isna().any():
                raise ForecastError(
                    f"series {self.series_name!r} has no history within "
                    f"{MAX_SEASONS_BACK * self.model.season_days} days before {steps[0]}",
                    fix="load recent history for it",
                )
            notes = (f"{int(np.isnan(values).sum())} step(s) interpolated: no season-ago value",)
            values = filled.to_numpy()
        point = pd.Series(values, index=steps, name=self.series_name)
        return ForecastResult(point=point, model=self.model.name, notes=notes)
