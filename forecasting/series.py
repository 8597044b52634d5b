"""Which series a cluster's plan needs, and how each is forecast.

:func:`series_specs` reads the configuration and returns one
:class:`SeriesSpec` per series: the load behind every connection point that
has one, each PV plant's output, each waste-to-energy plant's output and
biogas engine's gas inflow, each district-heating network's demand, the
traffic on each lit road, and the day-ahead price. Each spec names the
model and its options, so the day-ahead forecast, ``klaster forecast`` and
``klaster backtest`` forecast every series the same way.

=================  =======================  ====================================
group              model                    driven by
=================  =======================  ====================================
load               ``calendar_regression``  calendar, school breaks, temperature
street lighting    ``street_lighting``      sun, cloud, recent burning power
pv                 ``pv_physical``          irradiance / cloud, temperature
wte, biogas        ``recent_level``         the last hours, daily pattern
heat               ``calendar_regression``  heating degrees (15 °C base)
traffic            ``calendar_regression``  calendar, school breaks
price              ``calendar_regression``  calendar, irradiance, cold
=================  =======================  ====================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cluster.config import ClusterConfig, LoadProfile
from cluster.timeseries import SeriesId
from forecasting.base import SeriesKind
from forecasting.cleaning import CleaningOptions
from forecasting.irradiance import Site
from forecasting.pv import plant_options

#: Cleaning of series that switch off: a plant in an outage, or street lamps by day,
#: read zero for hours or weeks, which is their state, not a frozen meter, so runs of
#: one value are never taken out.
ON_OFF_CLEANING = CleaningOptions(stuck_min_minutes=366 * 24 * 60)

#: Load profiles of buildings that follow the school calendar.
SCHOOL_PROFILES = frozenset({LoadProfile.SCHOOL, LoadProfile.KINDERGARTEN})


class SeriesGroup(StrEnum):
    """What a series describes, for reports and per-group defaults."""

    LOAD = "load"
    STREET_LIGHTING = "street lighting"
    PV = "pv"
    WTE = "wte"
    BIOGAS = "biogas"
    HEAT = "heat"
    TRAFFIC = "traffic"
    PRICE = "price"


#: Series of these groups are weather-driven: their backtests feed forecast weather.
WEATHER_DRIVEN = frozenset(
    {SeriesGroup.LOAD, SeriesGroup.PV, SeriesGroup.HEAT, SeriesGroup.PRICE,
     SeriesGroup.STREET_LIGHTING}
)  # fmt: skip


@dataclass(frozen=True)
class SeriesSpec:
    """A series to forecast and how.

    Attributes
    ----------
    series_id
        The series (:class:`~cluster.timeseries.SeriesId`).
    group
        What it describes.
    kind
        Its kind (non-negativity, default model).
    model
        The registry name of its model.
    options
        The model's options.
    owner
        The configured thing it belongs to, for messages.
    """

    series_id: str
    group: SeriesGroup
    kind: SeriesKind
    model: str
    options: Mapping[str, Any] = field(default_factory=dict)
    owner: str = ""


def _site_options(site: Site) -> dict[str, float]:
    return {
        "latitude_deg": site.latitude_deg,
        "longitude_deg": site.longitude_deg,
        "altitude_m": site.altitude_m,
    }


def series_specs(config: ClusterConfig) -> list[SeriesSpec]:
    """Every series a day's plan needs, with the model that forecasts it."""
    site_obj = Site.of_cluster(config.cluster)
    site = _site_options(site_obj)
    school_points = {
        b.connection_point for b in config.assets.buildings if b.occupancy.closed_in_school_breaks
    }
    assets = config.assets
    specs: list[SeriesSpec] = []
    for cp in config.connection_points:
        if not (cp.annual_consumption_mwh > 0 or config.assets_at(cp.id)):
            continue
        owner = f"connection point {cp.id!r}"
        if cp.profile is LoadProfile.STREET_LIGHTING:
            options = {**site, "cleaning": ON_OFF_CLEANING}
            specs.append(_spec(SeriesId.load(cp.id), SeriesGroup.STREET_LIGHTING, owner, options))
            continue
        school = cp.profile in SCHOOL_PROFILES or cp.id in school_points
        options = {"school_breaks": True} if school else {}
        specs.append(_spec(SeriesId.load(cp.id), SeriesGroup.LOAD, owner, options))
    specs += [
        _spec(SeriesId.pv(p.id), SeriesGroup.PV, f"PV plant {p.id!r}", plant_options(p, site_obj))
        for p in assets.pv_plants
    ]
    plant = {"cleaning": ON_OFF_CLEANING}
    specs += [
        _spec(SeriesId.wte(c.id), SeriesGroup.WTE, f"waste-to-energy CHP {c.id!r}", plant)
        for c in assets.wte_chps
    ]
    specs += [
        _spec(SeriesId.biogas_inflow(c.id), SeriesGroup.BIOGAS, f"biogas CHP {c.id!r}", plant)
        for c in assets.biogas_chps
    ]
    specs += [
        _spec(SeriesId.heat_demand(n.id), SeriesGroup.HEAT, f"district-heating network {n.id!r}")
        for n in assets.district_heating
    ]
    # Fewer commuters drive in the school breaks.
    breaks = {"school_breaks": True}
    specs += [
        _spec(SeriesId.traffic(c.id), SeriesGroup.TRAFFIC, f"lighting circuit {c.id!r}", breaks)
        for c in assets.lighting_circuits
    ]
    specs.append(
        _spec(SeriesId.DAY_AHEAD_PRICE, SeriesGroup.PRICE, "the day-ahead market", PRICE_OPTIONS)
    )
    return specs


#: The model and kind of each group.
GROUP_MODELS: Mapping[SeriesGroup, tuple[str, SeriesKind]] = {
    SeriesGroup.LOAD: ("calendar_regression", SeriesKind.LOAD),
    SeriesGroup.STREET_LIGHTING: ("street_lighting", SeriesKind.LOAD),
    SeriesGroup.PV: ("pv_physical", SeriesKind.PV),
    SeriesGroup.WTE: ("recent_level", SeriesKind.GENERIC),
    SeriesGroup.BIOGAS: ("recent_level", SeriesKind.GENERIC),
    SeriesGroup.HEAT: ("calendar_regression", SeriesKind.HEAT),
    SeriesGroup.TRAFFIC: ("calendar_regression", SeriesKind.TRAFFIC),
    SeriesGroup.PRICE: ("calendar_regression", SeriesKind.PRICE),
}


def _spec(
    series_id: str, group: SeriesGroup, owner: str, options: Mapping[str, Any] | None = None
) -> SeriesSpec:
    model, kind = GROUP_MODELS[group]
    return SeriesSpec(series_id, group, kind, model, dict(options or {}), owner)


#: The price model's options: the national solar output (irradiance stands in for
#: it) sinks midday prices, and cold days below 5 °C raise the level.
PRICE_OPTIONS: Mapping[str, Any] = {
    "extra_regressors": (SeriesId.GHI_W_M2,),
    "heating_base_c": 5.0,
}
