"""Settlement runs: same inputs, same version and bytes; new inputs, a new version and a diff."""

from __future__ import annotations

import csv
import io
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


def reports(settlement: Settlement) -> dict[str, bytes]:
    """Small stand-ins for the rendered reports: each member's total, and a coordinator list."""
    files = {
        f"members/{m}/total.txt": f"{s.total_pln}\n".encode()
        for m, s in settlement.statements.items()
    }
    files["coordinator/members.txt"] = "\n".join(settlement.statements).encode()
    return files


def run_once(
    runs: SettlementRuns,
    config: ClusterConfig,
    metered: MeteredPeriod,
    *,
    lang: str = "pl",
) -> tuple[Settlement, SettlementRun]:
    settlement = settle(config, MONTH, metered)
    identity = input_identity(config, metered, lang=lang, members=None, shapley=False)
    return settlement, runs.record(
        PERIOD, identity, canonical_json(settlement), reports(settlement)
    )


def files_of(folder: Path) -> dict[Path, tuple[bytes, int]]:
    """Every file under a folder with its bytes and modification time, ns."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def late_city_data(metered: MeteredPeriod) -> MeteredPeriod:
    """The same month after the meter operator corrected a day of the city's import."""
    corrected = metered.import_kwh.copy()
    day = corrected.index[(corrected.index >= "2026-11-10") & (corrected.index < "2026-11-11")]
    corrected.loc[day, "cp-city"] += 8.0
    return replace(metered, import_kwh=corrected)


def test_the_identity_covers_config_data_and_options(
    config: ClusterConfig, metered: MeteredPeriod
) -> None:
    def identity(
        config: ClusterConfig = config,
        metered: MeteredPeriod = metered,
        lang: str = "pl",
        members: list[str] | None = ["city", "school"],  # noqa: B006 (never changed)
        shapley: bool = False,
        klaster_version: str = "0.1.0",
    ) -> str:
        return input_identity(
            config,
            metered,
            lang=lang,
            members=members,
            shapley=shapley,
            klaster_version=klaster_version,
        ).sha256

    base = identity()
    assert identity() == base
    assert identity(members=["school", "city", "city"]) == base  # a set: order does not count
    assert identity(lang="en") != base
    assert identity(shapley=True) != base
    assert identity(members=None) != base
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
    assert (folder / RECORD_FILE).read_bytes() == canonical_json(settlement)
    for path in folder.rglob("*"):
        if path.is_file():
            assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path
    assert b'"input_sha256"' in (folder / INPUTS_FILE).read_bytes()


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


def test_other_bytes_from_the_same_inputs_fail_loudly(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    identity = input_identity(config, metered, lang="pl", members=None, shapley=False)
    settlement = settle(config, MONTH, metered)
    with SettlementRuns.open(tmp_path) as runs:
        runs.record(PERIOD, identity, canonical_json(settlement), reports(settlement))
        changed = reports(settlement) | {"coordinator/members.txt": b"someone else"}
        with pytest.raises(SettlementRunError) as caught:
            runs.record(PERIOD, identity, canonical_json(settlement), changed)
        fewer = reports(settlement)
        del fewer["members/plant/total.txt"]
        with pytest.raises(SettlementRunError, match=r"members/plant/total\.txt was not rendered"):
            runs.record(PERIOD, identity, canonical_json(settlement), fewer)
        assert [r.version for r in runs.versions(PERIOD)] == [1]
    assert "the same inputs did not give the same output" in str(caught.value)
    assert "coordinator/members.txt re-rendered with other bytes" in str(caught.value)


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


def test_report_names_stay_inside_the_run_folder(
    tmp_path: Path, config: ClusterConfig, metered: MeteredPeriod
) -> None:
    identity = input_identity(config, metered, lang="pl", members=None, shapley=False)
    with SettlementRuns.open(tmp_path) as runs:
        for name in ("../escape.txt", "/etc/passwd", "members\\..\\x"):
            with pytest.raises(SettlementRunError, match="may not be named"):
                runs.record(PERIOD, identity, b"{}", {name: b"x"})
        assert runs.versions(PERIOD) == []


def test_curtailment_and_price_belong_to_the_metered_identity(
    config: ClusterConfig, metered: MeteredPeriod
) -> None:
    curtailed = metered.curtailed_kwh.copy()
    curtailed.iloc[0, 2] = 0.001
    a = input_identity(config, metered, lang="pl", members=None, shapley=False)
    b = input_identity(
        config, replace(metered, curtailed_kwh=curtailed), lang="pl", members=None, shapley=False
    )
    assert a.config_sha256 == b.config_sha256 and a.metered_sha256 != b.metered_sha256
