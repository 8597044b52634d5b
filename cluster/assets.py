"""The assets of a cluster: generation, storage, buildings, heat and street lighting."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from cluster.errors import ConfigValueError
from cluster.fields import (
    Fraction,
    FrozenModel,
    HourRange,
    Identifier,
    NonNegative,
    Percent,
    PositiveKw,
    choose_from,
)
from cluster.lighting import (
    AMBIENT_PARAMETER,
    DEFAULT_WEIGHTING_TABLE,
    AmbientLuminosity,
    LightingClass,
    parse_lighting_class,
)
from cluster.outages import WithPlannedOutages
from cluster.points import Point, PointKind, SignConvention, point


class Asset(FrozenModel):
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


class PVPlant(Asset):
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


class WasteToEnergyCHP(Asset, WithPlannedOutages):
    """The waste-to-energy combined heat and power plant (ITPOK).

    Electric output lies in ``[electric_min_kw, electric_max_kw]`` when on; the
    heat output is ``heat_to_power_ratio`` × electric output; at least
    ``daily_min_waste_mwh`` of fuel energy (waste) must be burned each day, at
    ``electric_efficiency`` (electric output over fuel input). ``initially_on``
    and ``initial_output_kw`` give the state just before the first planned step.
    ``planned_outages`` (:mod:`cluster.outages`) scale its available output.
    """

    electric_min_kw: PositiveKw
    electric_max_kw: PositiveKw
    ramp_kw_per_hour: PositiveKw
    start_cost_pln: NonNegative
    heat_to_power_ratio: NonNegative
    electric_efficiency: Fraction
    daily_min_waste_mwh: NonNegative
    district_heating: Identifier | None = None
    initially_on: bool = Field(
        default=True, description="running just before the first planned step"
    )
    initial_output_kw: NonNegative | None = Field(
        default=None,
        description="electric output just before the first planned step, kW; when absent "
        "the first step is not ramp-limited",
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.electric_min_kw > self.electric_max_kw:
            raise ConfigValueError(
                f"electric_min_kw {self.electric_min_kw} is above electric_max_kw "
                f"{self.electric_max_kw}: the minimum stable load must not exceed the maximum",
                fix="lower electric_min_kw or raise electric_max_kw",
                field="electric_min_kw",
            )
        return self

    @model_validator(mode="after")
    def _initial_output_fits_the_state(self) -> Self:
        output = self.initial_output_kw
        if output is None:
            return self
        if not self.initially_on and output > 0:
            raise ConfigValueError(
                f"initial_output_kw {output} is above 0 although initially_on is false",
                fix="set initial_output_kw = 0 (or leave it out), or initially_on = true",
                field="initial_output_kw",
            )
        if self.initially_on and not self.electric_min_kw <= output <= self.electric_max_kw:
            raise ConfigValueError(
                f"initial_output_kw {output} lies outside the running range "
                f"{self.electric_min_kw}-{self.electric_max_kw} kW "
                "(electric_min_kw-electric_max_kw)",
                fix="give the output measured before the first step, or leave it out",
                field="initial_output_kw",
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


class BiogasCHP(Asset, WithPlannedOutages):
    """A biogas engine fed from a gas holder at the wastewater plant.

    ``planned_outages`` (:mod:`cluster.outages`) scale the biogas production
    that flows into the holder (a digester out of service), not the engine.
    """

    engine_min_kw: PositiveKw
    engine_max_kw: PositiveKw
    electric_efficiency: Fraction
    gas_holder_kwh: PositiveKw = Field(description="gas holder size as gas energy, kWh")
    gas_holder_initial_pct: Percent = 50.0
    flare_penalty_pln_per_mwh: NonNegative = Field(
        default=10.0,
        description="penalty per MWh of gas burned in the flare, PLN/MWh; the gas is lost "
        "anyway, the penalty keeps flaring for gas that can be neither used nor held",
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.engine_min_kw > self.engine_max_kw:
            raise ConfigValueError(
                f"engine_min_kw {self.engine_min_kw} is above engine_max_kw {self.engine_max_kw}: "
                "the minimum stable load must not exceed the maximum",
                fix="lower engine_min_kw or raise engine_max_kw",
                field="engine_min_kw",
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


class Battery(Asset):
    """A battery; power is positive when discharging."""

    power_kw: PositiveKw
    energy_kwh: PositiveKw
    round_trip_efficiency: Fraction = 0.9
    soc_min_pct: Percent = 10.0
    soc_max_pct: Percent = 90.0
    soc_initial_pct: Percent = 50.0
    cycle_cost_pln_per_mwh: NonNegative = Field(
        default=0.0,
        description="wear cost per MWh discharged, PLN/MWh; 0 leaves cycling free",
    )

    @model_validator(mode="after")
    def _soc_limits_in_order(self) -> Self:
        if self.soc_min_pct > self.soc_max_pct:
            raise ConfigValueError(
                f"soc_min_pct {self.soc_min_pct} is above soc_max_pct {self.soc_max_pct}",
                fix="swap soc_min_pct and soc_max_pct",
                field="soc_min_pct",
            )
        if not self.soc_min_pct <= self.soc_initial_pct <= self.soc_max_pct:
            raise ConfigValueError(
                f"soc_initial_pct {self.soc_initial_pct} lies outside the permitted state of "
                f"charge {self.soc_min_pct}-{self.soc_max_pct} % (soc_min_pct-soc_max_pct)",
                fix=f"set soc_initial_pct between {self.soc_min_pct} and {self.soc_max_pct}",
                field="soc_initial_pct",
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


class ComfortBand(FrozenModel):
    """Permitted room temperatures, °C, when occupied and when not."""

    occupied_min_c: float = Field(ge=5, le=35)
    occupied_max_c: float = Field(ge=5, le=35)
    unoccupied_min_c: float = Field(ge=5, le=35)
    unoccupied_max_c: float = Field(ge=5, le=35)

    @model_validator(mode="after")
    def _bands_in_order(self) -> Self:
        for state in ("occupied", "unoccupied"):
            low, high = getattr(self, f"{state}_min_c"), getattr(self, f"{state}_max_c")
            if low > high:
                raise ConfigValueError(
                    f"{state}_min_c {low} is above {state}_max_c {high}",
                    fix=f"swap {state}_min_c and {state}_max_c",
                    field=f"{state}_min_c",
                )
        return self


class HeatingKind(StrEnum):
    """What heats a zone; only electric kinds show up in the electricity balance."""

    HEAT_PUMP = "heat_pump"
    ELECTRIC = "electric"
    DISTRICT_HEAT = "district_heat"


class BmsZone(FrozenModel):
    """A BMS-controlled thermal zone with a first-order (RC) thermal model.

    The indoor temperature follows
    ``C dT/dt = Q_heat + Q_gains - (T - T_out) / R`` with ``C`` in kWh/K,
    ``R`` in K/kW and heat flows in kW. ``Q_gains`` is
    ``occupied_gains_w_per_m2`` × floor area while the building is occupied.
    ``initial_temp_c`` is the room temperature when planning starts; without
    it the plan starts where the zone's own thermostat would have left it.
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
    occupied_gains_w_per_m2: NonNegative = Field(
        default=5.0, description="heat from people and equipment while occupied, W/m²"
    )
    initial_temp_c: float | None = Field(
        default=None, ge=-10, le=50, description="room temperature when planning starts, °C"
    )
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


class Occupancy(FrozenModel):
    """When a building is occupied, in local hours."""

    working_days: HourRange | None = None
    non_working_days: HourRange | None = None
    closed_on_public_holidays: bool = True
    closed_in_school_breaks: bool = False


class PublicBuilding(Asset):
    """A public building with a BMS, its zones and its occupancy.

    Zones heated from the district-heating network pay
    ``district_heat_price_pln_per_mwh`` for their heat.
    """

    use: BuildingUse
    occupancy: Occupancy
    zones: list[BmsZone] = Field(min_length=1)
    district_heat_price_pln_per_mwh: NonNegative = Field(
        default=300.0, description="price of heat from the district-heating network, PLN/MWh"
    )

    def default_points(self) -> list[Point]:
        return [
            point("meter_power", PointKind.ACTIVE_POWER, SignConvention.IMPORT_POSITIVE),
            point("meter_energy", PointKind.ENERGY, min_value=0),
        ]


class DistrictHeating(Asset):
    """A district-heating network: demand met by CHP heat, a gas boiler and a heat store.

    The store holds ``heat_store_kwh`` and loses ``heat_store_loss_pct_per_hour`` of
    its content each hour; it starts at ``heat_store_initial_pct``. CHP heat the
    network cannot take or store can only be rejected in an emergency cooler of
    ``emergency_cooler_kw``, at ``heat_dump_penalty_pln_per_mwh``.
    """

    annual_heat_demand_mwh: PositiveKw
    gas_boiler_max_kw: PositiveKw
    gas_boiler_efficiency: Fraction = 0.92
    gas_price_pln_per_mwh: NonNegative = 250.0
    heat_store_kwh: NonNegative = 0.0
    heat_store_loss_pct_per_hour: float = Field(default=0.5, ge=0, lt=100)
    heat_store_initial_pct: Percent = 50.0
    emergency_cooler_kw: NonNegative = Field(
        default=0.0,
        description="heat the network's emergency cooler can reject, kW; 0 means none, so "
        "CHP heat beyond the demand must go into the heat store",
    )
    heat_dump_penalty_pln_per_mwh: NonNegative = Field(
        default=10.0, description="penalty per MWh of heat rejected in the cooler, PLN/MWh"
    )

    def default_points(self) -> list[Point]:
        return [
            point("heat_demand", PointKind.HEAT_POWER, SignConvention.CONSUMPTION_POSITIVE,
                  min_value=0),
            point("heat_store_level", PointKind.STATE_OF_CHARGE, min_value=0, max_value=100),
            point("boiler_heat", PointKind.HEAT_POWER, SignConvention.GENERATION_POSITIVE,
                  min_value=0, max_value=self.gas_boiler_max_kw * 1.1),
        ]  # fmt: skip


class LightingCircuit(Asset):
    """A street-lighting circuit on one road, dimmable in its controller's steps.

    ``road`` gives the CEN/TR 13201-1 selection parameters that do not change
    through the night (option names of the weighting table); traffic volume
    comes from the traffic forecast, relative to ``peak_traffic_vehicles_per_hour``,
    and ambient luminosity from the local clock time (``ambient_luminosity``),
    unless ``road`` fixes them. ``design_class`` is the class the installation
    was designed for: full power delivers it.
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
    ambient_luminosity: AmbientLuminosity = Field(default_factory=AmbientLuminosity)

    @field_validator("design_class")
    @classmethod
    def _known_class(cls, value: str) -> str:
        try:
            parse_lighting_class(value)
        except ValueError:
            raise ConfigValueError(
                f"unknown lighting class {value!r}",
                fix="use an EN 13201 class: M1..M6 for roads with motorised traffic, "
                "P1..P6 for pedestrian and low-speed areas",
            ) from None
        return value

    @field_validator("dim_steps_pct")
    @classmethod
    def _steps_reach_full(cls, value: list[int]) -> list[int]:
        if 100 not in value:
            raise ConfigValueError(
                f"dim_steps_pct {value} has no 100 % step: the circuit could never deliver "
                "its design class",
                fix="add 100 to dim_steps_pct, e.g. [30, 50, 70, 85, 100]",
            )
        return sorted(set(value))

    @model_validator(mode="after")
    def _road_parameters_known(self) -> Self:
        system = self.lighting_class.system
        table = DEFAULT_WEIGHTING_TABLE[system]
        for parameter, option in self.road.items():
            if parameter not in table:
                raise ConfigValueError(
                    f"{parameter!r} is not a road parameter of the {system} classes' "
                    "weighting table (CEN/TR 13201-1)",
                    fix=choose_from(parameter, table),
                    field=f"road.{parameter}",
                )
            if option not in table[parameter]:
                raise ConfigValueError(
                    f"road parameter {parameter!r} has no option {option!r}",
                    fix=choose_from(option, table[parameter]),
                    field=f"road.{parameter}",
                )
        ambient_options = table[AMBIENT_PARAMETER]
        for name in ("active", "quiet"):
            option = getattr(self.ambient_luminosity, name)
            if option not in ambient_options:
                raise ConfigValueError(
                    f"ambient luminosity option {option!r} is not in the weighting table",
                    fix=choose_from(option, ambient_options),
                    field=f"ambient_luminosity.{name}",
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


class Assets(FrozenModel):
    """Every asset of the cluster, by kind."""

    pv_plants: list[PVPlant] = Field(default_factory=list)
    wte_chps: list[WasteToEnergyCHP] = Field(default_factory=list)
    biogas_chps: list[BiogasCHP] = Field(default_factory=list)
    batteries: list[Battery] = Field(default_factory=list)
    buildings: list[PublicBuilding] = Field(default_factory=list)
    district_heating: list[DistrictHeating] = Field(default_factory=list)
    lighting_circuits: list[LightingCircuit] = Field(default_factory=list)

    def all(self) -> list[Asset]:
        """Every asset, in the order of the fields above."""
        groups: Iterable[list[Any]] = (
            self.pv_plants, self.wte_chps, self.biogas_chps, self.batteries,
            self.buildings, self.district_heating, self.lighting_circuits,
        )  # fmt: skip
        return [asset for group in groups for asset in group]
