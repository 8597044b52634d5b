"""Field types and small value objects shared by the configuration models."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from cluster.errors import ConfigValueError

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
PositiveKw = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Money = Annotated[float, Field(allow_inf_nan=False)]
HourOfDay = Annotated[int, Field(ge=0, le=24)]
Month = Annotated[int, Field(ge=1, le=12)]


def choose_from(given: str, allowed: Iterable[str]) -> str:
    """A fix naming the allowed values, and the closest one when ``given`` looks like a typo."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(given, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}use one of: {', '.join(allowed)}"


class FrozenModel(BaseModel):
    """A configuration object: unknown keys refused, immutable once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HourRange(FrozenModel):
    """Local clock hours ``[start, end)``; ``end`` may be 24. ``start > end`` wraps midnight."""

    start: HourOfDay
    end: HourOfDay

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ConfigValueError(
                f"start and end are both {self.start}: the hour range is empty",
                fix="make end differ from start; start = 0, end = 24 covers the whole day",
                field="end",
            )
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
