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
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from scipy import sparse

from cluster.commands import zone_asset_id
from cluster.config import BmsZone, HeatingKind, PublicBuilding
from cluster.occupancy import internal_gains_kw, occupied_steps
from cluster.thermal import heating_electricity_kw, retention, settled_temp_c, thermostat_heat_kw
from cluster.timeseries import SeriesId
from optimisation.components.bus import Injection, InjectionKind
from optimisation.components.costs import CostComponent, CostTerm
from optimisation.components.forecast_share import ForecastShare
from optimisation.components.step_rows import linear_expression
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
    block
        Its Pyomo block ``model.buildings[building_id].zones[zone_id]``.
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
        Variable: room temperature at the END of each step, °C.
    heat_kw
        Variable: heat delivered in each step, kW.
    too_cold_k, too_warm_k
        Variables: how far the room ends each step below and above the band, K.
    electric_kw
        The electric power drawn in each step, kW: an expression, or 0.0
        for district heat.
    """

    building_id: str
    zone: BmsZone
    block: Any
    occupied: tuple[bool, ...]
    band_min_c: tuple[float, ...]
    band_max_c: tuple[float, ...]
    outdoor_c: tuple[float, ...]
    gains_kw: tuple[float, ...]
    initial_temp_c: float | None
    electric_per_heat: float
    baseline_heat_kw: tuple[float, ...]
    baseline_electric_kw: tuple[float, ...]
    temp_c: Any
    heat_kw: Any
    too_cold_k: Any
    too_warm_k: Any
    electric_kw: tuple[Any, ...]

    @property
    def asset_id(self) -> str:
        """The zone's id in a schedule, ``<building>/<zone>``."""
        return zone_asset_id(self.building_id, self.zone.id)


@dataclass(frozen=True)
class BuildingHandle:
    """The model of one public building.

    Attributes
    ----------
    building
        Its configuration.
    block
        Its Pyomo block ``model.buildings[building_id]``.
    zones
        The zones' handles by zone id.
    electric_kw, injected_kw
        The electric power of all zones per step and its negation (the load
        on the bus), kW: expressions, or numbers without electric heating.
    baseline_electric_kw
        The uncoordinated zones' electric power per step, kW: what the
        connection point's load forecast is taken to hold.
    comfort_violation_kh
        Expression: kelvin-hours outside the comfort bands over all zones, K·h.
    comfort_penalty_pln, district_heat_pln
        Expressions: the penalty of those kelvin-hours and the cost of heat
        bought from the district-heating network, PLN.
    """

    building: PublicBuilding
    block: Any
    zones: Mapping[str, ZoneHandle]
    electric_kw: tuple[Any, ...]
    injected_kw: tuple[Any, ...]
    baseline_electric_kw: tuple[float, ...]
    comfort_violation_kh: Any
    comfort_penalty_pln: Any
    district_heat_pln: Any

    @property
    def injection(self) -> Injection:
        """The zones' electric heating on the building's connection point's bus."""
        return Injection(
            self.building.id,
            self.building.connection_point,
            InjectionKind.LOAD,
            self.injected_kw,
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
    ``[0, heating_max_kw]`` (:func:`cluster.thermal.thermostat_heat_kw`).

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
    return thermostat_heat_kw(zone, outdoor_c, gains_kw, setpoints, initial_temp_c, step_h)


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
    r"""Add one block per public building, with one sub-block per flexible zone.

    A zone named in ``excluded_zones`` (``<building>/<zone>``) is not modelled:
    klaster cannot command it, so its heating stays in the load forecast as it
    is and it gets no setpoint plan. A building with no flexible zone left gets
    no block.

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
    model.buildings = pyo.Block([b.id for b in buildings])
    step_h = horizon.step_hours
    outdoor = (inputs.series(SeriesId.TEMPERATURE_C) if buildings
               else np.zeros(horizon.n_steps))  # fmt: skip
    info = inputs.config.cluster
    handles: dict[str, BuildingHandle] = {}
    no_power = (0.0,) * horizon.n_steps
    for building in buildings:
        block = model.buildings[building.id]
        occupied = occupied_steps(building.occupancy, horizon.steps, info.zone, info.country)
        block.zones = pyo.Block([z.id for z in flexible[building.id]])
        zones = {
            zone.id: _add_zone(
                block.zones[zone.id],
                building.id,
                zone,
                horizon,
                outdoor,
                occupied,
                initial_temp_c.get(zone_asset_id(building.id, zone.id), zone.initial_temp_c),
            )
            for zone in flexible[building.id]
        }
        # Per step one flat sum of the zones' e_t = ε Q_t, and its negation for the bus.
        electric = [
            [(q, z.electric_per_heat) for q in z.heat_kw.values()]
            for z in zones.values()
            if z.electric_per_heat
        ]
        by_step = list(zip(*electric, strict=True)) if electric else []
        electric_kw = tuple(linear_expression(terms) for terms in by_step) or no_power
        injected_kw = (
            tuple(linear_expression([(q, -e) for q, e in terms]) for terms in by_step) or no_power
        )
        slack = [
            v
            for z in zones.values()
            for cold, warm in zip(z.too_cold_k.values(), z.too_warm_k.values(), strict=True)
            for v in (cold, warm)
        ]
        block.comfort_violation_kh = pyo.Expression(
            expr=LinearExpression(linear_coefs=[step_h] * len(slack), linear_vars=slack)
        )
        block.comfort_penalty_pln = pyo.Expression(
            expr=comfort_penalty_pln_per_kh * block.comfort_violation_kh
        )
        heat_price = building.district_heat_price_pln_per_mwh * step_h / 1000.0
        bought = [
            heat
            for z in zones.values()
            if z.zone.heating is HeatingKind.DISTRICT_HEAT
            for heat in z.heat_kw.values()
        ]
        block.district_heat_pln = pyo.Expression(
            expr=LinearExpression(linear_coefs=[heat_price] * len(bought), linear_vars=bought)
            if bought
            else 0
        )
        baseline = np.sum([z.baseline_electric_kw for z in zones.values()], axis=0)
        handles[building.id] = BuildingHandle(
            building=building,
            block=block,
            zones=zones,
            electric_kw=electric_kw,
            injected_kw=injected_kw,
            baseline_electric_kw=tuple(float(v) for v in baseline),
            comfort_violation_kh=block.comfort_violation_kh,
            comfort_penalty_pln=block.comfort_penalty_pln,
            district_heat_pln=block.district_heat_pln,
        )
    return handles


def _add_zone(
    block: Any,
    building_id: str,
    zone: BmsZone,
    horizon: Horizon,
    outdoor: np.ndarray,
    occupied: np.ndarray,
    initial: float | None,
) -> ZoneHandle:
    steps = horizon.step_set
    step_h = horizon.step_hours
    outdoor_c = [float(v) for v in outdoor]
    occupied_at = [bool(o) for o in occupied]
    gains_kw = [internal_gains_kw(zone, o) for o in occupied_at]
    gains = np.array(gains_kw)
    low, high = comfort_bands(zone, occupied)
    low_c, high_c = [float(v) for v in low], [float(v) for v in high]
    a = retention(zone, step_h)
    resistance = zone.thermal_resistance_k_per_kw
    per_heat = heating_electricity_kw(1.0, zone.heating, zone.cop)
    # The forecast learned how the zone ran before klaster: from where its own
    # thermostat left it, when nothing was measured.
    baseline_start = initial
    if baseline_start is None:
        setpoints = baseline_setpoints_c(zone, occupied)
        baseline_start = settled_temp_c(zone, outdoor, gains, setpoints, step_h)
    baseline = baseline_heat_kw(zone, outdoor, gains, occupied, baseline_start, step_h)

    block.temp_c = pyo.Var(steps, domain=pyo.Reals)
    block.heat_kw = pyo.Var(steps, bounds=(0.0, zone.heating_max_kw))
    block.too_cold_k = pyo.Var(steps, domain=pyo.NonNegativeReals)
    block.too_warm_k = pyo.Var(steps, domain=pyo.NonNegativeReals)
    # The step's data objects, looked up once rather than once per row.
    temp = list(block.temp_c.values())
    heat = list(block.heat_kw.values())
    too_cold = list(block.too_cold_k.values())
    too_warm = list(block.too_warm_k.values())

    rows = _zone_rows(horizon.n_steps, a, resistance, outdoor, gains, initial)
    columns = [*temp, *heat, *too_cold, *too_warm]
    block.dynamics = LinearRows(rows.dynamics, rows.dynamics_rhs, rows.dynamics_rhs, columns)
    block.warm_enough = LinearRows(rows.warm_enough, low, np.full(len(low), np.inf), columns)
    block.cool_enough = LinearRows(rows.cool_enough, np.full(len(high), -np.inf), high, columns)
    electric_kw = tuple(MonomialTermExpression((per_heat, h)) if per_heat else 0.0 for h in heat)
    return ZoneHandle(
        building_id=building_id,
        zone=zone,
        block=block,
        occupied=tuple(occupied_at),
        band_min_c=tuple(low_c),
        band_max_c=tuple(high_c),
        outdoor_c=tuple(outdoor_c),
        gains_kw=tuple(gains_kw),
        initial_temp_c=initial,
        electric_per_heat=per_heat,
        baseline_heat_kw=tuple(float(v) for v in baseline),
        baseline_electric_kw=tuple(float(v) * per_heat for v in baseline),
        temp_c=block.temp_c,
        heat_kw=block.heat_kw,
        too_cold_k=block.too_cold_k,
        too_warm_k=block.too_warm_k,
        electric_kw=electric_kw,
    )


@dataclass(frozen=True)
class _ZoneRows:
    """A zone's rows over the columns ``[T_0..T_n-1, Q_0.., s-_0.., s+_0..]``."""

    dynamics: sparse.csr_array
    dynamics_rhs: np.ndarray
    warm_enough: sparse.csr_array
    cool_enough: sparse.csr_array


def _zone_rows(
    n_steps: int,
    retention_per_step: float,
    resistance_k_per_kw: float,
    outdoor_c: np.ndarray,
    gains_kw: np.ndarray,
    initial_c: float | None,
) -> _ZoneRows:
    r"""The dynamics as :math:`T_t - a T_{t-1} - (1-a) R Q_t = (1-a)(\theta_t + R g_t)`.

    With a measured start :math:`a T^{init}` moves to the right-hand side of
    step 0; without one, step 0 follows the last step (a periodic day). The
    comfort rows are :math:`T_t + s^-_t` and :math:`T_t - s^+_t`.
    """
    a, n = retention_per_step, n_steps
    steps = np.arange(n)
    rhs = (1.0 - a) * (np.asarray(outdoor_c, dtype=float) + resistance_k_per_kw * gains_kw)
    rows = [steps, steps]
    columns = [steps, n + steps]
    values = [np.ones(n), np.full(n, -(1.0 - a) * resistance_k_per_kw)]
    if initial_c is None:
        rows.append(steps)
        columns.append((steps - 1) % n)
        values.append(np.full(n, -a))
    else:
        rows.append(steps[1:])
        columns.append(steps[:-1])
        values.append(np.full(n - 1, -a))
        rhs[0] += a * initial_c
    shape = (n, 4 * n)
    dynamics = sparse.coo_array(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=shape
    ).tocsr()
    comfort = [np.concatenate([steps, steps]), np.concatenate([steps, 2 * n + steps])]
    warm_enough = sparse.coo_array((np.ones(2 * n), comfort), shape=shape).tocsr()
    comfort[1][n:] += n
    cool_enough = sparse.coo_array(
        (np.concatenate([np.ones(n), -np.ones(n)]), comfort), shape=shape
    ).tocsr()
    return _ZoneRows(dynamics, rhs, warm_enough, cool_enough)
