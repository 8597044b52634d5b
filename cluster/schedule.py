"""The schedule: the plan for one day as plain, typed data (pandas, never Pyomo).

A schedule is written to a folder as Parquet (exact round trip) and CSV (for
people and spreadsheets), and read back from the Parquet files, so each step
of the daily job can be run and inspected alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

#: Columns of :attr:`Schedule.connection_points` (one row per step and connection point).
CONNECTION_POINT_COLUMNS = (
    "ts", "connection_point", "load_kw", "generation_kw", "battery_net_kw",
    "import_kw", "export_kw", "contracted_capacity_kw",
)  # fmt: skip
#: Columns of :attr:`Schedule.assets` (one row per step, asset and quantity).
ASSET_COLUMNS = ("ts", "asset", "quantity", "value", "unit")
#: Columns of :attr:`Schedule.cluster` (one row per step, indexed by ``ts``).
CLUSTER_COLUMNS = (
    "price_pln_per_mwh", "block_kw", "day_ahead_buy_kw", "day_ahead_sell_kw",
    "net_import_kw", "load_kw", "local_generation_kw",
)  # fmt: skip

_FRAMES = ("connection_points", "assets", "cluster", "costs")


@dataclass(frozen=True)
class Schedule:
    """The plan for one local day.

    Attributes
    ----------
    day
        The local calendar day planned.
    timezone, step_minutes
        The cluster's zone and step length.
    connection_points
        Long frame, :data:`CONNECTION_POINT_COLUMNS`; powers in kW, import and
        export as planned at the meter (import positive).
    assets
        Long frame, :data:`ASSET_COLUMNS`: per asset and step, e.g. a PV
        plant's ``available_kw``/``output_kw``/``curtailed_kw`` or a battery's
        ``charge_kw``/``discharge_kw``/``soc_kwh``; a waste-to-energy CHP's
        ``on`` and ``start`` (0 or 1, unit ``-``), ``output_kw`` (electric) and
        ``heat_kw``; a district-heating network's ``boiler_kw``,
        ``store_level_kwh``, ``dump_kw`` (emergency cooler) and ``gas_cost``
        (PLN in the step); a biogas CHP's ``output_kw``, ``holder_kwh`` and
        ``flare_kw`` (kW of gas). Levels (``soc_kwh``, ``store_level_kwh``,
        ``holder_kwh``) are at the END of each step.
    cluster
        Frame indexed by UTC step start, :data:`CLUSTER_COLUMNS`.
    costs
        One row per cost component: ``component``, ``cost_pln`` (revenue
        negative); besides energy, distribution and capacity: ``wte_start``,
        ``gas``, the declared penalties ``heat_dump``, ``flare`` and
        ``capacity_headroom`` (import into the headroom kept below a contracted
        capacity), ``battery_cycle`` and ``co2`` (0 when not priced).
    meta
        Plain facts about the run: solver status, objective, gap, times (s),
        input identities; ``co2_t``, the plan's tonnes of CO2, when CO2 is priced.
    """

    day: date
    timezone: str
    step_minutes: int
    connection_points: pd.DataFrame
    assets: pd.DataFrame
    cluster: pd.DataFrame
    costs: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total_cost_pln(self) -> float:
        """The day's total cost, PLN."""
        return float(self.costs["cost_pln"].sum())

    def asset_series(self, asset: str, quantity: str) -> pd.Series:
        """One asset quantity as a Series indexed by UTC step start."""
        rows = self.assets[(self.assets["asset"] == asset) & (self.assets["quantity"] == quantity)]
        if rows.empty:
            raise KeyError(f"schedule has no {quantity!r} for asset {asset!r}")
        return rows.set_index("ts")["value"].rename(f"{asset}/{quantity}")

    def write(self, folder: Path) -> list[Path]:
        """Write every frame as Parquet and CSV plus ``meta.json``; returns the paths."""
        folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for name in _FRAMES:
            frame: pd.DataFrame = getattr(self, name)
            keep_index = name == "cluster"
            parquet = folder / f"{name}.parquet"
            frame.to_parquet(parquet, index=keep_index)
            csv = folder / f"{name}.csv"
            frame.to_csv(csv, index=keep_index, float_format="%.4f")
            written += [parquet, csv]
        meta = folder / "meta.json"
        header = {"day": self.day.isoformat(), "timezone": self.timezone,
                  "step_minutes": self.step_minutes}  # fmt: skip
        meta.write_text(json.dumps({**header, **self.meta}, indent=2, default=str) + "\n")
        return [*written, meta]

    @classmethod
    def read(cls, folder: Path) -> Schedule:
        """Read a schedule written by :meth:`write`."""
        meta = json.loads((folder / "meta.json").read_text())
        frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _FRAMES}
        return cls(
            day=date.fromisoformat(meta.pop("day")),
            timezone=meta.pop("timezone"),
            step_minutes=int(meta.pop("step_minutes")),
            meta=meta,
            **frames,
        )
