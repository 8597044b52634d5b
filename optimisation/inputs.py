"""What a planning run needs, and the checks made on it before a model is built.

A :class:`PlanningInputs` bundles the cluster configuration, the UTC steps of
the planned local day and the forecasts and prices on those steps.
:func:`check_inputs` reports the first unusable series by its id with the fix,
so that a bad forecast never reaches the solver as a silent NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from cluster.config import ClusterConfig
from cluster.timegrid import step_hours
from cluster.timeseries import SeriesId
from optimisation.errors import PlanningInputError

__all__ = ["PlanningInputError", "PlanningInputs", "check_inputs", "required_series"]


@dataclass(frozen=True)
class PlanningInputs:
    """The inputs of one planning run.

    Attributes
    ----------
    config
        The cluster configuration.
    day
        The local calendar day planned; it fixes the month for the share of
        the monthly capacity charge.
    steps
        UTC start of every step planned, usually
        :func:`cluster.timegrid.day_steps` (92, 96 or 100 quarter-hours);
        any number of consecutive steps is accepted.
    forecasts
        Frame indexed by ``steps`` with one column per series id of
        :class:`cluster.timeseries.SeriesId`: ``SeriesId.load(cp)`` demand
        behind a connection point, kW (a missing column means no load);
        ``SeriesId.pv(plant)`` available PV output, kW;
        ``SeriesId.wte(chp)`` waste-to-energy electric output, kW, read as
        the plant's availability (about 0 in an outage);
        ``SeriesId.biogas_inflow(chp)`` biogas inflow as gas power, kW;
        ``SeriesId.heat_demand(network)`` district-heating demand, kW of heat;
        ``SeriesId.TEMPERATURE_C`` outdoor temperature, °C (with buildings);
        ``SeriesId.LAMPS_ON_FRACTION`` share of each step the street lamps
        burn, 0-1, and ``SeriesId.traffic(circuit)`` vehicles/h (with lighting
        circuits; a circuit without a traffic column counts as at its peak).
    day_ahead_price_pln_per_mwh
        Day-ahead market price of each step, PLN/MWh, indexed by ``steps``.
    """

    config: ClusterConfig
    day: date
    steps: pd.DatetimeIndex
    forecasts: pd.DataFrame
    day_ahead_price_pln_per_mwh: pd.Series

    @property
    def step_hours(self) -> float:
        """Length of one step, h (kW × step_hours = kWh)."""
        return step_hours(self.config.cluster.step_minutes)

    def series(self, series_id: str) -> np.ndarray:
        """One forecast column as floats in step order (its unit: kW, °C, vehicles/h, 0-1).

        Raises
        ------
        KeyError
            If there is no such column.
        TypeError, ValueError
            If the column holds values that are not numbers.
        """
        numbers = self._numbers_by_column
        if numbers is not None and series_id in numbers:
            return numbers[series_id]
        return self.forecasts[series_id].to_numpy(dtype=float, na_value=np.nan)

    @functools.cached_property
    def _numbers_by_column(self) -> dict[str, np.ndarray] | None:
        """Every forecast column as floats, read in one go; ``None`` if some column is not numbers.

        A builder reads thousands of columns (one traffic forecast per
        lighting circuit); pandas takes longer to hand over each column
        than to convert them all at once.
        """
        try:
            values = self.forecasts.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            return None
        values.flags.writeable = False
        return {str(column): values[:, j] for j, column in enumerate(self.forecasts.columns)}

    def load_kw(self, connection_point_id: str) -> np.ndarray:
        """Forecast demand behind a connection point in step order, kW; zeros when absent."""
        return self.loads_kw([connection_point_id])[connection_point_id]

    def loads_kw(self, connection_point_ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Forecast demand behind each connection point (all when ``None``), kW.

        A point without a load forecast has zeros.
        """
        if connection_point_ids is None:
            connection_point_ids = [cp.id for cp in self.config.connection_points]
        columns = self.forecasts.columns
        return {
            cp_id: self.series(column) if column in columns else np.zeros(len(self.steps))
            for cp_id, column in ((cp_id, SeriesId.load(cp_id)) for cp_id in connection_point_ids)
        }


def required_series(config: ClusterConfig) -> Iterator[tuple[str, str]]:
    """The forecast columns a plan cannot do without, each with the asset it describes."""
    for plant in config.assets.pv_plants:
        yield SeriesId.pv(plant.id), f"PV plant {plant.id!r}"
    for wte in config.assets.wte_chps:
        yield SeriesId.wte(wte.id), f"waste-to-energy CHP {wte.id!r}"
    for biogas in config.assets.biogas_chps:
        yield SeriesId.biogas_inflow(biogas.id), f"biogas CHP {biogas.id!r}"
    for network in config.assets.district_heating:
        yield SeriesId.heat_demand(network.id), f"district-heating network {network.id!r}"


def _optional_load_series(config: ClusterConfig) -> Iterator[tuple[str, str]]:
    for cp in config.connection_points:
        yield SeriesId.load(cp.id), f"connection point {cp.id!r}"


def _check_steps(steps: pd.DatetimeIndex, step_minutes: int) -> None:
    if len(steps) == 0:
        raise PlanningInputError(
            "the planning inputs have no steps", fix="pass the steps of the day to plan"
        )
    if steps.tz is None or str(steps.tz) != "UTC":
        raise PlanningInputError(
            f"steps must be UTC timestamps, got time zone {steps.tz}",
            fix="convert them with steps.tz_convert('UTC') (or build them with day_steps)",
        )
    if len(steps) > 1:
        deltas = np.diff(steps.as_unit("ns").asi8)
        expected_ns = step_minutes * 60 * 10**9
        if not np.all(deltas == expected_ns):
            raise PlanningInputError(
                f"steps must be consecutive, ordered and {step_minutes} minutes apart",
                fix="build them with cluster.timegrid.day_steps or range_steps",
            )


def _check_index(name: str, index: pd.Index, steps: pd.DatetimeIndex) -> None:
    if not index.equals(steps):
        raise PlanningInputError(
            f"the index of {name} does not match the planned steps "
            f"({len(index)} rows against {len(steps)} steps from {steps[0]})",
            fix=f"reindex {name} on the planning steps (UTC, {len(steps)} rows)",
        )


def _check_values(series_id: str, owner: str, values: np.ndarray, *, non_negative: bool) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise PlanningInputError(
            f"forecast {series_id!r} of {owner} has {int(bad.sum())} NaN or infinite value(s)",
            fix="fill the gaps in the forecast (or re-run the forecast) before planning",
        )
    if non_negative and (values < 0).any():
        raise PlanningInputError(
            f"forecast {series_id!r} of {owner} has negative values (min {values.min():.3f} kW)",
            fix="this series is a power drawn or produced and must be >= 0; correct the forecast",
        )


def check_inputs(inputs: PlanningInputs) -> None:
    """Check that the inputs describe a plannable day; raise on the first problem.

    Raises
    ------
    PlanningInputError
        If the steps are not consecutive UTC steps of the cluster's length, an
        index does not match the steps, a needed series is missing, holds NaN
        or infinity, or a power that cannot be negative is negative. The
        message names the series and the asset, and the fix.
    """
    config = inputs.config
    steps = inputs.steps
    _check_steps(steps, config.cluster.step_minutes)
    _check_index("the forecasts frame", inputs.forecasts.index, steps)
    price = inputs.day_ahead_price_pln_per_mwh
    _check_index(f"the day-ahead price series {SeriesId.DAY_AHEAD_PRICE!r}", price.index, steps)
    try:
        price_values = price.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise PlanningInputError(
            f"the day-ahead price {SeriesId.DAY_AHEAD_PRICE!r} holds values that are not numbers",
            fix="give the prices as floats in PLN/MWh",
        ) from None
    missing = ~np.isfinite(price_values)
    if missing.any():
        first = steps[int(np.argmax(missing))]
        raise PlanningInputError(
            f"the day-ahead price {SeriesId.DAY_AHEAD_PRICE!r} is missing for "
            f"{int(missing.sum())} step(s), the first at {first}",
            fix="import the day-ahead auction results for the day before planning it",
        )
    duplicated = inputs.forecasts.columns[inputs.forecasts.columns.duplicated()]
    if len(duplicated):
        raise PlanningInputError(
            f"the forecasts have the column {duplicated[0]!r} more than once",
            fix="keep one column per series id",
        )
    columns = set(inputs.forecasts.columns)
    for series_id, owner in required_series(config):
        if series_id not in columns:
            raise PlanningInputError(
                f"the forecasts have no column {series_id!r} for {owner}",
                fix="forecast it, or give a column of zeros when the asset is out of service",
            )
        _check_values(series_id, owner, _numbers(inputs, series_id, owner), non_negative=True)
    for series_id, owner in _optional_load_series(config):
        if series_id in columns:
            _check_values(series_id, owner, _numbers(inputs, series_id, owner), non_negative=True)


def _numbers(inputs: PlanningInputs, series_id: str, owner: str) -> np.ndarray:
    try:
        return inputs.series(series_id)
    except (TypeError, ValueError):
        raise PlanningInputError(
            f"forecast {series_id!r} of {owner} holds values that are not numbers",
            fix="give the forecast as floats in kW",
        ) from None
