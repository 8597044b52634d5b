"""``klaster settle`` end to end on a small cluster: runs, versions, late data, user errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.settlement_runs import REGISTRY_FILE_NAME
from cli.main import app
from tests.adapters.settlement_support import SMALL_CLUSTER

MONTH = "2026-09"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text(SMALL_CLUSTER, encoding="utf-8")
    return path


def klaster(*arguments: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in arguments], env={"COLUMNS": "200"})


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
    assert {"settlement.json", "inputs.json", "members/city/report.html",
            "members/city/report.pdf", "coordinator/summary.csv"} <= set(recorded)  # fmt: skip
    assert not any(name.startswith("members/school") for name in recorded)
    assert (data / REGISTRY_FILE_NAME).is_file()

    again = klaster(*settle)
    assert again.exit_code == 0, again.output
    assert "v1: the same inputs as recorded" in again.output
    assert not (data / "settlement" / MONTH / "v2").exists()

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
    assert f"differences against v1: {v2 / 'diff-v1.csv'}" in second.output.replace("\n", "")
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
