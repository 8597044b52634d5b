"""Small clusters and metered periods for the settlement tests, with round numbers.

Every case starts on Monday 2026-11-02 at 10:00 UTC (11:00 in Warsaw, a working
day) and runs for a few quarter-hours of November 2026, whose 30 days have
2880 quarter-hours: the capacity charge of a case is ``steps / 2880`` of a month's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cluster.config import ClusterConfig, parse_config
from cluster.invoices import LineKind, MemberStatement, MeteredPeriod
from tests.clusters import cluster_header

#: Energy (kWh) or prices (PLN/MWh) of consecutive quarter-hours.
Values = Sequence[float] | npt.NDArray[np.float64]

MONTH = date(2026, 11, 1)
FIRST_STEP = pd.Timestamp("2026-11-02 10:00", tz="UTC")


def tariff(tariff_id: str = "t", *, capacity_rate: float = 36.0, rule: str = "hourly_max_sum",
           energy_rate: float = 100.0) -> str:  # fmt: skip
    """A C21 tariff: one energy rate (PLN/MWh), capacity rate PLN/(kW·month), overrun × 10."""
    return f"""\
[[tariffs]]
id = "{tariff_id}"
group = "C21"
capacity_rate_pln_per_kw_month = {capacity_rate}
overrun_multiplier = 10.0
overrun_rule = "{rule}"
[[tariffs.zones]]
name = "all day"
rate_pln_per_mwh = {energy_rate}
"""


def member(member_id: str, standalone_price: float | None = None) -> str:
    """A business member, with its own standalone price (PLN/MWh) when given."""
    text = f'[[members]]\nid = "{member_id}"\nname = "Member {member_id.upper()}"\n'
    text += 'kind = "business"\n'
    if standalone_price is not None:
        text += f"standalone_price_pln_per_mwh = {standalone_price}\n"
    return text


def point(member_id: str, *, tariff_id: str = "t", contracted_kw: float = 20.0) -> str:
    """Connection point ``cp-<member>`` of a member, allowed to export."""
    return f"""\
[[connection_points]]
id = "cp-{member_id}"
member = "{member_id}"
tariff = "{tariff_id}"
contracted_capacity_kw = {contracted_kw}
export_limit_kw = 100.0
"""


def supply(*, blocks: Sequence[str] = ()) -> str:
    """The supply contract: margin 20 PLN/MWh, sell-back fee 10 PLN/MWh, the blocks given."""
    text = (
        "[supply_contract]\nday_ahead_margin_pln_per_mwh = 20.0\nsell_back_fee_pln_per_mwh = 10.0\n"
    )
    return text + "".join(blocks)


def block(power_kw: float, price: float, *, hours: tuple[int, int] = (0, 24)) -> str:
    """A take-or-pay block of ``power_kw`` at ``price`` PLN/MWh in local ``hours``."""
    return f"""\
[[supply_contract.blocks]]
name = "block {power_kw} kW"
power_kw = {power_kw}
price_pln_per_mwh = {price}
hours = {{ start = {hours[0]}, end = {hours[1]} }}
"""


def terms(key: str = "dynamic", shares: Mapping[str, float] | None = None) -> str:
    """The settlement terms: internal price halfway between sell-back and purchase."""
    text = f'[settlement]\nallocation_key = "{key}"\ninternal_price_split = 0.5\n'
    if shares:
        inline = ", ".join(f"{m} = {v}" for m, v in shares.items())
        text += f"static_shares = {{ {inline} }}\n"
    return text


def build_config(*fragments: str) -> ClusterConfig:
    """A cluster from TOML fragments, after the ``[cluster]`` header."""
    return parse_config("\n".join([cluster_header("Settlement test"), *fragments]),
                        source="settlement-test.toml")  # fmt: skip


def metered(
    import_kwh: Mapping[str, Values],
    export_kwh: Mapping[str, Values],
    day_ahead: Values,
    curtailed_kwh: Mapping[str, Values] | None = None,
    *,
    start: pd.Timestamp = FIRST_STEP,
) -> MeteredPeriod:
    """A metered period from ``start``; every point of ``import_kwh`` is in all three frames."""
    steps = pd.date_range(start, periods=len(day_ahead), freq="15min", name="ts")
    points = list(import_kwh)
    zeros: Values = [0.0] * len(steps)

    def frame(values: Mapping[str, Values] | None) -> pd.DataFrame:
        given = values or {}
        return pd.DataFrame({cp: list(given.get(cp, zeros)) for cp in points}, index=steps,
                            dtype=float)  # fmt: skip

    return MeteredPeriod(
        import_kwh=frame(import_kwh),
        export_kwh=frame(export_kwh),
        curtailed_kwh=frame(curtailed_kwh),
        day_ahead_pln_per_mwh=pd.Series(list(day_ahead), index=steps, dtype=float),
    )


def amounts(statement: MemberStatement) -> dict[str, Decimal]:
    """A statement's amounts by line kind, distribution kinds summed over points, PLN."""
    result: dict[str, Decimal] = {}
    for line in statement.lines:
        result[line.kind.value] = result.get(line.kind.value, Decimal(0)) + line.amount_pln
    return result


def line_amount(statement: MemberStatement, kind: LineKind) -> Decimal | None:
    """The amount of the statement's line of ``kind`` (None when it has none), PLN."""
    found = [line.amount_pln for line in statement.lines if line.kind is kind]
    return sum(found, Decimal(0)) if found else None
