"""Building flexibility: the heating of BMS zones shifted within their comfort bands.

Each zone is a first-order RC model. The plan may pre-heat a zone while
power is cheap and let it coast while power is dear, as long as the room
stays in its comfort band: the occupied band while the building is in use
(:mod:`cluster.occupancy`), the wider unoccupied band otherwise. A band the
heating cannot hold is not a reason to give up the day: the shortfall is a
declared soft slack, charged per kelvin-hour and reported.

The plan reaches the BMS as a setpoint per zone and step: the planned room
temperature at the end of the step, rounded up to 0.1 °C.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from scipy import sparse

from cluster.commands import zone_asset_id
from cluster.config import BmsZone, HeatingKind, PublicBuilding
from cluster.occupancy import internal_gains_kw, occupied_steps
from cluster.thermal import heating_electricity_kw, retention, settled_temp_c, thermostat_run
from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.forecast_share import ForecastShare
from optimisation.components.step_rows import StepTerms, priced_sum
from optimisation.errors import PlanningInputError
from optimisation.horizon import Horizon
from optimisation.inputs import PlanningInputs
from optimisation.rows import LinearRows

#: The resolution of a zone setpoint sent to a BMS, °C (BACnet analog values take it).
SETPOINT_RESOLUTION_C = 0.1
#: Outdoor temperatures outside this range are taken for a unit mistake, °C.
PLAUSIBLE_OUTDOOR_C = (-50.0, 50.0)


@dataclass(frozen=True)
class ZoneHandle:
    """The model of one BMS zone.

    Attributes
    ----------
    building_id, zone
        The zone's building and configuration.
    occupied
        Whether the building is occupied in each step (at its start).
    band_min_c, band_max_c
        The comfort band at the END of each step, °C: the occupied band when
        the building is occupied in that step or the next.
    outdoor_c, gains_kw
        Outdoor temperature (°C) and internal gains (kW) of each step.
    initial_temp_c
        Room temperature at the start of the first step, °C; ``None`` when
        the day is planned as periodic (it ends where it starts).
    electric_per_heat
        Electric power drawn per kW of heat: 1/COP, 1 or 0.
    baseline_heat_kw, baseline_electric_kw
        Heat and electric power of the uncoordinated thermostat per step, kW
        (:func:`baseline_heat_kw`).
    temp_c
        Variable of each step: room temperature at the END of the step, °C
        (data of ``model.zone_temp_c``, like the three below).
    heat_kw
        Variable of each step: heat delivered, kW.
    too_cold_k, too_warm_k
        Variables of each step: how far the room ends it below and above the band, K.
    rows, first_row
        ``model.zone_rows`` and the zone's first dynamics row in it.
    electric_kw
        The electric power drawn in each step, kW (none for district heat).
    """

    building_id: str
    zone: BmsZone
    occupied: tuple[bool, ...]
    band_min_c: tuple[float, ...]
    band_max_c: tuple[float, ...]
    outdoor_c: tuple[float, ...]
    gains_kw: tuple[float, ...]
    initial_temp_c: float | None
    electric_per_heat: float
    baseline_heat_kw: tuple[float, ...]
    baseline_electric_kw: tuple[float, ...]
    temp_c: tuple[Any, ...]
    heat_kw: tuple[Any, ...]
    too_cold_k: tuple[Any, ...]
    too_warm_k: tuple[Any, ...]
    rows: Any
    first_row: int
    electric_kw: StepTerms

    @property
    def asset_id(self) -> str:
        """The zone's id in a schedule, ``<building>/<zone>``."""
        return zone_asset_id(self.building_id, self.zone.id)

    @property
    def dynamics(self) -> tuple[Any, ...]:
        """The zone's dynamics rows, one per step."""
        return tuple(self.rows[self.first_row + t] for t in range(len(self.temp_c)))


@dataclass(frozen=True)
class BuildingHandle:
    """The model of one public building.

    Attributes
    ----------
    building
        Its configuration.
    zones
        The zones' handles by zone id.
    electric_kw
        The electric power of all zones per step, kW.
    baseline_electric_kw
        The uncoordinated zones' electric power per step, kW: what the
        connection point's load forecast is taken to hold.
    comfort_penalty_pln, district_heat_pln
        Expressions (or 0): the penalty of the kelvin-hours outside the
        comfort bands over all zones, and the cost of heat bought from the
        district-heating network, PLN.
    """

    building: PublicBuilding
    zones: Mapping[str, ZoneHandle]
    electric_kw: StepTerms
    baseline_electric_kw: tuple[float, ...]
    comfort_penalty_pln: Any
    district_heat_pln: Any

    @property
    def injection(self) -> Injection:
        """The zones' electric heating on the building's connection point's bus."""
        return Injection(
            self.building.id,
            self.building.connection_point,
            InjectionKind.LOAD,
            self.electric_kw.scaled(-1.0),
        )

    @property
    def forecast_share(self) -> ForecastShare:
        """The heating the connection point's load forecast already holds."""
        return ForecastShare(
            self.building.id, self.building.connection_point, self.baseline_electric_kw
        )

    @property
    def cost_terms(self) -> tuple[CostTerm, ...]:
        """The comfort penalty and the district heat bought."""
        owner = self.building.id
        return (
            CostTerm(CostComponent.COMFORT_PENALTY, owner, self.comfort_penalty_pln),
            CostTerm(CostComponent.BUILDING_DISTRICT_HEAT, owner, self.district_heat_pln),
        )


def comfort_bands(zone: BmsZone, occupied: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The comfort band at the end of each step, °C.

    The instant between two steps belongs to both, so it takes the occupied
    band when either is occupied: the room is warm when people arrive and
    still warm when they leave.

    Parameters
    ----------
    zone
        The zone.
    occupied
        Whether the building is occupied in each step.
    """
    at_end = occupied.copy()
    at_end[:-1] |= occupied[1:]
    band = zone.comfort
    low = np.where(at_end, band.occupied_min_c, band.unoccupied_min_c)
    high = np.where(at_end, band.occupied_max_c, band.unoccupied_max_c)
    return low, high


def baseline_setpoints_c(zone: BmsZone, occupied: np.ndarray) -> np.ndarray:
    """The uncoordinated zone's fixed setpoints, °C: the lower bound of the band of each step."""
    band = zone.comfort
    return np.where(occupied, band.occupied_min_c, band.unoccupied_min_c)


def baseline_heat_kw(
    zone: BmsZone,
    outdoor_c: np.ndarray,
    gains_kw: np.ndarray,
    occupied: np.ndarray,
    initial_temp_c: float,
    step_h: float,
) -> np.ndarray:
    """Heat of the zone under its own thermostat, without klaster, kW per step.

    The uncoordinated baseline: fixed setpoints (:func:`baseline_setpoints_c`)
    and a controller that heats to reach them by the end of each step within
    ``[0, heating_max_kw]`` (:func:`cluster.thermal.thermostat_run`).

    Parameters
    ----------
    zone
        The zone.
    outdoor_c
        Outdoor temperature of each step, °C.
    gains_kw
        Internal gains of each step, kW.
    occupied
        Whether the building is occupied in each step.
    initial_temp_c
        Room temperature at the start of the first step, °C.
    step_h
        Step length, h.
    """
    setpoints = baseline_setpoints_c(zone, occupied)
    return thermostat_run(zone, outdoor_c, gains_kw, setpoints, initial_temp_c, step_h)[0]


def setpoint_plan_c(temp_c: float, band_min_c: float, band_max_c: float) -> float:
    """The setpoint sent for a planned end-of-step temperature, °C.

    The planned temperature rounded up to :data:`SETPOINT_RESOLUTION_C`, kept
    inside the comfort band. Up, because where the plan pre-heats at the
    heating's full power a thermostat given a lower setpoint stops short and
    the room starts the occupied hours colder than planned. A plan that falls
    short of the band (heating too small) still asks the BMS for the band.

    Parameters
    ----------
    temp_c
        Planned room temperature at the end of the step, °C.
    band_min_c, band_max_c
        The comfort band at that instant, °C.
    """
    grid = SETPOINT_RESOLUTION_C
    # A hair above a grid value is that value: the solver's tolerance, not a wish for more.
    rounded = round(math.ceil(temp_c / grid - 1e-6) * grid, 6)
    if rounded < band_min_c:
        rounded = round(math.ceil(band_min_c / grid - 1e-9) * grid, 6)
    if rounded > band_max_c:
        rounded = round(math.floor(band_max_c / grid + 1e-9) * grid, 6)
    if not band_min_c <= rounded <= band_max_c:
        # A band narrower than the grid: the setpoint goes as it is, inside the band.
        rounded = min(max(temp_c, band_min_c), band_max_c)
    return rounded


def check_building_inputs(
    inputs: PlanningInputs, initial_temp_c: Mapping[str, float] | None = None
) -> None:
    """Check the forecasts the buildings need, and the zones' measured start temperatures.

    Parameters
    ----------
    inputs
        The planning inputs.
    initial_temp_c
        Room temperature before the first step by zone asset id, °C.

    Raises
    ------
    PlanningInputError
        If the cluster has buildings and the outdoor temperature
        ``SeriesId.TEMPERATURE_C`` is missing, holds NaN, or lies outside
        -50..50 °C (a forecast in kelvin or °F); or a start temperature names
        no zone or is not a plausible room temperature.
    """
    buildings = inputs.config.assets.buildings
    zone_ids = {zone_asset_id(b.id, z.id) for b in buildings for z in b.zones}
    for zone_id, temp_c in (initial_temp_c or {}).items():
        if zone_id not in zone_ids:
            raise PlanningInputError(
                f"a start temperature is given for {zone_id!r}, which is not a building zone "
                "of the cluster",
                fix="name zones as <building id>/<zone id>, e.g. "
                + (min(zone_ids) if zone_ids else "bldg-school/z1"),
            )
        if not -10.0 <= temp_c <= 50.0:
            raise PlanningInputError(
                f"the start temperature {temp_c} °C of zone {zone_id!r} is not a room temperature",
                fix="give the measured room temperature in °C (-10 to 50)",
            )
    if not buildings:
        return
    column = SeriesId.TEMPERATURE_C
    if column not in inputs.forecasts.columns:
        raise PlanningInputError(
            f"the forecasts have no column {column!r}, which the building zones' thermal "
            "model needs",
            fix="forecast the outdoor temperature (°C) for the planned steps",
        )
    try:
        values = inputs.series(column)
    except (TypeError, ValueError):
        raise PlanningInputError(
            f"forecast {column!r} holds values that are not numbers",
            fix="give the outdoor temperature as floats in °C",
        ) from None
    if not np.isfinite(values).all():
        raise PlanningInputError(
            f"forecast {column!r} has {int((~np.isfinite(values)).sum())} NaN or infinite value(s)",
            fix="fill the gaps in the temperature forecast before planning",
        )
    low, high = PLAUSIBLE_OUTDOOR_C
    if values.min() < low or values.max() > high:
        raise PlanningInputError(
            f"forecast {column!r} runs from {values.min():.1f} to {values.max():.1f}, outside "
            f"{low:g}..{high:g} °C",
            fix="give the outdoor temperature in °C (not kelvin or °F)",
        )


def add_buildings(
    model: pyo.ConcreteModel,
    horizon: Horizon,
    inputs: PlanningInputs,
    comfort_penalty_pln_per_kh: float,
    initial_temp_c: Mapping[str, float],
    *,
    excluded_zones: frozenset[str] = frozenset(),
) -> dict[str, BuildingHandle]:
    r"""Add the flexible zones of the public buildings: one variable per kind, one matrix of rows.

    The zones' room temperatures, heat and comfort slacks are
    ``model.zone_temp_c``, ``model.zone_heat_kw``, ``model.zone_too_cold_k``
    and ``model.zone_too_warm_k`` (step ``t`` of the ``k``-th zone at
    ``k × T + t``), their rows ``model.zone_rows``: the dynamics, then the
    lower and then the upper comfort rows.

    A zone named in ``excluded_zones`` (``<building>/<zone>``) is not modelled:
    klaster cannot command it, so its heating stays in the load forecast as it
    is and it gets no setpoint plan. A building with no flexible zone left is
    not modelled.

    For every zone and step :math:`t = 0 \dots T-1`:

    .. math::

        T_t = a\,T_{t-1} + (1 - a)\left(\theta_t + R\,(Q_t + g_t)\right),
        \qquad a = e^{-\Delta t / (R C)}, \qquad T_{-1} = T^{init}

        0 \le Q_t \le \bar Q, \qquad
        T_t + s^{-}_t \ge \underline T_t, \qquad T_t - s^{+}_t \le \overline T_t,
        \qquad s^{-}_t, s^{+}_t \ge 0

        e_t = \epsilon\,Q_t, \qquad
        K^{comfort} = \rho \sum_t (s^{-}_t + s^{+}_t)\,\Delta t, \qquad
        K^{dh} = \pi^{dh} \sum_t [\text{district heat}]\,Q_t\,\Delta t / 1000

    - :math:`T_t` room temperature at the end of step :math:`t`, °C;
      :math:`T^{init}` the measured temperature of ``initial_temp_c`` (by
      zone asset id ``<building>/<zone>``), else the zone's configured
      ``initial_temp_c``, else :math:`T^{init} = T_{T-1}`: without a
      measurement the day is planned as one of a run of days like it,
      ending where it starts;
    - :math:`\theta_t` outdoor temperature (``SeriesId.TEMPERATURE_C``), °C;
    - :math:`Q_t` heat delivered, kW, at most :math:`\bar Q` ``heating_max_kw``;
    - :math:`g_t` internal gains while occupied (:func:`cluster.occupancy.internal_gains_kw`), kW;
    - :math:`R` ``thermal_resistance_k_per_kw``, K/kW; :math:`C`
      ``thermal_capacitance_kwh_per_k``, kWh/K; :math:`\Delta t` step, h;
    - :math:`\underline T_t, \overline T_t` the comfort band at the end of
      step :math:`t` (:func:`comfort_bands`), °C;
    - :math:`s^{-}_t, s^{+}_t` how far the room is below and above it, K:
      declared soft slack at :math:`\rho` = ``comfort_penalty_pln_per_kh``
      PLN per K·h;
    - :math:`e_t` electric power, kW, with :math:`\epsilon` = 1/``cop`` for
      a heat pump, 1 for electric heating, 0 for district heat, whose heat is
      bought at :math:`\pi^{dh}` = ``district_heat_price_pln_per_mwh``.

    The dynamics are the RC equation ``C dT/dt = Q + g - (T - θ)/R`` solved
    exactly over a step with constant heat, gains and outdoor temperature:
    to first order in :math:`\Delta t / RC` it is the explicit step
    :math:`T_t = T_{t-1} + \Delta t / C\,(Q_t + g_t - (T_{t-1} - \theta_t)/R)`,
    and unlike that step it is stable for any zone. There is no cooling: a
    room that warms above its band on its own shows up as :math:`s^{+}`.

    The building's electric power :math:`\sum_z e_{z,t}` is a load on its
    connection point. The point's load forecast already holds the heating as
    the zones ran before (the uncoordinated thermostats of
    :func:`baseline_heat_kw`); :attr:`BuildingHandle.forecast_share` states
    that estimate so it comes off the forecast
    (:mod:`optimisation.components.forecast_share`).
    """
    flexible = {
        b.id: [z for z in b.zones if zone_asset_id(b.id, z.id) not in excluded_zones]
        for b in inputs.config.assets.buildings
    }
    buildings = [b for b in inputs.config.assets.buildings if flexible[b.id]]
    step_h = horizon.step_hours
    outdoor = (inputs.series(SeriesId.TEMPERATURE_C) if buildings
               else np.zeros(horizon.n_steps))  # fmt: skip
    info = inputs.config.cluster
    planned = []
    for building in buildings:
        occupied = occupied_steps(building.occupancy, horizon.steps, info.zone, info.country)
        for zone in flexible[building.id]:
            initial = initial_temp_c.get(zone_asset_id(building.id, zone.id), zone.initial_temp_c)
            planned.append(_plan_zone(building.id, zone, horizon, outdoor, occupied, initial))
    zones = iter(_add_zones(model, horizon, outdoor, planned))
    handles: dict[str, BuildingHandle] = {}
    for building in buildings:
        by_id = {zone.id: next(zones) for zone in flexible[building.id]}
        slack = [
            v
            for z in by_id.values()
            for cold, warm in zip(z.too_cold_k, z.too_warm_k, strict=True)
            for v in (cold, warm)
        ]
        heat_price = building.district_heat_price_pln_per_mwh * step_h / 1000.0
        bought = [
            heat
            for z in by_id.values()
            if z.zone.heating is HeatingKind.DISTRICT_HEAT
            for heat in z.heat_kw
        ]
        baseline = np.sum([z.baseline_electric_kw for z in by_id.values()], axis=0)
        handles[building.id] = BuildingHandle(
            building=building,
            zones=by_id,
            electric_kw=StepTerms.total([z.electric_kw for z in by_id.values()], horizon.n_steps),
            baseline_electric_kw=tuple(float(v) for v in baseline),
            comfort_penalty_pln=priced_sum(slack, comfort_penalty_pln_per_kh * step_h),
            district_heat_pln=priced_sum(bought, heat_price),
        )
    return handles


@dataclass(frozen=True)
class _PlannedZone:
    """A zone's data before its variables are added: everything but the variables."""

    building_id: str
    zone: BmsZone
    occupied: tuple[bool, ...]
    band_min_c: np.ndarray
    band_max_c: np.ndarray
    gains_kw: np.ndarray
    initial_temp_c: float | None
    electric_per_heat: float
    baseline_heat_kw: np.ndarray


def _plan_zone(
    building_id: str,
    zone: BmsZone,
    horizon: Horizon,
    outdoor: np.ndarray,
    occupied: np.ndarray,
    initial: float | None,
) -> _PlannedZone:
    step_h = horizon.step_hours
    occupied_at = tuple(bool(o) for o in occupied)
    gains = np.array([internal_gains_kw(zone, o) for o in occupied_at])
    low, high = comfort_bands(zone, occupied)
    # The forecast learned how the zone ran before klaster: from where its own
    # thermostat left it, when nothing was measured.
    baseline_start = initial
    if baseline_start is None:
        setpoints = baseline_setpoints_c(zone, occupied)
        baseline_start = settled_temp_c(zone, outdoor, gains, setpoints, step_h)
    return _PlannedZone(
        building_id=building_id,
        zone=zone,
        occupied=occupied_at,
        band_min_c=low,
        band_max_c=high,
        gains_kw=gains,
        initial_temp_c=initial,
        electric_per_heat=heating_electricity_kw(1.0, zone.heating, zone.cop),
        baseline_heat_kw=baseline_heat_kw(zone, outdoor, gains, occupied, baseline_start, step_h),
    )


def _add_zones(
    model: pyo.ConcreteModel, horizon: Horizon, outdoor: np.ndarray, planned: list[_PlannedZone]
) -> list[ZoneHandle]:
    """The zones' variables and rows, all zones of a kind in one component; their handles.

    ``outdoor`` is the outdoor temperature of each step, °C.
    """
    if not planned:
        return []
    n = horizon.n_steps
    size = range(len(planned) * n)
    model.zone_temp_c = pyo.Var(size, domain=pyo.Reals)
    model.zone_heat_kw = pyo.Var(size, domain=pyo.NonNegativeReals)
    model.zone_too_cold_k = pyo.Var(size, domain=pyo.NonNegativeReals)
    model.zone_too_warm_k = pyo.Var(size, domain=pyo.NonNegativeReals)
    temp, heat = list(model.zone_temp_c.values()), list(model.zone_heat_kw.values())
    too_cold, too_warm = list(model.zone_too_cold_k.values()), list(model.zone_too_warm_k.values())
    # Each zone's rows are over its own [T, Q, s-, s+]; side by side, one block each.
    columns = [
        var
        for k in range(len(planned))
        for kind in (temp, heat, too_cold, too_warm)
        for var in kind[k * n : (k + 1) * n]
    ]
    for k, zone in enumerate(planned):
        for q in heat[k * n : (k + 1) * n]:
            q.setub(zone.zone.heating_max_kw)

    rows = _zone_rows(
        n,
        np.array([retention(z.zone, horizon.step_hours) for z in planned]),
        np.array([z.zone.thermal_resistance_k_per_kw for z in planned]),
        outdoor,
        np.array([z.gains_kw for z in planned]),
        np.array([np.nan if z.initial_temp_c is None else z.initial_temp_c for z in planned]),
    )
    low = np.concatenate([z.band_min_c for z in planned])
    high = np.concatenate([z.band_max_c for z in planned])
    # One block of rows (dynamics, then warm enough, then cool enough) over the
    # zones' columns, so that the compiler looks each column up once.
    n_rows = len(low)
    model.zone_rows = LinearRows(
        sparse.vstack([rows.dynamics, rows.warm_enough, rows.cool_enough], format="csr"),
        np.concatenate([rows.dynamics_rhs, low, np.full(n_rows, -np.inf)]),
        np.concatenate([rows.dynamics_rhs, np.full(n_rows, np.inf), high]),
        columns,
    )
    # One tuple of Python floats, shared by every zone's handle.
    outdoor_c = tuple(outdoor.tolist())
    handles = []
    for k, zone in enumerate(planned):
        steps = slice(k * n, (k + 1) * n)
        per_heat = zone.electric_per_heat
        handles.append(
            ZoneHandle(
                building_id=zone.building_id,
                zone=zone.zone,
                occupied=zone.occupied,
                band_min_c=tuple(zone.band_min_c.tolist()),
                band_max_c=tuple(zone.band_max_c.tolist()),
                outdoor_c=outdoor_c,
                gains_kw=tuple(zone.gains_kw.tolist()),
                initial_temp_c=zone.initial_temp_c,
                electric_per_heat=per_heat,
                baseline_heat_kw=tuple(zone.baseline_heat_kw.tolist()),
                baseline_electric_kw=tuple(
                    float(v) * per_heat for v in zone.baseline_heat_kw.tolist()
                ),
                temp_c=tuple(temp[steps]),
                heat_kw=tuple(heat[steps]),
                too_cold_k=tuple(too_cold[steps]),
                too_warm_k=tuple(too_warm[steps]),
                rows=model.zone_rows,
                first_row=k * n,
                electric_kw=(
                    StepTerms.of_variables(heat[steps], per_heat)
                    if per_heat
                    else StepTerms.total([], n)
                ),
            )
        )
    return handles


@dataclass(frozen=True)
class _ZoneRows:
    """The rows of all zones.

    Zone ``k``'s rows are ``k × T + t``, over its columns ``k × 4T + [T, Q,
    s-, s+]``: its ``T`` columns of each kind, step by step.
    """

    dynamics: sparse.csr_array
    dynamics_rhs: np.ndarray
    warm_enough: sparse.csr_array
    cool_enough: sparse.csr_array


def _zone_rows(
    n_steps: int,
    retention_per_step: np.ndarray,
    resistance_k_per_kw: np.ndarray,
    outdoor_c: np.ndarray,
    gains_kw: np.ndarray,
    initial_c: np.ndarray,
) -> _ZoneRows:
    r"""The dynamics as :math:`T_t - a T_{t-1} - (1-a) R Q_t = (1-a)(\theta_t + R g_t)`, all zones.

    With a measured start :math:`a T^{init}` moves to the right-hand side of
    step 0; without one (NaN in ``initial_c``), step 0 follows the last step
    (a periodic day). The comfort rows are :math:`T_t + s^-_t` and
    :math:`T_t - s^+_t`.

    Parameters
    ----------
    n_steps
        Steps :math:`T`.
    retention_per_step, resistance_k_per_kw, initial_c
        Per zone :math:`a`, :math:`R` (K/kW) and the start temperature (°C, NaN for none).
    outdoor_c
        Outdoor temperature per step, °C.
    gains_kw
        Internal gains per zone and step, kW (zones × steps).
    """
    n, n_zones = n_steps, len(retention_per_step)
    a = np.asarray(retention_per_step, dtype=float)[:, None]
    resistance = np.asarray(resistance_k_per_kw, dtype=float)[:, None]
    measured = ~np.isnan(initial_c)
    rhs = (1.0 - a) * (np.asarray(outdoor_c, dtype=float)[None, :] + resistance * gains_kw)
    rhs[measured, 0] += a[measured, 0] * initial_c[measured]
    steps = np.arange(n)
    row = np.arange(n_zones)[:, None] * n + steps  # zones × steps
    first = np.arange(n_zones)[:, None] * 4 * n  # each zone's first column
    previous = np.broadcast_to((steps - 1) % n, (n_zones, n)).copy()
    # With a measured start, step 0 has no previous step among the columns.
    coupled = np.ones((n_zones, n), dtype=bool)
    coupled[measured, 0] = False
    ones = np.ones((n_zones, n))
    dynamics = sparse.coo_array(
        (
            np.concatenate([ones.ravel(), (-(1.0 - a) * resistance * ones).ravel(),
                            (-a * ones)[coupled]]),
            (np.concatenate([row.ravel(), row.ravel(), row[coupled]]),
             np.concatenate([(first + steps).ravel(), (first + n + steps).ravel(),
                             (first + previous)[coupled]])),
        ),
        shape=(n_zones * n, n_zones * 4 * n),
    ).tocsr()  # fmt: skip
    temperature = (first + steps).ravel()

    def comfort(slack_offset: int, sign: float) -> sparse.csr_array:
        return sparse.coo_array(
            (np.concatenate([ones.ravel(), sign * ones.ravel()]),
             (np.concatenate([row.ravel(), row.ravel()]),
              np.concatenate([temperature, (first + slack_offset * n + steps).ravel()]))),
            shape=(n_zones * n, n_zones * 4 * n),
        ).tocsr()  # fmt: skip

    return _ZoneRows(dynamics, rhs.ravel(), comfort(2, 1.0), comfort(3, -1.0))
