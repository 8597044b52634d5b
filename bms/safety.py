"""Write safety: which points klaster may command, within which bounds, at which priority.

Nothing is written to a device unless the site's write policy allows it. The
policy is a TOML file (the allow-list) that names every writable point with
its permitted range and largest single step, and the one BACnet priority
klaster commands at. Priorities 1-7 (life safety, critical equipment, minimum
on/off, manual operator) are never used; 8 only where the site says so.

A value outside the bounds is refused, never clamped: a clamped setpoint is a
different setpoint from the one planned, and nobody would be told.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cluster.errors import ConfigError, ConfigProblem
from cluster.points import Point

#: BACnet priorities klaster never writes at (ASHRAE 135 clause 19.2.1 and site practice).
RESERVED_PRIORITIES = range(1, 8)
LOWEST_PRIORITY = 16


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllowedWrite(_Strict):
    """One point klaster may write, and how.

    ``point`` is ``<asset id>/<point id>``; ``min_value``/``max_value`` bound the
    value in the point's unit; ``max_step`` bounds the change from the value
    read just before the write; ``release_value`` is what a Modbus setpoint is
    returned to when dispatch ends (BACnet points are relinquished instead).
    """

    point: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)?/[a-z0-9][a-z0-9_.-]*$")
    min_value: float = Field(allow_inf_nan=False)
    max_value: float = Field(allow_inf_nan=False)
    max_step: float = Field(gt=0, allow_inf_nan=False)
    release_value: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Self:
        if self.min_value > self.max_value:
            raise ValueError(f"min_value {self.min_value} is above max_value {self.max_value}")
        if self.release_value is not None and not (
            self.min_value <= self.release_value <= self.max_value
        ):
            raise ValueError(f"release_value {self.release_value} lies outside its own bounds")
        return self


class WritePolicy(_Strict):
    """A site's write policy: the BACnet priorities and the allow-list.

    ``bacnet_priority`` is where dispatch commands the plan; ``manual_priority``
    is where a person's ``klaster bms set`` goes. The manual one must be the
    stronger (numerically lower), so that dispatch, which releases its slot when
    it ends, never overwrites or clears a person's change: it reports the point
    as overridden instead.
    """

    bacnet_priority: int = Field(default=12, ge=8, le=LOWEST_PRIORITY)
    manual_priority: int = Field(default=10, ge=8, le=LOWEST_PRIORITY)
    allow_priority_8: bool = False
    points: list[AllowedWrite] = Field(default_factory=list)

    @model_validator(mode="after")
    def _priority_agreed(self) -> Self:
        for name in ("bacnet_priority", "manual_priority"):
            if getattr(self, name) == 8 and not self.allow_priority_8:
                raise ValueError(
                    f"{name} 8 (manual operator) needs allow_priority_8 = true, "
                    "agreed with the site; otherwise use 9-16"
                )
        if self.manual_priority >= self.bacnet_priority:
            raise ValueError(
                f"manual_priority {self.manual_priority} must be stronger (lower) than "
                f"bacnet_priority {self.bacnet_priority}, or dispatch would overwrite "
                "people's changes"
            )
        seen: set[str] = set()
        for entry in self.points:
            if entry.point in seen:
                raise ValueError(f"point {entry.point!r} is listed twice")
            seen.add(entry.point)
        return self

    def entry(self, point_id: str) -> AllowedWrite | None:
        """The allow-list entry of a point, or None when it may not be written."""
        return next((e for e in self.points if e.point == point_id), None)


def load_write_policy(path: Path) -> WritePolicy:
    """Read a write policy (allow-list) file; every problem names the key and the fix."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigProblem(
            "(file)", "the write policy file does not exist",
            "give the path of the site's allow-list TOML (see the README, facility staff)",
        )]) from None  # fmt: skip
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(
            str(path), [ConfigProblem("(file)", f"cannot be read: {exc}", "correct the file")]
        ) from None
    try:
        return WritePolicy.model_validate(raw)
    except ValidationError as exc:
        problems = [
            ConfigProblem(
                ".".join(str(part) for part in err["loc"]) or "(top level)",
                str(err["msg"]).removeprefix("Value error, "),
                "correct the value; priorities 1-7 are never used by klaster",
            )
            for err in exc.errors()
        ]
        raise ConfigError(str(path), problems) from None


@dataclass(frozen=True)
class WriteCheck:
    """Whether a write may be sent, and why not when it may not."""

    allowed: bool
    reason: str = ""


def check_write(
    policy: WritePolicy,
    point_id: str,
    point: Point,
    new_value: float,
    current_value: float | None,
    *,
    priority: int | None = None,
) -> WriteCheck:
    """Decide whether ``new_value`` may be written to a point now.

    Parameters
    ----------
    policy
        The site's write policy.
    point_id
        ``<asset id>/<point id>`` of the target.
    point
        The point as configured (its own bounds and writable flag also apply).
    new_value
        The value to write, in the point's unit.
    current_value
        The value read from the device just before; None when it could not be
        read, which refuses the write (the step cannot be checked).
    priority
        The BACnet priority asked for; the policy's when None.
    """
    refused = _refusal(policy, point_id, point, priority)
    if refused is not None:
        return refused
    entry = policy.entry(point_id)
    assert entry is not None  # _refusal refuses a point off the allow-list
    if not math.isfinite(new_value):
        return WriteCheck(False, f"value {new_value} is not a finite number")
    if not entry.min_value <= new_value <= entry.max_value:
        return WriteCheck(
            False,
            f"value {new_value:g} lies outside the allow-list bounds "
            f"[{entry.min_value:g}, {entry.max_value:g}] {point.unit}",
        )
    if not point.within_bounds(new_value):
        return WriteCheck(
            False,
            f"value {new_value:g} lies outside the point's bounds "
            f"[{point.min_value}, {point.max_value}] {point.unit}",
        )
    if current_value is None or not math.isfinite(current_value):
        return WriteCheck(False, "the current value could not be read, so the step is unknown")
    if abs(new_value - current_value) > entry.max_step + 1e-9:
        return WriteCheck(
            False,
            f"step {new_value - current_value:+g} {point.unit} from {current_value:g} exceeds "
            f"max_step {entry.max_step:g}",
        )
    return WriteCheck(True)


def check_release(
    policy: WritePolicy, point_id: str, point: Point, *, priority: int | None = None
) -> WriteCheck:
    """Decide whether klaster may release a point it commands (relinquish its BACnet slot).

    The same rules as a write, but no value: the point must be writable and
    on the allow-list, and the priority one klaster may use (never 1-7).

    Parameters
    ----------
    policy
        The site's write policy.
    point_id
        ``<asset id>/<point id>`` of the target.
    point
        The point as configured.
    priority
        The BACnet priority to release; the policy's when None.
    """
    refused = _refusal(policy, point_id, point, priority)
    return refused if refused is not None else WriteCheck(True)


def _refusal(
    policy: WritePolicy, point_id: str, point: Point, priority: int | None
) -> WriteCheck | None:
    """The refusal a priority or a point earns before any value is looked at, if any."""
    used_priority = policy.bacnet_priority if priority is None else priority
    if used_priority in RESERVED_PRIORITIES:
        return WriteCheck(False, f"priority {used_priority} is reserved (1-7); never written")
    if used_priority == 8 and not policy.allow_priority_8:
        return WriteCheck(False, "priority 8 needs the site's allow_priority_8 = true")
    if not 1 <= used_priority <= LOWEST_PRIORITY:
        return WriteCheck(False, f"priority {used_priority} does not exist (1-16)")
    if not point.writable:
        return WriteCheck(False, f"{point_id} is not a writable point")
    if policy.entry(point_id) is None:
        return WriteCheck(False, f"{point_id} is not on the allow-list")
    return None
