"""A month's settlement of 1,000 members: seconds per stage and peak memory.

Run with ``python -m bench settle_bench``. A generated cluster of 1,000
members, one connection point each (about 5 % PV producers, the rest
consumers on the demo cluster's tariffs, both overrun rules), the demo's kind
of take-or-pay blocks scaled to the cluster, and November 2026's 2,880
quarter-hours: 2.88 million values in each of the import, export and
curtailed frames. The stages are the ones :func:`cluster.settlement_money.settle`
runs, timed one by one, then ``settle`` is timed whole; the sampled Shapley
value is timed on its own. The run happens in a fresh process so that its
peak resident memory is its own (the inputs included).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from cluster.config import (
    ClusterConfig,
    ConnectionPoint,
    Member,
    MemberKind,
    OverrunRule,
    SupplyBlock,
    load_demo_config,
)
from cluster.invoices import MemberStatement, MeteredPeriod, Settlement
from cluster.settlement_checks import check_settlement, read_metered
from cluster.settlement_lines import rounded_lines
from cluster.settlement_money import (
    cluster_frame,
    distribution_lines,
    member_energy,
    member_flows,
    settle,
    step_prices,
    supplier_lines,
)
from cluster.settlement_savings import (
    CoalitionGame,
    shapley_saving_pln,
    standalone_energy_micro_grosz,
    standalone_pln,
)
from cluster.timegrid import month_steps

MEMBERS = 1_000
PRODUCER_EVERY = 20
TARGET_S = 10.0
# Stages timed apart from the sum: the whole call, and the optional Shapley value.
_APART = ("settle() whole", "Shapley, sampled")

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


def measure(n_members: int = MEMBERS) -> dict[str, object]:
    """Settle the generated month stage by stage, then whole; seconds, memory and sizes."""
    month = date(2026, 11, 1)
    config, metered = generated_cluster(n_members)
    members = [m.id for m in config.members]
    seconds: dict[str, tuple[float, float]] = {}
    clock = (time.perf_counter(), time.process_time())

    def lap(stage: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        seconds[stage] = (now[0] - clock[0], now[1] - clock[1])
        clock = now

    data = read_metered(config, month, metered)
    lap("read + input checks")
    flows = member_flows(config, data)
    lap("allocation")
    prices = step_prices(config, data)
    lines, external = rounded_lines(
        config, supplier_lines(flows, prices), distribution_lines(config, data)
    )
    lap("money")
    standalone_micro = standalone_energy_micro_grosz(
        config, flows.consumption, flows.export, prices.day_ahead
    )
    distribution = {
        m: sum((ln.amount_pln for ln in lines[m] if ln.connection_point_id), Decimal(0))
        for m in members
    }
    standalone = standalone_pln(members, standalone_micro, distribution)
    lap("counterfactual")
    settlement = Settlement(
        cluster_name=config.cluster.name, period=f"{month:%Y-%m}", start=data.steps[0],
        end=data.steps[-1], external_costs_pln=external,
        statements={m: MemberStatement(m, tuple(lines[m]), standalone[m]) for m in members},
        energy=member_energy(members, data.steps, flows),
        cluster_energy=cluster_frame(data, flows, prices), timezone=config.cluster.timezone,
    )  # fmt: skip
    lap("frames")
    check_settlement(settlement)
    lap("balance checks")
    game = CoalitionGame(flows.consumption, flows.export, prices.purchase, prices.sell_back,
                         standalone_micro)  # fmt: skip
    shares = shapley_saving_pln(game, members)
    lap("Shapley, sampled")
    del settlement, flows, game, data, lines
    whole = settle(config, month, metered)
    lap("settle() whole")
    producers = sum(1 for f in whole.energy.values() if int(f.frame["export_wh"].sum()) > 0)
    return {
        "members": n_members,
        "producers": producers,
        "quarter_hours": len(metered.import_kwh),
        "values_per_frame": len(metered.import_kwh) * len(members),
        "stages": seconds,
        "shapley_total_pln": str(sum(shares.values(), Decimal(0))),
        "cluster_total_pln": str(whole.total_pln),
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
        f"({result['producers']} producers) x {result['quarter_hours']:,} quarter-hours "
        f"= {result['values_per_frame']:,} values per frame"
    )
    for column in ("stage", "wall s", "CPU s"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    settle_stages = [name for name in stages if name not in _APART]
    for name in settle_stages:
        table.add_row(name, *(f"{v:.2f}" for v in stages[name]))
    table.add_row("sum of the stages above",
                  *(f"{sum(stages[n][i] for n in settle_stages):.2f}" for i in (0, 1)))  # fmt: skip
    wall = stages["settle() whole"][0]
    verdict = "within" if wall <= TARGET_S else "OVER"
    table.add_row(f"settle() whole ({verdict} the {TARGET_S:.0f} s target)",
                  *(f"{v:.2f}" for v in stages["settle() whole"]))  # fmt: skip
    table.add_row("Shapley, sampled (only with shapley=True)",
                  *(f"{v:.2f}" for v in stages["Shapley, sampled"]))  # fmt: skip
    peak = float(result["peak_rss_mb"])  # type: ignore[arg-type]
    table.add_row("peak RSS, MB (inputs included)", f"{peak:,.0f}", "")
    Console().print(table)
    return result


if __name__ == "__main__":
    run()
