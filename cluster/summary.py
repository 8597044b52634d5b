"""Key figures of a schedule: energy totals, local share, peaks against contracts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster.schedule import Schedule


@dataclass(frozen=True)
class EnergyTotals:
    """A day's energy figures, MWh, and the local share of consumption.

    ``local_share`` is the part of the cluster's consumption met by its own
    generation in the same step: Σ_t min(load_t, generation_t) / Σ_t load_t.
    """

    load_mwh: float
    local_generation_mwh: float
    imported_mwh: float
    exported_mwh: float
    block_mwh: float
    day_ahead_bought_mwh: float
    day_ahead_sold_mwh: float
    local_share: float


def energy_totals(schedule: Schedule) -> EnergyTotals:
    """The day's energy totals from the schedule's frames."""
    hours = schedule.step_minutes / 60.0
    cluster = schedule.cluster
    points = schedule.connection_points

    def mwh(values: pd.Series) -> float:
        return float(values.sum()) * hours / 1000.0

    load = cluster["load_kw"]
    used_locally = np.minimum(load, cluster["local_generation_kw"].clip(lower=0))
    total_load = float(load.sum())
    return EnergyTotals(
        load_mwh=mwh(load),
        local_generation_mwh=mwh(cluster["local_generation_kw"]),
        imported_mwh=mwh(points["import_kw"]),
        exported_mwh=mwh(points["export_kw"]),
        block_mwh=mwh(cluster["block_kw"]),
        day_ahead_bought_mwh=mwh(cluster["day_ahead_buy_kw"]),
        day_ahead_sold_mwh=mwh(cluster["day_ahead_sell_kw"]),
        local_share=float(used_locally.sum()) / total_load if total_load > 0 else 0.0,
    )


def connection_point_peaks(schedule: Schedule) -> pd.DataFrame:
    """Per connection point: peak import kW, contracted kW, utilisation and overrun steps.

    Sorted by utilisation (peak over contracted capacity), highest first.
    """
    points = schedule.connection_points
    over = points["import_kw"] > points["contracted_capacity_kw"] + 1e-6
    grouped = points.assign(over=over).groupby("connection_point")
    peaks = pd.DataFrame(
        {
            "peak_import_kw": grouped["import_kw"].max(),
            "contracted_capacity_kw": grouped["contracted_capacity_kw"].first(),
            "peak_export_kw": grouped["export_kw"].max(),
            "overrun_steps": grouped["over"].sum().astype(int),
        }
    )
    peaks["utilisation"] = peaks["peak_import_kw"] / peaks["contracted_capacity_kw"]
    return peaks.sort_values("utilisation", ascending=False)
