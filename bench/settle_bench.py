"""A month's settlement of 1,000 members: seconds per stage and peak memory.

Run with ``python -m bench settle_bench``. A generated cluster of 1,000
members, one connection point each (about 5 % PV producers, the rest
consumers on the demo cluster's tariffs, both overrun rules), the demo's kind
of take-or-pay blocks scaled to the cluster, and November 2026's 2,880
quarter-hours: 2.88 million values in each of the import, export and
curtailed frames. The month is written to a SQLite store as a meter operator's
data (set-up), then read back and settled as ``klaster settle`` does; the
settlement with the sampled Shapley value is timed on its own. The run
happens in a fresh process so that its peak resident memory is its own.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from adapters.settlement_inputs import read_metered_period
from adapters.sqlite_store import SqliteStore
from cluster.config import (
    ClusterConfig,
    ConnectionPoint,
    Member,
    MemberKind,
    OverrunRule,
    SupplyBlock,
    load_demo_config,
)
from cluster.invoices import MeteredPeriod
from cluster.settlement_money import settle
from cluster.timegrid import month_steps
from cluster.timeseries import SeriesId, readings_frame

MEMBERS = 1_000
PRODUCER_EVERY = 20
TARGET_S = 10.0
T = TypeVar("T")

_CHILD = """
import json, sys
from bench.settle_bench import measure
print(json.dumps(measure(int(sys.argv[1]))))
"""


def generated_cluster(n_members: int) -> tuple[ClusterConfig, MeteredPeriod]:
    """A cluster of ``n_members`` and a month of its metered data (November 2026).

    Parameters
    ----------
    n_members
        Members, one connection point each; every 20th is a PV producer.
    """
    demo = load_demo_config()
    month = date(2026, 11, 1)
    steps = month_steps(month, demo.cluster.zone)
    rng = np.random.default_rng(2026)
    local_hour = np.asarray(steps.tz_convert(demo.cluster.zone).hour, dtype=float)
    hour = local_hour + np.asarray(steps.minute, dtype=float) / 60
    day_shape = 0.55 + 0.45 * np.clip(np.sin(np.pi * (hour - 6) / 14), 0, None)
    sun = np.clip(np.sin(np.pi * (hour - 7) / 9), 0, None)
    producer = np.arange(n_members) % PRODUCER_EVERY == PRODUCER_EVERY - 1
    base_kw = rng.lognormal(np.log(30.0), 0.8, n_members)
    load_kw = base_kw * day_shape[:, None] * rng.gamma(8.0, 1 / 8.0, (len(steps), n_members))
    load_kw[:, producer] = 2.0
    peak_kw = np.where(producer, rng.uniform(300.0, 2_000.0, n_members), 0.0)
    clouds = rng.uniform(0.2, 1.0, (len(steps), 1))
    pv_kw = sun[:, None] * clouds * peak_kw
    export_kw = np.minimum(pv_kw, 0.9 * peak_kw)
    curtailed_kw = pv_kw - export_kw
    import_kw = np.where(pv_kw > 0, 0.0, load_kw)
    tariffs = [
        t if i % 2 else t.model_copy(update={"overrun_rule": OverrunRule.TEN_LARGEST})
        for i, t in enumerate(demo.tariffs)
    ]
    members = [Member(id=f"m{j:04d}", name=f"Member {j}", kind=MemberKind.BUSINESS)
               for j in range(n_members)]  # fmt: skip
    contracted = np.maximum(np.percentile(import_kw, 99, axis=0), 5.0).round()
    points = [
        ConnectionPoint(id=f"cp-{m.id}", member=m.id, tariff=tariffs[j % len(tariffs)].id,
                        contracted_capacity_kw=float(contracted[j]),
                        export_limit_kw=float(peak_kw[j]))
        for j, m in enumerate(members)
    ]  # fmt: skip
    mean_load_kw = float(import_kw.sum(axis=1).mean())
    contract = demo.supply_contract.model_copy(
        update={"blocks": [
            SupplyBlock(name="base", power_kw=round(0.4 * mean_load_kw), price_pln_per_mwh=465.0),
            SupplyBlock(name="peak", power_kw=round(0.15 * mean_load_kw), price_pln_per_mwh=540.0,
                        hours=demo.supply_contract.blocks[1].hours,
                        days=demo.supply_contract.blocks[1].days),
        ]}
    )  # fmt: skip
    config = ClusterConfig(cluster=demo.cluster, members=members, tariffs=tariffs,
                           connection_points=points, supply_contract=contract,
                           settlement=demo.settlement)  # fmt: skip
    columns = [p.id for p in points]

    def frame(power_kw: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame((power_kw * 0.25).round(3), index=steps, columns=columns)

    day_ahead = 480 + 160 * np.sin(np.pi * (hour - 12) / 12) - 220 * sun * clouds[:, 0]
    metered = MeteredPeriod(
        import_kwh=frame(import_kw), export_kwh=frame(export_kw),
        curtailed_kwh=frame(curtailed_kw),
        day_ahead_pln_per_mwh=pd.Series(day_ahead.round(2), index=steps),
    )  # fmt: skip
    return config, metered


def _store_month(store: SqliteStore, metered: MeteredPeriod) -> int:
    """Write a generated month into the store as a meter operator's data; rows written."""
    frames = [readings_frame(SeriesId.DAY_AHEAD_PRICE, metered.day_ahead_pln_per_mwh, "PLN/MWh")]
    for series_of, energy in ((SeriesId.metered_import, metered.import_kwh),
                              (SeriesId.metered_export, metered.export_kwh),
                              (SeriesId.curtailed, metered.curtailed_kwh)):  # fmt: skip
        for point_id in energy.columns:
            values = energy[point_id]
            if series_of is SeriesId.metered_import or values.any():
                frames.append(readings_frame(series_of(point_id), values, "kWh"))
    return sum(store.write_readings(frame) for frame in frames)


def measure(n_members: int = MEMBERS) -> dict[str, object]:
    """Store a generated month, then read it and settle it as ``klaster settle`` does."""
    month = date(2026, 11, 1)
    config, metered = generated_cluster(n_members)
    seconds: dict[str, tuple[float, float]] = {}

    def timed(stage: str, work: Callable[[], T]) -> T:
        began = (time.perf_counter(), time.process_time())
        result = work()
        seconds[stage] = (time.perf_counter() - began[0], time.process_time() - began[1])
        return result

    after_month = datetime(2026, 12, 2, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder, SqliteStore.open(Path(folder)) as store:
        rows = timed("write the month to the store (set-up)", lambda: _store_month(store, metered))
        read = timed(
            "read the month from the store",
            lambda: read_metered_period(store, config, month, now=after_month),
        )
    settlement = timed("settle()", lambda: settle(config, month, read))
    producers = sum(1 for e in settlement.energy.values() if int(e.frame["export_wh"].sum()) > 0)
    total = settlement.total_pln
    del settlement
    with_shapley = timed("settle(shapley=True)", lambda: settle(config, month, read, shapley=True))
    shares = [s.shapley_saving_pln or Decimal(0) for s in with_shapley.statements.values()]
    return {
        "members": n_members,
        "producers": producers,
        "quarter_hours": len(read.import_kwh),
        "rows": rows,
        "stages": seconds,
        "shapley_total_pln": str(sum(shares, Decimal(0))),
        "cluster_total_pln": str(total),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(n_members: int = MEMBERS) -> dict[str, object]:
    """Settle a generated month of ``n_members`` in a fresh process and print the table."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(n_members)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    stages: dict[str, list[float]] = result["stages"]  # type: ignore[assignment]
    table = Table(
        title=f"Settlement of one month: {result['members']:,} members "
        f"({result['producers']} producers) x {result['quarter_hours']:,} quarter-hours, "
        f"{result['rows']:,} stored rows"
    )
    for column in ("stage", "wall s", "CPU s"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name, values in stages.items():
        table.add_row(name, *(f"{v:.2f}" for v in values))
    wall = stages["read the month from the store"][0] + stages["settle()"][0]
    verdict = "within" if wall <= TARGET_S else "OVER"
    table.add_row(f"read + settle ({verdict} the {TARGET_S:.0f} s target)", f"{wall:.2f}", "")
    peak = float(result["peak_rss_mb"])  # type: ignore[arg-type]
    table.add_row("peak RSS, MB", f"{peak:,.0f}", "")
    Console().print(table)
    return result


if __name__ == "__main__":
    run()
