"""The calendar profile of a series and its temperature scaling, fitted by alternating LS.

A *profile class* says which daily shape a local day follows: each working
weekday (Monday-Friday) has its own, then Saturday, Sunday or public
holiday, and working day in a school break. Within a class the shape has
one level per local time-of-day slot. The classes seen on few days are
shrunk towards shapes seen on many, block by block of the day, by how much
they really differ there (empirical Bayes): each weekday towards the pooled
working day (a theatre closed on Mondays differs a lot; an office's Tuesday
not at all), Saturday and Sunday towards each other, then they and the
school-break day towards the working day (a Saturday night is a working
night; a Saturday noon is not).

Fitting alternates between the levels (weighted means per class and slot,
given the temperature factor) and the coefficients (a small weighted least
squares, given the levels), see :func:`fit_profile`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from forecasting.features import StepFeatures
from forecasting.grid import FloatArray, IntArray

#: Profile classes: 0-4 are Monday-Friday working days.
SATURDAY, SUNDAY_HOLIDAY, SCHOOL_BREAK = 5, 6, 7
CLASS_COUNT = 8
WEEKDAYS = (0, 1, 2, 3, 4)
#: Special days shifted from their class towards the Sunday profile by a fitted share.
BRIDGE, BREAK_BLEND = 1, 2
SPECIAL_NAMES = {BRIDGE: "bridge day", BREAK_BLEND: "school-break day"}
#: Rounds of alternating least squares.
ALTERNATIONS = 4
#: Classes whose shape is pulled towards the pooled working day block by block.
BLOCK_SHRUNK = (SATURDAY, SUNDAY_HOLIDAY, SCHOOL_BREAK)
WEEKEND = (SATURDAY, SUNDAY_HOLIDAY)
#: Blocks of the local day with a pull of their own (two hours each).
SHRINK_BLOCKS = 12
#: Effective days a class needs at a slot for a level of its own: one day is
#: evidence (a theatre's only Monday since it reopened, closed), none is not.
_MIN_EFFECTIVE_DAYS = 0.5
#: Stands for the pooled working-day shape among the stand-ins of an empty cell.
_POOLED = -1
_STAND_INS: dict[int, tuple[int, ...]] = {
    **{weekday: (_POOLED, SATURDAY, SUNDAY_HOLIDAY) for weekday in WEEKDAYS},
    SATURDAY: (SUNDAY_HOLIDAY, _POOLED),
    SUNDAY_HOLIDAY: (SATURDAY, _POOLED),
    SCHOOL_BREAK: (_POOLED, SUNDAY_HOLIDAY),
}


@dataclass(frozen=True)
class ProfileDesign:
    """What a profile model knows about each step besides its value.

    Attributes
    ----------
    features
        Calendar features of the steps.
    profile_class
        Profile class of each step (see the module).
    special
        0, :data:`BRIDGE` or :data:`BREAK_BLEND`.
    heating, cooling
        Heating and cooling degrees, K (NaN when unknown).
    extra
        Extra regressors, one column each.
    """

    features: StepFeatures
    profile_class: IntArray
    special: IntArray
    heating: FloatArray
    cooling: FloatArray
    extra: FloatArray


def degree_count(terms: Sequence[str]) -> int:
    """How many of ``terms`` are degree terms (they come first)."""
    return sum(term in {"heating", "cooling"} for term in terms)


@dataclass(frozen=True)
class CalendarProfile:
    """A fitted profile: levels per class and slot, coefficients and blend shares.

    Attributes
    ----------
    levels
        Level of each (class, slot), flattened class-major.
    coefficients
        Coefficients of ``terms``: degree terms (relative change of the
        profile per K away from the history's mean degrees) then extras (per
        unit away from their mean).
    centers
        The history's (weighted) mean of each term's regressor, which the
        coefficients are measured from. Centring keeps the profile and the
        coefficients nearly uncorrelated, so the alternating fit converges
        in a few rounds.
    theta
        Share of the way to the Sunday profile of bridge and blended break days.
    seen_special
        Whether the history had days of each special kind.
    inflation
        Per (class, slot): factor from in-sample to out-of-sample error spread.
    slots_per_day
        Slots in a day.
    """

    levels: FloatArray
    coefficients: FloatArray
    centers: FloatArray
    theta: FloatArray
    seen_special: tuple[bool, bool, bool]
    inflation: FloatArray
    slots_per_day: int

    def cells(self, design: ProfileDesign) -> IntArray:
        """The (class, slot) cell of each step."""
        result: IntArray = design.profile_class * self.slots_per_day + design.features.slot
        return result

    def base(self, design: ProfileDesign) -> FloatArray:
        """The profile level of each step, bridge and break days blended."""
        base = self.levels[self.cells(design)]
        sunday = self.levels[SUNDAY_HOLIDAY * self.slots_per_day + design.features.slot]
        for special in (BRIDGE, BREAK_BLEND):
            base = np.where(
                design.special == special, base + self.theta[special] * (sunday - base), base
            )
        return base

    def predict(self, design: ProfileDesign, terms: Sequence[str]) -> FloatArray:
        """The profile times the degree factor plus the extra terms (NaN where inputs miss)."""
        base = self.base(design)
        columns = _columns(design, terms, base, self.centers)
        result: FloatArray = base + columns @ self.coefficients
        return np.where(_usable(design, terms), result, np.nan)

    def effects_per_unit(self, terms: Sequence[str]) -> dict[str, float]:
        """Each degree term as the relative change per K from zero degrees; extras as fitted.

        With the profile level :math:`m` at the mean degrees :math:`c`,
        :math:`m (1 + \beta (D - c)) = m (1 - \beta c) (1 + \beta_0 D)` with
        :math:`\beta_0 = \beta / (1 - \beta c)`.
        """
        effects = {}
        for position, term in enumerate(terms):
            beta = float(self.coefficients[position])
            if term in {"heating", "cooling"}:
                beta = beta / (1.0 - beta * float(self.centers[position]))
            effects[term] = beta
        return effects


def _raw_columns(design: ProfileDesign, terms: Sequence[str]) -> FloatArray:
    """The regressor of each term before scaling and centring: degrees, then extras."""
    columns = []
    for term in terms:
        if term == "heating":
            columns.append(np.nan_to_num(design.heating))
        elif term == "cooling":
            columns.append(np.nan_to_num(design.cooling))
    extras = np.nan_to_num(design.extra[:, : len(terms) - len(columns)])
    length = len(design.profile_class)
    return np.column_stack([*columns, extras]) if terms else np.zeros((length, 0))


def _columns(
    design: ProfileDesign, terms: Sequence[str], base: FloatArray, centers: FloatArray
) -> FloatArray:
    """The centred regressors multiplying the coefficients; degree terms scaled by the profile."""
    columns = _raw_columns(design, terms) - centers[None, :]
    degrees = degree_count(terms)
    columns[:, :degrees] *= base[:, None]
    return columns


def _usable(design: ProfileDesign, terms: Sequence[str]) -> np.ndarray:
    usable = np.ones(len(design.profile_class), dtype=bool)
    if "heating" in terms:
        usable &= ~np.isnan(design.heating)
    if "cooling" in terms:
        usable &= ~np.isnan(design.cooling)
    if len(terms) > degree_count(terms):
        usable &= ~np.isnan(design.extra).any(axis=1)
    return usable


def _class_levels(
    target: FloatArray,
    factor: FloatArray,
    weights: FloatArray,
    cells: IntArray,
    slots_per_day: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-cell least-squares levels of ``target ≈ level · factor``, their weights, counts."""
    count = CLASS_COUNT * slots_per_day
    numerator = np.bincount(cells, weights=weights * factor * target, minlength=count)
    denominator = np.bincount(cells, weights=weights * factor * factor, minlength=count)
    sums = np.bincount(cells, weights=weights, minlength=count)
    squares = np.bincount(cells, weights=weights * weights, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        levels: FloatArray = np.where(denominator > 0, numerator / denominator, np.nan)
        effective: FloatArray = np.where(squares > 0, sums * sums / squares, 0.0)
    return levels, denominator.astype(float), effective


def _block_shares(
    difference: FloatArray, noise_variance: FloatArray, effective: FloatArray, known: np.ndarray
) -> FloatArray:
    """Per slot: the share of a class's difference from the pooled shape that is kept.

    One empirical-Bayes share per block of :data:`SHRINK_BLOCKS` of the day:
    the block's mean squared difference beyond what noise alone gives
    (:math:`\\tau^2`), over that plus the noise. Blocks of a day differ
    (a Saturday is a working day at night and not at noon), so each has its own.
    """
    slots_per_day = len(difference)
    block = np.minimum(np.arange(slots_per_day) * SHRINK_BLOCKS // slots_per_day, SHRINK_BLOCKS - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = np.where(known, noise_variance / effective, 0.0)
        counts = np.bincount(block, weights=known.astype(float), minlength=SHRINK_BLOCKS)
        squares = np.bincount(
            block, weights=np.where(known, difference, 0.0) ** 2, minlength=SHRINK_BLOCKS
        )
        mean_square = squares / counts
        mean_noise = np.bincount(block, weights=noise, minlength=SHRINK_BLOCKS) / counts
        signal = np.maximum(0.0, mean_square - mean_noise)
        share = np.where(signal + mean_noise > 0, signal / (signal + mean_noise), 0.0)
    result: FloatArray = np.nan_to_num(share)[block]
    return result


def _shrink_weekdays(
    table: FloatArray,
    weight: FloatArray,
    effective: FloatArray,
    noise_variance: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each weekday's shape pulled towards the pooled working-day shape.

    The pull is an empirical-Bayes share per weekday: the weekday's mean
    squared difference from the pooled shape beyond what noise alone gives
    (:math:`\\tau^2`), against that noise. Returns the new weekday rows, the
    pooled shape and the effective day counts of the shrunk rows.
    """
    rows = list(WEEKDAYS)
    weekday_weight = weight[rows]
    total = weekday_weight.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(
            total > 0, np.nansum(table[rows] * weekday_weight, axis=0) / total, np.nan
        )
    pooled_count = effective[rows].sum(axis=0)
    shrunk = table[rows].copy()
    counts = effective[rows].copy()
    for row in rows:
        known = (effective[row] > _MIN_EFFECTIVE_DAYS) & ~np.isnan(table[row]) & ~np.isnan(pooled)
        if not known.any():
            shrunk[row] = pooled
            counts[row] = pooled_count
            continue
        difference = np.where(known, table[row] - pooled, 0.0)
        share = _block_shares(difference, noise_variance, effective[row], known)
        shrunk[row] = np.where(known, pooled + share * difference, pooled)
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = share / effective[row] + (1 - share) ** 2 / np.maximum(pooled_count, 1)
            counts[row] = np.where(known, 1.0 / variance, pooled_count)
    return shrunk, pooled, counts


def _shrink_rows(
    table: FloatArray,
    effective: FloatArray,
    rows: tuple[int, ...],
    target: FloatArray,
    target_count: FloatArray,
    noise_variance: FloatArray,
) -> None:
    """Rows of ``table`` pulled towards ``target`` block by block, where they match it.

    A Saturday differs from a working day in the opening hours, often not at
    all at night; and a building closed at weekends is closed alike on
    Saturdays and Sundays. Where a class and a better-known shape agree, the
    class's few days (one a week) are a noisy estimate of what the many
    days of that shape tell better. The pull is the empirical-Bayes share of
    :func:`_block_shares`, so the hours that do differ keep their own level.
    Changes ``table`` and ``effective`` (effective day counts) in place.
    """
    for row in rows:
        known = (effective[row] > _MIN_EFFECTIVE_DAYS) & ~np.isnan(table[row]) & ~np.isnan(target)
        if not known.any():
            continue
        difference = np.where(known, table[row] - target, 0.0)
        share = _block_shares(difference, noise_variance, effective[row], known)
        with np.errstate(invalid="ignore", divide="ignore"):
            # Posterior variance of the pulled level (share × the raw level's
            # variance): the pooled shape cannot know the part of the difference
            # given up, so the spread is not the smaller shrunk one.
            variance = share / effective[row] + (1 - share) ** 2 / np.maximum(target_count, 1)
        table[row] = np.where(known, target + share * difference, table[row])
        effective[row] = np.where(known, 1.0 / variance, effective[row])


def _pooled_rows(
    table: FloatArray, effective: FloatArray, rows: tuple[int, ...]
) -> tuple[FloatArray, FloatArray]:
    """The effective-count-weighted mean shape of ``rows`` and its effective count."""
    weight = np.where(np.isnan(table[list(rows)]), 0.0, effective[list(rows)])
    total = weight.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(total > 0, np.nansum(table[list(rows)] * weight, axis=0) / total, np.nan)
    return pooled, total


def _fill(table: FloatArray, pooled: FloatArray) -> FloatArray:
    filled = table.copy()
    for profile_class, stand_ins in _STAND_INS.items():
        for stand_in in stand_ins:
            source = pooled if stand_in == _POOLED else table[stand_in]
            filled[profile_class] = np.where(
                np.isnan(filled[profile_class]), source, filled[profile_class]
            )
    overall = float(np.nanmean(table)) if not np.isnan(table).all() else 0.0
    result: FloatArray = np.nan_to_num(filled, nan=overall)
    return result


def _levels_round(
    target: FloatArray,
    factor: FloatArray,
    weights: FloatArray,
    cells: IntArray,
    slots: IntArray,
    slots_per_day: int,
) -> tuple[FloatArray, FloatArray]:
    """One round of levels: raw means per cell, weekdays shrunk, gaps filled; and counts."""
    levels, weight, effective = _class_levels(target, factor, weights, cells, slots_per_day)
    residual = target - factor * np.nan_to_num(levels)[cells]
    in_week = (cells // slots_per_day < len(WEEKDAYS)) & (weights > 0)
    squares = np.bincount(
        slots[in_week], weights=weights[in_week] * residual[in_week] ** 2, minlength=slots_per_day
    )
    sums = np.bincount(slots[in_week], weights=weights[in_week], minlength=slots_per_day)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise_variance = np.where(sums > 0, squares / sums, 0.0)
    shape = (CLASS_COUNT, slots_per_day)
    table, weight_table = levels.reshape(shape), weight.reshape(shape)
    count_table = effective.reshape(shape).copy()
    shrunk, pooled, counts = _shrink_weekdays(table, weight_table, count_table, noise_variance)
    table = table.copy()
    table[list(WEEKDAYS)] = shrunk
    count_table[list(WEEKDAYS)] = counts
    pooled_count = effective.reshape(shape)[list(WEEKDAYS)].sum(axis=0)
    # Saturday and Sunday towards each other, then all rare classes towards the working day.
    weekend, weekend_count = _pooled_rows(table, count_table, WEEKEND)
    _shrink_rows(table, count_table, WEEKEND, weekend, weekend_count, noise_variance)
    _shrink_rows(table, count_table, BLOCK_SHRUNK, pooled, pooled_count, noise_variance)
    return _fill(table, pooled).reshape(-1), count_table.reshape(-1)


def fit_profile(
    values: FloatArray,
    design: ProfileDesign,
    terms: tuple[str, ...],
    slots_per_day: int,
    weights: FloatArray,
) -> CalendarProfile:
    """Fit levels, coefficients and blend shares by alternating least squares.

    Parameters
    ----------
    values
        The series (NaN where unknown).
    design
        Its design.
    terms
        ``"heating"``, ``"cooling"`` (in that order, when fitted) then extras.
    slots_per_day
        Slots in a day.
    weights
        Weight of each step (0 for unknown ones).
    """
    weights = np.where(_usable(design, terms) & ~np.isnan(values), weights, 0.0)
    y = np.nan_to_num(values)
    slots = design.features.slot
    cells = design.profile_class * slots_per_day + slots
    ordinary_weights = np.where(design.special == 0, weights, 0.0)
    factor, additive = np.ones(len(y)), np.zeros(len(y))
    theta = np.zeros(3)
    raw = _raw_columns(design, terms)
    total = max(float(weights.sum()), 1e-12)
    centers = (weights[:, None] * raw).sum(axis=0) / total if terms else np.zeros(0)
    profile = CalendarProfile(
        levels=np.zeros(CLASS_COUNT * slots_per_day),
        coefficients=np.zeros(len(terms)),
        centers=centers,
        theta=theta,
        seen_special=(True, False, False),
        inflation=np.ones(CLASS_COUNT * slots_per_day),
        slots_per_day=slots_per_day,
    )
    counts = np.zeros(CLASS_COUNT * slots_per_day)
    degrees = degree_count(terms)
    for _ in range(ALTERNATIONS):
        levels, counts = _levels_round(
            y - additive, factor, ordinary_weights, cells, slots, slots_per_day
        )
        profile = replace(profile, levels=levels)
        own = levels[cells]
        sunday = levels[SUNDAY_HOLIDAY * slots_per_day + slots]
        for special in (BRIDGE, BREAK_BLEND):
            mine = (design.special == special) & (weights > 0)
            shift = factor[mine] * (sunday[mine] - own[mine])
            gap = y[mine] - additive[mine] - factor[mine] * own[mine]
            denominator = float(np.sum(weights[mine] * shift * shift))
            if denominator > 0:
                share = np.sum(weights[mine] * shift * gap) / denominator
                theta[special] = float(np.clip(share, -0.5, 1.5))
        profile = replace(profile, theta=theta.copy())
        if not terms:
            break
        base = profile.base(design)
        columns = _columns(design, terms, base, centers)
        weighted = columns * weights[:, None]
        gram = weighted.T @ columns
        ridge = 1e-8 * max(float(np.trace(gram)), 1e-12) * np.eye(len(terms))
        coefficients = np.linalg.solve(gram + ridge, weighted.T @ (y - base)).astype(np.float64)
        profile = replace(profile, coefficients=coefficients)
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = columns[:, :degrees] @ coefficients[:degrees] / base
        factor = np.maximum(np.where(np.isfinite(relative), 1.0 + relative, 1.0), 0.1)
        additive = columns[:, degrees:] @ coefficients[degrees:]
    # Out-of-sample error variance is (n+1)/(n-1) times the in-sample one for a mean of n.
    inflation = np.sqrt((counts + 1.0) / np.maximum(counts - 1.0, 1.0))
    seen = tuple(bool(np.any((design.special == s) & (weights > 0))) for s in range(3))
    return replace(profile, inflation=inflation, seen_special=(True, seen[1], seen[2]))
