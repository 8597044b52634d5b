"""Road lighting classes after EN 13201 and the CEN/TR 13201-1 selection method.

A road's class number is 6 minus the sum of the weighting values of its
parameters, kept within 1..6. Traffic volume and ambient luminosity change
through the night, so the class can step down after midnight and back up at
dawn. The weighting table is data: the TR's example table below is the
default, and countries adapt it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

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
