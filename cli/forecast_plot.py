"""PNG plots of a day's forecasts and of a backtest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cluster.config import ClusterConfig
from cluster.timeseries import SeriesId
from forecasting.backtest import BacktestReport
from forecasting.daily import DayForecast

#: Days shown in the forecast-against-actual plot of a backtest.
SHOWN_DAYS = 7
_UNITS = {"price": "PLN/MWh", "traffic": "vehicles/h"}


def plot_day_forecast(forecast: DayForecast, config: ClusterConfig, day: date, path: Path) -> Path:
    """One panel per group: a single series with its 80 and 95 % bands, or a group's total."""
    zone = config.cluster.zone
    table = forecast.table()
    groups = list(dict.fromkeys(table["group"]))
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(11, 2.6 * max(1, len(groups))), sharex=True,
        constrained_layout=True, squeeze=False,
    )  # fmt: skip
    fig.suptitle(f"{config.cluster.name} — forecasts for {day.isoformat()}")
    for ax, group in zip(axes[:, 0], groups, strict=True):
        part = table[table["group"] == group]
        ids = list(dict.fromkeys(part["series_id"]))
        unit = _UNITS.get(group, "kW")
        if len(ids) == 1:
            one = part.set_index(pd.DatetimeIndex(part["ts"]).tz_convert(zone))
            for level, alpha in (("95", 0.15), ("80", 0.3)):
                if f"lower_{level}" in one and one[f"lower_{level}"].notna().any():
                    ax.fill_between(one.index, one[f"lower_{level}"], one[f"upper_{level}"],
                                    step="post", alpha=alpha, color="tab:blue",
                                    label=f"{level} % interval")  # fmt: skip
            ax.step(one.index, one["point"], where="post", color="tab:blue",
                    label=f"{ids[0]} ({one['model'].iloc[0]})")  # fmt: skip
        else:
            total = part.pivot_table(index="ts", columns="series_id", values="point").sum(axis=1)
            total.index = pd.DatetimeIndex(total.index).tz_convert(zone)
            ax.step(total.index, total, where="post", label=f"sum of {len(ids)} series")
        if group == "street lighting" and SeriesId.LAMPS_ON_FRACTION in forecast.values:
            share = forecast.values[SeriesId.LAMPS_ON_FRACTION]
            twin = ax.twinx()
            local = pd.DatetimeIndex(share.index).tz_convert(zone)
            twin.step(local, share, where="post", color="tab:orange", linestyle=":",
                      label="lamps on (share of step)")  # fmt: skip
            twin.set_ylim(0, 1.05)
            twin.legend(loc="upper right", fontsize=8)
        ax.set_title(str(group))
        ax.set_ylabel(unit)
        ax.legend(loc="upper left", fontsize=8)
    axes[-1, 0].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
    axes[-1, 0].set_xlabel(f"local time ({config.cluster.timezone})")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_backtest(report: BacktestReport, folder: Path) -> list[Path]:
    """Forecast against actual, error by lead time and interval coverage, as three PNGs."""
    return [
        _forecast_vs_actual(report, folder / "forecast_vs_actual.png"),
        _error_by_lead(report, folder / "error_by_lead.png"),
        _coverage(report, folder / "coverage.png"),
    ]


def _forecast_vs_actual(report: BacktestReport, path: Path) -> Path:
    frame = report.forecasts
    shown = set(report.origins[-SHOWN_DAYS:])
    firsts = report.metrics.drop_duplicates("group")[["group", "series_id", "model"]]
    fig, axes = plt.subplots(
        max(1, len(firsts)), 1, figsize=(12, 2.6 * max(1, len(firsts))), squeeze=False,
        constrained_layout=True,
    )  # fmt: skip
    fig.suptitle(f"Day-ahead forecasts against actual values, last {len(shown)} origins")
    for ax, row in zip(axes[:, 0], firsts.itertuples(), strict=False):
        part = frame[
            (frame["series_id"] == row.series_id)
            & (frame["model"] == row.model)
            & frame["origin"].isin(shown)
        ].sort_values("ts")
        ts = pd.DatetimeIndex(part["ts"])
        if len(part):
            ax.fill_between(ts, part["lower_80"], part["upper_80"], step="post", alpha=0.3,
                            color="tab:blue", label="80 % interval")  # fmt: skip
            ax.step(ts, part["point"], where="post", color="tab:blue", label=str(row.model))
            ax.step(ts, part["actual"], where="post", color="black", linewidth=0.8,
                    label="actual")  # fmt: skip
            ax.legend(loc="upper left", fontsize=8)
        else:
            ax.text(0.5, 0.5, "no forecasts: see the errors", ha="center", transform=ax.transAxes)
        ax.set_title(f"{row.group}: {row.series_id}")
        ax.set_ylabel(_UNITS.get(str(row.group), "kW"))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _error_by_lead(report: BacktestReport, path: Path) -> Path:
    by_lead = report.error_by_lead()
    # PV errs only by day, and by far more than its mean over day and night: a panel of its own.
    panels = [by_lead[by_lead["group"] != "pv"], by_lead[by_lead["group"] == "pv"]]
    panels = [panel for panel in panels if len(panel)]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6 * max(1, len(panels)), 5),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    for ax, panel in zip(axes[0], panels, strict=False):
        for (group, model), part in panel.groupby(["group", "model"], sort=False):
            ax.plot(part["lead_hour"], 100 * part["relative_mae"], marker=".",
                    label=f"{group} ({model})")  # fmt: skip
        ax.set_xlabel("lead time from the origin (local midnight), h")
        ax.set_ylabel("MAE, % of the mean absolute value over the day")
        ax.legend(fontsize=8)
    fig.suptitle("Error by lead time")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _coverage(report: BacktestReport, path: Path) -> Path:
    summary = report.summary()
    labels = [f"{g}\n{m}" for g, m in zip(summary["group"], summary["model"], strict=True)]
    positions = np.arange(len(summary))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(summary)), 5), constrained_layout=True)
    ax.bar(positions - 0.2, 100 * summary["coverage_80"], width=0.4, label="80 % interval")
    ax.bar(positions + 0.2, 100 * summary["coverage_95"], width=0.4, label="95 % interval")
    for target, style in ((80, "--"), (95, ":")):
        ax.axhline(target, color="black", linestyle=style, linewidth=0.8)
    ax.set_xticks(positions, labels, fontsize=8, rotation=15, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("actual values inside the interval, %")
    ax.set_title("Interval coverage (lines: the nominal levels)")
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
