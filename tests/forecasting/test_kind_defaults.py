"""Default options per kind of series: building loads count heating degrees from 18 °C."""

from __future__ import annotations

from datetime import date

from forecasting.models import fit
from tests.forecasting.synthetic import planted_series


def test_a_load_counts_heating_degrees_from_18_c_unless_told_otherwise() -> None:
    history = planted_series(date(2026, 10, 5), 21)
    assert fit(history, kind="load").inner.model.heating_base_c == 18.0  # type: ignore[attr-defined]
    told = fit(history, kind="load", heating_base_c=12.0).inner
    assert told.model.heating_base_c == 12.0  # type: ignore[attr-defined]
    # District heating keeps the model's own base.
    heat = fit(history.rename("heat/dh-1/demand_kw"), kind="heat").inner
    assert heat.model.heating_base_c == 15.0  # type: ignore[attr-defined]
