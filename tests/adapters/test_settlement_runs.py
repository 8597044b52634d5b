"""Settlement runs: same inputs, same version and bytes; new inputs, a new version and a diff.

Reports in another language or of other members are added to the version of
the same inputs; the files it holds are never written again.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from adapters.settlement_identity import input_identity
from adapters.settlement_inputs import read_metered_period
from adapters.settlement_runs import (
    INPUTS_FILE,
    RECORD_FILE,
    REGISTRY_FILE_NAME,
    SettlementRun,
    SettlementRunError,
    SettlementRuns,
)
from adapters.sqlite_store import SqliteStore
from cluster.config import ClusterConfig
from cluster.invoices import MeteredPeriod, Settlement
from cluster.settlement_money import settle
from cluster.settlement_records import canonical_json
from tests.adapters.settlement_support import (
    AFTER_MONTH,
    MONTH,
    month_values,
    readings,
    small_config,
)

PERIOD = "2026-11"


@pytest.fixture(scope="module")
def config() -> ClusterConfig:
    return small_config()


@pytest.fixture(scope="module")
def metered(config: ClusterConfig, tmp_path_factory: pytest.TempPathFactory) -> MeteredPeriod:
    with SqliteStore.open(tmp_path_factory.mktemp("store")) as store:
        store.write_readings(readings(month_values(config)))
        return read_metered_period(store, config, MONTH, now=AFTER_MONTH)


TOTAL_WORD = {"pl": "razem", "en": "total"}


def reports(
    settlement: Settlement, lang: str = "pl", members: list[str] | None = None
) -> dict[str, bytes]:
    """Small stand-ins for the rendered reports, laid out as a run's folder holds them.

    Per member its total as data (any language) and as a page in ``lang``; for
    the coordinator the list of members (data) and a page in ``lang``.
    """
    files: dict[str, bytes] = {}
    for m in members or settlement.statements:
        total = settlement.statements[m].total_pln
        files[f"members/{m}/total.txt"] = f"{total}\n".encode()
        files[f"{lang}/members/{m}/report.html"] = f"<p>{m} {TOTAL_WORD[lang]} {total}</p>".encode()
    files["coordinator/members.txt"] = "\n".join(settlement.statements).encode()
    files[f"{lang}/coordinator/summary.html"] = f"<h1>{TOTAL_WORD[lang]}</h1>".encode()
    return files


def run_once(
    runs: SettlementRuns,
    config: ClusterConfig,
    metered: MeteredPeriod,
    *,
    lang: str = "pl",
    members: list[str] | None = None,
) -> tuple[Settlement, SettlementRun]:
    settlement = settle(config, MONTH, metered)
    identity = input_identity(config, metered, shapley=False)
    return settlement, runs.record(
        PERIOD, identity, canonical_json(settlement), reports(settlement, lang, members)
    )


def registry_rows(data_dir: Path) -> list[tuple[object, ...]]:
    """Every row of the registry's file table, in insertion order."""
    connection = sqlite3.connect(data_dir / REGISTRY_FILE_NAME)
    try:
        return connection.execute("SELECT * FROM settlement_run_files ORDER BY rowid").fetchall()
    finally:
        connection.close()


def files_of(folder: Path) -> dict[Path, tuple[bytes, int]]:
    """Every file under a folder with its bytes and modification time, ns."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def late_city_data(metered: MeteredPeriod) -> MeteredPeriod:
    """The same month after the meter operator corrected a day of the city's import."""
    corrected = metered.import_kwh.copy()
    day = corrected.index[(corrected.index >= "2026-11-10") & (corrected.index < "2026-11-11")]
    corrected.loc[day, "cp-city"] += 8.0
    return replace(metered, import_kwh=corrected)


def test_the_identity_covers_what_changes_the_numbers(
    config: ClusterConfig, metered: MeteredPeriod
) -> None:
    def identity(
        config: ClusterConfig = config,
        metered: MeteredPeriod = metered,
        shapley: bool = False,
        klaster_version: str = "0.1.0",
    ) -> str:
        return input_identity(
            config, metered, shapley=shapley, klaster_version=klaster_version
        ).sha256

    base = identity()
    assert identity() == base
    assert identity(shapley=True) != base
    assert identity(klaster_version="9.9.9") != base
    assert identity(metered=late_city_data(metered)) != base
    price = metered.day_ahead_pln_per_mwh.copy()
    price.iloc[-1] += 0.01
    assert identity(metered=replace(metered, day_ahead_pln_per_mwh=price)) != base
    margin = config.supply_contract.model_copy(update={"day_ahead_margin_pln_per_mwh": 19.0})
    assert identity(config=config.model_copy(update={"supply_contract": margin})) != base


def test_a_first_run_is_version_one_with_read_only_files(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        settlement, run = run_once(runs, config, metered)
    assert run.created and run.version == 1
    folder = tmp_path / "settlement" / PERIOD / "v1"
    assert run.folder == folder
    assert (tmp_path / REGISTRY_FILE_NAME).is_file()
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == sorted([RECORD_FILE, INPUTS_FILE, *reports(settlement)])
    assert "pl/members/city/report.html" in names and "members/city/total.txt" in names
    assert (folder / RECORD_FILE).read_bytes() == canonical_json(settlement)
    for path in folder.rglob("*"):
        if path.is_file():
            assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path
    inputs = json.loads((folder / INPUTS_FILE).read_bytes())
    assert inputs["input_sha256"] == run.input_sha256
    # How the run was shown is no input: only the option that changes the statements.
    assert inputs["options"] == {"shapley": False}


def test_the_same_inputs_return_the_recorded_version_and_write_nothing(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        _, first = run_once(runs, config, metered)
        snapshot = files_of(tmp_path / "settlement")
    # A new process, in effect: the registry is opened again.
    with SettlementRuns.open(tmp_path) as runs:
        _, again = run_once(runs, config, metered)
        assert [r.version for r in runs.versions(PERIOD)] == [1]
    assert not again.created and again.version == 1
    assert again.files == first.files
    assert files_of(tmp_path / "settlement") == snapshot
    assert [p.name for p in (tmp_path / "settlement" / PERIOD).iterdir()] == ["v1"]


def test_another_language_of_the_same_inputs_adds_its_reports_to_the_same_version(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        settlement, first = run_once(runs, config, metered, lang="pl")
    before = files_of(first.folder)
    polish_names = {f.path for f in first.files}
    rows_before = registry_rows(tmp_path)
    # Another process, in effect: the registry is opened again.
    with SettlementRuns.open(tmp_path) as runs:
        _, english = run_once(runs, config, metered, lang="en")
        _, again = run_once(runs, config, metered, lang="en")
        recorded = runs.versions(PERIOD)
    assert not english.created and english.version == 1
    english_pages = {name for name in reports(settlement, "en") if name.startswith("en/")}
    assert set(english.added) == english_pages
    assert [r.version for r in recorded] == [1]
    assert {f.path for f in recorded[0].files} == polish_names | english_pages
    # The Polish pages, the data and the record: the same bytes, never written again.
    after = files_of(first.folder)
    assert {p: after[p] for p in before} == before
    assert {p.relative_to(first.folder).as_posix() for p in after} == polish_names | english_pages
    assert english.file("en/members/city/report.html").read_bytes().startswith(b"<p>city total")
    for name in english_pages:
        assert not english.file(name).stat().st_mode & stat.S_IWUSR
    # The registry only gained rows; the third run added nothing.
    rows_after = registry_rows(tmp_path)
    assert rows_after[: len(rows_before)] == rows_before
    assert len(rows_after) == len(rows_before) + len(english_pages)
    assert again.added == () and registry_rows(tmp_path) == rows_after


def test_other_members_of_the_same_inputs_are_added_and_checked(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        _, city_only = run_once(runs, config, metered, members=["city"])
        city_files = files_of(city_only.folder)
        _, everyone = run_once(runs, config, metered)
    assert city_only.created and not everyone.created and everyone.version == 1
    assert sorted(everyone.added) == [
        "members/plant/total.txt",
        "members/school/total.txt",
        "pl/members/plant/report.html",
        "pl/members/school/report.html",
    ]
    after = files_of(everyone.folder)
    assert {p: after[p] for p in city_files} == city_files


def test_other_bytes_from_the_same_inputs_fail_loudly_and_add_nothing(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    identity = input_identity(config, metered, shapley=False)
    settlement = settle(config, MONTH, metered)
    with SettlementRuns.open(tmp_path) as runs:
        first = runs.record(PERIOD, identity, canonical_json(settlement), reports(settlement))
        rows = registry_rows(tmp_path)
        # In English, with the coordinator's list (the same in every language) changed.
        changed = reports(settlement, "en") | {"coordinator/members.txt": b"someone else"}
        with pytest.raises(SettlementRunError) as caught:
            runs.record(PERIOD, identity, canonical_json(settlement), changed)
        assert [r.version for r in runs.versions(PERIOD)] == [1]
    assert "the same inputs did not give the same output" in str(caught.value)
    assert "coordinator/members.txt re-rendered with other bytes" in str(caught.value)
    assert registry_rows(tmp_path) == rows
    assert not (first.folder / "en").exists()


def test_a_recorded_file_changed_on_disk_is_detected(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        _, run = run_once(runs, config, metered)
        target = run.file("members/city/total.txt")
        target.chmod(0o644)
        target.write_bytes(b"0.00\n")
        with pytest.raises(SettlementRunError, match="was changed after it was recorded"):
            runs.verify(run)
        with pytest.raises(SettlementRunError, match="was changed after it was recorded"):
            run_once(runs, config, metered)


def test_late_meter_data_gives_version_two_with_a_difference_report(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        _, first = run_once(runs, config, metered)
        v1_bytes = {f.path: first.file(f.path).read_bytes() for f in first.files}
        corrected = late_city_data(metered)
        _, second = run_once(runs, config, corrected)
        # Running the corrected data again is still version 2.
        _, again = run_once(runs, config, corrected)
    assert second.created and second.version == 2
    assert not again.created and again.version == 2
    folder = tmp_path / "settlement" / PERIOD / "v2"
    assert second.difference_files == [folder / "diff-v1.csv", folder / "diff-v1.txt"]
    rows = list(csv.DictReader(io.StringIO((folder / "diff-v1.csv").read_text())))
    city_lines = {r["line_kind"] for r in rows if r["member"] == "city"}
    # More city import: more energy bought and more distribution energy billed.
    assert {"day_ahead_energy", "distribution_energy", "total"} <= city_lines
    distribution = next(
        r for r in rows if r["member"] == "city" and r["line_kind"] == "distribution_energy"
    )
    # 96 quarter-hours × 8 kWh more on the C21 tariff's 148 PLN/MWh.
    assert pd.to_numeric(distribution["change_pln"]) == pytest.approx(0.768 * 148.0, abs=0.01)
    assert distribution["connection_point"] == "cp-city"
    summary = (folder / "diff-v1.txt").read_text()
    assert "Settlement 2026-11: v2 against v1" in summary and "  city: total" in summary
    # Version 1 is untouched.
    assert {f.path: first.file(f.path).read_bytes() for f in first.files} == v1_bytes


def test_recorded_runs_cannot_be_changed_or_deleted_in_the_registry(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        run_once(runs, config, metered)
    connection = sqlite3.connect(tmp_path / REGISTRY_FILE_NAME)
    try:
        for statement in (
            "UPDATE settlement_runs SET input_sha256 = 'x'",
            "DELETE FROM settlement_runs",
            "UPDATE settlement_run_files SET sha256 = 'x'",
            "DELETE FROM settlement_run_files",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="immutable"):
                connection.execute(statement)
    finally:
        connection.close()


def test_an_unrecorded_version_folder_is_never_overwritten(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    stray = tmp_path / "settlement" / PERIOD / "v1"
    stray.mkdir(parents=True)
    (stray / "note.txt").write_text("kept")
    with SettlementRuns.open(tmp_path) as runs:
        with pytest.raises(
            SettlementRunError, match="exists but is not in the settlement registry"
        ):
            run_once(runs, config, metered)
        assert runs.versions(PERIOD) == []
    assert [p.name for p in stray.iterdir()] == ["note.txt"]
    assert [p.name for p in stray.parent.iterdir()] == ["v1"]  # no partial folder left


def test_an_unrecorded_file_in_a_version_is_never_overwritten(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    with SettlementRuns.open(tmp_path) as runs:
        settlement, first = run_once(runs, config, metered)
        rows = registry_rows(tmp_path)
        stray = first.folder / "en" / "members" / "school" / "report.html"
        stray.parent.mkdir(parents=True)
        stray.write_bytes(b"a copy from elsewhere")
        with pytest.raises(SettlementRunError, match="exists but is not in the settlement"):
            run_once(runs, config, metered, lang="en")
        assert stray.read_bytes() == b"a copy from elsewhere"
        # The English files written before the stray one was met are gone again.
        left = sorted(p.name for p in (first.folder / "en").rglob("*") if p.is_file())
        assert left == ["report.html"] and registry_rows(tmp_path) == rows
        # A file with exactly the bytes the run would write (an interrupted run's) is kept.
        stray.chmod(0o644)
        stray.write_bytes(reports(settlement, "en")["en/members/school/report.html"])
        _, english = run_once(runs, config, metered, lang="en")
        assert "en/members/school/report.html" in english.added
        runs.verify(english)


def test_report_names_stay_inside_folders_of_the_run_folder(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    identity = input_identity(config, metered, shapley=False)
    names = ("../escape.txt", "/etc/passwd", "members\\..\\x", RECORD_FILE, "diff-v1.csv")
    with SettlementRuns.open(tmp_path) as runs:
        for name in names:
            with pytest.raises(SettlementRunError, match="may not be named"):
                runs.record(PERIOD, identity, b"{}", {name: b"x"})
        assert runs.versions(PERIOD) == []


def test_curtailment_and_price_belong_to_the_metered_identity(
    config: ClusterConfig, metered: MeteredPeriod
) -> None:
    curtailed = metered.curtailed_kwh.copy()
    curtailed.iloc[0, 2] = 0.001
    a = input_identity(config, metered, shapley=False)
    b = input_identity(config, replace(metered, curtailed_kwh=curtailed), shapley=False)
    assert a.config_sha256 == b.config_sha256 and a.metered_sha256 != b.metered_sha256
