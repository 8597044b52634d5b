"""Occupancy of the public buildings as a regressor of their connection points' loads.

A connection point with public buildings behind it draws more while they are
occupied: lights, ventilation, kitchens and computers follow the people. The
opening hours are known in advance (:mod:`cluster.occupancy`: the building's
schedule on the Polish calendar, public holidays and school breaks), so the
same rule gives the regressor over the history and over the day forecast.

Per step, the regressor :data:`OCCUPIED_FRACTION` is the share of the
buildings' BMS zones that are occupied (0-1): a zone is occupied while its
building is. The load model (:class:`~forecasting.regression.CalendarRegression`)
takes it with ``extra_regressors=(OCCUPIED_FRACTION,)``.

:func:`occupancy_inputs` is what the daily forecast and the backtest call: it
turns one shared weather frame and the series' options into a regressors
frame and options per series, with the occupancy added where a building is
connected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.assets import PublicBuilding
from cluster.config import ClusterConfig
from cluster.occupancy import occupied_steps
from cluster.timeseries import SeriesId

#: The regressor column: share of a connection point's building zones occupied, 0-1.
OCCUPIED_FRACTION = "occupied_fraction"
#: Whether building loads get their occupancy as a regressor unless told otherwise
#: (the daily forecast's ``occupancy`` and the backtest's ``BacktestSetup.occupancy``).
#: On: a building's opening hours explain its load where the calendar's day types
#: do not (its own hours, term dates). On the demo, whose occupancy follows the
#: calendar alone, it changes the day-ahead load MASE by less than 0.001.
OCCUPANCY_REGRESSOR = True
#: The model that takes the occupancy regressor.
OCCUPANCY_MODEL = "calendar_regression"


def buildings_by_load(config: ClusterConfig) -> dict[str, tuple[PublicBuilding, ...]]:
    """The public buildings behind each connection point's load series, by load series id.

    Connection points without a public building are left out: their loads
    have no occupancy.
    """
    by_point: dict[str, list[PublicBuilding]] = {}
    for building in config.assets.buildings:
        by_point.setdefault(building.connection_point, []).append(building)
    return {SeriesId.load(point): tuple(found) for point, found in by_point.items()}


def occupied_fraction(
    buildings: Sequence[PublicBuilding],
    steps: pd.DatetimeIndex,
    zone: ZoneInfo | str,
    country: str = "PL",
) -> pd.Series:
    """The share of the buildings' zones occupied in each step, 0-1.

    Parameters
    ----------
    buildings
        The buildings behind one connection point (at least one).
    steps
        Step start instants, timezone-aware (UTC inside klaster).
    zone
        The cluster's time zone: it fixes local days and opening hours.
    country
        ISO country code whose public holidays apply.

    Returns
    -------
    pandas.Series
        Named :data:`OCCUPIED_FRACTION`, on ``steps``.
    """
    if not buildings:
        raise ValueError("occupied_fraction needs at least one building")
    occupied_zones = np.zeros(len(steps))
    total_zones = 0
    for building in buildings:
        zones = len(building.zones)
        occupied_zones += zones * occupied_steps(building.occupancy, steps, zone, country)
        total_zones += zones
    return pd.Series(occupied_zones / total_zones, index=steps, name=OCCUPIED_FRACTION)


def occupancy_inputs(
    options: Mapping[str, Mapping[str, Any]],
    models: Mapping[str, str],
    weather: pd.DataFrame,
    buildings: Mapping[str, Sequence[PublicBuilding]],
    cover: pd.DatetimeIndex,
    zone: ZoneInfo | str,
    country: str = "PL",
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """Regressors and model options per series, with the occupancy where a building has it.

    Parameters
    ----------
    options
        Each series' model options, by series id (the series to forecast).
    models
        The model each series runs, by series id; only
        :data:`OCCUPANCY_MODEL` takes the occupancy.
    weather
        The weather regressors on a UTC index (history and forecast steps).
    buildings
        Buildings behind each load series (:func:`buildings_by_load`).
    cover
        UTC steps the occupancy must cover besides the weather's index: the
        history read and the steps forecast.
    zone
        The cluster's time zone.
    country
        ISO country code whose public holidays apply.

    Returns
    -------
    tuple
        The regressors frame of every series (the weather itself where no
        building is connected) and every series' options, with
        ``extra_regressors`` extended by :data:`OCCUPIED_FRACTION` where one is.
    """
    regressors: dict[str, pd.DataFrame] = {}
    chosen: dict[str, dict[str, Any]] = {}
    index = pd.DatetimeIndex(weather.index).union(pd.DatetimeIndex(cover))
    for series_id, own in options.items():
        found = buildings.get(series_id)
        if not found or models.get(series_id) != OCCUPANCY_MODEL:
            regressors[series_id] = weather
            chosen[series_id] = dict(own)
            continue
        fraction = occupied_fraction(found, index, zone, country)
        regressors[series_id] = weather.reindex(index).assign(**{OCCUPIED_FRACTION: fraction})
        extra = tuple(own.get("extra_regressors", ()))
        chosen[series_id] = {**own, "extra_regressors": (*extra, OCCUPIED_FRACTION)}
    return regressors, chosen
