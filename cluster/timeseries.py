"""The time-series frame contract, series naming, and the store interface.

Readings cross package borders as a *long* frame with the columns of
:data:`READING_COLUMNS`: one row per (series, UTC timestamp). Series ids are
slash-separated paths that name what is measured and where, built by the
helpers of :class:`SeriesId` so that every package spells them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from typing import Protocol

import pandas as pd

READING_COLUMNS = ("series_id", "ts", "value", "unit", "quality")


class Quality(IntEnum):
    """How far a stored value can be trusted; higher is worse."""

    GOOD = 0
    ESTIMATED = 1
    SYNTHETIC = 2
    STALE = 3
    OUT_OF_RANGE = 4
    NOT_IMPLEMENTED = 5
    MISSING = 6


class SeriesId:
    """The names of the series klaster stores and forecasts."""

    TEMPERATURE_C = "weather/temp_c"
    CLOUD_PCT = "weather/cloud_pct"
    GHI_W_M2 = "weather/ghi_w_m2"
    DAY_AHEAD_PRICE = "market/day_ahead_pln_per_mwh"
    #: Fraction (0-1) of each step in which street lamps must burn: dusk to dawn,
    #: earlier and later under heavy cloud or fog. One series for the whole area.
    LAMPS_ON_FRACTION = "lighting/lamps_on_fraction"

    @staticmethod
    def load(connection_point_id: str) -> str:
        """Demand behind a connection point (before its own generation), kW."""
        return f"load/{connection_point_id}/power_kw"

    @staticmethod
    def pv(plant_id: str) -> str:
        """Available PV output of a plant (before curtailment), kW."""
        return f"pv/{plant_id}/power_kw"

    @staticmethod
    def wte(chp_id: str) -> str:
        """Electric output of a waste-to-energy CHP, kW."""
        return f"wte/{chp_id}/power_kw"

    @staticmethod
    def biogas_inflow(chp_id: str) -> str:
        """Biogas flowing into a CHP's gas holder, as gas energy per hour, kW."""
        return f"biogas/{chp_id}/inflow_kw"

    @staticmethod
    def heat_demand(network_id: str) -> str:
        """District-heating demand, kW of heat."""
        return f"heat/{network_id}/demand_kw"

    @staticmethod
    def traffic(circuit_id: str) -> str:
        """Vehicles per hour on a lit road, counted per step."""
        return f"traffic/{circuit_id}/vehicles_per_h"

    @staticmethod
    def metered_import(connection_point_id: str) -> str:
        """Energy drawn from the grid at a connection point in each step, kWh (billing meter)."""
        return f"meter/{connection_point_id}/import_kwh"

    @staticmethod
    def metered_export(connection_point_id: str) -> str:
        """Energy fed into the grid at a connection point in each step, kWh (billing meter)."""
        return f"meter/{connection_point_id}/export_kwh"

    @staticmethod
    def curtailed(connection_point_id: str) -> str:
        """Generation held back behind a connection point in each step, kWh (estimated)."""
        return f"meter/{connection_point_id}/curtailed_kwh"

    @staticmethod
    def point(asset_id: str, point_id: str) -> str:
        """A device point as polled by an adapter."""
        return f"point/{asset_id}/{point_id}"


def readings_frame(
    series_id: str, values: pd.Series, unit: str, quality: Quality = Quality.GOOD
) -> pd.DataFrame:
    """A long readings frame for one series from a Series indexed by UTC timestamps."""
    index = pd.DatetimeIndex(values.index)
    if index.tz is None:
        raise ValueError(f"series {series_id}: timestamps must be timezone-aware")
    return pd.DataFrame(
        {
            "series_id": series_id,
            "ts": index.tz_convert("UTC"),
            "value": values.to_numpy(dtype=float),
            "unit": unit,
            "quality": int(quality),
        }
    )


@dataclass(frozen=True)
class RunRecord:
    """One run of a klaster job, stored with the identity of its inputs."""

    run_id: str
    kind: str
    day: date
    started_at: datetime
    config_hash: str
    inputs_hash: str
    status: str
    details: dict[str, object] = field(default_factory=dict)


class TimeSeriesStore(Protocol):
    """Where readings, runs and schedules live. SQLite by default; others may follow.

    Writes are idempotent upserts keyed by (series id, UTC timestamp): writing
    the same readings twice changes nothing. A write is one transaction: it
    lands whole or not at all.
    """

    def write_readings(self, frame: pd.DataFrame) -> int:
        """Upsert a long frame of :data:`READING_COLUMNS`; returns rows changed."""
        ...

    def read_series(
        self, series_ids: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Values in ``[start, end)`` as a wide frame: UTC index, one column per series.

        Steps with no reading are NaN; series with none at all are all-NaN columns.
        """
        ...

    def read_readings(
        self, series_ids: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """The long frame (with units and quality) of readings in ``[start, end)``."""
        ...

    def coverage(self, series_id: str) -> tuple[pd.Timestamp, pd.Timestamp, int] | None:
        """First and last timestamp and row count of a series, or None when empty."""
        ...

    def record_run(self, run: RunRecord) -> None:
        """Store or update a run record."""
        ...

    def runs(self, kind: str | None = None) -> list[RunRecord]:
        """Stored runs, newest first."""
        ...

    def save_frame(self, run_id: str, name: str, frame: pd.DataFrame) -> None:
        """Store a result frame (such as a schedule table) under a run."""
        ...

    def load_frame(self, run_id: str, name: str) -> pd.DataFrame:
        """A result frame stored by :meth:`save_frame`."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
