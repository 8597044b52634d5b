"""The cluster configuration: a TOML file validated into frozen, typed objects.

The model below is the single description of a cluster: its members, their
connection points and tariffs, the joint-purchase supply contract, and every
asset with its points. :func:`load_config` reads a file and reports every
problem at once, each with the file, the key path and the fix
(:class:`~cluster.errors.ConfigError`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cluster.errors import ConfigError, ConfigProblem
from cluster.lighting import DEFAULT_WEIGHTING_TABLE, LightingClass, parse_lighting_class
from cluster.points import Point, PointKind, SignConvention, point

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
PositiveKw = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Money = Annotated[float, Field(allow_inf_nan=False)]
HourOfDay = Annotated[int, Field(ge=0, le=24)]
Month = Annotated[int, Field(ge=1, le=12)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HourRange(_Model):
    """Local clock hours ``[start, end)``; ``end`` may be 24. ``start > end`` wraps midnight."""

    start: HourOfDay
    end: HourOfDay

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start}: the range is empty")
        return self

    def contains(self, hour: int) -> bool:
        """True when local hour ``hour`` (0-23) lies in the range."""
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


class DayType(StrEnum):
    """Which days a tariff zone or supply block applies on."""

    ALL = "all"
    WORKING_DAYS = "working_days"
    NON_WORKING_DAYS = "non_working_days"


# --- cluster, members, tariffs, connection points ---------------------------------


class ClusterInfo(_Model):
    """The cluster itself: name, where it is, and the length of its time step."""

    name: str = Field(min_length=1)
    timezone: str = "Europe/Warsaw"
    step_minutes: Literal[15, 30, 60] = 15
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    altitude_m: float = 0.0
    country: str = Field(default="PL", pattern=r"^[A-Z]{2}$")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Warsaw'"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The cluster's time zone."""
        return ZoneInfo(self.timezone)


class MemberKind(StrEnum):
    """The kinds of member the cluster agreement knows."""

    PUBLIC_BUILDING = "public_building"
    MUNICIPAL_COMPANY = "municipal_company"
    BUSINESS = "business"
    HOUSING_COOPERATIVE = "housing_cooperative"
    MUNICIPALITY = "municipality"


class Member(_Model):
    """A party to the cluster agreement."""

    id: Identifier
    name: str = Field(min_length=1)
    kind: MemberKind


class TariffZone(_Model):
    """An energy rate that applies in some hours of some days and months.

    A tariff's zones are tried in order; the first that matches a quarter-hour
    applies, so put the catch-all zone last.
    """

    name: str = Field(min_length=1)
    rate_pln_per_mwh: NonNegative
    hours: list[HourRange] = Field(default_factory=lambda: [HourRange(start=0, end=24)])
    days: DayType = DayType.ALL
    months: list[Month] = Field(default_factory=lambda: list(range(1, 13)))

    def applies(self, month: int, working_day: bool, hour: int) -> bool:
        """True when this zone covers the given local month, day type and hour."""
        if month not in self.months:
            return False
        if self.days is DayType.WORKING_DAYS and not working_day:
            return False
        if self.days is DayType.NON_WORKING_DAYS and working_day:
            return False
        return any(r.contains(hour) for r in self.hours)


class OverrunRule(StrEnum):
    """How an exceeded contracted capacity is charged.

    ``hourly_max_sum``: multiplier × capacity rate × the sum over hours of each
    hour's largest quarter-hour overrun (the Polish default).
    ``ten_largest``: multiplier × capacity rate × the sum of the ten largest
    quarter-hour overruns of the month.
    """

    HOURLY_MAX_SUM = "hourly_max_sum"
    TEN_LARGEST = "ten_largest"


class Tariff(_Model):
    """A distribution tariff group: energy rates by zone and the capacity charge."""

    id: Identifier
    group: str = Field(min_length=2, pattern=r"^[A-G][0-9]{1,2}[a-z]?o?$")
    zones: list[TariffZone] = Field(min_length=1)
    capacity_rate_pln_per_kw_month: NonNegative
    overrun_multiplier: float = Field(default=10.0, ge=1, allow_inf_nan=False)
    overrun_rule: OverrunRule = OverrunRule.HOURLY_MAX_SUM

    @model_validator(mode="after")
    def _zones_cover_every_hour(self) -> Self:
        for month in range(1, 13):
            for working_day in (True, False):
                for hour in range(24):
                    if not any(z.applies(month, working_day, hour) for z in self.zones):
                        kind = "working" if working_day else "non-working"
                        raise ValueError(
                            f"no zone covers hour {hour}:00 of a {kind} day in month {month}; "
                            "add a catch-all zone (hours 0-24, days 'all') as the last zone"
                        )
        return self


class LoadProfile(StrEnum):
    """The shape of a connection point's demand, used for synthetic data and fallbacks."""

    OFFICE = "office"
    SCHOOL = "school"
    KINDERGARTEN = "kindergarten"
    SPORTS_POOL = "sports_pool"
    LIBRARY = "library"
    THEATRE = "theatre"
    CARE_HOME = "care_home"
    INDUSTRY_TWO_SHIFT = "industry_two_shift"
    INDUSTRY_CONTINUOUS = "industry_continuous"
    RETAIL = "retail"
    RESIDENTIAL = "residential"
    WASTEWATER = "wastewater"
    PLANT_AUXILIARY = "plant_auxiliary"
    STREET_LIGHTING = "street_lighting"
    NONE = "none"


class ConnectionPoint(_Model):
    """A metered grid connection of one member.

    ``contracted_capacity_kw`` is the *moc umowna*; import above it in any
    quarter-hour is an overrun. ``export_limit_kw`` caps export (0 forbids it).
    """

    id: Identifier
    member: Identifier
    tariff: Identifier
    contracted_capacity_kw: PositiveKw
    export_limit_kw: NonNegative = 0.0
    annual_consumption_mwh: NonNegative = 0.0
    profile: LoadProfile = LoadProfile.NONE


class SupplyBlock(_Model):
    """A fixed-price, take-or-pay block of the joint purchase (constant power in its hours)."""

    name: str = Field(min_length=1)
    power_kw: PositiveKw
    price_pln_per_mwh: Money
    hours: HourRange = Field(default_factory=lambda: HourRange(start=0, end=24))
    days: DayType = DayType.ALL


class SupplyContract(_Model):
    """The coordinator's contract for the joint purchase of electricity."""

    supplier: str = "supplier"
    blocks: list[SupplyBlock] = Field(default_factory=list)
    day_ahead_margin_pln_per_mwh: NonNegative = 0.0
    sell_back_fee_pln_per_mwh: NonNegative = 0.0


# --- assets ---------------------------------------------------------------------


class _Asset(_Model):
    id: Identifier
    name: str = ""
    connection_point: Identifier
    points: list[Point] = Field(default_factory=list)

    def default_points(self) -> list[Point]:
        """The points every asset of this kind has when the file lists none."""
        return []

    def model_post_init(self, context: Any, /) -> None:
        if not self.points:
            object.__setattr__(self, "points", self.default_points())


class PVPlant(_Asset):
    """A photovoltaic plant behind an inverter whose active power can be limited."""

    kwp: PositiveKw
    tilt_deg: float = Field(default=30.0, ge=0, le=90)
    azimuth_deg: float = Field(default=180.0, ge=0, lt=360, description="180 = south")
    inverter_limit_kw: PositiveKw
    loss_fraction: float = Field(default=0.14, ge=0, lt=1)

    def default_points(self) -> list[Point]:
        return [
            point("ac_power", PointKind.ACTIVE_POWER, SignConvention.GENERATION_POSITIVE,
                  min_value=0, max_value=self.inverter_limit_kw * 1.1),
            point("energy_total", PointKind.ENERGY, min_value=0),
            point("power_limit", PointKind.POWER_LIMIT, writable=True, min_value=0, max_value=100),
        ]  # fmt: skip


class WasteToEnergyCHP(_Asset):
    """The waste-to-energy combined heat and power plant (ITPOK).

    Electric output lies in ``[electric_min_kw, electric_max_kw]`` when on; the
    heat output is ``heat_to_power_ratio`` × electric output; at least
    ``daily_min_waste_mwh`` of fuel energy (waste) must be burned each day, at
    ``electric_efficiency`` (electric output over fuel input).
    """

    electric_min_kw: PositiveKw
    electric_max_kw: PositiveKw
    ramp_kw_per_hour: PositiveKw
    start_cost_pln: NonNegative
    heat_to_power_ratio: NonNegative
    electric_efficiency: Fraction
    daily_min_waste_mwh: NonNegative
    district_heating: Identifier | None = None

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.electric_min_kw > self.electric_max_kw:
            raise ValueError(
                f"electric_min_kw {self.electric_min_kw} is above electric_max_kw "
                f"{self.electric_max_kw}; the minimum stable load must not exceed the maximum"
            )
        return self

    def default_points(self) -> list[Point]:
        return [
            point("electric_power", PointKind.ACTIVE_POWER, SignConvention.GENERATION_POSITIVE,
                  min_value=0, max_value=self.electric_max_kw * 1.1),
            point("heat_power", PointKind.HEAT_POWER, SignConvention.GENERATION_POSITIVE,
                  min_value=0),
            point("waste_feed", PointKind.FLOW, min_value=0),
            point("status", PointKind.STATUS),
            point("output_setpoint", PointKind.POWER_SETPOINT, writable=True,
                  min_value=0, max_value=self.electric_max_kw),
        ]  # fmt: skip


class BiogasCHP(_Asset):
    """A biogas engine fed from a gas holder at the wastewater plant."""

    engine_min_kw: PositiveKw
    engine_max_kw: PositiveKw
    electric_efficiency: Fraction
    gas_holder_kwh: PositiveKw = Field(description="gas holder size as gas energy, kWh")
    gas_holder_initial_pct: Percent = 50.0

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.engine_min_kw > self.engine_max_kw:
            raise ValueError(
                f"engine_min_kw {self.engine_min_kw} is above engine_max_kw {self.engine_max_kw}"
            )
        return self

    def default_points(self) -> list[Point]:
        return [
            point("electric_power", PointKind.ACTIVE_POWER, SignConvention.GENERATION_POSITIVE,
                  min_value=0, max_value=self.engine_max_kw * 1.1),
            point("gas_holder_level", PointKind.STATE_OF_CHARGE, min_value=0, max_value=100),
            point("output_setpoint", PointKind.POWER_SETPOINT, writable=True,
                  min_value=0, max_value=self.engine_max_kw),
        ]  # fmt: skip


class Battery(_Asset):
    """A battery; power is positive when discharging."""

    power_kw: PositiveKw
    energy_kwh: PositiveKw
    round_trip_efficiency: Fraction = 0.9
    soc_min_pct: Percent = 10.0
    soc_max_pct: Percent = 90.0
    soc_initial_pct: Percent = 50.0

    @model_validator(mode="after")
    def _soc_limits_in_order(self) -> Self:
        if not self.soc_min_pct <= self.soc_initial_pct <= self.soc_max_pct:
            raise ValueError(
                f"need soc_min_pct <= soc_initial_pct <= soc_max_pct, got {self.soc_min_pct} / "
                f"{self.soc_initial_pct} / {self.soc_max_pct}"
            )
        return self

    def default_points(self) -> list[Point]:
        return [
            point("power", PointKind.ACTIVE_POWER, SignConvention.DISCHARGE_POSITIVE,
                  min_value=-self.power_kw * 1.1, max_value=self.power_kw * 1.1),
            point("soc", PointKind.STATE_OF_CHARGE, min_value=0, max_value=100),
            point("power_setpoint", PointKind.POWER_SETPOINT, SignConvention.DISCHARGE_POSITIVE,
                  writable=True, min_value=-self.power_kw, max_value=self.power_kw),
        ]  # fmt: skip


class ComfortBand(_Model):
    """Permitted room temperatures, °C, when occupied and when not."""

    occupied_min_c: float = Field(ge=5, le=35)
    occupied_max_c: float = Field(ge=5, le=35)
    unoccupied_min_c: float = Field(ge=5, le=35)
    unoccupied_max_c: float = Field(ge=5, le=35)

    @model_validator(mode="after")
    def _bands_in_order(self) -> Self:
        if self.occupied_min_c > self.occupied_max_c:
            raise ValueError("occupied_min_c is above occupied_max_c")
        if self.unoccupied_min_c > self.unoccupied_max_c:
            raise ValueError("unoccupied_min_c is above unoccupied_max_c")
        return self


class HeatingKind(StrEnum):
    """What heats a zone; only electric kinds show up in the electricity balance."""

    HEAT_PUMP = "heat_pump"
    ELECTRIC = "electric"
    DISTRICT_HEAT = "district_heat"


class BmsZone(_Model):
    """A BMS-controlled thermal zone with a first-order (RC) thermal model.

    The indoor temperature follows
    ``C dT/dt = Q_heat + Q_gains - (T - T_out) / R`` with ``C`` in kWh/K,
    ``R`` in K/kW and heat flows in kW.
    """

    id: Identifier
    name: str = ""
    floor_area_m2: PositiveKw
    comfort: ComfortBand
    thermal_capacitance_kwh_per_k: PositiveKw
    thermal_resistance_k_per_kw: PositiveKw
    heating_max_kw: PositiveKw
    heating: HeatingKind = HeatingKind.HEAT_PUMP
    cop: float = Field(default=3.0, gt=0, le=8)
    points: list[Point] = Field(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:
        if not self.points:
            c = self.comfort
            object.__setattr__(self, "points", [
                point("room_temp", PointKind.TEMPERATURE, min_value=-10, max_value=50),
                point("setpoint", PointKind.TEMPERATURE_SETPOINT, writable=True,
                      min_value=c.unoccupied_min_c, max_value=c.occupied_max_c),
                point("occupancy", PointKind.OCCUPANCY),
                point("heat_output", PointKind.VALVE_POSITION, min_value=0, max_value=100),
            ])  # fmt: skip


class BuildingUse(StrEnum):
    """What a public building is used for; sets its occupancy and load shape."""

    CITY_HALL = "city_hall"
    SCHOOL = "school"
    KINDERGARTEN = "kindergarten"
    SPORTS_POOL = "sports_pool"
    LIBRARY = "library"
    THEATRE = "theatre"
    CARE_HOME = "care_home"
    OFFICE = "office"


class Occupancy(_Model):
    """When a building is occupied, in local hours."""

    working_days: HourRange | None = None
    non_working_days: HourRange | None = None
    closed_on_public_holidays: bool = True
    closed_in_school_breaks: bool = False


class PublicBuilding(_Asset):
    """A public building with a BMS, its zones and its occupancy."""

    use: BuildingUse
    occupancy: Occupancy
    zones: list[BmsZone] = Field(min_length=1)

    def default_points(self) -> list[Point]:
        return [
            point("meter_power", PointKind.ACTIVE_POWER, SignConvention.IMPORT_POSITIVE),
            point("meter_energy", PointKind.ENERGY, min_value=0),
        ]


class DistrictHeating(_Asset):
    """A district-heating network: demand met by CHP heat, a gas boiler and a heat store."""

    annual_heat_demand_mwh: PositiveKw
    gas_boiler_max_kw: PositiveKw
    gas_boiler_efficiency: Fraction = 0.92
    gas_price_pln_per_mwh: NonNegative = 250.0
    heat_store_kwh: NonNegative = 0.0
    heat_store_loss_pct_per_hour: float = Field(default=0.5, ge=0, lt=100)

    def default_points(self) -> list[Point]:
        return [
            point("heat_demand", PointKind.HEAT_POWER, SignConvention.CONSUMPTION_POSITIVE,
                  min_value=0),
            point("heat_store_level", PointKind.STATE_OF_CHARGE, min_value=0, max_value=100),
            point("boiler_heat", PointKind.HEAT_POWER, SignConvention.GENERATION_POSITIVE,
                  min_value=0, max_value=self.gas_boiler_max_kw * 1.1),
        ]  # fmt: skip


class LightingCircuit(_Asset):
    """A street-lighting circuit on one road, dimmable in its controller's steps.

    ``road`` gives the CEN/TR 13201-1 selection parameters that do not change
    through the night (option names of the weighting table); traffic volume and
    ambient luminosity come from forecasts. ``design_class`` is the class the
    installation was designed for: full power delivers it.
    """

    municipality: str = Field(min_length=1)
    luminaires: int = Field(gt=0)
    luminaire_w: PositiveKw
    design_class: str
    road: dict[str, str] = Field(default_factory=dict)
    dim_steps_pct: list[Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: [30, 50, 70, 85, 100]
    )
    peak_traffic_vehicles_per_hour: NonNegative = 600.0

    @field_validator("design_class")
    @classmethod
    def _known_class(cls, value: str) -> str:
        parse_lighting_class(value)
        return value

    @field_validator("dim_steps_pct")
    @classmethod
    def _steps_reach_full(cls, value: list[int]) -> list[int]:
        if 100 not in value:
            raise ValueError("dim_steps_pct must include 100 (full output)")
        return sorted(set(value))

    @model_validator(mode="after")
    def _road_parameters_known(self) -> Self:
        table = DEFAULT_WEIGHTING_TABLE[self.lighting_class.system]
        for parameter, option in self.road.items():
            if parameter not in table:
                raise ValueError(
                    f"road parameter {parameter!r} is not in the {self.lighting_class.system} "
                    f"weighting table; use one of {sorted(table)}"
                )
            if option not in table[parameter]:
                raise ValueError(
                    f"road parameter {parameter!r} has no option {option!r}; "
                    f"use one of {sorted(table[parameter])}"
                )
        return self

    @property
    def lighting_class(self) -> LightingClass:
        """The design class parsed, e.g. M3."""
        return parse_lighting_class(self.design_class)

    @property
    def full_power_kw(self) -> float:
        """The circuit's power at 100 % output, kW."""
        return self.luminaires * self.luminaire_w / 1000.0

    def default_points(self) -> list[Point]:
        return [
            point("on_off", PointKind.ON_OFF, writable=True, min_value=0, max_value=1),
            point("dim_level", PointKind.DIM_LEVEL, writable=True,
                  min_value=min(self.dim_steps_pct), max_value=100),
            point("power", PointKind.ACTIVE_POWER, SignConvention.CONSUMPTION_POSITIVE,
                  min_value=0, max_value=self.full_power_kw * 1.2),
            point("failed_lamps", PointKind.COUNT, min_value=0, max_value=self.luminaires),
            point("traffic_count", PointKind.COUNT, min_value=0),
        ]  # fmt: skip


class Assets(_Model):
    """Every asset of the cluster, by kind."""

    pv_plants: list[PVPlant] = Field(default_factory=list)
    wte_chps: list[WasteToEnergyCHP] = Field(default_factory=list)
    biogas_chps: list[BiogasCHP] = Field(default_factory=list)
    batteries: list[Battery] = Field(default_factory=list)
    buildings: list[PublicBuilding] = Field(default_factory=list)
    district_heating: list[DistrictHeating] = Field(default_factory=list)
    lighting_circuits: list[LightingCircuit] = Field(default_factory=list)

    def all(self) -> list[_Asset]:
        """Every asset, in the order of the fields above."""
        groups: Iterable[list[Any]] = (
            self.pv_plants, self.wte_chps, self.biogas_chps, self.batteries,
            self.buildings, self.district_heating, self.lighting_circuits,
        )  # fmt: skip
        return [asset for group in groups for asset in group]


class ClusterConfig(_Model):
    """A whole cluster, as read from its configuration file."""

    cluster: ClusterInfo
    members: list[Member] = Field(min_length=1)
    tariffs: list[Tariff] = Field(min_length=1)
    connection_points: list[ConnectionPoint] = Field(min_length=1)
    supply_contract: SupplyContract = Field(default_factory=SupplyContract)
    assets: Assets = Field(default_factory=Assets)

    def tariff_of(self, connection_point: ConnectionPoint) -> Tariff:
        """The tariff a connection point is billed on."""
        return next(t for t in self.tariffs if t.id == connection_point.tariff)

    def connection_point(self, connection_point_id: str) -> ConnectionPoint:
        """The connection point with this id."""
        return next(c for c in self.connection_points if c.id == connection_point_id)

    def assets_at(self, connection_point_id: str) -> list[_Asset]:
        """Every asset behind a connection point."""
        return [a for a in self.assets.all() if a.connection_point == connection_point_id]


# --- loading and error reporting ---------------------------------------------------


DEMO_CONFIG_NAME = "demo_cluster.toml"


def demo_config_text() -> str:
    """The TOML text of the built-in demo cluster (Kielce functional area)."""
    return resources.files("cluster").joinpath(DEMO_CONFIG_NAME).read_text(encoding="utf-8")


def load_demo_config() -> ClusterConfig:
    """The built-in demo cluster, modelled on the Kielce functional area."""
    return parse_config(demo_config_text(), source=f"<built-in demo: {DEMO_CONFIG_NAME}>")


def load_config(path: str | Path | None) -> ClusterConfig:
    """Read and validate a cluster configuration file; ``None`` gives the demo cluster.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or does not describe a
        consistent cluster. Every problem is listed with its key path and fix.
    """
    if path is None:
        return load_demo_config()
    file = Path(path)
    if not file.is_file():
        problem = ConfigProblem(
            "(file)",
            "the file does not exist" if not file.exists() else "the path is not a file",
            "give the path of a cluster TOML file, or leave --config out to use the demo cluster",
        )
        raise ConfigError(str(file), [problem])
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            str(file), [ConfigProblem("(file)", f"cannot be read: {exc}", "save it as UTF-8 text")]
        ) from None
    return parse_config(text, source=str(file))


def parse_config(text: str, *, source: str) -> ClusterConfig:
    """Validate TOML text into a :class:`ClusterConfig`; ``source`` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            source,
            [ConfigProblem("(syntax)", f"not valid TOML: {exc}", "correct the TOML syntax there")],
        ) from None
    try:
        config = ClusterConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_problem_of(err, raw) for err in exc.errors()]) from None
    problems = list(_reference_problems(config))
    if problems:
        raise ConfigError(source, problems)
    return config


def _key_path(loc: tuple[int | str, ...], raw: Mapping[str, Any]) -> str:
    """A TOML key path such as ``assets.pv_plants[2](pv-farm).kwp``."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label += f"(id={node['id']})"
            else:
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + item)
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


_FIXES: dict[str, str] = {
    "missing": "add this key",
    "extra_forbidden": "remove this key or correct its spelling",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value",
    "string_pattern_mismatch": "use lower-case letters, digits, '-' and '_' only",
    "literal_error": "use one of the values named",
    "enum": "use one of the values named",
    "finite_number": "use a finite number",
    "too_short": "add at least one entry",
}


def _problem_of(error: Any, raw: Mapping[str, Any]) -> ConfigProblem:
    loc = tuple(error["loc"])
    kind = error["type"]
    message = str(error["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        fix = "correct the value as the message says"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        fix = f"write a value of the right type (got {error.get('input')!r})"
    else:
        fix = _FIXES.get(kind, "correct the value")
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "group":
        fix = "use a Polish tariff group name such as B23, C21, C12o or G11"
    return ConfigProblem(_key_path(loc, raw), message, fix)


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]


def _reference_problems(config: ClusterConfig) -> Iterable[ConfigProblem]:
    """Cross-references that pydantic cannot check field by field."""
    groups = {
        "members": [m.id for m in config.members],
        "tariffs": [t.id for t in config.tariffs],
        "connection_points": [c.id for c in config.connection_points],
        "assets": [a.id for a in config.assets.all()],
    }
    for name, ids in groups.items():
        for dup in _duplicates(ids):
            yield ConfigProblem(f"{name}(id={dup})", f"id {dup!r} is used twice",
                                "give every entry its own id")  # fmt: skip
    members = set(groups["members"])
    tariffs = set(groups["tariffs"])
    for i, cp in enumerate(config.connection_points):
        key = f"connection_points[{i}](id={cp.id})"
        if cp.member not in members:
            yield ConfigProblem(f"{key}.member", f"no member has id {cp.member!r}",
                                f"use one of the member ids: {', '.join(sorted(members))}")  # fmt: skip
        if cp.tariff not in tariffs:
            yield ConfigProblem(f"{key}.tariff", f"no tariff has id {cp.tariff!r}",
                                f"use one of the tariff ids: {', '.join(sorted(tariffs))}")  # fmt: skip
    points = set(groups["connection_points"])
    heating = {d.id for d in config.assets.district_heating}
    for field_name in Assets.model_fields:
        for i, asset in enumerate(getattr(config.assets, field_name)):
            key = f"assets.{field_name}[{i}](id={asset.id})"
            if asset.connection_point not in points:
                yield ConfigProblem(
                    f"{key}.connection_point",
                    f"no connection point has id {asset.connection_point!r}",
                    "use the id of a [[connection_points]] entry",
                )
            for dup in _duplicates(p.id for p in asset.points):
                yield ConfigProblem(f"{key}.points", f"point id {dup!r} is used twice",
                                    "give every point of an asset its own id")  # fmt: skip
            if isinstance(asset, WasteToEnergyCHP) and asset.district_heating is not None:
                if asset.district_heating not in heating:
                    yield ConfigProblem(
                        f"{key}.district_heating",
                        f"no district-heating network has id {asset.district_heating!r}",
                        "use the id of an [[assets.district_heating]] entry or remove the key",
                    )
            if isinstance(asset, PublicBuilding):
                for dup in _duplicates(z.id for z in asset.zones):
                    yield ConfigProblem(f"{key}.zones", f"zone id {dup!r} is used twice",
                                        "give every zone of a building its own id")  # fmt: skip

