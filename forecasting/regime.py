"""Regime changes: the day from which a series' daily pattern is no longer the one before.

A theatre reopens after its summer recess, an office moves a department in, a
school's after-hours sports club starts: from one day on, the building's day
looks different, and the weeks before that day describe another building.
Recency weighting follows such a change only within weeks; cutting the
history at the change follows it at once.

The test works on what the calendar model leaves unexplained, so what the
model already knows (weekends, holidays, school breaks, heating) is no
change. Each day's residuals are averaged into :data:`BLOCKS_PER_DAY` blocks
of the local day; for a candidate change day :math:`b`, each (profile class,
block) cell compares its mean before and after :math:`b`,

.. math::

    S_b = \\frac{\\sum_{k,j} w_{kj} (\\bar r^{+}_{kj} - \\bar r^{-}_{kj})^2}
               {\\sum_{k,j} \\hat\\sigma^2_{kj}},
    \\qquad w_{kj} = \\frac{n^{-}_{kj} n^{+}_{kj}}{n^{-}_{kj} + n^{+}_{kj}},

the between-segment sum of squares over its expectation without a change
(:math:`\\hat\\sigma^2_{kj}` the cell's within-segment variance of a day's
block mean): about 1 when nothing changed. The latest :math:`b` whose
:math:`S_b` is within :data:`PEAK_SHARE` of the largest is the change, if
that largest clears :data:`MIN_SCORE` and the change is large in absolute
terms too (:data:`MIN_RELATIVE_CHANGE` of the series' mean level, RMS over
the cells): slow drifts and noisy weeks must not cut the history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasting.grid import FloatArray, IntArray

#: Blocks a local day is split into for the test (two hours each).
BLOCKS_PER_DAY = 12
#: Fewest days on each side of a change.
MIN_SEGMENT_DAYS = 7
#: Score (between-segment over expected sum of squares) a change must reach.
MIN_SCORE = 8.0
#: RMS change of the cell means a change must reach, share of the mean level.
MIN_RELATIVE_CHANGE = 0.25
#: A later candidate day scoring this share of the best is preferred (the change's first day).
PEAK_SHARE = 0.9
#: A block of a day counts when this share of its steps is known.
_MIN_BLOCK_SHARE = 0.5


@dataclass(frozen=True)
class RegimeChange:
    """A detected change of a series' daily pattern.

    Attributes
    ----------
    first_day
        Local day number (days since 1970-01-01) of the first day of the new regime.
    score
        Between-segment over expected sum of squares at that day (about 1 without change).
    relative_change
        RMS change of the (class, block) means, share of the series' mean level.
    """

    first_day: int
    score: float
    relative_change: float


def _day_blocks(
    residual: FloatArray, day_number: IntArray, slot: IntArray, slots_per_day: int
) -> tuple[IntArray, FloatArray]:
    """The local days present and each day's mean residual per block (NaN when too sparse)."""
    days, day_position = np.unique(day_number, return_inverse=True)
    block = np.minimum(slot * BLOCKS_PER_DAY // slots_per_day, BLOCKS_PER_DAY - 1)
    cell = day_position * BLOCKS_PER_DAY + block
    known = np.isfinite(residual)
    size = len(days) * BLOCKS_PER_DAY
    sums = np.bincount(cell[known], weights=residual[known], minlength=size)
    counts = np.bincount(cell[known], minlength=size)
    steps_per_block = slots_per_day / BLOCKS_PER_DAY
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts >= _MIN_BLOCK_SHARE * steps_per_block, sums / counts, np.nan)
    return days, means.reshape(len(days), BLOCKS_PER_DAY)


def _day_classes(day_number: IntArray, profile_class: IntArray, days: IntArray) -> IntArray:
    """The profile class of each local day (of its first step)."""
    first_step = np.searchsorted(day_number, days) if np.all(np.diff(day_number) >= 0) else None
    if first_step is None:
        order = np.argsort(day_number, kind="stable")
        first_step = order[np.searchsorted(day_number[order], days)]
    result: IntArray = profile_class[first_step].astype(np.int64)
    return result


def detect_regime_change(
    residual: FloatArray,
    day_number: IntArray,
    slot: IntArray,
    profile_class: IntArray,
    slots_per_day: int,
    mean_level: float,
) -> RegimeChange | None:
    """The latest clear change of the daily pattern in ``residual``, or None.

    Parameters
    ----------
    residual
        A calendar model's residuals, in the series' unit (NaN where unknown).
    day_number
        Local day of each step (days since 1970-01-01).
    slot
        Local time-of-day slot of each step.
    profile_class
        Profile class of each step (weekday, Saturday, Sunday/holiday, school break).
    slots_per_day
        Slots in a local day.
    mean_level
        The series' mean absolute level, in its unit (makes the size test scale-free).
    """
    days, blocks = _day_blocks(residual, day_number, slot, slots_per_day)
    day_count = len(days)
    if day_count < 2 * MIN_SEGMENT_DAYS or mean_level <= 0:
        return None
    classes = _day_classes(day_number, profile_class, days)
    class_ids, class_of_day = np.unique(classes, return_inverse=True)
    one_hot = np.zeros((day_count, len(class_ids), 1))
    one_hot[np.arange(day_count), class_of_day, 0] = 1.0
    known = np.isfinite(blocks)[:, None, :] & (one_hot > 0)
    values = np.where(known, np.nan_to_num(blocks)[:, None, :], 0.0)
    # Cumulative counts, sums and squares per (class, block) up to each day: every
    # candidate split is then a difference of two prefixes.
    count = np.cumsum(known, axis=0, dtype=float)
    total = np.cumsum(values, axis=0)
    square = np.cumsum(values * values, axis=0)
    candidates = np.arange(MIN_SEGMENT_DAYS, day_count - MIN_SEGMENT_DAYS + 1)
    if len(candidates) == 0:
        return None
    n_before, n_after = count[candidates - 1], count[-1] - count[candidates - 1]
    s_before, s_after = total[candidates - 1], total[-1] - total[candidates - 1]
    q_before, q_after = square[candidates - 1], square[-1] - square[candidates - 1]
    usable = (n_before >= 1) & (n_after >= 1) & (n_before + n_after >= 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_before = np.where(usable, s_before / n_before, 0.0)
        mean_after = np.where(usable, s_after / n_after, 0.0)
        within = (q_before - n_before * mean_before**2) + (q_after - n_after * mean_after**2)
        variance = np.where(usable, np.maximum(within, 0.0) / (n_before + n_after - 2), 0.0)
        weight = np.where(usable, n_before * n_after / (n_before + n_after), 0.0)
    difference = np.where(usable, mean_after - mean_before, 0.0)
    between = (weight * difference**2).sum(axis=(1, 2))
    expected = variance.sum(axis=(1, 2))
    cells = usable.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(expected > 0, between / expected, 0.0)
        rms = np.sqrt(np.where(cells > 0, (difference**2).sum(axis=(1, 2)) / cells, 0.0))
    best = float(score.max())
    if best < MIN_SCORE:
        return None
    chosen = int(np.flatnonzero(score >= PEAK_SHARE * best)[-1])
    relative = float(rms[chosen]) / mean_level
    if relative < MIN_RELATIVE_CHANGE:
        return None
    return RegimeChange(int(days[candidates[chosen]]), float(score[chosen]), relative)
