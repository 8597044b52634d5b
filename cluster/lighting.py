"""Road lighting classes after EN 13201 and the CEN/TR 13201-1 selection method.

A road's class number is 6 minus the sum of the weighting values of its
parameters, kept within 1..6. Traffic volume and ambient luminosity change
through the night, so the class can step down after midnight and back up at
dawn. The weighting table is data: the TR's example table below is the
default, and countries adapt it (:func:`weighting_table`).

Through the night, :func:`classes_per_step` gives each step its class: the
road's fixed options, the traffic option from the step's traffic relative to
the road's peak hour (:data:`TRAFFIC_BANDS`) and the ambient-luminosity
option from the local clock (:class:`AmbientLuminosity`); never brighter than
the design class, which full output delivers.

When lamps burn at all is the dusk-to-dawn rule :func:`lamps_on`: the one
place it is written, used by the forecasts of burning hours and by the demo's
synthetic history alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from cluster.fields import FrozenModel, HourRange

ClassSystem = Literal["M", "P"]

#: CEN/TR 13201-1 example weighting values, per class system, parameter and option.
DEFAULT_WEIGHTING_TABLE: Mapping[str, Mapping[str, Mapping[str, float]]] = {
    "M": {
        "design_speed": {"very_high": 2, "high": 1, "moderate": -1, "low": -2},
        "traffic_volume": {"very_high": 1, "high": 0.5, "moderate": 0, "low": -0.5,
                           "very_low": -1},
        "traffic_composition": {"mixed_high_non_motorised": 2, "mixed": 1, "motorised_only": 0},
        "separation_of_carriageways": {"no": 1, "yes": 0},
        "junction_density": {"high": 1, "moderate": 0},
        "parked_vehicles": {"present": 1, "not_present": 0},
        "ambient_luminosity": {"high": 1, "moderate": 0, "low": -1},
        "navigational_task": {"very_difficult": 2, "difficult": 1, "easy": 0},
    },
    "P": {
        "travel_speed": {"low": 1, "very_low": 0},
        "use_intensity": {"busy": 1, "normal": 0, "quiet": -1},
        "traffic_composition": {"pedestrians_cyclists_motorised": 2,
                                "pedestrians_motorised": 1, "pedestrians_cyclists": 1,
                                "pedestrians_only": 0, "cyclists_only": 0},
        "parked_vehicles": {"present": 1, "not_present": 0},
        "ambient_luminosity": {"high": 1, "moderate": 0, "low": -1},
        "facial_recognition": {"necessary": 1, "not_necessary": 0},
    },
}  # fmt: skip

#: Maintained average road-surface luminance for M classes, cd/m².
M_LUMINANCE_CD_PER_M2: Mapping[int, float] = {1: 2.0, 2: 1.5, 3: 1.0, 4: 0.75, 5: 0.5, 6: 0.3}
#: Maintained average illuminance for P classes, lx.
P_ILLUMINANCE_LX: Mapping[int, float] = {1: 15.0, 2: 10.0, 3: 7.5, 4: 5.0, 5: 3.0, 6: 2.0}


@dataclass(frozen=True, order=True)
class LightingClass:
    """A lighting class such as M3 (system ``M``, number 3). Lower numbers are brighter."""

    system: ClassSystem
    number: int

    def __str__(self) -> str:
        return f"{self.system}{self.number}"

    @property
    def required_level(self) -> float:
        """The maintained level the class needs: cd/m² for M, lx for P."""
        table = M_LUMINANCE_CD_PER_M2 if self.system == "M" else P_ILLUMINANCE_LX
        return table[self.number]


def parse_lighting_class(text: str) -> LightingClass:
    """Parse ``"M3"`` or ``"P4"``; raises ValueError naming the accepted forms."""
    cleaned = text.strip().upper()
    if len(cleaned) == 2 and cleaned[0] in "MP" and cleaned[1] in "123456":
        system: ClassSystem = "M" if cleaned[0] == "M" else "P"
        return LightingClass(system, int(cleaned[1]))
    raise ValueError(f"unknown lighting class {text!r}; use M1..M6 or P1..P6")


def select_class(
    system: ClassSystem,
    parameters: Mapping[str, str],
    table: Mapping[str, Mapping[str, Mapping[str, float]]] = DEFAULT_WEIGHTING_TABLE,
) -> LightingClass:
    """The class the selection method gives for one set of parameter options.

    ``class number = 6 - sum of weighting values``, rounded to the nearest whole
    number (halves round towards the brighter class) and kept within 1..6.
    Parameters missing from ``parameters`` weigh 0.
    """
    weights = table[system]
    total = sum(weights[name][option] for name, option in parameters.items())
    number = math.floor(6 - total + 0.5 - 1e-9)
    return LightingClass(system, min(6, max(1, number)))


def required_dim_pct(
    needed: LightingClass, design: LightingClass, steps_pct: list[int] | tuple[int, ...]
) -> int:
    """The lowest controller step that still delivers the needed class.

    Light output is taken as proportional to the dim level, so the step must
    be at least ``needed.required_level / design.required_level`` × 100 %.
    A class brighter than the design class needs full output.
    """
    if needed.system != design.system:
        raise ValueError(f"cannot compare class {needed} with design class {design}")
    share_pct = 100.0 * needed.required_level / design.required_level
    candidates = [s for s in sorted(steps_pct) if s >= share_pct - 1e-9]
    return candidates[0] if candidates else 100


# --- the class of each step of the night -----------------------------------------------

#: The weighting-table parameter a road's traffic count sets, per class system: the
#: volume of motorised traffic for M classes, the intensity of use for P classes.
TRAFFIC_PARAMETER: Mapping[str, str] = {"M": "traffic_volume", "P": "use_intensity"}

#: The options of :data:`TRAFFIC_PARAMETER` by traffic, busiest first: an option applies
#: when the step's traffic is at least the given share of the road's peak hourly traffic.
#: The TR names the options but leaves their bounds to national practice; these bands
#: are relative to the road's own peak (the hour its design class is meant for), so
#: one table serves an arterial road and a side street alike:
#:
#: - M classes: very high >= 75 %, high >= 50 %, moderate >= 25 %, low >= 10 %,
#:   very low below 10 % of the peak;
#: - P classes: busy >= 50 %, normal >= 15 %, quiet below 15 % of the peak.
TRAFFIC_BANDS: Mapping[str, tuple[tuple[float, str], ...]] = {
    "M": ((0.75, "very_high"), (0.50, "high"), (0.25, "moderate"), (0.10, "low"),
          (0.0, "very_low")),
    "P": ((0.50, "busy"), (0.15, "normal"), (0.0, "quiet")),
}  # fmt: skip

#: The weighting-table parameter of the surroundings' brightness, in both systems.
AMBIENT_PARAMETER = "ambient_luminosity"


class AmbientLuminosity(FrozenModel):
    """The brightness of a road's surroundings through the night, by local clock time.

    In town, lit shop windows, advertising and busy squares make the evening's
    surroundings bright (``high``); once they close the surroundings are
    ordinary (``moderate``). ``quiet_hours`` are the local hours of the second
    option. A road whose ``road`` table fixes ``ambient_luminosity`` keeps that
    option all night instead.
    """

    active: str = "high"
    quiet: str = "moderate"
    quiet_hours: HourRange = Field(default_factory=lambda: HourRange(start=22, end=6))

    def option(self, local_hour: int) -> str:
        """The option at a local clock hour (0-23)."""
        return self.quiet if self.quiet_hours.contains(local_hour) else self.active


def weighting_table(
    overrides: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
) -> Mapping[str, Mapping[str, Mapping[str, float]]]:
    """The TR's example table with a country's values put in place of its own.

    Parameters
    ----------
    overrides
        Weighting values by class system, parameter and option; every entry
        given replaces the TR's value, the rest stay as in
        :data:`DEFAULT_WEIGHTING_TABLE`. Names must be the TR's.
    """
    if not overrides:
        return DEFAULT_WEIGHTING_TABLE
    merged = {system: {p: dict(o) for p, o in params.items()}
              for system, params in DEFAULT_WEIGHTING_TABLE.items()}  # fmt: skip
    for system, params in overrides.items():
        for parameter, options in params.items():
            merged[system][parameter].update(options)
    return merged


def traffic_option(
    system: ClassSystem, vehicles_per_hour: float, peak_vehicles_per_hour: float
) -> str:
    """The traffic option of a step (see :data:`TRAFFIC_BANDS`).

    Parameters
    ----------
    system
        ``"M"`` or ``"P"``.
    vehicles_per_hour
        Traffic in the step, vehicles/h.
    peak_vehicles_per_hour
        The road's peak hourly traffic, vehicles/h; when it is 0 (unknown) the
        busiest option applies, which never lights the road too little.
    """
    bands = TRAFFIC_BANDS[system]
    if peak_vehicles_per_hour <= 0:
        return bands[0][1]
    share = vehicles_per_hour / peak_vehicles_per_hour
    for least, option in bands:
        if share >= least:
            return option
    return bands[-1][1]


def step_class(
    design: LightingClass,
    road: Mapping[str, str],
    traffic: str,
    ambient: str,
    table: Mapping[str, Mapping[str, Mapping[str, float]]] = DEFAULT_WEIGHTING_TABLE,
) -> LightingClass:
    """The class one step of the night needs, never brighter than the design class.

    The road's fixed options are joined by the step's traffic option (under
    :data:`TRAFFIC_PARAMETER`) and ambient-luminosity option; an option the
    road fixes itself wins. The selected class is :func:`select_class`'s,
    but a class brighter than ``design`` is held at ``design``: full output
    delivers the design class and no more.
    """
    system = design.system
    parameters = {TRAFFIC_PARAMETER[system]: traffic, AMBIENT_PARAMETER: ambient, **road}
    return max(select_class(system, parameters, table), design)


def classes_per_step(
    design: LightingClass,
    road: Mapping[str, str],
    traffic_vehicles_per_hour: Iterable[float],
    peak_vehicles_per_hour: float,
    local_hours: Iterable[int],
    ambient: AmbientLuminosity,
    table: Mapping[str, Mapping[str, Mapping[str, float]]] = DEFAULT_WEIGHTING_TABLE,
) -> list[LightingClass]:
    """The class of every step, from its traffic and its local clock hour.

    Parameters
    ----------
    design
        The installation's design class.
    road
        The road's fixed options (parameter → option).
    traffic_vehicles_per_hour
        Forecast traffic of each step, vehicles/h.
    peak_vehicles_per_hour
        The road's peak hourly traffic, vehicles/h.
    local_hours
        Local clock hour (0-23) of each step.
    ambient
        The surroundings' brightness through the night.
    table
        The weighting table (see :func:`weighting_table`).
    """
    # The steps of a night share a handful of (traffic, ambient) option pairs and
    # the class depends on nothing else, so each pair is selected once.
    ambient_by_hour: dict[int, str] = {}
    class_by_options: dict[tuple[str, str], LightingClass] = {}
    classes: list[LightingClass] = []
    for vehicles, hour in zip(traffic_vehicles_per_hour, local_hours, strict=True):
        traffic = traffic_option(design.system, float(vehicles), peak_vehicles_per_hour)
        local_hour = int(hour)
        ambient_option = ambient_by_hour.get(local_hour)
        if ambient_option is None:
            ambient_option = ambient_by_hour[local_hour] = ambient.option(local_hour)
        needed = class_by_options.get((traffic, ambient_option))
        if needed is None:
            needed = step_class(design, road, traffic, ambient_option, table)
            class_by_options[traffic, ambient_option] = needed
        classes.append(needed)
    return classes


#: Lamps burn when the sun's apparent elevation is below this, degrees.
LAMPS_ON_ELEVATION_DEG = -1.0
#: Under heavy cloud dusk comes early: lamps burn below this elevation, degrees.
HEAVY_CLOUD_LAMPS_ON_ELEVATION_DEG = 2.0
#: Cloud cover above which the heavy-cloud threshold applies, %.
HEAVY_CLOUD_PCT = 85.0


def lamps_on(
    apparent_elevation_deg: npt.ArrayLike, cloud_pct: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Whether dusk-to-dawn street lamps burn.

    On when the sun's apparent elevation is below -1° (the photocell's
    switching level, a little after sunset), or below +2° when the cloud
    cover exceeds 85 %: a dark sky brings dusk earlier and dawn later.

    Parameters
    ----------
    apparent_elevation_deg
        The sun's apparent elevation (with refraction), degrees.
    cloud_pct
        Cloud cover, % (0-100); NaN counts as not heavy.
    """
    threshold = np.where(
        np.asarray(cloud_pct, dtype=float) > HEAVY_CLOUD_PCT,
        HEAVY_CLOUD_LAMPS_ON_ELEVATION_DEG,
        LAMPS_ON_ELEVATION_DEG,
    )
    result: npt.NDArray[np.bool_] = np.asarray(apparent_elevation_deg, dtype=float) < threshold
    return result
