"""The plots of the settlement reports, as PNG bytes.

Each function draws one small figure from numbers already chosen for the
reader (a member's own series or the cluster's totals, never another member's)
and words already in the report's language. PNGs carry no date or software
stamp, so the same numbers always give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

#: Colours shared by every plot: local energy green, grid grey-blue, credits amber.
LOCAL_COLOUR = "#2e7d32"
GRID_COLOUR = "#78909c"
EXPORT_COLOUR = "#ef6c00"
SOLD_COLOUR = "#ffb74d"
COST_COLOUR = "#c62828"
SAVING_COLOUR = "#1565c0"
_DPI = 100


@dataclass(frozen=True)
class PlotWords:
    """The words of one figure, in the report's language."""

    title: str
    x_label: str = ""
    y_label: str = ""
    legend: tuple[str, ...] = ()


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes without metadata, and closed."""
    buffer = io.BytesIO()
    # No "Software" stamp: the bytes then depend only on what is drawn.
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _bar_figure(
    labels: Sequence[str], bar_height_in: float, legend_in: float = 0.0
) -> tuple[Figure, Axes]:
    """A figure of horizontal bars with room for the labels on the left and a legend below."""
    height_in = 1.0 + bar_height_in * len(labels) + legend_in
    fig, axis = plt.subplots(figsize=(7.0, height_in))
    # Fixed margins instead of a layout engine: one drawing per figure, not two. About
    # 0.055 in per character of a 7 pt label, on a figure 7 in wide.
    left = 0.05 + 0.0078 * max((len(label) for label in labels), default=0)
    bottom = (0.45 + legend_in) / height_in
    fig.subplots_adjust(left=left, right=0.97, bottom=bottom, top=1 - 0.3 / height_in)
    return fig, axis


def _ticks(number: Callable[[float, int], str]) -> FuncFormatter:
    """Tick labels in the report's language, with no more decimals than the tick needs."""

    def label(value: float, _position: int) -> str:
        digits = next((d for d in (0, 1, 2) if abs(value * 10**d - round(value * 10**d)) < 1e-6), 2)
        return number(value, digits)

    return FuncFormatter(label)


def mean_day_kw(energy_wh: pd.DataFrame, time_zone: str) -> pd.DataFrame:
    """The mean local day of energy per step, as mean power in each step, kW.

    Parameters
    ----------
    energy_wh : pandas.DataFrame
        Energy per step, Wh, UTC index on a regular grid.
    time_zone : str
        The IANA zone whose clock times group the steps.

    Returns
    -------
    pandas.DataFrame
        Indexed by local clock time as hours since midnight (0, 0.25, …), mean kW.
    """
    index = pd.DatetimeIndex(energy_wh.index)
    # The step is the grid's own (15, 30 or 60 min): the smallest gap between rows.
    step_h = index.to_series().diff().min() / pd.Timedelta(hours=1) if len(index) > 1 else 0.25
    local = index.tz_convert(time_zone)
    clock_h = local.hour + local.minute / 60
    mean_wh = energy_wh.groupby(clock_h.to_numpy()).mean()
    return mean_wh / 1000 / step_h


def daily_profile_png(
    local_kw: pd.Series,
    grid_kw: pd.Series,
    export_kw: pd.Series | None,
    words: PlotWords,
    number: Callable[[float, int], str],
) -> bytes:
    """The mean day stacked: power from the cluster below, from the grid above, kW.

    Parameters
    ----------
    local_kw, grid_kw : pandas.Series
        Mean power of local and grid energy by local clock hour (0, 0.25, …), kW.
    export_kw : pandas.Series or None
        Mean exported power on the same index, kW, drawn as a line; None to leave it out.
    words : PlotWords
        Title, axis labels and the legend (local, grid, export).
    number : callable
        Formats a tick value in the report's language.
    """
    fig, axis = plt.subplots(figsize=(7.0, 2.8))
    # Fixed margins instead of a layout engine: one drawing per figure, not two.
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.9)
    hours = local_kw.index.to_numpy(dtype=float)
    axis.stackplot(
        hours,
        local_kw.to_numpy(dtype=float),
        grid_kw.to_numpy(dtype=float),
        colors=(LOCAL_COLOUR, GRID_COLOUR),
        labels=words.legend[:2],
        step="post",
    )
    if export_kw is not None:
        axis.step(hours, export_kw.to_numpy(dtype=float), where="post",
                  color=EXPORT_COLOUR, label=words.legend[2])  # fmt: skip
    axis.set_xlim(0, 24)
    axis.set_xticks(range(0, 25, 3))
    axis.set_xlabel(words.x_label, fontsize=8)
    axis.set_ylabel(words.y_label, fontsize=8)
    axis.yaxis.set_major_formatter(_ticks(number))
    axis.set_title(words.title, fontsize=9)
    axis.tick_params(labelsize=7)
    axis.legend(fontsize=7, loc="upper left")
    return png_bytes(fig)


def energy_split_png(
    bars: Sequence[tuple[str, Sequence[float]]],
    words: PlotWords,
    number: Callable[[float, int], str],
) -> bytes:
    """Horizontal stacked bars of energy: consumption (local, grid), production (delivered, sold).

    Parameters
    ----------
    bars : sequence of (label, parts)
        One bar per entry, its two parts in MWh (first drawn in the first colour).
    words : PlotWords
        Title, the energy axis label and the legend of the four parts.
    number : callable
        Formats a tick value in the report's language.
    """
    colours = ((LOCAL_COLOUR, GRID_COLOUR), (EXPORT_COLOUR, SOLD_COLOUR))
    fig, axis = _bar_figure([label for label, _ in bars], 0.6, legend_in=0.5)
    for row, (label, parts) in enumerate(bars):
        left = 0.0
        for part, (value, colour) in enumerate(zip(parts, colours[row % 2], strict=False)):
            legend = words.legend[2 * (row % 2) + part] if words.legend else None
            axis.barh(label, value, left=left, color=colour, label=legend)
            left += value
    axis.invert_yaxis()
    axis.set_xlabel(words.x_label, fontsize=8)
    axis.xaxis.set_major_formatter(_ticks(number))
    axis.set_title(words.title, fontsize=9)
    axis.tick_params(labelsize=7)
    handles, names = axis.get_legend_handles_labels()
    fig.legend(handles, names, fontsize=7, loc="lower center", ncols=4, frameon=False)
    return png_bytes(fig)


def amounts_png(
    amounts: Sequence[tuple[str, float]],
    words: PlotWords,
    number: Callable[[float, int], str],
    *,
    colours: Sequence[str] | None = None,
) -> bytes:
    """Horizontal bars of amounts of money, one per label, PLN.

    Costs (positive) are drawn red, credits (negative) blue, unless ``colours``
    gives one colour per bar.

    Parameters
    ----------
    amounts : sequence of (label, amount)
        The bars in reading order, PLN.
    words : PlotWords
        Title and the money axis label.
    number : callable
        Formats a tick value in the report's language.
    colours : sequence of str, optional
        One colour per bar.
    """
    labels = [label for label, _ in amounts]
    values = [value for _, value in amounts]
    if colours is None:
        colours = [COST_COLOUR if v >= 0 else SAVING_COLOUR for v in values]
    fig, axis = _bar_figure(labels, 0.35)
    axis.barh(labels, values, color=list(colours))
    axis.axvline(0, color="#444", linewidth=0.8)
    axis.invert_yaxis()
    axis.set_xlabel(words.x_label, fontsize=8)
    axis.xaxis.set_major_formatter(_ticks(number))
    axis.set_title(words.title, fontsize=9)
    axis.tick_params(labelsize=7)
    return png_bytes(fig)
