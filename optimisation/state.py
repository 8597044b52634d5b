"""The measured state of the cluster at the start of a re-plan.

A re-plan during the day starts from what the devices report, not from the
configured initial values: battery state of charge, the waste-to-energy
plant's status and output, the gas holder, the heat store and the room
temperatures. Each value comes from the first source that has it:

1. the latest measurement at or before the re-plan time;
2. the earlier plan of the day, at the end of the step before the re-plan;
3. the configuration's initial value;

and every fallback is noted, so the user sees which state was assumed.

The end-of-day floors stay those of the full day (the configured initial
levels), lowered only where the steps left cannot reach them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
from pyomo.common.collections import ComponentMap

from cluster.commands import zone_asset_id
from cluster.config import ClusterConfig
from cluster.timeseries import SeriesId
from optimisation.components.wte import UNAVAILABLE_BELOW_SHARE_OF_MIN, WteState
from optimisation.errors import PlanningInputError
from optimisation.model import ClusterModel, ModelOptions

#: ``(series_id) -> value`` of the latest reading at or before the re-plan time, else ``None``.
ReadLatest = Callable[[str], float | None]


@dataclass(frozen=True)
class InitialState:
    """Where a re-plan starts from.

    Attributes
    ----------
    config
        The configuration with each battery's ``soc_initial_pct`` set to its state.
    options
        Model options carrying the other initial states and the end-of-day floors.
    sources
        Per state (e.g. ``"battery-kof soc"``): ``"measured"``, ``"plan"`` or ``"configured"``.
    notes
        One line per state that was not measured, or that had to be adjusted.
    """

    config: ClusterConfig
    options: ModelOptions
    sources: dict[str, str]
    notes: tuple[str, ...]


class _Lookup:
    """The three sources of one state, with the notes of what was used."""

    def __init__(
        self,
        read_latest: ReadLatest,
        previous_assets: pd.DataFrame | None,
        before: pd.Timestamp | None,
    ) -> None:
        self.read_latest = read_latest
        self.planned = _planned_values(previous_assets, before)
        self.sources: dict[str, str] = {}
        self.notes: list[str] = []

    def value(
        self,
        label: str,
        series_id: str,
        asset: str,
        quantity: str,
        to_state: Callable[[float], float],
    ) -> float | None:
        """The measured value, else ``to_state`` of the planned one, else ``None``."""
        measured = self.read_latest(series_id)
        if measured is not None and math.isfinite(measured):
            self.sources[label] = "measured"
            return measured
        planned = self.planned.get((asset, quantity))
        if planned is not None:
            self.sources[label] = "plan"
            self.notes.append(f"{label}: no measurement in {series_id}, the earlier plan's used")
            return to_state(planned)
        self.sources[label] = "configured"
        self.notes.append(f"{label}: no measurement in {series_id} and no plan, configured used")
        return None

    def store_level_pct(
        self, store_id: str, capacity_kwh: float, store_name: str, point: str, quantity: str
    ) -> float | None:
        """A store's level, % of its capacity clamped to 0-100, else ``None`` (configured).

        Parameters
        ----------
        store_id
            The asset the store belongs to.
        capacity_kwh
            The store's capacity, kWh (a planned level in kWh is turned into %).
        store_name
            What the store is called in notes and sources, e.g. ``"gas holder"``.
        point
            The asset's point measuring the level, %.
        quantity
            The plan's quantity of the stored energy, kWh.
        """
        level = self.value(
            f"{store_id} {store_name}",
            SeriesId.point(store_id, point),
            store_id,
            quantity,
            partial(_percent_of, capacity_kwh),
        )
        return None if level is None else _clamp(level, 0.0, 100.0)


def _planned_values(
    assets: pd.DataFrame | None, before: pd.Timestamp | None
) -> dict[tuple[str, str], float]:
    """Each asset quantity of the plan in the step that ends at the re-plan time."""
    if assets is None or before is None or assets.empty:
        return {}
    rows = assets[pd.DatetimeIndex(assets["ts"]) == before]
    return {
        (str(asset), str(quantity)): float(value)
        for asset, quantity, value in zip(
            rows["asset"], rows["quantity"], rows["value"].to_numpy(dtype=float), strict=True
        )
    }


def _same(value: float) -> float:
    return value


def _percent_of(capacity_kwh: float, kwh: float) -> float:
    return kwh / capacity_kwh * 100.0 if capacity_kwh > 0 else 0.0


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def measured_initial_state(
    config: ClusterConfig,
    steps: pd.DatetimeIndex,
    read_latest: ReadLatest,
    previous_assets: pd.DataFrame | None = None,
) -> InitialState:
    """The state before the first of ``steps``, from measurements, the earlier plan or config.

    Parameters
    ----------
    config
        The cluster.
    steps
        UTC starts of the steps to re-plan (the rest of the day).
    read_latest
        Latest stored reading of a series id at or before ``steps[0]``, or ``None``:
        ``point/<battery>/soc`` %, ``point/<wte>/electric_power`` kW,
        ``point/<biogas>/gas_holder_level`` %, ``point/<network>/heat_store_level`` %,
        ``point/<building>/<zone>/room_temp`` °C.
    previous_assets
        The ``assets`` frame of the day's latest schedule (``ts`` the step start,
        levels at the end of the step), or ``None``.
    """
    step = pd.Timedelta(minutes=config.cluster.step_minutes)
    lookup = _Lookup(read_latest, previous_assets, steps[0] - step)
    hours_left = len(steps) * step / pd.Timedelta(hours=1)
    batteries = []
    end_soc: dict[str, float] = {}
    for battery in config.assets.batteries:
        label = f"{battery.id} state of charge"
        energy = battery.energy_kwh
        soc = lookup.value(
            label,
            SeriesId.point(battery.id, "soc"),
            battery.id,
            "soc_kwh",
            partial(_percent_of, energy),
        )
        start = battery.soc_initial_pct if soc is None else soc
        held = _clamp(start, battery.soc_min_pct, battery.soc_max_pct)
        if held != start:
            lookup.notes.append(f"{label}: {start:.1f} % lies outside its limits, {held} % used")
        reachable = held + battery.power_kw * math.sqrt(battery.round_trip_efficiency) * (
            hours_left / energy * 100.0
        )
        target = min(battery.soc_initial_pct, reachable)
        if target < battery.soc_initial_pct:
            lookup.notes.append(f"{label}: end-of-day target lowered to reachable {target:.1f} %")
        end_soc[battery.id] = max(target, battery.soc_min_pct)
        batteries.append(battery.model_copy(update={"soc_initial_pct": held}))
    wte: dict[str, WteState] = {}
    for chp in config.assets.wte_chps:
        label = f"{chp.id} output"
        output = lookup.value(
            label, SeriesId.point(chp.id, "electric_power"), chp.id, "output_kw", _same
        )
        if output is not None:
            running = output >= UNAVAILABLE_BELOW_SHARE_OF_MIN * chp.electric_min_kw
            held_kw = _clamp(output, chp.electric_min_kw, chp.electric_max_kw) if running else 0.0
            wte[chp.id] = WteState(on=running, output_kw=held_kw)
    holders: dict[str, float] = {}
    for biogas in config.assets.biogas_chps:
        holder_pct = lookup.store_level_pct(
            biogas.id, biogas.gas_holder_kwh, "gas holder", "gas_holder_level", "holder_kwh"
        )
        if holder_pct is not None:
            holders[biogas.id] = holder_pct
    stores: dict[str, float] = {}
    for network in config.assets.district_heating:
        store_pct = lookup.store_level_pct(
            network.id, network.heat_store_kwh, "heat store", "heat_store_level", "store_level_kwh"
        )
        if store_pct is not None:
            stores[network.id] = store_pct
    zones: dict[str, float] = {}
    for building in config.assets.buildings:
        for zone in building.zones:
            asset = zone_asset_id(building.id, zone.id)
            temp = lookup.value(
                f"{asset} room temperature",
                SeriesId.point(building.id, f"{zone.id}/room_temp"),
                asset,
                "temp_c",
                _same,
            )
            if temp is not None:
                zones[asset] = temp
    assets = config.assets.model_copy(update={"batteries": batteries})
    options = ModelOptions(
        battery_end_soc_pct=end_soc,
        wte_initial=wte,
        gas_holder_initial_pct=holders,
        heat_store_initial_pct=stores,
        zone_initial_temp_c=zones,
    )
    return InitialState(
        config=config.model_copy(update={"assets": assets}),
        options=options,
        sources=lookup.sources,
        notes=tuple(lookup.notes),
    )


def replan_steps(day_steps: pd.DatetimeIndex, at: pd.Timestamp) -> pd.DatetimeIndex:
    """The steps of the day from the one containing ``at`` (UTC) to the end of the day.

    Raises
    ------
    PlanningInputError
        If ``at`` lies outside the day.
    """
    step = day_steps[1] - day_steps[0] if len(day_steps) > 1 else pd.Timedelta(minutes=15)
    if not day_steps[0] <= at < day_steps[-1] + step:
        raise PlanningInputError(
            f"the re-plan time {at} lies outside the day {day_steps[0]} – {day_steps[-1] + step}",
            fix="give --at within the day planned (HH:MM local, or an ISO time)",
        )
    return day_steps[day_steps > at - step]


#: Schedule quantities that are variables of a component block, by the block's attribute.
_STARTABLE: dict[str, dict[str, str]] = {
    "batteries": {"charge_kw": "charge_kw", "discharge_kw": "discharge_kw", "soc_kwh": "soc_kwh"},
    "wte_chps": {"on": "on", "output_kw": "output_kw", "start": "start"},
    "biogas_chps": {"output_kw": "output_kw", "holder_kwh": "holder_kwh"},
    "district_heating": {
        "boiler_kw": "boiler_kw",
        "store_level_kwh": "store_level_kwh",
        "dump_kw": "dump_kw",
    },
}


def warm_start_values(model: ClusterModel, previous_assets: pd.DataFrame) -> ComponentMap:
    """A partial MIP start for ``model`` from an earlier plan's ``assets`` frame.

    The plant and storage decisions of every step the earlier plan shares with
    the model (batteries, waste-to-energy and biogas plants, heat networks),
    with the binaries that follow from them; the solver completes the rest.
    Values are in the schedule's units (kW, kWh, 0/1), keyed by Pyomo variable data.
    """
    positions = model.horizon.steps.get_indexer(pd.DatetimeIndex(previous_assets["ts"]))
    shared = positions >= 0
    start = ComponentMap()
    for group, quantities in _STARTABLE.items():
        handles: Mapping[str, Any] = getattr(model, group)
        # Only this group's rows are walked: the frame holds every asset's quantities.
        rows = shared & previous_assets["asset"].isin(list(handles)).to_numpy()
        rows &= previous_assets["quantity"].isin(list(quantities)).to_numpy()
        for asset, quantity, t, value in zip(
            previous_assets["asset"].to_numpy()[rows],
            previous_assets["quantity"].to_numpy()[rows],
            positions[rows],
            previous_assets["value"].to_numpy(dtype=float)[rows],
            strict=True,
        ):
            handle = handles[str(asset)]
            start[getattr(handle.block, quantities[str(quantity)])[t]] = value
            if group == "batteries" and quantity == "charge_kw":
                start[handle.block.is_charging[t]] = 1.0 if value > 0 else 0.0
            if group == "biogas_chps" and quantity == "output_kw":
                start[handle.block.on[t]] = 1.0 if value > 0 else 0.0
    return start
