"""A small cluster to settle, and a month of its meter data and prices.

Three members: the city (office load, no export), a school with PV (exports at
midday, up to 45 kW) and a plant that exports most of the time. The meter data
is simple arithmetic of the step number, so tests can compute what they expect.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cluster.config import ClusterConfig, parse_config
from cluster.timegrid import month_steps
from cluster.timeseries import Quality, SeriesId, readings_frame
from tests.clusters import FLAT_TARIFF, cluster_header

MONTH = date(2026, 11, 1)
#: An instant well after the end of :data:`MONTH`.
AFTER_MONTH = pd.Timestamp("2026-12-15 12:00", tz="UTC").to_pydatetime()
POINTS = ("cp-city", "cp-school", "cp-plant")

SMALL_CLUSTER = "\n".join(
    [
        cluster_header("Klaster Testowy"),
        FLAT_TARIFF,
        """\
[supply_contract]
day_ahead_margin_pln_per_mwh = 18.0
sell_back_fee_pln_per_mwh = 12.0
[[supply_contract.blocks]]
name = "base"
power_kw = 20
price_pln_per_mwh = 450.0

[[members]]
id = "city"
name = "Gmina Testowa"
kind = "municipality"

[[members]]
id = "school"
name = "Szkoła Testowa"
kind = "public_building"

[[members]]
id = "plant"
name = "Elektrownia Testowa"
kind = "municipal_company"

[[connection_points]]
id = "cp-city"
member = "city"
tariff = "c21"
contracted_capacity_kw = 60.0
annual_consumption_mwh = 300.0
profile = "office"

[[connection_points]]
id = "cp-school"
member = "school"
tariff = "c21"
contracted_capacity_kw = 40.0
export_limit_kw = 45.0
annual_consumption_mwh = 90.0
profile = "school"

[[connection_points]]
id = "cp-plant"
member = "plant"
tariff = "c21"
contracted_capacity_kw = 20.0
export_limit_kw = 200.0
annual_consumption_mwh = 10.0
profile = "plant_auxiliary"

[[assets.pv_plants]]
id = "pv-school"
connection_point = "cp-school"
kwp = 50.0
inverter_limit_kw = 45.0
""",
    ]
)


def small_config() -> ClusterConfig:
    """The three-member test cluster."""
    return parse_config(SMALL_CLUSTER, source="<settlement test cluster>")


def month_values(config: ClusterConfig, month: date = MONTH) -> dict[str, pd.Series]:
    """Meter data (kWh per step) and day-ahead prices (PLN/MWh) for every step of a month.

    The city imports 25-37 kWh a quarter-hour; the school imports 3 kWh, except
    from 9:00 to 15:00 local when it exports 6 kWh; the plant imports 0.2 kWh and
    exports 20-24 kWh. So the cluster buys from the grid in most quarter-hours
    and the school's midday export is shared with the city. The price climbs
    2.5 PLN/MWh a step from 300, restarting every 96 steps.
    """
    steps = month_steps(month, config.cluster.zone, config.cluster.step_minutes)
    step = np.arange(len(steps))
    hour = steps.tz_convert(config.cluster.zone).hour
    sun = (hour >= 9) & (hour < 15)
    series = {
        SeriesId.metered_import("cp-city"): 25.0 + (step % 7) * 2.0,
        SeriesId.metered_import("cp-school"): np.where(sun, 0.0, 3.0),
        SeriesId.metered_export("cp-school"): np.where(sun, 6.0, 0.0),
        SeriesId.metered_import("cp-plant"): np.full(len(steps), 0.2),
        SeriesId.metered_export("cp-plant"): 20.0 + (step % 5),
        SeriesId.DAY_AHEAD_PRICE: 300.0 + (step % 96) * 2.5,
    }
    return {name: pd.Series(values, index=steps) for name, values in series.items()}


def readings(values: dict[str, pd.Series], quality: Quality = Quality.GOOD) -> pd.DataFrame:
    """The long readings frame of :func:`month_values`, every row of one quality."""
    frames = [
        readings_frame(
            name,
            series,
            "PLN/MWh" if name == SeriesId.DAY_AHEAD_PRICE else "kWh",
            quality,
        )
        for name, series in values.items()
    ]
    return pd.concat(frames, ignore_index=True)
