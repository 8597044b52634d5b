"""``klaster evaluate`` end to end on a small cluster with generated history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from tests.optimisation.test_evaluate import TINY_TOML

ENV = {"COLUMNS": "200"}


def test_one_day_prints_the_table_and_writes_metrics_and_plots(tmp_path: Path) -> None:
    config = tmp_path / "cluster.toml"
    config.write_text(TINY_TOML)
    out = tmp_path / "out"
    arguments = ["evaluate", "--config", str(config), "--synthetic-history",
                 "--data-dir", str(tmp_path / "data"), "--from", "2027-01-13",
                 "--to", "2027-01-13", "--warm-up-days", "0", "--workers", "1",
                 "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, arguments, env=ENV)
    assert result.exit_code == 0, result.output
    assert "Closed-loop evaluation, 1 day(s)" in result.output
    for label in ("baseline (uncoordinated)", "klaster", "perfect foresight"):
        assert label in result.output
    assert "perfect-foresight saving" in result.output
    assert "comfort violations" in result.output
    metrics = pd.read_csv(out / "metrics.csv")
    assert sorted(metrics["mode"]) == ["baseline", "klaster", "perfect_foresight"]
    assert (metrics["day"] == "2027-01-13").all()
    assert (metrics["lit_circuit_steps"] > 0).all()
    totals = pd.read_csv(out / "totals.csv", index_col="mode")
    assert totals.loc["baseline", "cost_pln"] > totals.loc["klaster", "cost_pln"]
    for name in ("evaluation.png", "klaster-realised-2027-01-13.png"):
        assert (out / name).stat().st_size > 10_000


def test_a_period_that_ends_before_it_starts_is_refused(tmp_path: Path) -> None:
    arguments = ["evaluate", "--from", "2027-01-13", "--to", "2027-01-12",
                 "--data-dir", str(tmp_path / "data")]  # fmt: skip
    result = CliRunner().invoke(app, arguments, env=ENV)
    assert result.exit_code != 0
    assert "before --from" in result.output
