"""The here-and-now decisions of a day: what is fixed before the day and cannot react to it.

A plan reaches the cluster as commands that run whatever the day brings: the
battery's charge and discharge, the waste-to-energy plant's commitment and
output, each zone's setpoint, each lighting circuit's dim level. The rest
(imports and exports, day-ahead trades, PV curtailment at a limit, the heat
network's boiler and store, the biogas engine following its holder) is left
to the grid and the local controllers (see :mod:`optimisation.evaluation.realised`).

:func:`planned_decisions` reads them from a schedule; :func:`baseline_decisions`
states the uncoordinated rule set: battery idle, WtE at a flat output,
setpoints at the lower edge of the comfort band, lamps at full output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from cluster.commands import zone_asset_id
from cluster.config import ClusterConfig, WasteToEnergyCHP
from cluster.occupancy import occupied_steps
from cluster.schedule import Schedule
from optimisation.components.building import baseline_setpoints_c
from optimisation.components.lighting import IDLE_DIM_PCT

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Decisions:
    """The commands of one day, one array per asset in step order.

    Attributes
    ----------
    battery_charge_kw, battery_discharge_kw
        Power into and out of each battery by battery id, kW.
    wte_on
        Whether each waste-to-energy plant is committed (1) or not (0) by plant id.
    wte_output_kw
        Each plant's electric output by plant id, kW.
    setpoint_c
        Each zone's setpoint by zone asset id ``<building>/<zone>``, °C.
    dim_pct
        Each lighting circuit's dim level by circuit id, %: what its
        controller runs at whenever the lamps burn.
    """

    battery_charge_kw: Mapping[str, FloatArray]
    battery_discharge_kw: Mapping[str, FloatArray]
    wte_on: Mapping[str, FloatArray]
    wte_output_kw: Mapping[str, FloatArray]
    setpoint_c: Mapping[str, FloatArray]
    dim_pct: Mapping[str, FloatArray]


def _series(schedule: Schedule, asset: str, quantity: str, steps: pd.DatetimeIndex) -> FloatArray:
    values = schedule.asset_series(asset, quantity)
    values.index = pd.DatetimeIndex(values.index)
    return values.reindex(steps).to_numpy(dtype=float)


def planned_decisions(
    schedule: Schedule,
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
) -> Decisions:
    """The commands a schedule sends for ``steps`` (UTC step starts of its day).

    A zone the schedule has no setpoint for (left out of the flexibility)
    keeps the uncoordinated setpoints of :func:`baseline_decisions`; a
    circuit without a dim plan burns at full output.
    """
    fallback = baseline_decisions(config, steps, wte_available={})
    planned_zones = set(schedule.assets.loc[schedule.assets["quantity"] == "setpoint_c", "asset"])
    planned_circuits = set(schedule.assets.loc[schedule.assets["quantity"] == "dim_pct", "asset"])
    assets = config.assets
    return Decisions(
        battery_charge_kw={
            b.id: _series(schedule, b.id, "charge_kw", steps) for b in assets.batteries
        },
        battery_discharge_kw={
            b.id: _series(schedule, b.id, "discharge_kw", steps) for b in assets.batteries
        },
        wte_on={c.id: _series(schedule, c.id, "on", steps) for c in assets.wte_chps},
        wte_output_kw={c.id: _series(schedule, c.id, "output_kw", steps) for c in assets.wte_chps},
        setpoint_c={
            zone_id: _series(schedule, zone_id, "setpoint_c", steps)
            if zone_id in planned_zones
            else default
            for zone_id, default in fallback.setpoint_c.items()
        },
        dim_pct={
            c.id: _series(schedule, c.id, "dim_pct", steps)
            if c.id in planned_circuits
            else fallback.dim_pct[c.id]
            for c in assets.lighting_circuits
        },
    )


def flat_output_kw(chp: WasteToEnergyCHP) -> float:
    """The constant electric output that burns the daily minimum of waste in a day, kW.

    ``daily_min_waste_mwh`` × ``electric_efficiency`` spread over 24 h, held
    between ``electric_min_kw`` and ``electric_max_kw``.

    Parameters
    ----------
    chp
        The plant.
    """
    flat = chp.daily_min_waste_mwh * chp.electric_efficiency * 1000.0 / 24.0
    return min(max(flat, chp.electric_min_kw), chp.electric_max_kw)


def baseline_decisions(
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
    wte_available: Mapping[str, npt.NDArray[np.bool_]],
) -> Decisions:
    """The uncoordinated rule set's commands for ``steps``.

    Parameters
    ----------
    config
        The cluster.
    steps
        UTC step starts of the day.
    wte_available
        Whether each waste-to-energy plant can run in each step, by plant id;
        a plant not named runs all day. The plant runs at
        :func:`flat_output_kw` whenever it can.
    """
    n = len(steps)
    info = config.cluster
    assets = config.assets
    setpoints: dict[str, FloatArray] = {}
    for building in assets.buildings:
        occupied = occupied_steps(building.occupancy, steps, info.zone, info.country)
        for zone in building.zones:
            setpoints[zone_asset_id(building.id, zone.id)] = baseline_setpoints_c(
                zone, occupied
            ).astype(float)
    on = {
        chp.id: np.asarray(wte_available.get(chp.id, np.ones(n, dtype=bool)), dtype=float)
        for chp in assets.wte_chps
    }
    return Decisions(
        battery_charge_kw={b.id: np.zeros(n) for b in assets.batteries},
        battery_discharge_kw={b.id: np.zeros(n) for b in assets.batteries},
        wte_on=on,
        wte_output_kw={chp.id: on[chp.id] * flat_output_kw(chp) for chp in assets.wte_chps},
        setpoint_c=setpoints,
        dim_pct={c.id: np.full(n, float(IDLE_DIM_PCT)) for c in assets.lighting_circuits},
    )
