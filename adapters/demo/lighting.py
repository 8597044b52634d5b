"""Street lighting: what the circuits draw, and the traffic on lit roads.

When lamps burn is :func:`cluster.lighting.lamps_on`, the rule the forecasts use too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from adapters.demo.calendar import LocalCalendar
from adapters.demo.noise import FloatArray, smooth_noise, standard_normal, stream_key
from cluster.config import LightingCircuit
from cluster.lighting import lamps_on

__all__ = [
    "BURNING_HOURS_PER_YEAR",
    "circuit_power_kw",
    "lamps_on",
    "street_lighting_load_kw",
    "traffic_vehicles_per_hour",
]

# Annual burning hours of a dusk-to-dawn installation in central Poland, h; used
# only for a street-lighting point that has an annual energy but no circuits.
BURNING_HOURS_PER_YEAR = 4150.0
_DAY_S = 86_400


def circuit_power_kw(
    circuit: LightingCircuit, burning: NDArray[np.bool_], seconds: NDArray[np.int64], seed: int
) -> FloatArray:
    """A lighting circuit's power at full output less its failed lamps, kW.

    The failed share wanders between about 0 and 5 % over weeks (lamps fail
    and crews replace them), with a little supply-voltage noise on top.

    Parameters
    ----------
    circuit
        The circuit.
    burning
        Whether its lamps burn in each step (:func:`lamps_on`).
    seconds
        Step starts as Unix epoch seconds, s.
    seed
        The history's seed.
    """
    failed_share = np.clip(
        0.015 + 0.012 * smooth_noise(stream_key(seed, f"light/{circuit.id}/failed"), seconds,
                                     10 * _DAY_S),
        0.0,
        0.05,
    )  # fmt: skip
    voltage = 1.0 + 0.004 * standard_normal(stream_key(seed, f"light/{circuit.id}/v"), seconds)
    result: FloatArray = np.where(
        burning, circuit.full_power_kw * (1.0 - failed_share) * voltage, 0.0
    )
    return result


def street_lighting_load_kw(
    circuits: Sequence[LightingCircuit],
    annual_consumption_mwh: float,
    burning: NDArray[np.bool_],
    seconds: NDArray[np.int64],
    seed: int,
) -> FloatArray:
    """The demand of a street-lighting connection point, kW.

    The sum of its circuits; a point with no circuits in the configuration
    burns a constant power that gives ``annual_consumption_mwh`` over
    :data:`BURNING_HOURS_PER_YEAR`.

    Parameters
    ----------
    circuits
        The lighting circuits behind the connection point.
    annual_consumption_mwh
        Its yearly energy, MWh; used only when it has no circuits.
    burning
        Whether lamps burn in each step.
    seconds
        Step starts as Unix epoch seconds, s.
    seed
        The history's seed.
    """
    total = np.zeros(burning.shape)
    for circuit in circuits:
        total += circuit_power_kw(circuit, burning, seconds, seed)
    if not circuits:
        total = np.where(burning, annual_consumption_mwh * 1000.0 / BURNING_HOURS_PER_YEAR, 0.0)
    return total


# Traffic over the local clock, fraction of the peak hour, at hours 0, 1, ..., 24.
_WORKING_DAY_TRAFFIC = np.array([
    0.08, 0.05, 0.04, 0.04, 0.07, 0.20, 0.55, 0.95, 0.90, 0.70, 0.62, 0.62, 0.65,
    0.70, 0.80, 0.95, 1.00, 0.90, 0.70, 0.50, 0.38, 0.30, 0.20, 0.13, 0.08,
])  # fmt: skip
_SATURDAY_TRAFFIC = np.array([
    0.12, 0.08, 0.06, 0.05, 0.05, 0.08, 0.15, 0.25, 0.40, 0.55, 0.65, 0.70, 0.70,
    0.65, 0.60, 0.55, 0.55, 0.50, 0.45, 0.40, 0.32, 0.25, 0.20, 0.16, 0.12,
])  # fmt: skip
_SUNDAY_TRAFFIC = np.array([
    0.12, 0.09, 0.07, 0.05, 0.04, 0.05, 0.08, 0.12, 0.18, 0.28, 0.40, 0.48, 0.52,
    0.52, 0.50, 0.50, 0.52, 0.50, 0.45, 0.38, 0.30, 0.22, 0.16, 0.10, 0.08,
])  # fmt: skip
_CLOCK = np.arange(25, dtype=float)


def traffic_vehicles_per_hour(
    circuit: LightingCircuit, calendar: LocalCalendar, step_minutes: int, seed: int
) -> FloatArray:
    """Vehicles per hour on a circuit's road, counted per step.

    Morning and afternoon rush on working days, a broad midday hump at
    weekends, 5-10 % of the peak after midnight, fewer commuters in the summer
    school break. Counting noise is Poisson-like: its spread grows with the
    square root of the count.

    Parameters
    ----------
    circuit
        The lit road; ``peak_traffic_vehicles_per_hour`` sets the scale.
    calendar
        Local calendar of the steps.
    step_minutes
        Step length, minutes: a count over a shorter step is noisier.
    seed
        The history's seed.
    """
    hour = calendar.local_hour
    share = np.where(
        calendar.working,
        np.interp(hour, _CLOCK, _WORKING_DAY_TRAFFIC),
        np.where(
            calendar.saturday,
            np.interp(hour, _CLOCK, _SATURDAY_TRAFFIC),
            np.interp(hour, _CLOCK, _SUNDAY_TRAFFIC),
        ),
    )
    holiday_season = np.where(calendar.working & calendar.school_break, 0.9, 1.0)
    key = f"traffic/{circuit.id}"
    daily = 1.0 + 0.05 * standard_normal(stream_key(seed, f"{key}/day"), calendar.local_day)
    rate = circuit.peak_traffic_vehicles_per_hour * share * holiday_season * daily
    # A step counts rate × step_hours vehicles with Poisson spread; scaled back
    # to a rate per hour the spread is sqrt(rate / step_hours).
    steps_per_hour = 60.0 / step_minutes
    counting = np.sqrt(np.maximum(rate, 0.0) * steps_per_hour) * standard_normal(
        stream_key(seed, f"{key}/step"), calendar.seconds
    )
    result: FloatArray = np.maximum(rate + counting, 0.0)
    return result
