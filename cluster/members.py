"""The cluster itself, its members, tariffs, connection points and supply contract."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from cluster.errors import ConfigValueError
from cluster.fields import (
    DayType,
    FrozenModel,
    HourRange,
    Identifier,
    Money,
    Month,
    NonNegative,
    PositiveKw,
    choose_from,
)
from cluster.lighting import DEFAULT_WEIGHTING_TABLE


class ClusterInfo(FrozenModel):
    """The cluster itself: name, where it is, and the length of its time step.

    ``design_outdoor_temp_c`` is the PN-EN 12831 design outdoor temperature of
    the site, °C, for which building heating is sized (Polish climate zones
    I–V: −16, −18, −20, −22, −24 °C).

    ``lighting_weighting`` adapts the CEN/TR 13201-1 weighting table: values
    given by class system, parameter and option (the TR's names) replace the
    TR's example values, e.g. ``{ M = { traffic_volume = { very_low = -2 } } }``.
    """

    name: str = Field(min_length=1)
    timezone: str = "Europe/Warsaw"
    step_minutes: Literal[15, 30, 60] = 15
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    altitude_m: float = 0.0
    country: str = Field(default="PL", pattern=r"^[A-Z]{2}$")
    #: Kielce lies in climate zone III.
    design_outdoor_temp_c: float = Field(default=-20.0, ge=-60, le=20)
    lighting_weighting: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)

    @field_validator("lighting_weighting")
    @classmethod
    def _weighting_names_known(
        cls, value: dict[str, dict[str, dict[str, float]]]
    ) -> dict[str, dict[str, dict[str, float]]]:
        for system, parameters in value.items():
            if system not in DEFAULT_WEIGHTING_TABLE:
                raise ConfigValueError(
                    f"{system!r} is not a class system of the weighting table",
                    fix=choose_from(system, DEFAULT_WEIGHTING_TABLE),
                    field=system,
                )
            table = DEFAULT_WEIGHTING_TABLE[system]
            for parameter, options in parameters.items():
                if parameter not in table:
                    raise ConfigValueError(
                        f"{parameter!r} is not a parameter of the {system} classes' "
                        "weighting table (CEN/TR 13201-1)",
                        fix=choose_from(parameter, table),
                        field=f"{system}.{parameter}",
                    )
                for option, weight in options.items():
                    if option not in table[parameter]:
                        raise ConfigValueError(
                            f"{system}.{parameter} has no option {option!r}",
                            fix=choose_from(option, table[parameter]),
                            field=f"{system}.{parameter}.{option}",
                        )
                    if not math.isfinite(weight):
                        raise ConfigValueError(
                            f"the weighting value of {system}.{parameter}.{option} is {weight}",
                            fix="give a finite number, e.g. -1, 0, 0.5 or 2",
                            field=f"{system}.{parameter}.{option}",
                        )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigValueError(
                f"unknown time zone {value!r}",
                fix="use an IANA time-zone name such as 'Europe/Warsaw'",
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


class Member(FrozenModel):
    """A party to the cluster agreement."""

    id: Identifier
    name: str = Field(min_length=1)
    kind: MemberKind
    #: What this member would pay a supplier alone, PLN/MWh (energy only, without
    #: distribution); the cluster's ``settlement.standalone_price_pln_per_mwh`` if unset.
    standalone_price_pln_per_mwh: NonNegative | None = None


class TariffZone(FrozenModel):
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


class Tariff(FrozenModel):
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
                        kind = (
                            "a working day" if working_day
                            else "a non-working day (weekend or public holiday)"
                        )  # fmt: skip
                        raise ConfigValueError(
                            f"no zone covers hour {hour:02d}:00-{hour + 1:02d}:00 of {kind} "
                            f"in month {month}: every quarter-hour needs an energy rate",
                            fix="add a catch-all zone as the last [[tariffs.zones]] entry "
                            "(leave out hours, days and months: it then applies at all times)",
                            field="zones",
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


class ConnectionPoint(FrozenModel):
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


class SupplyBlock(FrozenModel):
    """A fixed-price, take-or-pay block of the joint purchase (constant power in its hours)."""

    name: str = Field(min_length=1)
    power_kw: PositiveKw
    price_pln_per_mwh: Money
    hours: HourRange = Field(default_factory=lambda: HourRange(start=0, end=24))
    days: DayType = DayType.ALL


class SupplyContract(FrozenModel):
    """The coordinator's contract for the joint purchase of electricity."""

    supplier: str = "supplier"
    blocks: list[SupplyBlock] = Field(default_factory=list)
    day_ahead_margin_pln_per_mwh: NonNegative = 0.0
    sell_back_fee_pln_per_mwh: NonNegative = 0.0


class AllocationKeyKind(StrEnum):
    """How local energy is shared among members in each quarter-hour.

    ``static``: by fixed shares; ``dynamic``: in proportion to each member's
    consumption in that quarter-hour; ``hybrid``: by the static shares first,
    the remainder in proportion to the consumption still uncovered.
    """

    STATIC = "static"
    DYNAMIC = "dynamic"
    HYBRID = "hybrid"


class SettlementTerms(FrozenModel):
    """How the cluster settles: the allocation key and the internal price of local energy.

    ``static_shares`` maps member ids to positive weights (normalised when used;
    their order is the key's order). The internal price is
    ``internal_price_pln_per_mwh`` when given, else
    sell-back price + ``internal_price_split`` × (purchase price - sell-back price).
    """

    allocation_key: AllocationKeyKind = AllocationKeyKind.DYNAMIC
    static_shares: dict[Identifier, PositiveKw] = Field(default_factory=dict)
    internal_price_pln_per_mwh: NonNegative | None = None
    internal_price_split: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False)
    #: A member's energy price had it stayed outside the cluster, PLN/MWh (the
    #: counterfactual of the savings report); members may override it.
    standalone_price_pln_per_mwh: NonNegative = 760.0
    #: What a producer alone would get for exported energy below the day-ahead
    #: price, PLN/MWh (a trader's fee).
    standalone_sell_fee_pln_per_mwh: NonNegative = 40.0

    def standalone_price_for(self, member: Member) -> float:
        """The member's energy price had it stood alone, PLN/MWh: its own, else the cluster's."""
        if member.standalone_price_pln_per_mwh is not None:
            return member.standalone_price_pln_per_mwh
        return self.standalone_price_pln_per_mwh

    @model_validator(mode="after")
    def _shares_for_static_keys(self) -> Self:
        if self.allocation_key is not AllocationKeyKind.DYNAMIC and not self.static_shares:
            raise ConfigValueError(
                f"the {self.allocation_key} allocation key needs static shares",
                fix="add static_shares = { member_id = share, ... } or use "
                "allocation_key = 'dynamic'",
                field="static_shares",
            )
        return self


# --- assets ---------------------------------------------------------------------
