"""Checking a model's intervals on the end of its own history.

Models whose intervals come from a variance formula (the remainder model of
MSTL, the ETS state space) know only part of their error: not how well the
seasonal components were estimated, nor how the end of a decomposition
drifts. :func:`holdout_spread` measures the rest: the model is fitted again
without the last days of the history, forecasts them, and the root mean
square of its errors is compared with the spread its intervals claimed.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Protocol

import numpy as np
import pandas as pd

from forecasting.base import FittedForecaster

#: Days held out at the end of the history.
HOLDOUT_DAYS = 2
#: The most the check may widen intervals by.
MAX_SPREAD = 3.0
_LEVEL = 0.8


class _Refittable(Protocol):
    def fit(
        self, history: pd.Series, regressors: pd.DataFrame | None = None
    ) -> FittedForecaster: ...


def holdout_spread(
    model: _Refittable,
    history: pd.Series,
    regressors: pd.DataFrame | None = None,
    days: int = HOLDOUT_DAYS,
) -> float:
    """How much wider than claimed the model's intervals need to be, at least 1.

    Parameters
    ----------
    model
        The model, set up not to check itself again.
    history
        The regular history it is being fitted to.
    regressors
        Its regressors.
    days
        Days held out.
    """
    cut = history.index[-1] - pd.Timedelta(days=days)
    early, held_out = history[history.index <= cut], history[history.index > cut].dropna()
    if held_out.empty:
        return 1.0
    result = model.fit(early, regressors).forecast(
        pd.DatetimeIndex(held_out.index), levels=(_LEVEL,), regressors=regressors
    )
    band = result.intervals[_LEVEL]
    claimed = (band["upper"] - band["lower"]).to_numpy() / (2 * NormalDist().inv_cdf(0.9))
    error = held_out.to_numpy() - result.point.to_numpy()
    known = np.isfinite(error) & np.isfinite(claimed) & (claimed > 0)
    if not known.any():
        return 1.0
    ratio = float(np.sqrt(np.mean(error[known] ** 2) / np.mean(claimed[known] ** 2)))
    return float(np.clip(ratio, 1.0, MAX_SPREAD))
