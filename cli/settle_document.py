"""The settlement reports as plain data, and the words and formats of their languages.

A report is built as a :class:`Report` (sections of sentences, tables and
plots, every number already formatted in the report's language) and then
written as HTML by the templates in ``templates/settlement/`` and as PDF by
:mod:`cli.settle_pdf`, so that both say the same.
"""

from __future__ import annotations

import base64
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from babel.dates import format_date
from babel.numbers import format_decimal

from cluster.errors import KlasterError
from cluster.fields import choose_from
from cluster.invoices import Settlement

#: The languages a report can be written in.
SUPPORTED_LANGUAGES = ("pl", "en")
TEMPLATE_DIR = Path(__file__).parent / "templates" / "settlement"
WH_PER_MWH = 1_000_000
#: The energy columns of the quarter-hour CSVs, after the time columns, whole Wh.
ENERGY_COLUMNS = (
    "consumption_wh", "local_wh", "grid_wh", "export_wh", "delivered_wh", "sold_wh",
    "curtailed_wh",
)  # fmt: skip


@dataclass(frozen=True)
class Language:
    """The words and number, money and date formats of one report language."""

    code: str
    locale: str
    currency: str
    words: dict[str, str]
    kinds: dict[str, str]

    def text(self, key: str, **values: str) -> str:
        """The sentence ``key`` with its placeholders filled."""
        return self.words[key].format(**values)

    def number(self, value: float | Decimal, digits: int = 2) -> str:
        """A number with grouped thousands and ``digits`` decimals (``1 234,56``, ``1,234.56``)."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def money(self, amount_pln: Decimal | float) -> str:
        """An amount of money, PLN (``1 234,56 zł``, ``1,234.56 PLN``)."""
        return f"{self.number(amount_pln)}\u00a0{self.currency}"

    def energy(self, energy_wh: int) -> str:
        """Energy given in Wh, shown in MWh to the kWh."""
        return f"{self.number(Decimal(energy_wh) / WH_PER_MWH, 3)}\u00a0MWh"

    def percent(self, value_pct: float) -> str:
        """A percentage to one decimal (``12,3 %``, ``12.3%``)."""
        space = "\u00a0" if self.code == "pl" else ""
        return f"{self.number(value_pct, 1)}{space}%"

    def day(self, day: date) -> str:
        """A calendar date in words (``1 listopada 2026``, ``1 November 2026``)."""
        return format_date(day, format="long", locale=self.locale)


@cache
def _all_words() -> dict[str, Any]:
    with (TEMPLATE_DIR / "labels.toml").open("rb") as labels:
        return tomllib.load(labels)


def language(code: str) -> Language:
    """The report language ``code`` (``"pl"`` or ``"en"``)."""
    if code not in SUPPORTED_LANGUAGES:
        raise KlasterError(
            f"no report language {code!r}",
            fix=choose_from(code, SUPPORTED_LANGUAGES),
        )
    table = dict(_all_words()[code])
    kinds = table.pop("kinds")
    return Language(code, table.pop("locale"), table.pop("currency"), table, kinds)


# --- the report as data --------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table: a heading row, rows of formatted cells, and which columns are numbers."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    total: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Plot:
    """A figure of the report: its title and the PNG."""

    title: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI, for a self-contained HTML page."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Section:
    """A headed part of a report: sentences, then tables, then plots."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    plots: tuple[Plot, ...] = ()


@dataclass(frozen=True)
class Report:
    """A whole report in one language, ready to be written as HTML or PDF.

    ``created`` is the end of the settled period: the PDF's creation date, so
    the same settlement always gives the same bytes.
    """

    lang: str
    title: str
    header: tuple[str, ...]
    sections: tuple[Section, ...]
    created: datetime


# --- parts shared by the member's and the coordinator's reports ---------------------------


def period_line(settlement: Settlement, words: Language) -> str:
    """The settled period as its first and last local calendar days."""
    first = settlement.start.tz_convert(settlement.timezone).date()
    last = (settlement.end - pd.Timedelta(minutes=1)).tz_convert(settlement.timezone).date()
    return words.text("period", start=words.day(first), end=words.day(last))


def share_text(part_wh: int, whole_wh: int, words: Language) -> str:
    """``part_wh`` as a percentage of ``whole_wh`` (both Wh); a dash when the whole is 0."""
    return words.percent(100 * part_wh / whole_wh) if whole_wh > 0 else words.text("not_computed")


def energy_totals(frame: pd.DataFrame) -> dict[str, int]:
    """The period's sum of each ``*_wh`` column of an energy frame, whole Wh."""
    return {column: int(frame[column].sum()) for column in frame.columns if column.endswith("_wh")}


def how_section(settlement: Settlement, words: Language, member_id: str | None) -> Section:
    """How the numbers are made: allocation key, internal price, blocks, counterfactual."""
    terms, supply = settlement.terms, settlement.supply
    key = terms.allocation_key.value if terms is not None else "unknown"
    sentences = [words.text(f"how_allocation_{key}")]
    if terms is not None and member_id in terms.static_shares:
        # Only the member's own normalised share: the others' shares are theirs.
        share = terms.static_shares[member_id] / sum(terms.static_shares.values())
        sentences.append(words.text("how_own_share", share=words.percent(100 * share)))
    if terms is None:
        sentences.append(words.text("how_price_unknown"))
    elif terms.internal_price_pln_per_mwh is not None:
        price = words.money(terms.internal_price_pln_per_mwh)
        sentences.append(words.text("how_price_fixed", price=price))
    else:
        split = words.percent(100 * terms.internal_price_split)
        sentences.append(words.text("how_price_split", split=split))
    if supply is not None:
        margin = words.money(supply.day_ahead_margin_pln_per_mwh)
        fee = words.money(supply.sell_back_fee_pln_per_mwh)
        sentences.append(words.text("how_prices", margin=margin, fee=fee))
    block_wh = settlement.cluster_energy.get("block_wh")
    if block_wh is not None and int(block_wh.sum()) > 0:
        count = len(supply.blocks) if supply is not None else 1
        sentences.append(words.text("how_blocks", count=str(count)))
    else:
        sentences.append(words.text("how_no_blocks"))
    sentences += [words.text(k) for k in ("how_distribution", "how_standalone", "how_rounding")]
    return Section(words.text("how_heading"), paragraphs=tuple(sentences))


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def report_html(report: Report, template: str) -> bytes:
    """The report as one self-contained HTML page (plots embedded), UTF-8.

    Parameters
    ----------
    report : Report
        The report to write.
    template : str
        The template's file name in ``templates/settlement/``.
    """
    return _templates().get_template(template).render(report=report).encode("utf-8")


def allocation_csv(
    frames: Mapping[str, pd.DataFrame], time_zone: str, *, with_member: bool
) -> bytes:
    """Quarter-hour energy of members as CSV, rows sorted by member id, then time.

    Columns: ``member_id`` (when ``with_member``), ``start_utc``, ``start_local``
    (ISO 8601 with the offset) and :data:`ENERGY_COLUMNS` in whole Wh. The CSV is
    data for other programs, so it is the same in every report language.

    Parameters
    ----------
    frames : mapping of str to pandas.DataFrame
        Per member id, its energy frame (:class:`~cluster.invoices.MemberEnergy`).
    time_zone : str
        The cluster's IANA zone, for the local start times.
    with_member : bool
        Whether to lead each row with the member id (the coordinator's file).
    """
    stamps: dict[int, tuple[pd.DatetimeIndex, list[str], list[str]]] = {}
    parts = []
    for member_id in sorted(frames):
        frame = frames[member_id].sort_index()
        index = pd.DatetimeIndex(frame.index)
        # Members share one index; its text is made once, not once per member.
        cached = next((v for v in stamps.values() if v[0].equals(index)), None)
        if cached is None:
            utc = [t.isoformat() for t in index.tz_convert("UTC")]
            local = [t.isoformat() for t in index.tz_convert(time_zone)]
            cached = stamps[len(stamps)] = (index, utc, local)
        part = pd.DataFrame({"start_utc": cached[1], "start_local": cached[2]})
        for column in ENERGY_COLUMNS:
            part[column] = frame[column].to_numpy(dtype="int64")
        if with_member:
            part.insert(0, "member_id", member_id)
        parts.append(part)
    columns = (["member_id"] if with_member else []) + ["start_utc", "start_local"]
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[*columns, *ENERGY_COLUMNS])
    )
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")
