"""Planned outages as forecast input: they scale the forecast and stay out of the fit.

A plant's planned outages and derates (:mod:`cluster.outages`) say in
advance what its history cannot: that the plant will be out (or derated)
for a while, and that it was out for a known reason in the past. Two things
follow, both done around whatever model forecasts the plant:

- **the fit.** Steps of the history inside a past planned outage are set
  missing, so the model learns neither the outage's zeros as the plant's
  level nor its sudden drop as a forecast error. When the history *ends*
  inside a planned outage, it is cut at the outage's start: the plant's
  state at the forecast origin is the outage, not a new normal, so the
  forecast starts from the last normal running before it
  (:func:`mask_planned_outages`);
- **the forecast.** In every step a planned outage touches, the point
  forecast and its intervals are multiplied by the outage's
  ``available_fraction`` (:func:`apply_plan`).

Both are written down in the forecast's notes, like the cleaning choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster.outages import OutageWindow, steps_in_windows
from forecasting.base import ForecastResult
from forecasting.grid import infer_step_minutes, series_label


@dataclass(frozen=True)
class PlanReport:
    """What :func:`mask_planned_outages` did to a history.

    Attributes
    ----------
    series_id
        The series.
    step_minutes
        Its step, minutes.
    masked
        UTC steps of the history inside a past planned outage (set missing).
    cut_at
        When the history ended inside a planned outage: the UTC start of
        that outage, where the history was cut; None otherwise.
    cut_outage
        The outage the history ended in, in words.
    """

    series_id: str
    step_minutes: int
    masked: pd.DatetimeIndex
    cut_at: pd.Timestamp | None = None
    cut_outage: str = ""

    def notes(self) -> tuple[str, ...]:
        """One sentence per thing done, for people."""
        notes: list[str] = []
        if len(self.masked):
            hours = len(self.masked) * self.step_minutes / 60
            notes.append(f"{hours:g} h of planned outages in the history left out of the fit")
        if self.cut_at is not None:
            notes.append(
                f"the history ends in the planned outage {self.cut_outage}: forecast from "
                f"its start, {self.cut_at:%Y-%m-%d %H:%M} UTC"
            )
        return tuple(notes)


def mask_planned_outages(
    history: pd.Series, windows: Sequence[OutageWindow]
) -> tuple[pd.Series, PlanReport]:
    """The history with its planned-outage steps missing and its tail cut at an ongoing one.

    Parameters
    ----------
    history
        Raw values indexed by time-zone-aware timestamps on a regular step
        (gaps allowed); its name names the series.
    windows
        The plant's planned outages on the UTC time line.

    Returns
    -------
    tuple
        The history (NaN inside past planned outages, and ending before the
        outage it ended in, if any), and the report of what was done.
    """
    label = series_label(history)
    index = pd.DatetimeIndex(history.index)
    if len(index) < 2 or not windows:
        empty = pd.DatetimeIndex([], tz="UTC")
        return history, PlanReport(label, 0, empty)
    step = infer_step_minutes(index, label)
    utc = index.tz_convert("UTC")
    end_of_history = utc.max() + pd.Timedelta(minutes=step)
    cut_at: pd.Timestamp | None = None
    cut_outage = ""
    for window in windows:
        if window.start < end_of_history <= window.end:
            cut_at, cut_outage = window.start, window.description
    if cut_at is not None:
        keep = np.asarray(utc < cut_at, dtype=bool)
        history, utc = history[keep], utc[keep]
    inside, _ = steps_in_windows(utc, step, windows)
    masked = history.where(~inside)
    report = PlanReport(label, step, utc[inside & history.notna().to_numpy()], cut_at, cut_outage)
    return masked, report


def apply_plan(
    result: ForecastResult, windows: Sequence[OutageWindow], step_minutes: int
) -> ForecastResult:
    """The forecast with each step scaled by the share the planned outages leave.

    Parameters
    ----------
    result
        A plant's forecast.
    windows
        The plant's planned outages on the UTC time line.
    step_minutes
        The forecast's step, minutes.

    Returns
    -------
    ForecastResult
        The point and every interval bound multiplied by ``available_fraction``
        in the steps an outage touches, with a note per outage that does.
    """
    steps = pd.DatetimeIndex(result.point.index)
    inside, fraction = steps_in_windows(steps, step_minutes, windows)
    if not inside.any():
        return result
    point = result.point * fraction
    intervals = {level: frame.mul(fraction, axis=0) for level, frame in result.intervals.items()}
    ends = steps + pd.Timedelta(minutes=step_minutes)
    notes = list(result.notes)
    for window in windows:
        touched = np.asarray((steps < window.end) & (ends > window.start), dtype=bool)
        if touched.any():
            hours = int(touched.sum()) * step_minutes / 60
            notes.append(
                f"planned outage {window.description}: {hours:g} h of the forecast "
                f"× {window.available_fraction:g}"
            )
    return ForecastResult(point, result.model, intervals, tuple(notes), result.cleaning)


def planned_off_result(
    steps: pd.DatetimeIndex, series_id: str, levels: tuple[float, ...], report: PlanReport
) -> ForecastResult:
    """A forecast of zero in every step, for a plant wholly out over the horizon.

    No model is fitted: nothing the history says changes a forecast of zero.
    """
    zeros = pd.Series(np.zeros(len(steps)), index=steps, name=series_id)
    intervals = {
        level: pd.DataFrame({"lower": zeros.to_numpy(), "upper": zeros.to_numpy()}, index=steps)
        for level in levels
    }
    note = "the plant is out for the whole horizon by its planned outages: forecast zero"
    return ForecastResult(zeros, "planned_outage", intervals, (*report.notes(), note))
