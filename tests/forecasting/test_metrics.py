"""Accuracy metrics on hand-worked numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecasting.metrics import coverage, mae, pinball_loss, relative_mae, rmse


def test_errors_skip_missing_steps() -> None:
    actual = [1.0, 2.0, np.nan, 4.0]
    forecast = [2.0, 2.0, 3.0, 1.0]
    assert mae(actual, forecast) == pytest.approx((1 + 0 + 3) / 3)
    assert rmse(actual, forecast) == pytest.approx(math.sqrt((1 + 0 + 9) / 3))


def test_relative_mae_against_a_baseline() -> None:
    actual = np.array([10.0, 12.0, 14.0, 16.0])
    model = actual + np.array([1.0, -1.0, 1.0, -1.0])
    baseline = actual + np.array([2.0, -2.0, 2.0, -2.0])
    assert relative_mae(actual, model, baseline) == pytest.approx(0.5)
    assert math.isnan(relative_mae(actual, model, actual))


def test_coverage_counts_the_bounds_as_inside() -> None:
    actual = [1.0, 2.0, 3.0, 4.0]
    assert coverage(actual, [1.0, 0.0, 3.5, 0.0], [1.0, 3.0, 4.0, 3.9]) == pytest.approx(0.5)


def test_pinball_loss_of_a_median_is_half_the_absolute_error() -> None:
    actual = [1.0, 5.0, 3.0]
    forecast = [2.0, 2.0, 3.0]
    assert pinball_loss(actual, forecast, 0.5) == pytest.approx(0.5 * mae(actual, forecast))
    # Under-forecasting a 90 % quantile costs nine times more than over-forecasting it.
    assert pinball_loss([10.0], [9.0], 0.9) == pytest.approx(9 * pinball_loss([10.0], [11.0], 0.9))
