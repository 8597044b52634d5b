"""The settlement reports: privacy, formats per language, determinism, HTML, PDF and CSV.

The settlement is built by hand (:mod:`tests.cli.settlement_fixture`), so these
tests depend only on the reports. Expected formats are written out from the
Polish and English conventions (``1 234,56 zł``, ``1,234.56 PLN``), not from
the code under test.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import io
import re
import tomllib
import zlib
from decimal import Decimal
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from cli.settle_document import TEMPLATE_DIR, language
from cli.settle_report import render_reports
from cluster.errors import KlasterError
from cluster.invoices import LineKind, Settlement
from tests.cli.settlement_fixture import CONNECTION_POINTS, MEMBERS, build_settlement, metered_wh

NBSP = "\u00a0"
_VOID = {"meta", "img", "br", "hr", "link", "input"}


@pytest.fixture(scope="module")
def settlement() -> Settlement:
    return build_settlement()


@pytest.fixture(scope="module")
def files_pl(settlement: Settlement) -> dict[str, bytes]:
    return render_reports(settlement)


@pytest.fixture(scope="module")
def files_en(settlement: Settlement) -> dict[str, bytes]:
    return render_reports(settlement, lang="en")


# --- helpers: independent formats, HTML text, PDF text ------------------------------------


def money(amount: Decimal, lang: str) -> str:
    """Money as a Polish or English reader writes it, from Python's own formatting."""
    text = f"{abs(amount):,.2f}"
    sign = "-" if amount < 0 else ""
    if lang == "pl":
        return sign + text.replace(",", NBSP).replace(".", ",") + NBSP + "zł"
    return sign + text + NBSP + "PLN"


def energy(energy_wh: int, lang: str) -> str:
    """Energy in MWh to the kWh, as a Polish or English reader writes it."""
    text = f"{Decimal(energy_wh) / 1_000_000:,.3f}"
    if lang == "pl":
        text = text.replace(",", NBSP).replace(".", ",")
    return text + NBSP + "MWh"


def shows_number(number: str, flat_text: str) -> bool:
    """Whether a number stands in text without whitespace, not as part of a longer one."""
    return re.search(rf"(?<![\d.,]){re.escape(squeeze(number))}(?!\d)", flat_text) is not None


class _Page(HTMLParser):
    """Collects the text and the images of a page, and checks that its elements nest."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(page: bytes) -> _Page:
    parser = _Page()
    parser.feed(page.decode("utf-8"))
    parser.close()
    assert parser.open == [], f"elements left open: {parser.open}"
    return parser


def _pdf_unescape(literal: bytes) -> bytes:
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return escapes.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF written by fpdf2 with embedded TrueType fonts.

    Text is drawn as font-subset codes (two bytes each); each font's ToUnicode
    map turns them back into characters. Each drawn string ends with a newline.
    """
    objects: dict[int, bytes] = {}
    for number, body in re.findall(rb"(\d+) 0 obj\s(.*?)endobj", pdf, re.S):
        stream = re.search(rb"stream\r?\n(.*)\r?\nendstream", body, re.S)
        if stream is None:
            objects[int(number)] = body
        elif b"/FlateDecode" in body[: stream.start()]:
            objects[int(number)] = zlib.decompress(stream.group(1))
        else:
            objects[int(number)] = stream.group(1)
    to_unicode: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for font_block in re.findall(rb"/Font\s*<<(.*?)>>", body, re.S):
            for name, ref in re.findall(rb"/(\w+)\s+(\d+) 0 R", font_block):
                cmap_ref = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)])
                assert cmap_ref is not None
                cmap = objects[int(cmap_ref.group(1))]
                to_unicode[name] = {
                    int(code, 16): bytes.fromhex(uni.decode()).decode("utf-16-be")
                    for code, uni in re.findall(rb"<([0-9A-F]+)>\s*<([0-9A-F]+)>", cmap)
                }
    text: list[str] = []
    token = re.compile(rb"/(\w+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)\s*(Tj|TJ)?", re.S)
    for body in objects.values():
        if b" Tf" not in body:
            continue
        font: dict[int, str] = {}
        for match in token.finditer(body):
            if match.group(1) is not None:
                font = to_unicode[match.group(1)]
                continue
            raw = _pdf_unescape(match.group(2))
            codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
            text.append("".join(font.get(code, "\ufffd") for code in codes))
            if match.group(3):
                text.append("\n")
    return "".join(text)


def squeeze(text: str) -> str:
    """Text without whitespace: a name wrapped over two lines of a PDF is still found."""
    return re.sub(r"\s+", "", text)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


# --- the files -------------------------------------------------------------------------------


def test_every_member_gets_its_files_and_the_coordinator_a_summary(
    files_pl: dict[str, bytes],
) -> None:
    expected = {f"members/{m}/{name}" for m in MEMBERS
                for name in ("report.html", "report.pdf", "allocation.csv")}  # fmt: skip
    expected |= {f"coordinator/{n}" for n in ("summary.html", "summary.csv", "allocation.csv")}
    assert set(files_pl) == expected


def test_an_unknown_member_names_the_choices(settlement: Settlement) -> None:
    with pytest.raises(KlasterError, match="piekarnia_lan") as error:
        render_reports(settlement, members=["piekarnia_lam"])
    assert "piekarnia_lam" in str(error.value)


def test_an_unknown_language_names_the_choices(settlement: Settlement) -> None:
    with pytest.raises(KlasterError) as error:
        render_reports(settlement, lang="de")
    message = str(error.value)
    assert "'de'" in message and "pl" in message and "en" in message


# --- privacy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_a_members_files_name_no_other_member(
    lang: str, settlement: Settlement, files_pl: dict[str, bytes], files_en: dict[str, bytes]
) -> None:
    files = files_pl if lang == "pl" else files_en
    words = language(lang)
    for member_id, name in MEMBERS.items():
        folder = f"members/{member_id}"
        html_text = files[f"{folder}/report.html"].decode("utf-8")
        texts = {
            "html": html_text,
            "html text": "".join(parse_html(files[f"{folder}/report.html"]).text),
            "pdf": pdf_text(files[f"{folder}/report.pdf"]),
            "csv": files[f"{folder}/allocation.csv"].decode("utf-8"),
        }
        # The check must be able to see a member: its own id and name are there.
        assert member_id in texts["html"] and member_id in squeeze(texts["pdf"])
        assert name in texts["html text"] and squeeze(name) in squeeze(texts["pdf"])
        for other_id, other_name in MEMBERS.items():
            if other_id == member_id:
                continue
            other_points = [cp for cp, (m, _) in CONNECTION_POINTS.items() if m == other_id]
            other_total = words.money(settlement.statements[other_id].total_pln)
            for kind, text in texts.items():
                flat = squeeze(text)
                for secret in (other_id, other_name, escape(other_name), *other_points):
                    assert squeeze(secret) not in flat, f"{secret!r} in {member_id}'s {kind}"
                assert squeeze(other_total) not in flat, f"{other_id}'s total in {kind}"


#: The sentence a member's report gives instead of the cluster's totals, per language.
WITHHELD = {
    "pl": "Nie pokazujemy sum całego klastra, bo przy tak małej liczbie członków ujawniłyby one"
    " dane innego członka.",
    "en": "The cluster's totals are not shown, because with so few members they would reveal"
    " another member's figures.",
}


def _member_texts(files: dict[str, bytes], member_id: str) -> dict[str, str]:
    folder = f"members/{member_id}"
    return {
        "html": "".join(parse_html(files[f"{folder}/report.html"]).text),
        "pdf": pdf_text(files[f"{folder}/report.pdf"]),
        "csv": files[f"{folder}/allocation.csv"].decode("utf-8"),
    }


def test_in_a_cluster_of_two_a_member_sees_no_cluster_total() -> None:
    # With two members the cluster's total less one's own is the other's: none may show.
    from cluster.settlement_money import settle
    from tests.cluster import settlement_cases as case

    steps = 96
    hours = [(10 + step / 4) % 24 for step in range(steps)]  # UTC, from 10:00
    sun = [max(0.0, 1 - abs(h - 11) / 4) for h in hours]
    import_kwh = {"cp-alfa": [2.5] * steps, "cp-gamma": [0.3] * steps}
    export_kwh = {"cp-gamma": [6.0 * s for s in sun]}
    config = case.build_config(
        case.tariff(),
        *(case.member(m) for m in ("alfa", "gamma")),
        *(case.point(m) for m in ("alfa", "gamma")),
        case.supply(),
        case.terms(),
    )
    metered = case.metered(import_kwh, export_kwh, [400.0 + 10 * (s % 8) for s in range(steps)])
    settlement = settle(config, case.MONTH, metered, shapley=False)
    # The cluster's totals from the metered input, whole Wh.
    consumption_wh = round(1000 * sum(sum(v) for v in import_kwh.values()))
    production_wh = round(1000 * sum(export_kwh["cp-gamma"]))
    own_wh = {"alfa": round(1000 * sum(import_kwh["cp-alfa"])),
              "gamma": round(1000 * sum(import_kwh["cp-gamma"]))}  # fmt: skip
    assert len({consumption_wh, *own_wh.values()}) == 3  # the check can tell them apart
    for lang in ("pl", "en"):
        files = render_reports(settlement, lang=lang)
        words = language(lang)
        for member_id, own in own_wh.items():
            texts = _member_texts(files, member_id)
            assert shows_number(energy(own, lang), squeeze(texts["html"]))  # own figure shown
            for kind in ("html", "pdf"):
                flat = squeeze(texts[kind])
                assert squeeze(WITHHELD[lang]) in flat, f"no sentence in {member_id}'s {kind}"
                assert squeeze(words.text("cluster_consumption")) not in flat
                hidden = [consumption_wh] + ([production_wh] if member_id == "alfa" else [])
                for total_wh in hidden:
                    number = energy(total_wh, lang).removesuffix(NBSP + "MWh")
                    assert not shows_number(number, flat), f"{number} in {member_id}'s {kind}"
            cells = {cell for row in csv.reader(io.StringIO(texts["csv"])) for cell in row}
            assert str(consumption_wh) not in cells and str(production_wh) not in cells
            assert energy(consumption_wh, lang) not in texts["csv"]
    # The coordinator still sees the cluster's totals.
    summary = "".join(parse_html(files["coordinator/summary.html"]).text)
    assert energy(consumption_wh, "en") in summary


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_in_a_cluster_of_three_a_member_sees_the_cluster_totals(
    lang: str, settlement: Settlement, files_pl: dict[str, bytes], files_en: dict[str, bytes]
) -> None:
    files = files_pl if lang == "pl" else files_en
    imports, exports, curtailed = metered_wh(pd.DatetimeIndex(settlement.cluster_energy.index))
    consumption = energy(int(imports.to_numpy().sum()), lang)
    production = energy(int(exports.to_numpy().sum() + curtailed.to_numpy().sum()), lang)
    for member_id in MEMBERS:
        texts = _member_texts(files, member_id)
        for kind in ("html", "pdf"):
            flat = squeeze(texts[kind])
            assert squeeze(consumption) in flat, f"no cluster consumption in {member_id}'s {kind}"
            assert squeeze(production) in flat, f"no cluster production in {member_id}'s {kind}"
            assert squeeze(WITHHELD[lang]) not in flat


def test_the_coordinator_sees_every_member(files_pl: dict[str, bytes]) -> None:
    page = "".join(parse_html(files_pl["coordinator/summary.html"]).text)
    summary = files_pl["coordinator/summary.csv"].decode("utf-8")
    for member_id, name in MEMBERS.items():
        assert member_id in page and name in page
        assert member_id in summary and name in summary


# --- formats per language --------------------------------------------------------------------


def test_numbers_money_and_dates_per_language() -> None:
    pl, en = language("pl"), language("en")
    assert pl.number(Decimal("1234.56")) == f"1{NBSP}234,56"
    assert en.number(Decimal("1234.56")) == "1,234.56"
    assert pl.money(Decimal("-1234.5")) == f"-1{NBSP}234,50{NBSP}zł"
    assert en.money(Decimal("1234.5")) == f"1,234.50{NBSP}PLN"
    assert pl.energy(1_234_567) == f"1,235{NBSP}MWh"
    assert en.percent(12.345) == "12.3%"
    assert pl.percent(12.345) == f"12,3{NBSP}%"
    from datetime import date

    assert pl.day(date(2026, 11, 1)) == "1 listopada 2026"
    assert en.day(date(2026, 11, 1)) == "1 November 2026"


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_html_parses_and_shows_the_invoice_per_language(
    lang: str, settlement: Settlement, files_pl: dict[str, bytes], files_en: dict[str, bytes]
) -> None:
    files = files_pl if lang == "pl" else files_en
    first_day = "2 listopada 2026" if lang == "pl" else "2 November 2026"
    last_day = "4 listopada 2026" if lang == "pl" else "4 November 2026"
    for member_id, statement in settlement.statements.items():
        page = parse_html(files[f"members/{member_id}/report.html"])
        text = "".join(page.text)
        for line in statement.lines:
            assert money(line.amount_pln, lang) in text
        assert money(statement.total_pln, lang) in text
        assert first_day in text and last_day in text
        assert len(page.images) == 4
        for src in page.images:
            assert src.startswith("data:image/png;base64,")
    kinds = {"pl": "Opłata za przekroczenie mocy umownej", "en": "Contracted capacity overrun"}
    bakery = "".join(parse_html(files["members/piekarnia_lan/report.html"]).text)
    assert kinds[lang] in bakery


def test_the_summary_tells_a_member_what_it_pays_and_saves(
    settlement: Settlement, files_pl: dict[str, bytes], files_en: dict[str, bytes]
) -> None:
    school = settlement.statements["szkola_zagorze"]
    pct = school.saving_pln / school.standalone_pln * 100
    text = "".join(parse_html(files_pl["members/szkola_zagorze/report.html"]).text)
    assert f"Do zapłaty za okres: {money(school.total_pln, 'pl')}." in text
    saved = f"zaoszczędzili Państwo {money(school.saving_pln, 'pl')} ({pct:.1f}{NBSP}%)"
    assert saved.replace(".", ",") in text
    producer = settlement.statements["pv_bukowka"]
    assert producer.total_pln < 0
    text = "".join(parse_html(files_en["members/pv_bukowka/report.html"]).text)
    assert f"The cluster pays you {money(-producer.total_pln, 'en')}" in text
    shapley = producer.shapley_saving_pln
    assert (
        shapley is not None
        and f"(blocks and distribution charges aside): {money(shapley, 'en')}" in text
    )


def test_the_mean_day_is_mean_power_by_local_clock_time() -> None:
    import pandas as pd

    from cli.settle_plots import mean_day_kw

    for minutes, energy_wh in ((15, 250), (60, 1000)):
        index = pd.date_range("2026-11-02", periods=2 * 24 * 60 // minutes, freq=f"{minutes}min",
                              tz="Europe/Warsaw").tz_convert("UTC")  # fmt: skip
        # Day one draws the energy, day two twice as much: the mean is 1.5× a 1 kW step.
        values = [energy_wh] * (len(index) // 2) + [2 * energy_wh] * (len(index) // 2)
        mean = mean_day_kw(pd.DataFrame({"local_wh": values}, index=index), "Europe/Warsaw")
        assert list(mean.index[:2]) == [0.0, minutes / 60]
        assert len(mean) == 24 * 60 // minutes
        assert (mean["local_wh"] == 1.5).all()


# --- PDF -----------------------------------------------------------------------------------------


def test_the_pdf_has_pages_polish_letters_and_the_period_end_as_its_date(
    settlement: Settlement, files_pl: dict[str, bytes], files_en: dict[str, bytes]
) -> None:
    for member_id, statement in settlement.statements.items():
        pdf = files_pl[f"members/{member_id}/report.pdf"]
        assert pdf.startswith(b"%PDF-")
        assert len(re.findall(rb"/Type /Page\b", pdf)) >= 1
        assert b"/CreationDate (D:20261104230000Z)" in pdf
        text = pdf_text(pdf)
        assert "Zużycie energii" in text
        assert squeeze(money(statement.total_pln, "pl")) in squeeze(text)
        english = pdf_text(files_en[f"members/{member_id}/report.pdf"])
        assert "Energy used" in english and "Zużycie" not in english


# --- determinism ---------------------------------------------------------------------------------


def test_the_same_settlement_gives_the_same_bytes_for_the_members_asked(
    files_pl: dict[str, bytes],
) -> None:
    # A settlement built afresh, rendered for two members: the coordinator's files
    # always, the other member's never, and every file byte for byte as before.
    again = render_reports(build_settlement(), members=["piekarnia_lan", "pv_bukowka"])
    assert sorted(again) == [
        "coordinator/allocation.csv",
        "coordinator/summary.csv",
        "coordinator/summary.html",
        *(f"members/{m}/{name}" for m in ("piekarnia_lan", "pv_bukowka")
          for name in ("allocation.csv", "report.html", "report.pdf")),
    ]  # fmt: skip
    for name, data in again.items():
        assert data == files_pl[name], name


# --- CSV ----------------------------------------------------------------------------------------


def _quantity_mwh(settlement: Settlement, member_id: str, kind: LineKind) -> Decimal:
    lines = settlement.statements[member_id].lines
    return sum((line.quantity for line in lines if line.kind is kind), Decimal(0))


def test_a_members_csv_adds_up_to_its_statement(
    settlement: Settlement, files_pl: dict[str, bytes], files_en: dict[str, bytes]
) -> None:
    columns = ["start_utc", "start_local", "consumption_wh", "local_wh", "grid_wh",
               "export_wh", "delivered_wh", "sold_wh", "curtailed_wh"]  # fmt: skip
    steps = len(settlement.cluster_energy)
    for member_id in MEMBERS:
        data = files_pl[f"members/{member_id}/allocation.csv"]
        assert data == files_en[f"members/{member_id}/allocation.csv"]
        rows = csv_rows(data)
        assert list(rows[0]) == columns
        assert len(rows) == steps
        assert [r["start_utc"] for r in rows] == sorted(r["start_utc"] for r in rows)
        assert rows[0]["start_local"] == "2026-11-02T00:00:00+01:00"

        def mwh(column: str, rows: list[dict[str, str]] = rows) -> Decimal:
            return Decimal(sum(int(r[column]) for r in rows)) / 1_000_000

        assert mwh("local_wh") == _quantity_mwh(settlement, member_id, LineKind.LOCAL_ENERGY)
        assert mwh("grid_wh") == _quantity_mwh(settlement, member_id, LineKind.DAY_AHEAD_ENERGY)
        assert mwh("consumption_wh") == _quantity_mwh(
            settlement, member_id, LineKind.DISTRIBUTION_ENERGY
        )
        assert mwh("delivered_wh") == _quantity_mwh(
            settlement, member_id, LineKind.LOCAL_ENERGY_DELIVERED
        )
        assert mwh("sold_wh") == _quantity_mwh(settlement, member_id, LineKind.SURPLUS_SOLD)


def test_the_coordinators_csvs_hold_everyone_and_add_up(
    settlement: Settlement, files_pl: dict[str, bytes]
) -> None:
    rows = csv_rows(files_pl["coordinator/allocation.csv"])
    assert len(rows) == len(MEMBERS) * len(settlement.cluster_energy)
    keys = [(r["member_id"], r["start_utc"]) for r in rows]
    assert keys == sorted(keys)
    allocated: dict[str, int] = {}
    for r in rows:
        allocated[r["start_utc"]] = allocated.get(r["start_utc"], 0) + int(r["local_wh"])
    cluster = settlement.cluster_energy
    expected = {
        t.isoformat(): int(v) for t, v in zip(cluster.index, cluster["allocated_wh"], strict=True)
    }
    assert allocated == expected

    summary = csv_rows(files_pl["coordinator/summary.csv"])
    assert [r["member_id"] for r in summary] == sorted(MEMBERS)
    for r in summary:
        statement = settlement.statements[r["member_id"]]
        assert Decimal(r["total_pln"]) == statement.total_pln
        by_kind = sum((Decimal(r[f"{kind.value}_pln"]) for kind in LineKind), Decimal(0))
        assert by_kind == statement.total_pln
    assert sum(Decimal(r["total_pln"]) for r in summary) == settlement.total_pln


def test_the_coordinator_summary_shows_whether_the_balance_holds(
    settlement: Settlement, files_pl: dict[str, bytes]
) -> None:
    text = "".join(parse_html(files_pl["coordinator/summary.html"]).text)
    assert text.count("zgadza się") == 2 and "NIE zgadza się" not in text
    costs = dict(settlement.external_costs_pln)
    costs[LineKind.SUPPLIER_MARGIN.value] += Decimal("0.01")
    broken = dataclasses.replace(settlement, external_costs_pln=costs)
    files = render_reports(broken, members=[])
    text = "".join(parse_html(files["coordinator/summary.html"]).text)
    assert text.count("NIE zgadza się") == 1


# --- packaging -----------------------------------------------------------------------------------


def test_the_templates_ship_with_the_package() -> None:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    package_data = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data.get("cli", [])
    cli_dir = TEMPLATE_DIR.parents[1]
    files = [p.relative_to(cli_dir).as_posix() for p in TEMPLATE_DIR.iterdir() if p.is_file()]
    assert files
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


# --- a settlement from the settlement maths itself -----------------------------------------------


def test_a_settlement_from_settle_renders_privately_and_adds_up() -> None:
    from cluster.settlement_money import settle
    from tests.cluster import settlement_cases as case

    steps = 96
    hours = [(10 + step / 4) % 24 for step in range(steps)]  # UTC, from 10:00
    sun = [max(0.0, 1 - abs(h - 11) / 4) for h in hours]
    config = case.build_config(
        case.tariff(),
        *(case.member(m) for m in ("alfa", "beta", "gamma")),
        *(case.point(m) for m in ("alfa", "beta", "gamma")),
        case.supply(blocks=[case.block(4.0, 450.0, hours=(8, 16))]),
        case.terms(),
    )
    metered = case.metered(
        {"cp-alfa": [2.0] * steps, "cp-beta": [1.0 + s for s in sun], "cp-gamma": [0.1] * steps},
        {"cp-gamma": [6.0 * s for s in sun]},
        [400.0 + 10 * (step % 8) for step in range(steps)],
    )
    settlement = settle(config, case.MONTH, metered, shapley=True)
    files = render_reports(settlement)
    names = {m.id: m.name for m in config.members}
    for member_id, name in names.items():
        folder = f"members/{member_id}"
        flat = squeeze(
            files[f"{folder}/report.html"].decode("utf-8")
            + pdf_text(files[f"{folder}/report.pdf"])
            + files[f"{folder}/allocation.csv"].decode("utf-8")
        )
        assert squeeze(name) in flat
        for other_id, other_name in names.items():
            if other_id != member_id:
                assert f"cp-{other_id}" not in flat and squeeze(other_name) not in flat
        rows = csv_rows(files[f"{folder}/allocation.csv"])
        local_mwh = Decimal(sum(int(r["local_wh"]) for r in rows)) / 1_000_000
        assert local_mwh == _quantity_mwh(settlement, member_id, LineKind.LOCAL_ENERGY)
    text = "".join(parse_html(files["coordinator/summary.html"]).text)
    assert text.count("zgadza się") == 2 and "NIE zgadza się" not in text
