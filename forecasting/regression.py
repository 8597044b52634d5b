"""The load model: a calendar profile scaled by heating and cooling, with carried-over errors.

The value of a step is modelled as

.. math::

    y_t = m_{k(t), s(t)} \\, (1 + \\beta_h (H_t - \\bar H) + \\beta_c (C_t - \\bar C))
          + \\gamma^\\top (x_t - \\bar x) + r_t

- :math:`m_{k,s}` is the level at local time-of-day slot :math:`s` on
  profile class :math:`k` (:mod:`forecasting.profile`): each working
  weekday, Saturday, Sunday or public holiday, and (for a building that
  follows the school calendar, ``school_breaks=True``) working day in a
  school break; each class is shrunk towards the pooled working day, block
  by block of the day, by how much it really differs there. Slots are on
  the local wall clock, so the 92- and 100-step DST days need nothing special.
- Bridge days are working days shifted towards the Sunday profile by a
  fitted share :math:`\\theta` (0 = an ordinary working day, 1 = a Sunday);
  so are school-break days while the history holds fewer than
  :data:`MIN_OWN_PROFILE_DAYS` of them. Without any in the history they
  are forecast as working days, with a note.
- :math:`H_t` are the heating degrees of the step's local day (its mean
  temperature below ``heating_base_c``), :math:`C_t` the cooling degrees of
  the step (temperature above ``cooling_base_c``), both measured from their
  mean over the history. The terms multiply the profile: heating and
  cooling scale with how busy the building is. A term the history never
  exercises (no cold days in summer) is left out.
- :math:`x_t` are optional extra regressors (occupancy), entering linearly.
- :math:`r_t` are the errors, carried into the forecast by lead time from
  the recent mean error and the last deviation, both relative to the
  profile's level (:mod:`forecasting.dynamics`): a building 5 % busier than
  usual is 5 % busier at night too, not as many kW busier as by day.

Recent days weigh more (half-life ``halflife_days``, three weeks by
default), so a building that slowly changes its habits is followed within
weeks. A clear change of the daily pattern (a theatre reopening after its
summer recess: :mod:`forecasting.regime`) is followed at once: once a week
of the new pattern is seen, the history before it is left out. Fitting is
alternating least squares on per-cell sums and a tiny linear solve: a
quarter-hour series with eight weeks of history fits in about 20 ms.

Intervals are empirical: the errors of the carried-over forecasts from many
past origins, by lead time and time of day (:mod:`forecasting.intervals`),
widened by each profile cell's leave-one-out factor, and by how much worse
the model did on the last :data:`CALIBRATION_DAYS` days when fitted without
them (the model's errors grow when behaviour drifts, which in-sample errors
cannot show).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.calendar import DayKind
from cluster.timeseries import SeriesId
from forecasting.base import DEFAULT_LEVELS, FittedForecaster, ForecastError, ForecastResult
from forecasting.dynamics import LeadDynamics
from forecasting.features import (
    cooling_degrees,
    day_mean,
    heating_degrees,
    step_features,
)
from forecasting.grid import (
    FloatArray,
    infer_step_minutes,
    lead_steps,
    series_label,
    steps_per_day,
)
from forecasting.intervals import forecast_steps
from forecasting.profile import (
    BREAK_BLEND,
    BRIDGE,
    SATURDAY,
    SCHOOL_BREAK,
    SPECIAL_NAMES,
    SUNDAY_HOLIDAY,
    CalendarProfile,
    ProfileDesign,
    fit_profile,
)
from forecasting.regime import RegimeChange, detect_regime_change

#: How many derived temperature arrays a process keeps.
_TEMPERATURE_CACHE_SIZE = 16
_temperature_cache: dict[tuple[object, ...], tuple[FloatArray, FloatArray]] = {}
#: Days held out at the end of the history to check the intervals' width.
CALIBRATION_DAYS = 14
#: The most the hold-out check may widen the intervals by.
MAX_SPREAD = 3.0
#: Fewest days of school break in the history for a profile of their own.
MIN_OWN_PROFILE_DAYS = 3
#: Degree terms need this much spread (K) and this share of non-zero steps to be fitted.
_MIN_DEGREE_SPREAD_K = 0.5
_MIN_DEGREE_SHARE = 0.05


@dataclass(frozen=True)
class CalendarRegression:
    """Calendar × temperature regression with two-scale autoregressive errors (see module).

    Parameters
    ----------
    timezone
        Local time zone of the calendar.
    country
        ISO country code of the public holidays.
    temperature
        Column of the regressors holding outdoor temperature, °C. Without it
        the model is calendar-only.
    heating_base_c
        Daily mean temperature below which heating grows, °C.
    cooling_base_c
        Temperature above which cooling grows, °C.
    school_breaks
        Whether the building follows the school calendar (schools, kindergartens).
    extra_regressors
        Further regressor columns entering linearly (e.g. occupancy).
    halflife_days
        Half-life of the weight of past days, days; None weighs all alike.
    regime_changes
        Whether a clear change of the daily pattern (:mod:`forecasting.regime`)
        cuts the history at the change.
    """

    timezone: str = "Europe/Warsaw"
    country: str = "PL"
    temperature: str = SeriesId.TEMPERATURE_C
    heating_base_c: float = 15.0
    cooling_base_c: float = 22.0
    school_breaks: bool = False
    extra_regressors: tuple[str, ...] = ()
    halflife_days: float | None = 21.0
    regime_changes: bool = True
    name: str = "calendar_regression"
    min_history_days: float = 14.0
    fallback: str | None = "naive_daily"

    def _temperature(
        self, regressors: pd.DataFrame | None, index: pd.DatetimeIndex, zone: ZoneInfo, step: int
    ) -> tuple[FloatArray, FloatArray] | None:
        """Step and daily-mean temperature on ``index``, or None without a temperature column."""
        if regressors is None or self.temperature not in regressors.columns:
            return None
        column = regressors[self.temperature]
        # Every series of a batch shares one weather frame: derive its arrays once.
        key = (
            hash(np.asarray(column, dtype=np.float64).tobytes()),
            hash(pd.DatetimeIndex(column.index).asi8.tobytes()),
            hash(index.asi8.tobytes()),
            len(index),
            str(zone),
            step,
            self.country,
        )
        cached = _temperature_cache.get(key)
        if cached is None:
            cached = self._derive_temperature(column, index, zone, step)
            _temperature_cache[key] = cached
            if len(_temperature_cache) > _TEMPERATURE_CACHE_SIZE:
                _temperature_cache.pop(next(iter(_temperature_cache)))
        return cached

    def _derive_temperature(
        self, column: pd.Series, index: pd.DatetimeIndex, zone: ZoneInfo, step: int
    ) -> tuple[FloatArray, FloatArray]:
        column = column.astype(float)
        column.index = pd.DatetimeIndex(column.index).tz_convert("UTC")
        column = column[~column.index.duplicated()].sort_index()
        # Daily means over every row given, so a forecast of part of a day uses the whole day.
        days = step_features(pd.DatetimeIndex(column.index), zone, step, self.country).day_number
        daily = pd.Series(day_mean(np.asarray(column, dtype=np.float64), days), index=column.index)
        step_temp = column.reindex(index).interpolate(limit=8, limit_area="inside")
        daily_temp = daily.reindex(index)
        step_values: FloatArray = np.asarray(step_temp, dtype=np.float64)
        daily_values: FloatArray = np.asarray(daily_temp, dtype=np.float64)
        return step_values, daily_values

    def design(
        self,
        index: pd.DatetimeIndex,
        regressors: pd.DataFrame | None,
        step_minutes: int,
        own_break_profile: bool,
        label: str,
    ) -> ProfileDesign:
        """The features of ``index`` for this model."""
        zone = ZoneInfo(self.timezone)
        features = step_features(index, zone, step_minutes, self.country)
        working = features.kind == DayKind.WORKING
        profile_class = np.where(
            working,
            features.weekday,
            np.where(features.kind == DayKind.SATURDAY, SATURDAY, SUNDAY_HOLIDAY),
        ).astype(np.int64)
        special = np.zeros(len(index), dtype=np.int64)
        if self.school_breaks:
            in_break = working & features.school_break
            if own_break_profile:
                profile_class[in_break] = SCHOOL_BREAK
            else:
                special[in_break] = BREAK_BLEND
        special[working & features.bridge] = BRIDGE
        temperature = self._temperature(regressors, index, zone, step_minutes)
        if temperature is None:
            heating = cooling = np.full(len(index), np.nan)
        else:
            heating = heating_degrees(temperature[1], self.heating_base_c)
            cooling = cooling_degrees(temperature[0], self.cooling_base_c)
        extra = np.zeros((len(index), len(self.extra_regressors)))
        for column, name in enumerate(self.extra_regressors):
            if regressors is None or name not in regressors.columns:
                raise ForecastError(
                    f"series {label!r}: regressor {name!r} is not among the regressors given",
                    fix=f"pass a regressors frame with a {name!r} column, or drop it",
                )
            values = regressors[name].astype(float)
            values.index = pd.DatetimeIndex(values.index).tz_convert("UTC")
            extra[:, column] = values[~values.index.duplicated()].reindex(index).to_numpy()
        return ProfileDesign(features, profile_class, special, heating, cooling, extra)

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Fit the profile, the degree and extra coefficients and the error dynamics."""
        label = series_label(history)
        index = pd.DatetimeIndex(history.index).tz_convert("UTC")
        step = infer_step_minutes(index, label)
        values = history.to_numpy(dtype=float)
        fitted, design, residual = self._fit_values(values, index, regressors, step, label, ())
        if not self.regime_changes:
            return fitted
        change = self._regime_change(values, design, residual, step)
        if change is None:
            return fitted
        day = pd.Timestamp(change.first_day, unit="D").date()
        note = (
            f"the daily pattern changed on {day} ({change.relative_change:.0%} of the mean "
            "level): the history before it is left out"
        )
        # Days of the old regime become unknown: every later step (profile, degree
        # terms, error dynamics, hold-out check) then sees the new regime only.
        recent = np.where(design.features.day_number >= change.first_day, values, np.nan)
        return self._fit_values(recent, index, regressors, step, label, (note,))[0]

    @staticmethod
    def _regime_change(
        values: FloatArray, design: ProfileDesign, residual: FloatArray, step_minutes: int
    ) -> RegimeChange | None:
        """The latest clear change of the daily pattern the fitted model leaves unexplained."""
        known = np.isfinite(values)
        if not known.any():
            return None
        return detect_regime_change(
            residual,
            design.features.day_number,
            design.features.slot,
            design.profile_class,
            steps_per_day(step_minutes),
            float(np.mean(np.abs(values[known]))),
        )

    def _fit_values(
        self,
        values: FloatArray,
        index: pd.DatetimeIndex,
        regressors: pd.DataFrame | None,
        step: int,
        label: str,
        notes_so_far: tuple[str, ...],
    ) -> tuple[_FittedCalendarRegression, ProfileDesign, FloatArray]:
        """The fitted model, the history's design and the model's residuals on it."""
        features = step_features(index, ZoneInfo(self.timezone), step, self.country)
        valid = ~np.isnan(values)
        break_days = np.unique(
            features.day_number[valid & features.school_break & (features.kind == DayKind.WORKING)]
        )
        own_break = self.school_breaks and len(break_days) >= MIN_OWN_PROFILE_DAYS
        design = self.design(index, regressors, step, own_break, label)
        notes = list(notes_so_far)
        terms = self._active_terms(design, valid, notes)
        slots_per_day = steps_per_day(step)
        fit = fit_profile(values, design, terms, slots_per_day, self._weights(index, valid))
        expected = fit.predict(design, terms)
        residual = values - expected
        dynamics = LeadDynamics.fit(residual, expected, design.features.slot, slots_per_day)
        spread = self._holdout_spread(values, design, terms, index, slots_per_day)
        fitted = _FittedCalendarRegression(
            model=self,
            series_id=label,
            step_minutes=step,
            own_break_profile=own_break,
            terms=terms,
            profile=fit,
            dynamics=dynamics,
            spread=spread,
            state=dynamics.state(residual, expected, index),
            last_observed=index[-1],
            notes=tuple(notes),
        )
        return fitted, design, residual

    def _holdout_spread(
        self,
        values: FloatArray,
        design: ProfileDesign,
        terms: tuple[str, ...],
        index: pd.DatetimeIndex,
        slots_per_day: int,
    ) -> float:
        """How much wider than its in-sample errors the model's day-ahead errors really are.

        The model is fitted again without the last :data:`CALIBRATION_DAYS`
        days, forecasts each of those days from the midnight before, and
        the mean absolute error is compared with the one its in-sample
        errors predicted. The ratio (at least 1) widens the intervals. With
        too little history for a hold-out, it is 1.
        """
        cut = len(values) - CALIBRATION_DAYS * slots_per_day
        valid = ~np.isnan(values)
        if cut <= 0 or valid[:cut].sum() < self.min_history_days * slots_per_day:
            return 1.0
        early_weights = np.where(np.arange(len(values)) < cut, 1.0, 0.0) * self._weights(
            index, valid, until=index[cut - 1]
        )
        early = fit_profile(values, design, terms, slots_per_day, early_weights)
        expected = early.predict(design, terms)
        residual = values - expected
        fitted_part = np.where(np.arange(len(values)) < cut, residual, np.nan)
        dynamics = LeadDynamics.fit(fitted_part, expected, design.features.slot, slots_per_day)
        ratio = dynamics.holdout_ratio(
            residual, expected, design.features.slot, early.inflation[early.cells(design)], cut
        )
        return float(np.clip(ratio, 1.0, MAX_SPREAD))

    def _weights(
        self, index: pd.DatetimeIndex, valid: np.ndarray, until: pd.Timestamp | None = None
    ) -> FloatArray:
        weights = valid.astype(float)
        if self.halflife_days:
            age_days = ((until if until is not None else index[-1]) - index) / pd.Timedelta(days=1)
            weights *= 0.5 ** (np.asarray(age_days, dtype=float) / self.halflife_days)
        return weights

    def _active_terms(
        self, design: ProfileDesign, valid: np.ndarray, notes: list[str]
    ) -> tuple[str, ...]:
        """Which of the heating and cooling terms the history can support."""
        terms: list[str] = []
        if np.isnan(design.heating).all():
            notes.append(f"no {self.temperature!r} regressor: forecast from the calendar only")
        for name, degrees in (("heating", design.heating), ("cooling", design.cooling)):
            known = degrees[valid & ~np.isnan(degrees)]
            if len(known) == 0:
                continue
            if np.std(known) >= _MIN_DEGREE_SPREAD_K and np.mean(known > 0) >= _MIN_DEGREE_SHARE:
                terms.append(name)
        return (*terms, *(f"extra:{name}" for name in self.extra_regressors))


@dataclass(frozen=True)
class _FittedCalendarRegression:
    model: CalendarRegression
    series_id: str
    step_minutes: int
    own_break_profile: bool
    terms: tuple[str, ...]
    profile: CalendarProfile
    dynamics: LeadDynamics
    spread: float
    state: tuple[pd.Timestamp, FloatArray]
    last_observed: pd.Timestamp
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
        design = self.model.design(
            steps, regressors, self.step_minutes, self.own_break_profile, self.series_id
        )
        notes = list(self.notes)
        design = self._unseen_specials(design, notes)
        self._check_regressors(design, steps)
        expected = self.profile.predict(design, self.terms)
        origin, at_origin = self.state
        leads = lead_steps(steps, origin, self.step_minutes)
        point_values = expected + self.dynamics.expected_error(leads, at_origin, expected)
        point = pd.Series(point_values, index=steps, name=self.series_id)
        slots = design.features.slot
        inflation = self.profile.inflation[self.profile.cells(design)] * self.spread
        intervals = self.dynamics.intervals(point, leads, slots, levels, inflation)
        return ForecastResult(point, self.model.name, intervals, tuple(notes))

    def _unseen_specials(self, design: ProfileDesign, notes: list[str]) -> ProfileDesign:
        """Special days with no precedent in the history are forecast as working days."""
        special = design.special.copy()
        for kind, name in SPECIAL_NAMES.items():
            mine = special == kind
            if mine.any() and not self.profile.seen_special[kind]:
                first = pd.Timestamp(int(design.features.day_number[mine][0]), unit="D").date()
                notes.append(
                    f"{name} {first} has no precedent in the history: forecast as a working day"
                )
                special[mine] = 0
        return replace(design, special=special)

    def _check_regressors(self, design: ProfileDesign, steps: pd.DatetimeIndex) -> None:
        for term, values in (("heating", design.heating), ("cooling", design.cooling)):
            if term in self.terms and np.isnan(values).any():
                raise ForecastError(
                    f"series {self.series_id!r}: the model needs the "
                    f"{self.model.temperature!r} forecast for every step from {steps[0]} "
                    f"to {steps[-1]}, and some are missing",
                    fix=f"pass regressors with a {self.model.temperature!r} column over the steps",
                )
        if np.isnan(design.extra).any():
            raise ForecastError(
                f"series {self.series_id!r}: extra regressors "
                f"{list(self.model.extra_regressors)} are missing over the steps",
                fix="pass their values for every step forecast",
            )

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """Move the origin to the end of ``history``, keeping every fitted parameter."""
        index = pd.DatetimeIndex(history.index).tz_convert("UTC")
        design = self.model.design(
            index, regressors, self.step_minutes, self.own_break_profile, self.series_id
        )
        design = self._unseen_specials(design, [])
        expected = self.profile.predict(design, self.terms)
        residual = history.to_numpy(dtype=float) - expected
        state = self.dynamics.state(residual, expected, index)
        return replace(self, state=state, last_observed=index[-1])
