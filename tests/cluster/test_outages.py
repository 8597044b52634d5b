"""Planned outages on the UTC time line: which steps they touch and what share they leave."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cluster.outages import PlannedOutage, available_fraction, outage_windows, steps_in_windows
from cluster.timegrid import day_steps

WARSAW = ZoneInfo("Europe/Warsaw")


def test_a_step_partly_inside_an_outage_is_planned_with_its_share() -> None:
    outage = PlannedOutage(
        start=datetime(2027, 2, 1, 6, 10), end=datetime(2027, 2, 1, 7), available_fraction=0.25
    )
    steps = day_steps(date(2027, 2, 1), WARSAW)
    inside, share = steps_in_windows(steps, 15, outage_windows([outage], WARSAW))
    local = steps.tz_convert(WARSAW)
    expected = (local >= pd.Timestamp("2027-02-01 06:00", tz=WARSAW)) & (
        local < pd.Timestamp("2027-02-01 07:00", tz=WARSAW)
    )
    assert inside.tolist() == list(expected)
    np.testing.assert_allclose(share, np.where(expected, 0.25, 1.0))


def test_an_outage_over_the_autumn_clock_change_covers_both_copies_of_the_hour() -> None:
    # 31 October 2027: 03:00 CEST goes back to 02:00 CET, so the day has 100 steps.
    outage = PlannedOutage(start=datetime(2027, 10, 31, 0), end=datetime(2027, 10, 31, 6))
    steps = day_steps(date(2027, 10, 31), WARSAW)
    share = available_fraction(steps, 15, outage_windows([outage], WARSAW))
    assert len(steps) == 100
    # Six local hours with one of them lived twice: seven hours, 28 steps.
    assert int((share == 0.0).sum()) == 28
