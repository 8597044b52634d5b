"""Synthetic billing-meter data: what each connection point's meter records per step.

The meter sees the net of the load behind a connection point and the generation
of the assets attached to it (PV available power, WtE electric output, biogas
electric output): a positive net is imported; a negative net is exported up to
the point's ``export_limit_kw``, and the generation above that limit is held
back (curtailed). Batteries are left out: what they do is the schedule's
decision, not part of the history.

Values are energy per step in kWh, to the Wh, as a billing meter reports them.
Like the rest of the demo history they are a pure function of the series they
are derived from, so of ``(seed, instant)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from adapters.demo.noise import FloatArray
from cluster.config import ClusterConfig, ConnectionPoint
from cluster.timegrid import step_hours
from cluster.timeseries import SeriesId

UNIT_KWH = "kWh"
# Billing meters report energy to the watt-hour.
_KWH_DECIMALS = 3


def generation_capacity_kw(config: ClusterConfig, connection_point_id: str) -> float:
    """The most the generators behind a connection point can produce together, kW.

    PV plants count with their inverter limit, WtE plants with their maximum
    electric output, biogas engines with their maximum electric output.
    """
    assets = config.assets
    here = connection_point_id
    return (
        sum(p.inverter_limit_kw for p in assets.pv_plants if p.connection_point == here)
        + sum(c.electric_max_kw for c in assets.wte_chps if c.connection_point == here)
        + sum(c.engine_max_kw for c in assets.biogas_chps if c.connection_point == here)
    )


def has_export_meter(connection_point: ConnectionPoint) -> bool:
    """True when the point may feed into the grid, so its meter records export."""
    return connection_point.export_limit_kw > 0


def may_curtail(config: ClusterConfig, connection_point: ConnectionPoint) -> bool:
    """True when the point's generation can exceed its export limit.

    Only then can any generation be held back (the load behind the point is
    never negative), so only such points get a curtailment series.
    """
    return generation_capacity_kw(config, connection_point.id) > connection_point.export_limit_kw


def meter_series_ids(config: ClusterConfig) -> list[str]:
    """The meter series the demo history holds, in output order.

    Every connection point's import; the export of each point that may export
    (``export_limit_kw`` > 0); the curtailment of each point whose generation
    can exceed its export limit (elsewhere it is zero by construction).
    """
    points = config.connection_points
    return (
        [SeriesId.metered_import(cp.id) for cp in points]
        + [SeriesId.metered_export(cp.id) for cp in points if has_export_meter(cp)]
        + [SeriesId.curtailed(cp.id) for cp in points if may_curtail(config, cp)]
    )


def biogas_electric_kw(
    inflow_kw: FloatArray, electric_efficiency: float, max_kw: float
) -> FloatArray:
    """A biogas engine's electric output when it burns the gas as it flows in, kW.

    The gas holder evens out the inflow in reality; burning it as it comes,
    capped at the engine's maximum, keeps the month's energy right.

    Parameters
    ----------
    inflow_kw
        Biogas inflow as gas energy per hour, kW.
    electric_efficiency
        Electric output per unit of gas energy, 0-1.
    max_kw
        The engine's maximum electric output, kW.
    """
    result: FloatArray = np.clip(inflow_kw * electric_efficiency, 0.0, max_kw)
    return result


def generation_kw(
    config: ClusterConfig, connection_point_id: str, series: Mapping[str, FloatArray], size: int
) -> FloatArray:
    """The generation behind a connection point in each step, kW.

    Parameters
    ----------
    config
        The cluster.
    connection_point_id
        The point.
    series
        The demo history's series by id: PV (kW), WtE (kW), biogas inflow (kW of gas).
    size
        Number of steps.
    """
    assets = config.assets
    total = np.zeros(size)
    for plant in assets.pv_plants:
        if plant.connection_point == connection_point_id:
            total += series[SeriesId.pv(plant.id)]
    for wte in assets.wte_chps:
        if wte.connection_point == connection_point_id:
            total += series[SeriesId.wte(wte.id)]
    for biogas in assets.biogas_chps:
        if biogas.connection_point == connection_point_id:
            total += biogas_electric_kw(
                series[SeriesId.biogas_inflow(biogas.id)],
                biogas.electric_efficiency,
                biogas.engine_max_kw,
            )
    return total


def metered_energy_kwh(
    config: ClusterConfig, series: Mapping[str, FloatArray], size: int
) -> dict[str, FloatArray]:
    """Each meter series of :func:`meter_series_ids` from the history's own series, kWh per step.

    With net power P = load − generation (kW) and step length h (hours):
    import = max(P, 0)·h; export = min(max(−P, 0), limit)·h;
    curtailed = max(−P − limit, 0)·h, where limit is the point's ``export_limit_kw``.

    Parameters
    ----------
    config
        The cluster.
    series
        The demo history's series by id: loads (kW; a point without a load
        series has none), PV, WtE and biogas inflow (kW).
    size
        Number of steps.
    """
    hours = step_hours(config.cluster.step_minutes)
    wanted = set(meter_series_ids(config))
    meters: dict[str, FloatArray] = {}
    for cp in config.connection_points:
        load = series.get(SeriesId.load(cp.id))
        net_kw = (np.zeros(size) if load is None else load) - generation_kw(
            config, cp.id, series, size
        )
        surplus_kw = np.maximum(-net_kw, 0.0)
        exported_kw = np.minimum(surplus_kw, cp.export_limit_kw)
        parts = {
            SeriesId.metered_import(cp.id): np.maximum(net_kw, 0.0),
            SeriesId.metered_export(cp.id): exported_kw,
            SeriesId.curtailed(cp.id): surplus_kw - exported_kw,
        }
        for series_id, power_kw in parts.items():
            if series_id in wanted:
                meters[series_id] = np.round(power_kw * hours, _KWH_DECIMALS)
    return meters
