"""``klaster settle`` end to end on a small cluster: runs, versions, late data, user errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.settlement_runs import REGISTRY_FILE_NAME
from cli.main import app
from cli.settle import report_layout
from tests.adapters.settlement_support import SMALL_CLUSTER

MONTH = "2026-09"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text(SMALL_CLUSTER, encoding="utf-8")
    return path


def klaster(*arguments: str | Path, columns: int = 200) -> Result:
    return CliRunner().invoke(app, [str(a) for a in arguments], env={"COLUMNS": str(columns)})


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_month_is_recorded_once_and_late_meter_data_gives_a_second_version(
    tmp_path: Path, config_file: Path
) -> None:
    data = tmp_path / "data"
    settle = ("settle", "--config", config_file, "--data-dir", data, "--month", MONTH,
              "--synthetic-history", "--member", "city")  # fmt: skip
    first = klaster(*settle)
    assert first.exit_code == 0, first.output
    v1 = data / "settlement" / MONTH / "v1"
    assert f"settlement {MONTH} v1 recorded in {v1}" in first.output.replace("\n", "")
    assert "Settlement 2026-09: Klaster Testowy" in first.output
    table_rows = [line for line in first.output.splitlines() if line.startswith("│")]
    cells = [[cell.strip() for cell in row.split("│")[1:-1]] for row in table_rows]
    assert [row[0] for row in cells] == ["city", "shown"]
    assert cells[1][1:] == cells[0][1:]  # the total of one member is that member
    recorded = files_of(v1)
    assert {"settlement.json", "inputs.json", "pl/members/city/report.html",
            "pl/members/city/report.pdf", "pl/coordinator/summary.html",
            "members/city/allocation.csv", "coordinator/summary.csv"} <= set(recorded)  # fmt: skip
    assert not any("members/school" in name for name in recorded)
    assert (data / REGISTRY_FILE_NAME).is_file()

    again = klaster(*settle)
    assert again.exit_code == 0, again.output
    assert "v1: the same inputs as recorded; reports re-rendered and identical" in again.output
    assert files_of(v1) == recorded

    # The same month in English for the school, in a narrow terminal: the same version.
    english = klaster(*settle[:-1], "school", "--lang", "en", columns=60)
    assert english.exit_code == 0, english.output
    added = {"en/members/school/report.html", "en/members/school/report.pdf",
             "en/coordinator/summary.html", "members/school/allocation.csv"}  # fmt: skip
    assert f"v1: the same inputs as recorded; {len(added)} report file(s) added" in (
        english.output.replace("\n", "")
    )
    # The path is printed whole, on one line, however narrow the terminal.
    assert any(line.endswith(f"files in {v1}") for line in english.output.splitlines())
    assert not (data / "settlement" / MONTH / "v2").exists()
    completed = files_of(v1)
    assert set(completed) == set(recorded) | added
    assert {name: completed[name] for name in recorded} == recorded  # nothing rewritten
    assert b'lang="en"' in completed["en/members/school/report.html"]
    recorded = completed

    # The operator delivers corrected readings of the city's meter for 2 September.
    rows = "".join(
        f"cp-city,2026-09-02T{h:02d}:{m:02d}:00+02:00,{60.0 + m},0\n"
        for h in range(24)
        for m in (0, 15, 30, 45)
    )
    late = tmp_path / "late.csv"
    late.write_text("connection_point,ts,import_kwh,export_kwh\n" + rows, encoding="utf-8")
    imported = klaster("settle", "import-meter", late, "--config", config_file, "--data-dir", data)
    assert imported.exit_code == 0, imported.output
    assert "96 rows for 1 connection point(s) from 2026-09-02 00:00 to 2026-09-02 23:45" in (
        imported.output
    )

    out = tmp_path / "copy"
    second = klaster(*settle, "--out", out)
    assert second.exit_code == 0, second.output
    v2 = data / "settlement" / MONTH / "v2"
    assert f"settlement {MONTH} v2 recorded in {v2}" in second.output.replace("\n", "")
    assert f"  differences against v1: {v2 / 'diff-v1.csv'}" in second.output.splitlines()
    differences = list(csv.DictReader(io.StringIO((v2 / "diff-v1.csv").read_text())))
    changed = {(r["member"], r["line_kind"]) for r in differences if r["line_kind"] != "total"}
    assert ("city", "distribution_energy") in changed
    assert {member for member, _ in changed} <= {"city", "school", "plant"}
    assert "  city: total" in (v2 / "diff-v1.txt").read_text()
    assert files_of(v1) == recorded  # version 1 untouched
    assert files_of(out / MONTH / "v2") == files_of(v2)


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (("--month", "2026-13"), 2, "'2026-13' is not a month; write it as YYYY-MM"),
        (("--member", "citty"), 2, "no member 'citty' in the cluster; did you mean 'city'?"),
        (("--month", "2099-01"), 3, "the month 2099-01 is not over yet: it ends at 2099-02-01"),
        (("--lang", "de"), 2, "'de' is not one of"),
        (
            ("--month", MONTH),
            3,
            "meter/cp-city/import_kwh: 2880 quarter-hours missing, from 2026-09-01T00:00:00+02:00",
        ),
    ],
)
def test_user_mistakes_end_with_a_message_and_an_exit_code(
    tmp_path: Path, config_file: Path, arguments: tuple[str, ...], code: int, message: str
) -> None:
    result = klaster("settle", "--config", config_file, "--data-dir", tmp_path, *arguments)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "settlement").exists()


def test_a_bad_meter_file_is_refused_line_by_line(tmp_path: Path, config_file: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "connection_point,ts,import_kwh,export_kwh\ncp-city,2026-09-02T10:05:00+02:00,1,0\n",
        encoding="utf-8",
    )
    result = klaster("settle", "import-meter", bad, "--config", config_file, "--data-dir", tmp_path)
    assert result.exit_code == 3
    assert "line 2: ts '2026-09-02T10:05:00+02:00' is not the start of a 15-minute step" in (
        result.output
    )
    assert isinstance(result.exception, SystemExit)


def test_html_and_pdf_go_under_their_language_and_data_outside() -> None:
    rendered = {
        "members/sp-1/report.html": b"h",
        "members/sp-1/report.pdf": b"p",
        "members/sp-1/allocation.csv": b"a",
        "coordinator/summary.html": b"s",
        "coordinator/summary.csv": b"c",
    }
    assert report_layout(rendered, "en") == {
        "en/members/sp-1/report.html": b"h",
        "en/members/sp-1/report.pdf": b"p",
        "members/sp-1/allocation.csv": b"a",
        "en/coordinator/summary.html": b"s",
        "coordinator/summary.csv": b"c",
    }
