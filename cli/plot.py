"""A PNG of one day's schedule: balance, local generation, battery state, price."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from cluster.config import ClusterConfig
from cluster.schedule import Schedule


def _generation_by_kind(schedule: Schedule, config: ClusterConfig) -> pd.DataFrame:
    """Output per step summed by asset kind, MW."""
    kinds = {p.id: "PV" for p in config.assets.pv_plants}
    kinds |= {c.id: "waste-to-energy" for c in config.assets.wte_chps}
    kinds |= {c.id: "biogas" for c in config.assets.biogas_chps}
    output = schedule.assets[schedule.assets["quantity"] == "output_kw"]
    output = output.assign(kind=output["asset"].map(kinds)).dropna(subset=["kind"])
    table = output.pivot_table(index="ts", columns="kind", values="value", aggfunc="sum")
    return table.fillna(0.0) / 1000.0


def plot_schedule(schedule: Schedule, config: ClusterConfig, path: Path) -> Path:
    """Draw the day's schedule into ``path`` (PNG) and return the path."""
    zone = config.cluster.zone
    cluster = schedule.cluster.copy()
    cluster.index = pd.DatetimeIndex(cluster.index).tz_convert(zone)
    fig, axes = plt.subplots(4, 1, figsize=(11, 12), sharex=True, constrained_layout=True)
    fig.suptitle(f"{config.cluster.name} — schedule for {schedule.day.isoformat()}")

    ax = axes[0]
    ax.fill_between(cluster.index, cluster["net_import_kw"] / 1000, step="post", alpha=0.35,
                    label="net import (+) / export (−)")  # fmt: skip
    ax.step(cluster.index, cluster["load_kw"] / 1000, where="post", label="cluster load")
    ax.step(cluster.index, cluster["block_kw"] / 1000, where="post", linestyle="--",
            label="fixed-price blocks")  # fmt: skip
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("MW")
    ax.set_title("Cluster balance")
    ax.legend(loc="upper left", fontsize=8)

    ax = axes[1]
    generation = _generation_by_kind(schedule, config)
    if not generation.empty:
        generation.index = pd.DatetimeIndex(generation.index).tz_convert(zone)
        ax.stackplot(generation.index, generation.T.to_numpy(), labels=list(generation.columns),
                     step="post", alpha=0.8)  # fmt: skip
        ax.legend(loc="upper left", fontsize=8)
    ax.set_ylabel("MW")
    ax.set_title("Local generation")

    ax = axes[2]
    for battery in config.assets.batteries:
        soc = schedule.asset_series(battery.id, "soc_kwh")
        soc.index = pd.DatetimeIndex(soc.index).tz_convert(zone)
        ax.step(soc.index, 100 * soc / battery.energy_kwh, where="post", label=battery.id)
    ax.set_ylim(0, 100)
    ax.set_ylabel("state of charge, %")
    ax.set_title("Batteries")
    if config.assets.batteries:
        ax.legend(loc="upper left", fontsize=8)

    ax = axes[3]
    ax.step(cluster.index, cluster["price_pln_per_mwh"], where="post", color="tab:red")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("PLN/MWh")
    ax.set_title("Day-ahead price")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
    ax.set_xlabel(f"local time ({config.cluster.timezone})")

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
