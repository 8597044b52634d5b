"""Street lighting: dusk and dawn per circuit, the share of each step lamps burn, and circuit load.

When lamps burn is the dusk-to-dawn rule of :func:`cluster.lighting.lamps_on`
applied to the sun's apparent elevation (pvlib) and the cloud forecast. It
is evaluated every :data:`SAMPLE_MINUTES` within each step, so a step in
which the lamps switch burns for the part of it after the switch:
:func:`lamps_on_fraction` is what the optimiser's lighting plan and the
load forecast build on. :func:`lighting_hours` gives each circuit's
switch-on (dusk) and switch-off (dawn) times of a local day, to the minute.

The load of a street-lighting connection point (``street_lighting`` model)
is its burning power times the share of the step the lamps burn. The
burning power is learned from the recent history (lamps fail and are
replaced, so recent days weigh most, and every update re-estimates it);
intervals come from the errors each past day would have had with the power
estimated up to the day before, relative to that power.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pvlib

from cluster.config import ClusterConfig
from cluster.lighting import lamps_on
from cluster.timegrid import day_bounds_utc
from cluster.timeseries import SeriesId
from forecasting.base import DEFAULT_LEVELS, FittedForecaster, ForecastError, ForecastResult
from forecasting.grid import FloatArray, infer_step_minutes, series_label
from forecasting.intervals import PROBABILITIES, forecast_steps, quantile_intervals
from forecasting.irradiance import Site

#: How often within a step the rule is evaluated, minutes.
SAMPLE_MINUTES = 3
#: Fewest errors a class of steps needs for its own quantiles.
MIN_CLASS_ERRORS = 30
#: Days of history an update re-estimates the burning power from.
UPDATE_DAYS = 14
#: How many indexes' fractions a process keeps.
_CACHE_SIZE = 8
_cache: OrderedDict[tuple[object, ...], FloatArray] = OrderedDict()


def apparent_elevation_deg(instants: pd.DatetimeIndex, site: Site) -> FloatArray:
    """The sun's apparent elevation (with refraction) at each instant, degrees.

    Parameters
    ----------
    instants
        Timezone-aware instants.
    site
        Where the sun is seen from.
    """
    position = pvlib.solarposition.get_solarposition(
        instants, site.latitude_deg, site.longitude_deg, site.altitude_m
    )
    result: FloatArray = position["apparent_elevation"].to_numpy(dtype=float)
    return result


def lamps_on_fraction(
    steps: pd.DatetimeIndex, site: Site, step_minutes: int, cloud_pct: FloatArray | None
) -> FloatArray:
    """The share of each step in which the lamps burn, 0-1 (memoised per index and cloud).

    Parameters
    ----------
    steps
        UTC step starts.
    site
        Where the lamps are.
    step_minutes
        The step, minutes.
    cloud_pct
        Cloud-cover forecast of each step, %; None (or NaN) for a clear sky,
        which puts dusk at its latest and dawn at its earliest.
    """
    steps = pd.DatetimeIndex(steps).tz_convert("UTC")
    cloud = np.zeros(len(steps)) if cloud_pct is None else np.nan_to_num(cloud_pct)
    key = (hash(steps.asi8.tobytes()), hash(cloud.tobytes()), site, step_minutes)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    samples = max(1, step_minutes // SAMPLE_MINUTES)
    offsets = (np.arange(samples) + 0.5) * step_minutes / samples
    instants = pd.DatetimeIndex(
        (steps.as_unit("ns").asi8[:, None] + (offsets * 60e9).astype(np.int64)[None, :]).ravel(),
        tz="UTC",
    )
    elevation = apparent_elevation_deg(instants, site).reshape(len(steps), samples)
    burning = lamps_on(elevation, np.repeat(cloud[:, None], samples, axis=1))
    fraction: FloatArray = burning.mean(axis=1)
    _cache[key] = fraction
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return fraction


def dusk_and_dawn(
    day: date, site: Site, zone: ZoneInfo, cloud_pct: pd.Series | None = None
) -> tuple[datetime | None, datetime | None]:
    """When lamps switch off in the morning (dawn) and on in the evening (dusk) of a local day.

    Found to the minute. None where there is no switch (polar day or night).

    Parameters
    ----------
    day
        The local day.
    site
        Where the lamps are.
    zone
        Local time zone.
    cloud_pct
        Cloud-cover forecast on a UTC index covering the day, %; None for a clear sky.

    Returns
    -------
    tuple
        Local (timezone-aware) times of dawn and dusk.
    """
    start, end = day_bounds_utc(day, zone)
    minutes = pd.date_range(start, end, freq="1min", inclusive="left")
    if cloud_pct is None:
        cloud = np.zeros(len(minutes))
    else:
        series = cloud_pct.astype(float)
        series.index = pd.DatetimeIndex(series.index).tz_convert("UTC")
        cloud = np.nan_to_num(
            series[~series.index.duplicated()].reindex(minutes, method="ffill").to_numpy()
        )
    burning = lamps_on(apparent_elevation_deg(minutes, site), cloud)
    noon = int(np.argmax(apparent_elevation_deg(minutes, site)))
    dawn_off = np.flatnonzero(burning[:-1] & ~burning[1:])
    dusk_on = np.flatnonzero(~burning[:-1] & burning[1:])
    dawn = next((m + 1 for m in dawn_off.tolist() if m < noon), None)
    dusk = next((m + 1 for m in dusk_on.tolist() if m >= noon), None)

    def local(position: int | None) -> datetime | None:
        if position is None:
            return None
        stamp: datetime = minutes[position].tz_convert(zone).to_pydatetime()
        return stamp

    return local(dawn), local(dusk)


def lighting_hours(
    config: ClusterConfig, day: date, cloud_pct: pd.Series | None = None
) -> pd.DataFrame:
    """Dawn (lamps off) and dusk (lamps on) of a local day for every lighting circuit.

    The circuits take the cluster's site (the configuration gives them no
    coordinates of their own; across a functional area the times differ by
    well under a minute).

    Parameters
    ----------
    config
        The cluster.
    day
        The local day.
    cloud_pct
        Cloud-cover forecast over the day on a UTC index, %; None for a clear sky.

    Returns
    -------
    pandas.DataFrame
        Indexed by circuit id, with ``municipality``, ``dawn`` and ``dusk``
        (local times as ``HH:MM`` text) and ``dark_hours`` (from midnight to
        dawn plus dusk to midnight, h).
    """
    zone = config.cluster.zone
    dawn, dusk = dusk_and_dawn(day, Site.of_cluster(config.cluster), zone, cloud_pct)
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    morning_h = (dawn - midnight).total_seconds() / 3600 if dawn else 0.0
    evening_h = (next_midnight - dusk).total_seconds() / 3600 if dusk else 0.0
    rows = [
        {
            "circuit": circuit.id,
            "municipality": circuit.municipality,
            "dawn": f"{dawn:%H:%M}" if dawn else "",
            "dusk": f"{dusk:%H:%M}" if dusk else "",
            "dark_hours": round(morning_h + evening_h, 2),
        }
        for circuit in config.assets.lighting_circuits
    ]
    columns = ["circuit", "municipality", "dawn", "dusk", "dark_hours"]
    return pd.DataFrame(rows, columns=columns).set_index("circuit")


def _cloud(regressors: pd.DataFrame | None, steps: pd.DatetimeIndex) -> FloatArray | None:
    if regressors is None or SeriesId.CLOUD_PCT not in regressors.columns:
        return None
    column = regressors[SeriesId.CLOUD_PCT].astype(float)
    column.index = pd.DatetimeIndex(column.index).tz_convert("UTC")
    return np.asarray(column[~column.index.duplicated()].reindex(steps), dtype=float)


@dataclass(frozen=True)
class StreetLightingLoad:
    """The ``street_lighting`` model: burning power × share of the step the lamps burn.

    Parameters
    ----------
    timezone, country
        Local time zone and holiday country (kept for the registry's interface).
    latitude_deg, longitude_deg, altitude_m
        The lamps' site: degrees north, degrees east, m above sea level.
    halflife_days
        Half-life of the weight of past days in the burning power, days.
    """

    timezone: str = "Europe/Warsaw"
    country: str = "PL"
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    altitude_m: float = 0.0
    halflife_days: float = 3.0
    name: str = "street_lighting"
    min_history_days: float = 2.0
    fallback: str | None = "naive_daily"

    def site(self, label: str) -> Site:
        """The lamps' site; raises :class:`ForecastError` when it was not given."""
        if self.latitude_deg is None or self.longitude_deg is None:
            raise ForecastError(
                f"series {label!r}: model {self.name} needs latitude_deg and longitude_deg",
                fix="pass the cluster's site as model options",
            )
        return Site(self.latitude_deg, self.longitude_deg, self.altitude_m)

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Learn the burning power and the spread of its day-ahead errors."""
        label = series_label(history)
        site = self.site(label)
        index = pd.DatetimeIndex(history.index).tz_convert("UTC")
        step = infer_step_minutes(index, label)
        fraction = lamps_on_fraction(index, site, step, _cloud(regressors, index))
        measured = history.to_numpy(dtype=float)
        known = np.isfinite(measured)
        # Per local day: the sums of a least-squares fit of measured = power × fraction,
        # over the steps lamps burn throughout (see _power_steps).
        local_days = index.tz_convert(ZoneInfo(self.timezone)).normalize()
        _, day = np.unique(local_days.asi8, return_inverse=True)
        used = known & _power_steps(fraction)
        cross = np.bincount(day, weights=np.where(used, measured * fraction, 0.0))
        square = np.bincount(day, weights=np.where(used, fraction**2, 0.0))
        if square.sum() <= 0:
            raise ValueError("no steps in the history in which the lamps burn")
        # The power each day would have been forecast with: the estimate up to the day before.
        decay = 0.5 ** (1.0 / self.halflife_days)
        before = np.full(len(cross), np.nan)
        running_cross = running_square = 0.0
        for number in range(len(cross)):
            if running_square > 0:
                before[number] = running_cross / running_square
            running_cross = decay * running_cross + cross[number]
            running_square = decay * running_square + square[number]
        power_kw = running_cross / running_square
        forecast_power = before[day]
        usable = known & np.isfinite(forecast_power) & (forecast_power > 0)
        errors = np.full(len(measured), np.nan)
        errors[usable] = (measured[usable] - forecast_power[usable] * fraction[usable]) / (
            forecast_power[usable]
        )
        classes = _classes(fraction)
        lit = usable & (fraction > 0)
        rows = []
        for number in range(3):
            mine = errors[usable & (classes == number)]
            pool = mine if len(mine) >= MIN_CLASS_ERRORS else errors[lit]
            if number == FULL:
                # Lamps fail and are replaced: the level drifts either way, whichever
                # way it happened to drift in the history.
                pool = np.concatenate([pool, -pool])
            rows.append(np.quantile(pool, PROBABILITIES) if len(pool) else np.zeros(399))
        return _FittedStreetLighting(
            model=self,
            site=site,
            series_id=label,
            step_minutes=step,
            last_observed=index[-1],
            power_kw=float(power_kw),
            quantiles=np.vstack(rows),
            notes=(f"burning power {power_kw:.4g} kW from the recent history",),
        )

    def recent_power_kw(
        self, history: pd.Series, regressors: pd.DataFrame | None, site: Site, step_minutes: int
    ) -> float | None:
        """The burning power from the last :data:`UPDATE_DAYS` of ``history``, kW."""
        tail = history.dropna()
        tail = tail[tail.index >= tail.index[-1] - pd.Timedelta(days=UPDATE_DAYS)]
        index = pd.DatetimeIndex(tail.index).tz_convert("UTC")
        fraction = lamps_on_fraction(index, site, step_minutes, _cloud(regressors, index))
        age_days = np.asarray((index[-1] - index) / pd.Timedelta(days=1), dtype=float)
        weights = np.where(_power_steps(fraction), 0.5 ** (age_days / self.halflife_days), 0.0)
        square = float(np.sum(weights * fraction**2))
        if square <= 0:
            return None
        return float(np.sum(weights * tail.to_numpy(dtype=float) * fraction) / square)


def _power_steps(fraction: FloatArray) -> np.ndarray:
    """The steps the burning power is learned from: those lamps burn throughout.

    A meter sees a switching step as it really was (on from the switch, or
    the whole step if the controller switched at its start), which the share
    of the step only approximates; those steps would bias the power. Where no
    step burns throughout (the shortest summer nights at high latitudes),
    every lit step is used.
    """
    full = fraction >= 1.0
    return full if full.any() else fraction > 0.0


#: The classes of steps: lamps off, lamps switching within the step, lamps on throughout.
DARK, SWITCHING, FULL = 0, 1, 2


def _classes(fraction: FloatArray) -> np.ndarray:
    """The class of each step by the share of it the lamps burn."""
    return np.where(fraction <= 0.0, DARK, np.where(fraction >= 1.0, FULL, SWITCHING))


@dataclass(frozen=True)
class _FittedStreetLighting:
    model: StreetLightingLoad
    site: Site
    series_id: str
    step_minutes: int
    last_observed: pd.Timestamp
    power_kw: float
    quantiles: FloatArray
    notes: tuple[str, ...] = field(default=())

    @property
    def model_name(self) -> str:
        return self.model.name

    def forecast(
        self,
        steps: pd.DatetimeIndex | int,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        regressors: pd.DataFrame | None = None,
    ) -> ForecastResult:
        steps = forecast_steps(steps, levels, self.last_observed, self.step_minutes, self.series_id)
        notes = list(self.notes)
        cloud = _cloud(regressors, steps)
        if cloud is None or np.isnan(cloud).any():
            notes.append("no cloud forecast for some steps: dusk and dawn of a clear sky taken")
        fraction = lamps_on_fraction(steps, self.site, self.step_minutes, cloud)
        point_kw = self.power_kw * fraction
        point = pd.Series(point_kw, index=steps, name=self.series_id)
        classes = _classes(fraction)

        def quantile_kw(probability: float) -> FloatArray:
            per_class = np.array(
                [np.interp(probability, PROBABILITIES, row) for row in self.quantiles]
            )
            return np.maximum(point_kw + per_class[classes] * self.power_kw, 0.0)

        intervals = quantile_intervals(steps, levels, quantile_kw)
        return ForecastResult(point, self.model.name, intervals, tuple(notes))

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """Move the origin to the end of ``history`` with the burning power of its last days.

        Lamps fail and are replaced every day, so the power is re-estimated;
        the spread of the errors is kept.
        """
        index = pd.DatetimeIndex(history.dropna().index).tz_convert("UTC")
        power = self.model.recent_power_kw(history, regressors, self.site, self.step_minutes)
        return replace(
            self, last_observed=index[-1], power_kw=self.power_kw if power is None else power
        )
