"""PV output per plant: physics from the weather forecast, corrected by the plant's history.

The physical model (pvlib, :mod:`forecasting.irradiance`): the sun's position
and the clear sky at the site; global horizontal irradiance from the
forecast (given directly, or from the cloud cover); Erbs decomposition and
Hay-Davies transposition to the plant's tilt and azimuth; Faiman cell
temperature; PVWatts DC power with the plant's losses; the PVWatts inverter
efficiency curve; the inverter limit.

The physics is then corrected by the plant's own history
(:mod:`forecasting.pv_correction`): per bin of solar elevation, time of day
and forecast sky, the measured output over the modelled one. The forecast is
the modelled output before the inverter limit times its bin's ratio, then
limited, and set to zero whenever the sun is down: zero at night by
construction.

Intervals come from the corrected model's errors on the history (each
day's from a correction fitted without it), divided by the plant's
clear-sky output (errors scale with what the sun could give)
and taken as quantiles per class of forecast clear-sky index (clear,
broken, overcast skies err differently).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pvlib

from cluster.config import PVPlant
from cluster.timeseries import SeriesId
from forecasting.base import DEFAULT_LEVELS, FittedForecaster, ForecastError, ForecastResult
from forecasting.grid import FloatArray, infer_step_minutes, series_label
from forecasting.intervals import forecast_steps, quantile_intervals
from forecasting.irradiance import (
    DEFAULT_ALBEDO,
    Site,
    Sky,
    clear_sky_index,
    ghi_from_cloud,
    plane_of_array_w_m2,
    sky_at,
)
from forecasting.pv_correction import PvCorrection, PvErrorSpread, cross_fitted

#: Temperature coefficient of the DC power of crystalline-silicon modules, 1/K.
GAMMA_PDC_PER_K = -0.0037
#: Nominal inverter efficiency (PVWatts), 0-1.
INVERTER_EFFICIENCY = 0.96
#: Wind speed for the cell temperature when the forecast gives none, m/s.
DEFAULT_WIND_M_S = 2.0
#: Air temperature assumed when the forecast gives none, °C.
DEFAULT_AIR_TEMP_C = 15.0
#: Measured output above this share of the inverter limit may be clipped: not used for ratios.
CLIPPED_SHARE = 0.98
#: Share of daylight steps an irradiance input must cover to be used.
_MIN_INPUT_SHARE = 0.9


@dataclass(frozen=True)
class PvSystem:
    """A PV plant as the physical model sees it.

    Attributes
    ----------
    kwp
        DC peak power at standard test conditions, kWp.
    tilt_deg
        Module tilt from horizontal, degrees.
    azimuth_deg
        Direction the modules face, degrees clockwise from north (180 = south).
    inverter_limit_kw
        Most AC power the inverters deliver, kW.
    loss_fraction
        DC losses (wiring, soiling, mismatch, availability), 0-1.
    gamma_per_k
        Temperature coefficient of DC power, 1/K.
    albedo
        Ground reflectance, 0-1.
    """

    kwp: float
    tilt_deg: float
    azimuth_deg: float
    inverter_limit_kw: float
    loss_fraction: float = 0.14
    gamma_per_k: float = GAMMA_PDC_PER_K
    albedo: float = DEFAULT_ALBEDO

    @classmethod
    def from_plant(cls, plant: PVPlant) -> PvSystem:
        """The system of a configured plant."""
        return cls(
            plant.kwp, plant.tilt_deg, plant.azimuth_deg, plant.inverter_limit_kw,
            plant.loss_fraction,
        )  # fmt: skip


def plant_options(plant: PVPlant, site: Site) -> dict[str, float]:
    """The ``pv_physical`` model options of a configured plant at a site."""
    return {
        "latitude_deg": site.latitude_deg,
        "longitude_deg": site.longitude_deg,
        "altitude_m": site.altitude_m,
        "kwp": plant.kwp,
        "tilt_deg": plant.tilt_deg,
        "azimuth_deg": plant.azimuth_deg,
        "inverter_limit_kw": plant.inverter_limit_kw,
        "loss_fraction": plant.loss_fraction,
    }


@dataclass(frozen=True)
class PhysicalOutput:
    """The physical model's AC output, kW: behind the inverter limit, and before it."""

    ac_kw: FloatArray
    unclipped_ac_kw: FloatArray


def physical_output(
    system: PvSystem,
    sky: Sky,
    ghi_w_m2: FloatArray,
    temp_air_c: FloatArray,
    wind_m_s: float = DEFAULT_WIND_M_S,
) -> PhysicalOutput:
    """A plant's AC output by the physical model, kW; zero when the sun is down.

    Parameters
    ----------
    system
        The plant.
    sky
        Solar position of the steps.
    ghi_w_m2
        Global horizontal irradiance, W/m².
    temp_air_c
        Air temperature, °C.
    wind_m_s
        Wind speed at module height, m/s.
    """
    poa = plane_of_array_w_m2(sky, ghi_w_m2, system.tilt_deg, system.azimuth_deg, system.albedo)
    cell_c = pvlib.temperature.faiman(poa, temp_air_c, wind_m_s)
    dc_kw = np.asarray(
        pvlib.pvsystem.pvwatts_dc(poa, cell_c, system.kwp, system.gamma_per_k), dtype=float
    ) * (1.0 - system.loss_fraction)
    dc_kw = np.maximum(np.nan_to_num(dc_kw), 0.0)
    # The inverter is rated at its limit; its efficiency curve is PVWatts'. The
    # curve is taken at most at the rating so that the unclipped output can be
    # kept for the correction, which must see the plant beyond its limit too.
    pdc0 = system.inverter_limit_kw / INVERTER_EFFICIENCY
    within = np.minimum(dc_kw, pdc0)
    ac_within = np.asarray(pvlib.inverter.pvwatts(within, pdc0, INVERTER_EFFICIENCY), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        efficiency = np.where(within > 0, ac_within / within, 0.0)
    unclipped = np.where(sky.sun_up, dc_kw * efficiency, 0.0)
    return PhysicalOutput(np.minimum(unclipped, system.inverter_limit_kw), unclipped)


def _column(
    regressors: pd.DataFrame | None, name: str, steps: pd.DatetimeIndex
) -> FloatArray | None:
    if regressors is None or name not in regressors.columns:
        return None
    column = regressors[name].astype(float)
    column.index = pd.DatetimeIndex(column.index).tz_convert("UTC")
    column = column[~column.index.duplicated()]
    return np.asarray(column.reindex(steps), dtype=float)


def _irradiance(
    regressors: pd.DataFrame | None, sky: Sky, source: str
) -> tuple[FloatArray, str] | None:
    """GHI from the forecast, W/m², by the source asked for: ``ghi`` or ``cloud``."""
    if source == "ghi":
        ghi = _column(regressors, SeriesId.GHI_W_M2, sky.steps)
        return None if ghi is None else (ghi, "ghi")
    cloud = _column(regressors, SeriesId.CLOUD_PCT, sky.steps)
    return None if cloud is None else (ghi_from_cloud(sky.ghi_clear_w_m2, cloud), "cloud")


def _covers(values: FloatArray, sky: Sky) -> float:
    daylight = sky.sun_up
    return float(np.isfinite(values[daylight]).mean()) if daylight.any() else 1.0


@dataclass(frozen=True)
class PhysicalPv:
    """The ``pv_physical`` model: pvlib's physics corrected by the plant's history (see module).

    Parameters
    ----------
    timezone, country
        Local time zone and holiday country (kept for the registry's interface).
    latitude_deg, longitude_deg, altitude_m
        The plant's site: degrees north, degrees east, m above sea level.
    kwp, tilt_deg, azimuth_deg, inverter_limit_kw, loss_fraction
        The plant (see :class:`PvSystem`); ``inverter_limit_kw`` defaults to ``kwp``.
    wind_m_s
        Wind speed for the cell temperature, m/s.
    halflife_days
        Half-life of the weight of past days in the correction, days.
    """

    timezone: str = "Europe/Warsaw"
    country: str = "PL"
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    altitude_m: float = 0.0
    kwp: float | None = None
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    inverter_limit_kw: float | None = None
    loss_fraction: float = 0.14
    wind_m_s: float = DEFAULT_WIND_M_S
    halflife_days: float = 30.0
    name: str = "pv_physical"
    min_history_days: float = 3.0
    fallback: str | None = "naive_daily"

    def system_and_site(self, label: str) -> tuple[PvSystem, Site]:
        """The plant and its site; raises :class:`ForecastError` when they were not given."""
        if self.kwp is None or self.latitude_deg is None or self.longitude_deg is None:
            raise ForecastError(
                f"series {label!r}: model {self.name} needs the plant's kwp and its site's "
                "latitude_deg and longitude_deg",
                fix="pass them as model options (forecasting.pv.plant_options builds them)",
            )
        limit = self.inverter_limit_kw if self.inverter_limit_kw is not None else self.kwp
        system = PvSystem(self.kwp, self.tilt_deg, self.azimuth_deg, limit, self.loss_fraction)
        return system, Site(self.latitude_deg, self.longitude_deg, self.altitude_m)

    def fit(self, history: pd.Series, regressors: pd.DataFrame | None = None) -> FittedForecaster:
        """Fit the correction and the error spread on the plant's history and weather."""
        label = series_label(history)
        system, site = self.system_and_site(label)
        index = pd.DatetimeIndex(history.index).tz_convert("UTC")
        step = infer_step_minutes(index, label)
        sky = sky_at(index, site, step)
        notes: list[str] = []
        source = ""
        for candidate in ("ghi", "cloud"):
            found = _irradiance(regressors, sky, candidate)
            if found is not None and _covers(found[0], sky) >= _MIN_INPUT_SHARE:
                ghi, source = found
                break
        if not source:
            raise ValueError(
                f"no {SeriesId.GHI_W_M2!r} or {SeriesId.CLOUD_PCT!r} weather over the history"
            )
        temp = self._temperature(regressors, index, notes)
        output = physical_output(system, sky, np.nan_to_num(ghi), temp, self.wind_m_s)
        kt = clear_sky_index(ghi, sky.ghi_clear_w_m2)
        measured = history.to_numpy(dtype=float)
        age_days = (index[-1] - index) / pd.Timedelta(days=1)
        weights = 0.5 ** (np.asarray(age_days, dtype=float) / self.halflife_days)
        weights = np.where(
            sky.sun_up & np.isfinite(ghi) & (measured < CLIPPED_SHARE * system.inverter_limit_kw),
            weights,
            0.0,
        )
        correction = PvCorrection.fit(measured, output.unclipped_ac_kw, sky, kt, weights)
        corrected = cross_fitted(
            measured, output.unclipped_ac_kw, sky, kt, weights, system.inverter_limit_kw
        )
        clear = physical_output(system, sky, sky.ghi_clear_w_m2, temp, self.wind_m_s).ac_kw
        scale = np.maximum(clear, 0.05 * system.inverter_limit_kw)
        known = sky.sun_up & np.isfinite(measured) & np.isfinite(ghi)
        spread = PvErrorSpread.fit((measured[known] - corrected[known]) / scale[known], kt[known])
        notes.append(
            f"physical model from the {'GHI' if source == 'ghi' else 'cloud-cover'} forecast, "
            f"corrected by the plant's history (overall ratio {correction.overall:.2f})"
        )
        return _FittedPv(
            model=self,
            system=system,
            site=site,
            series_id=label,
            step_minutes=step,
            last_observed=index[-1],
            source=source,
            correction=correction,
            spread=spread,
            notes=tuple(notes),
        )

    def _temperature(
        self, regressors: pd.DataFrame | None, steps: pd.DatetimeIndex, notes: list[str]
    ) -> FloatArray:
        temp = _column(regressors, SeriesId.TEMPERATURE_C, steps)
        if temp is None or np.isnan(temp).all():
            notes.append(
                f"no {SeriesId.TEMPERATURE_C!r} forecast: {DEFAULT_AIR_TEMP_C:g} °C assumed "
                "for the cell temperature"
            )
            return np.full(len(steps), DEFAULT_AIR_TEMP_C)
        filled: FloatArray = np.asarray(
            pd.Series(temp).interpolate(limit_direction="both"), dtype=float
        )
        return filled


@dataclass(frozen=True)
class _FittedPv:
    model: PhysicalPv
    system: PvSystem
    site: Site
    series_id: str
    step_minutes: int
    last_observed: pd.Timestamp
    source: str
    correction: PvCorrection
    spread: PvErrorSpread
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
        sky = sky_at(steps, self.site, self.step_minutes)
        notes = list(self.notes)
        ghi = self._forecast_irradiance(regressors, sky, notes)
        temp = self.model._temperature(regressors, steps, notes)
        output = physical_output(self.system, sky, ghi, temp, self.model.wind_m_s)
        kt = clear_sky_index(ghi, sky.ghi_clear_w_m2)
        limit = self.system.inverter_limit_kw
        point_kw = self.correction.apply(output.unclipped_ac_kw, sky, kt, limit)
        point = pd.Series(point_kw, index=steps, name=self.series_id)
        clear = physical_output(self.system, sky, sky.ghi_clear_w_m2, temp, self.model.wind_m_s)
        scale = np.where(sky.sun_up, np.maximum(clear.ac_kw, 0.05 * limit), 0.0)

        def quantile_kw(probability: float) -> FloatArray:
            return np.clip(point_kw + self.spread.bound(probability, kt) * scale, 0.0, limit)

        intervals = quantile_intervals(steps, levels, quantile_kw)
        return ForecastResult(point, self.model.name, intervals, tuple(notes))

    def _forecast_irradiance(
        self, regressors: pd.DataFrame | None, sky: Sky, notes: list[str]
    ) -> FloatArray:
        """GHI over the steps from the fitted source, or the other one with a note."""
        other = "cloud" if self.source == "ghi" else "ghi"
        for source in (self.source, other):
            found = _irradiance(regressors, sky, source)
            if found is not None and _covers(found[0], sky) == 1.0:
                if source != self.source:
                    notes.append(f"no {self.source} forecast over the day: {source} used instead")
                return np.where(sky.sun_up, found[0], 0.0)
        raise ForecastError(
            f"series {self.series_id!r}: the weather forecast ({SeriesId.GHI_W_M2!r} or "
            f"{SeriesId.CLOUD_PCT!r}) is missing for daylight steps from {sky.steps[0]}",
            fix="store the weather forecast of the day before forecasting PV",
        )

    def update(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster:
        """Move the origin to the end of ``history``, keeping the correction and spread."""
        index = pd.DatetimeIndex(history.dropna().index).tz_convert("UTC")
        return replace(self, last_observed=index[-1])
