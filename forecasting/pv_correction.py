"""The statistical half of the PV forecast: the plant's history corrects the physics.

No model of a real plant is exact: shading, soiling, module mismatch, a
turbidity or a cloud forecast that is off in a known way. :class:`PvCorrection`
learns, in each bin of solar elevation, morning or afternoon, and forecast
clear-sky index, the measured output over the modelled one (a least-squares
ratio through the origin, recent days weighing more, shrunk towards the
plant's overall ratio where a bin has few steps). :class:`PvErrorSpread`
keeps the quantiles of the corrected model's errors, relative to the plant's
clear-sky output, per class of forecast sky; :func:`cross_fitted` gives the
errors a correction makes on days it has not seen, which those quantiles are
taken from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasting.grid import FloatArray, IntArray
from forecasting.intervals import PROBABILITIES
from forecasting.irradiance import Sky

#: Solar elevation bin edges of the correction, degrees.
ELEVATION_EDGES_DEG = (5.0, 10.0, 15.0, 25.0, 35.0, 50.0)
#: Clear-sky index bin edges of the correction (inner edges).
CLEAR_SKY_INDEX_EDGES = (0.3, 0.55, 0.8)
#: Clear-sky index edges of the error classes of the intervals (inner edges).
ERROR_CLASS_EDGES = (0.4, 0.75)
#: Weighted steps at which a bin's own ratio and the overall ratio count alike.
SHRINK_STEPS = 30.0
#: Fewest errors an error class needs for its own quantiles.
MIN_CLASS_ERRORS = 50
#: Folds of days for the out-of-fold errors the intervals come from.
CROSS_FOLDS = 4


def _bins(sky: Sky, kt: FloatArray) -> IntArray:
    elevation = np.digitize(90.0 - sky.zenith_deg, ELEVATION_EDGES_DEG)
    afternoon = (sky.azimuth_deg >= 180.0).astype(np.int64)
    sky_class = np.digitize(kt, CLEAR_SKY_INDEX_EDGES)
    bins: IntArray = (elevation * 2 + afternoon) * (len(CLEAR_SKY_INDEX_EDGES) + 1) + sky_class
    return bins.astype(np.int64)


_BIN_COUNT = (len(ELEVATION_EDGES_DEG) + 1) * 2 * (len(CLEAR_SKY_INDEX_EDGES) + 1)


@dataclass(frozen=True)
class PvCorrection:
    """Measured over modelled output by bin of solar elevation, time of day and sky.

    Attributes
    ----------
    ratio
        The ratio of each bin (shrunk towards ``overall``).
    overall
        The plant's overall ratio.
    """

    ratio: FloatArray
    overall: float

    @classmethod
    def fit(
        cls,
        measured_kw: FloatArray,
        unclipped_kw: FloatArray,
        sky: Sky,
        kt: FloatArray,
        weights: FloatArray,
    ) -> PvCorrection:
        """Least-squares ratios through the origin, per bin, from weighted steps.

        Parameters
        ----------
        measured_kw
            Measured output, kW (NaN where unknown).
        unclipped_kw
            The physical model's output before the inverter limit, kW.
        sky
            Solar position of the steps.
        kt
            Forecast clear-sky index of the steps.
        weights
            Weight of each step (0 to leave it out).
        """
        usable = np.isfinite(measured_kw) & (unclipped_kw > 0) & (weights > 0)
        w = np.where(usable, weights, 0.0)
        m = np.where(usable, measured_kw, 0.0)
        bins = _bins(sky, kt)
        cross = np.bincount(bins, weights=w * m * unclipped_kw, minlength=_BIN_COUNT)
        square = np.bincount(bins, weights=w * unclipped_kw**2, minlength=_BIN_COUNT)
        count = np.bincount(bins, weights=w, minlength=_BIN_COUNT)
        if square.sum() <= 0:
            raise ValueError("no daylight steps with both a measurement and a modelled output")
        overall = float(cross.sum() / square.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            own = np.where(square > 0, cross / square, overall)
        share = count / (count + SHRINK_STEPS)
        ratio = np.clip(share * own + (1.0 - share) * overall, 0.0, 3.0)
        return cls(ratio=ratio, overall=overall)

    def apply(
        self, unclipped_kw: FloatArray, sky: Sky, kt: FloatArray, limit_kw: float
    ) -> FloatArray:
        """Corrected output, kW: ratio × unclipped output, limited, zero when the sun is down."""
        corrected = self.ratio[_bins(sky, kt)] * unclipped_kw
        result: FloatArray = np.where(sky.sun_up, np.clip(corrected, 0.0, limit_kw), 0.0)
        return result


@dataclass(frozen=True)
class PvErrorSpread:
    """Quantiles of the corrected model's errors over the clear-sky output, per sky class."""

    quantiles: FloatArray

    @classmethod
    def fit(cls, standardised: FloatArray, kt: FloatArray) -> PvErrorSpread:
        """Quantiles at :data:`~forecasting.intervals.PROBABILITIES` per error class."""
        classes = np.digitize(kt, ERROR_CLASS_EDGES)
        rows = []
        for number in range(len(ERROR_CLASS_EDGES) + 1):
            mine = standardised[classes == number]
            chosen = mine if len(mine) >= MIN_CLASS_ERRORS else standardised
            rows.append(np.quantile(chosen, PROBABILITIES))
        return cls(np.vstack(rows))

    def bound(self, probability: float, kt: FloatArray) -> FloatArray:
        """The standardised error quantile at ``probability`` for each step's sky class."""
        per_class = np.array([np.interp(probability, PROBABILITIES, row) for row in self.quantiles])
        result: FloatArray = per_class[np.digitize(kt, ERROR_CLASS_EDGES)]
        return result


def cross_fitted(
    measured_kw: FloatArray,
    unclipped_kw: FloatArray,
    sky: Sky,
    kt: FloatArray,
    weights: FloatArray,
    limit_kw: float,
) -> FloatArray:
    """Corrected output of each day by a correction fitted without that day's fold.

    Days are dealt into :data:`CROSS_FOLDS` folds; the errors of these
    out-of-fold forecasts are what the correction would have erred on days it
    had not seen, so they do not understate the spread as in-sample errors do.
    """
    folds = (sky.steps.as_unit("s").asi8 // 86_400) % CROSS_FOLDS
    corrected = np.zeros(len(measured_kw))
    for fold in range(CROSS_FOLDS):
        mine = folds == fold
        try:
            others = PvCorrection.fit(
                measured_kw, unclipped_kw, sky, kt, np.where(mine, 0.0, weights)
            )
        except ValueError:
            others = PvCorrection.fit(measured_kw, unclipped_kw, sky, kt, weights)
        corrected[mine] = others.apply(unclipped_kw, sky, kt, limit_kw)[mine]
    return corrected
