"""Bad data in a history: found, handled, and written down.

:func:`clean_history` turns a raw history (as read from a store or a file)
into a regular UTC series a model can be fitted to, and reports what it did:

- **duplicated timestamps** are averaged into one value;
- **off-grid timestamps** (not on a whole step) are dropped;
- **spikes** are values far from a short running median of their neighbours,
  measured in robust z-scores (the median absolute deviation of those
  residuals at the same local time of day, so a busy hour's noise is not
  taken for a spike). They are removed;
- **stuck values** are runs of one identical value at times of day when the
  series normally changes from step to step (a frozen meter or a dead link).
  A run is stuck when it is at least an hour long and so unlikely to happen
  by chance, judged from how often the value repeats at those times of day.
  PV at night, which stays at zero every night, is never stuck. They are
  removed (the first value of the run was a real reading and is kept);
- **gaps**, including the removed values, are interpolated linearly when
  short (two hours by default) and left out of the fit when longer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from forecasting.base import ForecastError
from forecasting.grid import FloatArray, infer_step_minutes, series_label, slot_of_day, step_delta

#: Half-width of the running median spikes are measured against, steps.
SPIKE_HALF_WINDOW = 4
#: The 1.4826 × MAD estimate of a standard deviation for normal data.
_MAD_TO_STD = 1.4826
#: The sqrt(pi/2) × mean |x| estimate of a standard deviation for normal data.
_MEAN_ABS_TO_STD = 1.2533


@dataclass(frozen=True)
class CleaningOptions:
    """How :func:`clean_history` treats bad data.

    Attributes
    ----------
    max_interpolate_minutes
        Longest gap filled by linear interpolation, minutes; longer gaps stay
        missing and are left out of the fit.
    spike_z
        Robust z-score above which a value is a spike.
    stuck_min_minutes
        Shortest run of identical values that can be called stuck, minutes.
    stuck_chance
        A run is stuck when the chance of so many repeats at those times of
        day is below this.
    """

    max_interpolate_minutes: int = 120
    spike_z: float = 8.0
    stuck_min_minutes: int = 60
    stuck_chance: float = 1e-6


@dataclass(frozen=True)
class CleaningReport:
    """What :func:`clean_history` found in a history and what it did about it.

    Attributes
    ----------
    series_id
        The series.
    step_minutes
        Its step, minutes.
    duplicates
        Timestamps that occurred more than once (their values were averaged).
    off_grid
        Timestamps not on the step grid (dropped).
    spikes
        UTC steps whose value was a spike (removed).
    stuck
        UTC steps whose value was stuck (removed).
    interpolated
        UTC steps filled by linear interpolation (gaps and removed values).
    missing
        UTC steps left missing and out of the fit (long gaps).
    """

    series_id: str
    step_minutes: int
    duplicates: int = 0
    off_grid: int = 0
    spikes: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([], tz="UTC"))
    stuck: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([], tz="UTC"))
    interpolated: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([], tz="UTC"))
    missing: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([], tz="UTC"))

    @property
    def clean(self) -> bool:
        """Whether nothing at all had to be done."""
        return not (
            self.duplicates
            or self.off_grid
            or len(self.spikes)
            or len(self.stuck)
            or len(self.interpolated)
            or len(self.missing)
        )

    def notes(self) -> tuple[str, ...]:
        """One sentence per kind of problem found, saying what was done."""
        notes: list[str] = []
        if self.duplicates:
            notes.append(f"{self.duplicates} duplicated timestamp(s): values averaged")
        if self.off_grid:
            notes.append(
                f"{self.off_grid} timestamp(s) off the {self.step_minutes}-min grid: dropped"
            )
        if len(self.spikes):
            notes.append(f"{len(self.spikes)} spike(s) removed, first at {_when(self.spikes)}")
        if len(self.stuck):
            hours = len(self.stuck) * self.step_minutes / 60
            notes.append(f"stuck values over {hours:g} h removed, first at {_when(self.stuck)}")
        if len(self.interpolated):
            notes.append(f"{len(self.interpolated)} missing step(s) interpolated linearly")
        if len(self.missing):
            hours = len(self.missing) * self.step_minutes / 60
            notes.append(f"{hours:g} h of gaps too long to interpolate: left out of the fit")
        return tuple(notes)


def _when(steps: pd.DatetimeIndex) -> str:
    return steps[0].strftime("%Y-%m-%d %H:%M UTC")


def _regular(
    history: pd.Series, label: str, step_minutes: int | None
) -> tuple[pd.Series, int, int, int]:
    """The history on its regular UTC grid, with counts of duplicates and off-grid stamps."""
    index = pd.DatetimeIndex(history.index)
    if index.tz is None:
        raise ForecastError(
            f"series {label!r}: its history has timestamps without a time zone",
            fix="localise the index (UTC inside klaster) before forecasting",
        )
    values = pd.to_numeric(pd.Series(history.to_numpy(), index=index.tz_convert("UTC")))
    values = values.astype(float).replace([np.inf, -np.inf], np.nan).dropna()
    if values.empty:
        raise ForecastError(
            f"series {label!r} has no values in its history",
            fix="load or import history for it before forecasting",
        )
    step = step_minutes or infer_step_minutes(pd.DatetimeIndex(values.index), label)
    stamps = pd.DatetimeIndex(values.index)
    on_grid = stamps == stamps.floor(step_delta(step))
    off_grid = int((~on_grid).sum())
    values = values[on_grid]
    duplicates = int(pd.DatetimeIndex(values.index).duplicated().sum())
    if duplicates:
        values = values.groupby(level=0).mean()
    values = values.sort_index()
    grid = pd.date_range(values.index[0], values.index[-1], freq=step_delta(step), name="ts")
    return values.reindex(grid), step, duplicates, off_grid


def _robust_scale(abs_residual: pd.Series, slots: np.ndarray, slots_per_day: int) -> FloatArray:
    """A robust scale of each step's residual (standard-deviation units), never too small.

    The larger of the scale at the step's local time of day (smoothed over
    neighbouring slots, since a ramp's residuals against a running median are
    all zero) and the scale of the surrounding day (a volatile day is
    volatile everywhere); at least half the series' overall scale, so a
    slot that never moves (PV at night) does not make any change a spike.
    Means of absolute residuals are used, with each residual first capped at
    ten times the overall median, so a spike cannot hide itself by
    inflating the scale.
    """
    values = abs_residual.to_numpy(dtype=float)
    moving = values[np.isfinite(values) & (values > 0)]
    overall = _MAD_TO_STD * float(np.median(moving)) if len(moving) else 0.0
    capped = np.minimum(values, 10.0 * overall / _MAD_TO_STD if overall > 0 else np.inf)
    known = np.isfinite(capped)
    sums = np.bincount(slots[known], weights=capped[known], minlength=slots_per_day)
    counts = np.bincount(slots[known], minlength=slots_per_day)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_slot = np.where(counts > 0, sums / counts, 0.0) * _MEAN_ABS_TO_STD
    width = max(1, slots_per_day // 32)
    padded = np.concatenate([by_slot[-width:], by_slot, by_slot[:width]])
    slot_scale = np.lib.stride_tricks.sliding_window_view(padded, 2 * width + 1).max(axis=1)
    local = pd.Series(capped).rolling(slots_per_day, center=True, min_periods=slots_per_day // 4)
    local_scale = _MEAN_ABS_TO_STD * local.mean().to_numpy(dtype=float)
    scale = np.fmax(slot_scale[slots], np.nan_to_num(local_scale))
    result: FloatArray = np.maximum(scale, max(0.5 * overall, 1e-9))
    return result


def find_spikes(
    values: pd.Series, zone: ZoneInfo, step_minutes: int, spike_z: float
) -> pd.DatetimeIndex:
    """Steps whose value lies more than ``spike_z`` robust z-scores from its running median."""
    window = 2 * SPIKE_HALF_WINDOW + 1
    median = values.rolling(window, center=True, min_periods=SPIKE_HALF_WINDOW + 1).median()
    residual = values - median
    slots = slot_of_day(pd.DatetimeIndex(values.index), zone, step_minutes)
    scale = _robust_scale(residual.abs(), slots, 1440 // step_minutes)
    z = residual.to_numpy() / scale
    return pd.DatetimeIndex(values.index[np.abs(np.nan_to_num(z)) > spike_z])


def find_stuck(
    values: pd.Series, zone: ZoneInfo, step_minutes: int, options: CleaningOptions
) -> pd.DatetimeIndex:
    """Steps inside runs of one repeated value where the series normally changes.

    The chance of each repeat is the share of steps at that time of day whose
    value equals the previous one (with one repeat and one change added, so
    that it is never 0 or 1); a run whose product of chances is below
    ``options.stuck_chance`` is stuck. The run's first value is not included.
    """
    raw = values.to_numpy(dtype=float)
    repeat = np.zeros(len(raw), dtype=bool)
    repeat[1:] = raw[1:] == raw[:-1]
    valid_pair = np.zeros(len(raw), dtype=bool)
    valid_pair[1:] = ~np.isnan(raw[1:]) & ~np.isnan(raw[:-1])
    count = 1440 // step_minutes
    slots = slot_of_day(pd.DatetimeIndex(values.index), zone, step_minutes)
    repeats_by_slot = np.bincount(slots[repeat], minlength=count)
    pairs_by_slot = np.bincount(slots[valid_pair], minlength=count)
    log_chance = np.log((repeats_by_slot + 1.0) / (pairs_by_slot + 2.0))
    min_repeats = max(2, -(-options.stuck_min_minutes // step_minutes) - 1)
    stuck = np.zeros(len(raw), dtype=bool)
    run_id = np.cumsum(~repeat)
    runs = pd.Series(np.arange(len(raw)))[repeat].groupby(run_id[repeat])
    for _, members in runs:
        positions = members.to_numpy()
        if len(positions) < min_repeats:
            continue
        if log_chance[slots[positions]].sum() < np.log(options.stuck_chance):
            stuck[positions] = True
    return pd.DatetimeIndex(values.index[stuck])


def _fill_short_gaps(
    values: pd.Series, step_minutes: int, max_minutes: int
) -> tuple[pd.Series, pd.DatetimeIndex, pd.DatetimeIndex]:
    """Interpolate gaps of at most ``max_minutes``; report filled and still-missing steps."""
    missing = values.isna()
    if not missing.any():
        empty = pd.DatetimeIndex([], tz="UTC")
        return values, empty, empty
    gap_id = (missing != missing.shift()).cumsum()
    gap_length = missing.groupby(gap_id).transform("sum")
    short = missing & (gap_length * step_minutes <= max_minutes)
    filled = values.interpolate(method="linear", limit_area="inside")
    result = values.where(~short, filled)
    index = pd.DatetimeIndex(values.index)
    return result, index[short.to_numpy()], index[(missing & ~short).to_numpy()]


def clean_history(
    history: pd.Series,
    zone: ZoneInfo | str = "Europe/Warsaw",
    *,
    step_minutes: int | None = None,
    options: CleaningOptions | None = None,
) -> tuple[pd.Series, CleaningReport]:
    """A raw history made regular and cleaned, with a report of what was done.

    Parameters
    ----------
    history
        Values indexed by timezone-aware timestamps, in any order, possibly
        with duplicates, gaps and bad values; its name names the series.
    zone
        The local time zone (times of day for spike scales and stuck runs).
    step_minutes
        The step, minutes; inferred from the timestamps when not given.
    options
        Thresholds; the defaults of :class:`CleaningOptions` when not given.

    Returns
    -------
    tuple
        The cleaned series on a regular UTC grid from its first to its last
        valid value (NaN where values stay missing), and the report.

    Raises
    ------
    ForecastError
        When the history has no values, no time zone, or no usable step.
    """
    options = options or CleaningOptions()
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    label = series_label(history)
    values, step, duplicates, off_grid = _regular(history, label, step_minutes)
    spikes = find_spikes(values, zone, step, options.spike_z)
    values[spikes] = np.nan
    stuck = find_stuck(values, zone, step, options)
    values[stuck] = np.nan
    values, interpolated, missing = _fill_short_gaps(values, step, options.max_interpolate_minutes)
    values = values.loc[values.first_valid_index() : values.last_valid_index()].rename(label)
    report = CleaningReport(
        series_id=label,
        step_minutes=step,
        duplicates=duplicates,
        off_grid=off_grid,
        spikes=spikes,
        stuck=stuck,
        interpolated=interpolated,
        missing=missing.intersection(pd.DatetimeIndex(values.index)),
    )
    return values, report
