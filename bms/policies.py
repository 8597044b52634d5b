"""Setpoint policies: comfort bands by occupancy, setbacks by building type, rule limits.

A zone's comfort band comes from the cluster configuration (``comfort`` of
each ``[[assets.buildings.zones]]``): the occupied band while the building is
open, the unoccupied band otherwise. What the configuration does not say —
how early a building may pre-heat before it opens, how soon after it closes
the zone must be set back, how long a manual override may stay, when a
sensor counts as frozen — is the BMS policy: defaults per building type,
changed by an optional TOML file (``klaster bms check --policy FILE``)::

    [rules]
    override_max_hours = 8

    [uses.sports_pool]
    preheat_hours = 3
    setback_grace_hours = 1

:func:`zone_context` lays the policy out on the instants of a zone's
readings, for the rules of :mod:`bms.rules`.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bms.occupancy import occupancy_frame
from cluster.assets import BmsZone, BuildingUse, PublicBuilding
from cluster.errors import ConfigError, ConfigProblem

#: The grid on which occupancy, pre-heat and setback are worked out, minutes.
CONTEXT_STEP_MINUTES = 15

#: Columns :func:`zone_context` adds to a zone frame.
CONTEXT_COLUMNS = (
    "occupied", "day_closed", "day_label", "preheat", "setback_due",
    "band_min_c", "band_max_c", "setback_c",
)  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UsePolicy(_Strict):
    """How a building type runs its heating around its opening hours.

    ``preheat_hours``: how long before opening the zones may be brought to the
    occupied band (heating to the occupied level then is not waste).
    ``setback_grace_hours``: how long after closing the zones must be set back.
    """

    preheat_hours: float = Field(default=2.0, ge=0, le=12)
    setback_grace_hours: float = Field(default=0.5, ge=0, le=12)


class RuleLimits(_Strict):
    """The thresholds of the fault rules; every duration in hours, temperature in K or °C."""

    own_priority: int = Field(default=12, ge=8, le=16, description="klaster's BACnet priority")
    manual_priority: int = Field(
        default=10, ge=8, le=16, description="the BACnet priority of `klaster bms set`"
    )
    band_tolerance_c: float = Field(default=0.1, ge=0)
    band_switch_grace_hours: float = Field(default=0.25, ge=0)
    override_max_hours: float = Field(default=4.0, gt=0)
    setback_tolerance_c: float = Field(default=1.0, ge=0)
    heating_on_pct: float = Field(default=5.0, gt=0, le=100)
    valve_open_pct: float = Field(default=50.0, gt=0, le=100)
    valve_closed_pct: float = Field(default=5.0, ge=0, le=100)
    loop_deadband_c: float = Field(default=1.0, gt=0)
    loop_trend_window_hours: float = Field(default=1.0, gt=0)
    loop_min_rate_c_per_hour: float = Field(default=0.1, gt=0)
    loop_min_hours: float = Field(default=1.0, ge=0)
    frozen_min_hours: float = Field(default=3.0, gt=0)
    frozen_tolerance_c: float = Field(default=0.05, ge=0)
    frozen_evidence_c: float = Field(default=0.5, gt=0)
    plausible_min_c: float = 0.0
    plausible_max_c: float = 40.0
    min_duration_hours: float = Field(default=0.5, ge=0)
    short_cycle_max_starts_per_hour: int = Field(default=4, ge=1)
    max_gap_hours: float = Field(default=1.0, gt=0)


#: Pre-heat and setback by building type: pools and theatres run longer around opening.
DEFAULT_USES: dict[BuildingUse, UsePolicy] = {
    BuildingUse.CITY_HALL: UsePolicy(preheat_hours=2.0, setback_grace_hours=0.5),
    BuildingUse.OFFICE: UsePolicy(preheat_hours=2.0, setback_grace_hours=0.5),
    BuildingUse.SCHOOL: UsePolicy(preheat_hours=2.0, setback_grace_hours=0.5),
    BuildingUse.KINDERGARTEN: UsePolicy(preheat_hours=2.0, setback_grace_hours=0.5),
    BuildingUse.SPORTS_POOL: UsePolicy(preheat_hours=3.0, setback_grace_hours=1.0),
    BuildingUse.LIBRARY: UsePolicy(preheat_hours=1.5, setback_grace_hours=0.5),
    BuildingUse.THEATRE: UsePolicy(preheat_hours=2.0, setback_grace_hours=1.0),
    BuildingUse.CARE_HOME: UsePolicy(preheat_hours=0.0, setback_grace_hours=0.0),
}


class BmsPolicy(_Strict):
    """The site's BMS policy: rule limits and, per building type, pre-heat and setback."""

    rules: RuleLimits = Field(default_factory=RuleLimits)
    uses: dict[BuildingUse, UsePolicy] = Field(default_factory=dict)

    def use(self, use: BuildingUse) -> UsePolicy:
        """The policy of a building type: the file's entry, else the default."""
        return self.uses.get(use) or DEFAULT_USES.get(use) or UsePolicy()


def load_bms_policy(path: Path | None) -> BmsPolicy:
    """Read a BMS policy file; ``None`` gives the defaults. Problems name the key and fix."""
    if path is None:
        return BmsPolicy()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigProblem(
            "(file)", "the BMS policy file does not exist",
            "give the path of a policy TOML (see the README, facility staff), or leave "
            "--policy out for the defaults",
        )]) from None  # fmt: skip
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(
            str(path), [ConfigProblem("(file)", f"cannot be read: {exc}", "correct the file")]
        ) from None
    try:
        return BmsPolicy.model_validate(raw)
    except ValidationError as exc:
        problems = [
            ConfigProblem(
                ".".join(str(part) for part in err["loc"]) or "(top level)",
                str(err["msg"]).removeprefix("Value error, "),
                "correct the value; building types are " + ", ".join(u.value for u in BuildingUse),
            )
            for err in exc.errors()
        ]
        raise ConfigError(str(path), problems) from None


def _grid(index: pd.DatetimeIndex, before_h: float, after_h: float) -> pd.DatetimeIndex:
    step = pd.Timedelta(minutes=CONTEXT_STEP_MINUTES)
    start = index.min().floor(step) - pd.Timedelta(hours=before_h) - step
    end = index.max().ceil(step) + pd.Timedelta(hours=after_h) + step
    return pd.date_range(start, end, freq=step, name="ts")


def _any_within(flags: np.ndarray, steps: int, *, ahead: bool) -> np.ndarray:
    """Whether ``flags`` is true in any of the next (``ahead``) or previous ``steps`` steps."""
    if steps <= 0:
        return np.zeros(flags.shape, dtype=bool)
    series = pd.Series(flags.astype(float))
    if ahead:
        found = series[::-1].rolling(steps, min_periods=1).max().shift(1)[::-1]
    else:
        found = series.rolling(steps, min_periods=1).max().shift(1)
    return found.fillna(0.0).to_numpy() > 0


def zone_context(
    index: pd.DatetimeIndex,
    building: PublicBuilding,
    zone: BmsZone,
    policy: BmsPolicy,
    time_zone: ZoneInfo,
    country: str = "PL",
) -> pd.DataFrame:
    """The policy at each instant of ``index`` for one zone.

    Parameters
    ----------
    index
        Instants of the zone's readings, timezone-aware, sorted.
    building, zone
        The building and its zone, as configured.
    policy
        The BMS policy.
    time_zone
        The cluster's time zone.
    country
        ISO country code of the public holidays.

    Returns
    -------
    pandas.DataFrame
        On ``index``, the columns of :data:`CONTEXT_COLUMNS`: ``occupied``,
        ``day_closed`` and ``day_label`` (see :func:`bms.occupancy.occupancy_frame`);
        ``preheat`` (closed now, open within the pre-heat time); ``setback_due``
        (closed, not pre-heating, and closed for longer than the setback
        grace); ``band_min_c``/``band_max_c`` (°C: the occupied band while open,
        the unoccupied band otherwise, the wider of the two during pre-heat,
        the setback grace and just after opening); ``setback_c`` (°C: the
        lowest unoccupied temperature, which a set-back zone is held near).
    """
    if len(index) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in CONTEXT_COLUMNS}, index=index)
    use = policy.use(building.use)
    limits = policy.rules
    per_hour = 60 // CONTEXT_STEP_MINUTES
    grace_h = max(use.setback_grace_hours, limits.band_switch_grace_hours)
    grid = _grid(index, grace_h, use.preheat_hours)
    occupancy = occupancy_frame(building, grid, time_zone, country)
    occupied = occupancy["occupied"].to_numpy(dtype=bool)
    preheat = ~occupied & _any_within(occupied, math.ceil(use.preheat_hours * per_hour), ahead=True)
    grace_steps = math.ceil(use.setback_grace_hours * per_hour)
    recently_open = _any_within(occupied, grace_steps, ahead=False)
    setback_due = ~occupied & ~preheat & ~recently_open
    switch_steps = math.ceil(limits.band_switch_grace_hours * per_hour)
    just_opened = occupied & _any_within(~occupied, switch_steps, ahead=False)
    wide = ~setback_due & ~(occupied & ~just_opened)
    comfort = zone.comfort
    band_min = np.where(
        occupied & ~just_opened,
        comfort.occupied_min_c,
        np.where(wide, min(comfort.occupied_min_c, comfort.unoccupied_min_c),
                 comfort.unoccupied_min_c),
    )  # fmt: skip
    band_max = np.where(
        occupied & ~just_opened,
        comfort.occupied_max_c,
        np.where(wide, max(comfort.occupied_max_c, comfort.unoccupied_max_c),
                 comfort.unoccupied_max_c),
    )  # fmt: skip
    on_grid = pd.DataFrame(
        {
            "occupied": occupied,
            "day_closed": occupancy["day_closed"].to_numpy(dtype=bool),
            "day_label": occupancy["day_label"].to_numpy(dtype=object),
            "preheat": preheat,
            "setback_due": setback_due,
            "band_min_c": band_min.astype(float),
            "band_max_c": band_max.astype(float),
            "setback_c": float(comfort.unoccupied_min_c),
        },
        index=grid,
    )
    position = grid.get_indexer(index.tz_convert(grid.tz).floor(f"{CONTEXT_STEP_MINUTES}min"))
    context = on_grid.iloc[position]
    context.index = index
    return context
