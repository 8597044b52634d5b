"""Energy baselines: daily energy against outdoor temperature and occupancy.

A building's daily energy is modelled as a heating change-point regression in
the manner of ASHRAE Guideline 14 (its "3P heating" model with an occupancy
term)::

    E_d = b0 + b_h * max(0, T_b - T_d) + b_o * H_d

with ``E_d`` the day's energy (kWh), ``T_d`` the day's mean outdoor
temperature (°C), ``T_b`` the balance point (°C, found by a search that
minimises the squared error), ``H_d`` the building's occupied hours that day
(h), ``b0`` the base load (kWh/day), ``b_h`` the heating slope (kWh per
degree-day) and ``b_o`` the occupancy slope (kWh per occupied hour). Fitted on
a baseline period, it predicts what the building would have used in a recent
period; the gap between use and prediction is the energy the building
wasted (or saved), weather and occupancy normalised.

The fit is judged as Guideline 14 judges a baseline: by CV(RMSE) and NMBE,
both with ``n - p`` degrees of freedom (``p`` = 4: three coefficients and the
balance point; fewer when a term is left out). Days whose residual lies more
than ``anomaly_sigma`` RMSE from the model are flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.errors import DataError

#: Columns of a daily frame: the day's energy, mean outdoor temperature and occupied hours.
DAILY_COLUMNS = ("energy_kwh", "temp_c", "occupied_h")
#: Share of a day's readings needed before its energy or temperature counts.
MIN_DAY_COVERAGE = 0.9


def _local_days(index: pd.DatetimeIndex, time_zone: ZoneInfo) -> pd.Index:
    return pd.Index(index.tz_convert(time_zone).date, name="day")


def daily_energy_from_power(
    power_kw: pd.Series, time_zone: ZoneInfo, step_minutes: int | None = None
) -> pd.Series:
    """Each local day's energy, kWh, from power readings (kW).

    The readings are averaged per step of ``step_minutes`` (by default the
    readings' own spacing: a minute to an hour); a day counts when at least
    :data:`MIN_DAY_COVERAGE` of its steps have a reading, and the missing
    steps are filled with the day's mean. Index: local dates.
    """
    power = power_kw.dropna()
    if power.empty:
        return pd.Series(dtype=float, index=pd.Index([], name="day"))
    if step_minutes is None:
        step_minutes = _spacing_minutes(pd.DatetimeIndex(power.index))
    steps = power.groupby(pd.DatetimeIndex(power.index).floor(f"{step_minutes}min")).mean()
    index = pd.DatetimeIndex(steps.index)
    days = _local_days(index, time_zone)
    by_day = steps.groupby(days)
    local = index.tz_convert(time_zone)
    # Steps a local day has: 92, 96 or 100 quarter-hours across the DST changes.
    first, last = local.min().normalize(), local.max().normalize() + pd.Timedelta(days=1)
    midnights = pd.date_range(first.tz_localize(None), last.tz_localize(None), freq="D")
    bounds = midnights.tz_localize(time_zone).tz_convert("UTC")
    expected = pd.Series(
        np.diff(bounds.as_unit("ns").asi8) / pd.Timedelta(minutes=step_minutes).value,
        index=pd.Index(midnights[:-1].date, name="day"),
    )
    count = by_day.count()
    hours = expected.reindex(count.index) * step_minutes / 60.0
    energy = by_day.mean() * hours
    coverage = count / expected.reindex(count.index)
    return energy.where(coverage >= MIN_DAY_COVERAGE).dropna().rename("energy_kwh")


def _spacing_minutes(index: pd.DatetimeIndex) -> int:
    """The readings' typical spacing as a divisor of an hour, minutes (1-60)."""
    if len(index) < 2:
        return 60
    spacing = float(np.median(np.diff(index.as_unit("s").asi8))) / 60.0
    return max((d for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) if d <= spacing), default=1)


def daily_mean(values: pd.Series, time_zone: ZoneInfo, min_readings: int = 12) -> pd.Series:
    """Each local day's mean of ``values`` (e.g. outdoor temperature, °C); index: local dates.

    Days with fewer than ``min_readings`` readings are left out.
    """
    clean = values.dropna()
    if clean.empty:
        return pd.Series(dtype=float, index=pd.Index([], name="day"))
    grouped = clean.groupby(_local_days(pd.DatetimeIndex(clean.index), time_zone))
    return grouped.mean().where(grouped.count() >= min_readings).dropna()


def daily_frame(energy_kwh: pd.Series, temp_c: pd.Series, occupied_h: pd.Series) -> pd.DataFrame:
    """The days that have all three of energy (kWh), mean temperature (°C) and occupied hours."""
    frame = pd.concat(
        {"energy_kwh": energy_kwh, "temp_c": temp_c, "occupied_h": occupied_h}, axis=1
    )
    return frame.dropna().sort_index()


@dataclass(frozen=True)
class ChangePointModel:
    """The baseline model: how the balance point is searched and what counts as anomalous.

    Parameters
    ----------
    balance_min_c, balance_max_c, balance_step_c
        The balance-point search range and step, °C.
    anomaly_sigma
        A day whose residual exceeds this many RMSE is anomalous.
    min_days
        Fewest baseline days a fit needs.
    """

    balance_min_c: float = 8.0
    balance_max_c: float = 22.0
    balance_step_c: float = 0.25
    anomaly_sigma: float = 3.0
    min_days: int = 28

    def fit(self, days: pd.DataFrame) -> BaselineFit:
        """Fit the model to a daily frame (:data:`DAILY_COLUMNS`).

        Raises
        ------
        DataError
            With fewer than ``min_days`` days.
        """
        if len(days) < self.min_days:
            raise DataError(
                f"{len(days)} days of energy and temperature are too few for a baseline "
                f"(at least {self.min_days})",
                fix="poll the building's meter longer, or give a longer --baseline-days",
            )
        energy = days["energy_kwh"].to_numpy(dtype=float)
        temp = days["temp_c"].to_numpy(dtype=float)
        occupied = days["occupied_h"].to_numpy(dtype=float)
        # Occupied hours that (nearly) never change — a care home open round the clock,
        # whose days differ only on the DST changes — cannot be told apart from the
        # base load: the term is left out, its slope 0.
        differ = np.abs(occupied - np.median(occupied)) > 0.5
        with_occupancy = bool(differ.mean() >= 0.05)
        best: tuple[float, float, np.ndarray] | None = None
        steps = round((self.balance_max_c - self.balance_min_c) / self.balance_step_c)
        for balance in np.linspace(self.balance_min_c, self.balance_max_c, steps + 1):
            degree_days = np.maximum(0.0, balance - temp)
            if np.count_nonzero(degree_days) < 3:
                continue  # no heating days below this balance point: the slope is unknown
            coefficients, sse = _least_squares(energy, degree_days, occupied, with_occupancy)
            if coefficients[1] >= 0 and (best is None or sse < best[0]):
                best = (sse, float(balance), coefficients)
        heating = best is not None
        if best is None:
            # No heating signal at any balance point: base load and occupancy alone.
            coefficients, sse = _least_squares(energy, None, occupied, with_occupancy)
            best = (sse, float("nan"), coefficients)
        _, balance_c, coefficients = best
        result = BaselineFit(
            base_kwh=float(coefficients[0]),
            heating_kwh_per_degree_day=float(coefficients[1]),
            occupied_kwh_per_hour=float(coefficients[2]),
            balance_c=balance_c,
            model=self,
            parameters=1 + 2 * heating + with_occupancy,
        )
        return result.with_statistics(days)


def _least_squares(
    energy: np.ndarray,
    degree_days: np.ndarray | None,
    occupied_h: np.ndarray,
    with_occupancy: bool,
) -> tuple[np.ndarray, float]:
    """(base, heating slope, occupancy slope) and the squared error; a term left out is 0."""
    columns = [np.ones_like(energy)]
    used = [True, degree_days is not None, with_occupancy]
    if degree_days is not None:
        columns.append(degree_days)
    if with_occupancy:
        columns.append(occupied_h)
    design = np.column_stack(columns)
    solved, *_ = np.linalg.lstsq(design, energy, rcond=None)
    coefficients = np.zeros(3)
    coefficients[np.flatnonzero(used)] = solved
    return coefficients, float(np.sum((energy - design @ solved) ** 2))


@dataclass(frozen=True)
class BaselineFit:
    """A fitted baseline: coefficients, and CV(RMSE), NMBE and RMSE on the baseline days.

    ``balance_c`` is NaN when no balance point gave a heating signal (the
    heating slope is then 0).
    """

    base_kwh: float
    heating_kwh_per_degree_day: float
    occupied_kwh_per_hour: float
    balance_c: float
    model: ChangePointModel = field(default_factory=ChangePointModel)
    days: int = 0
    cv_rmse_pct: float = float("nan")
    nmbe_pct: float = float("nan")
    rmse_kwh: float = float("nan")
    parameters: int = 4

    def predict(self, days: pd.DataFrame) -> pd.Series:
        """Predicted daily energy, kWh, of days with ``temp_c`` and ``occupied_h``."""
        heating = (
            np.maximum(0.0, self.balance_c - days["temp_c"].to_numpy(dtype=float))
            if np.isfinite(self.balance_c)
            else np.zeros(len(days))
        )
        values = (
            self.base_kwh
            + self.heating_kwh_per_degree_day * heating
            + self.occupied_kwh_per_hour * days["occupied_h"].to_numpy(dtype=float)
        )
        return pd.Series(values, index=days.index, name="predicted_kwh")

    def with_statistics(self, days: pd.DataFrame) -> BaselineFit:
        """This fit with its Guideline 14 statistics computed on ``days``."""
        actual = days["energy_kwh"].to_numpy(dtype=float)
        residual = actual - self.predict(days).to_numpy()
        freedom = max(1, len(actual) - self.parameters)
        mean = float(actual.mean())
        rmse = float(np.sqrt(np.sum(residual**2) / freedom))
        return BaselineFit(
            self.base_kwh,
            self.heating_kwh_per_degree_day,
            self.occupied_kwh_per_hour,
            self.balance_c,
            self.model,
            days=len(actual),
            cv_rmse_pct=100.0 * rmse / mean if mean else float("nan"),
            nmbe_pct=100.0 * float(residual.sum()) / (freedom * mean) if mean else float("nan"),
            rmse_kwh=rmse,
            parameters=self.parameters,
        )

    def meets(self, max_cv_rmse_pct: float = 25.0, max_abs_nmbe_pct: float = 5.0) -> bool:
        """Whether the fit is good enough to measure against (CV(RMSE) and NMBE limits, %)."""
        return bool(self.cv_rmse_pct <= max_cv_rmse_pct and abs(self.nmbe_pct) <= max_abs_nmbe_pct)


@dataclass(frozen=True)
class BuildingBaseline:
    """One building's baseline and how its recent period compares.

    Attributes
    ----------
    building_id
        The building.
    fit
        The baseline fitted on the baseline period.
    days
        Every day (baseline and recent): ``energy_kwh``, ``temp_c``,
        ``occupied_h``, ``predicted_kwh``, ``residual_kwh``, ``period``
        (``baseline`` or ``recent``) and ``anomalous``.
    actual_kwh, predicted_kwh
        The recent period's energy, as used and as the baseline predicts.
    floor_area_m2
        The building's heated floor area (its zones'), m².
    """

    building_id: str
    fit: BaselineFit
    days: pd.DataFrame
    actual_kwh: float
    predicted_kwh: float
    floor_area_m2: float

    @property
    def gap_kwh(self) -> float:
        """Recent use above (+) or below (−) the baseline, kWh."""
        return self.actual_kwh - self.predicted_kwh

    @property
    def gap_pct(self) -> float:
        """The gap as a share of the predicted energy, %."""
        return 100.0 * self.gap_kwh / self.predicted_kwh if self.predicted_kwh else float("nan")

    @property
    def avoidable_kwh(self) -> float:
        """The energy used beyond the baseline in the recent period, kWh (0 when below it)."""
        return max(0.0, self.gap_kwh)

    @property
    def anomalies(self) -> pd.DataFrame:
        """The anomalous days."""
        return self.days[self.days["anomalous"]]


def building_baseline(
    building_id: str,
    days: pd.DataFrame,
    recent_start: date,
    floor_area_m2: float,
    model: ChangePointModel | None = None,
) -> BuildingBaseline:
    """Fit the baseline on the days before ``recent_start`` and compare the days from it on.

    Parameters
    ----------
    building_id
        The building.
    days
        Its daily frame (:func:`daily_frame`), indexed by local date.
    recent_start
        First day of the recent period.
    floor_area_m2
        Heated floor area, m².
    model
        The model; the defaults when None.

    Raises
    ------
    DataError
        When the baseline period has too few days, or the recent period none.
    """
    model = model or ChangePointModel()
    before = days[[d < recent_start for d in days.index]]
    recent = days[[d >= recent_start for d in days.index]]
    if recent.empty:
        raise DataError(
            f"{building_id}: no day from {recent_start} on has both energy and temperature",
            fix="poll the meter (klaster poll) or move the recent period back (--recent-days)",
        )
    fit = model.fit(before)
    table = days.copy()
    table["predicted_kwh"] = fit.predict(days)
    table["residual_kwh"] = table["energy_kwh"] - table["predicted_kwh"]
    table["period"] = np.where([d >= recent_start for d in days.index], "recent", "baseline")
    limit = model.anomaly_sigma * fit.rmse_kwh
    table["anomalous"] = table["residual_kwh"].abs() > limit
    in_recent = table["period"] == "recent"
    return BuildingBaseline(
        building_id=building_id,
        fit=fit,
        days=table,
        actual_kwh=float(table.loc[in_recent, "energy_kwh"].sum()),
        predicted_kwh=float(table.loc[in_recent, "predicted_kwh"].sum()),
        floor_area_m2=floor_area_m2,
    )


#: Columns of :func:`ranking`.
RANKING_COLUMNS = (
    "building", "avoidable_kwh", "avoidable_kwh_per_m2", "gap_pct", "actual_kwh",
    "predicted_kwh", "cv_rmse_pct", "nmbe_pct", "fit_ok", "anomalous_days",
)  # fmt: skip


def ranking(
    baselines: Sequence[BuildingBaseline],
    max_cv_rmse_pct: float = 25.0,
    max_abs_nmbe_pct: float = 5.0,
) -> pd.DataFrame:
    """Buildings by avoidable energy in the recent period, most first.

    A building whose baseline fails the CV(RMSE)/NMBE limits is listed with
    ``fit_ok`` False: its gap is uncertain.
    """
    rows = [
        (
            b.building_id,
            b.avoidable_kwh,
            b.avoidable_kwh / b.floor_area_m2 if b.floor_area_m2 else float("nan"),
            b.gap_pct,
            b.actual_kwh,
            b.predicted_kwh,
            b.fit.cv_rmse_pct,
            b.fit.nmbe_pct,
            b.fit.meets(max_cv_rmse_pct, max_abs_nmbe_pct),
            int(b.days["anomalous"].sum()),
        )
        for b in baselines
    ]
    frame = pd.DataFrame(rows, columns=list(RANKING_COLUMNS))
    return frame.sort_values(["avoidable_kwh", "gap_pct"], ascending=False, ignore_index=True)
