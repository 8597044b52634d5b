"""``klaster purchase plan`` end to end on the demo cluster."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from cli.main import app


def test_plan_three_days_of_the_demo_prints_the_table_and_the_optimum() -> None:
    result = CliRunner().invoke(
        app,
        [
            "purchase",
            "plan",
            "--period",
            "2027-01",
            "--days",
            "3",
            "--lot-kw",
            "1000",
            "--max-kw",
            "2000",
            "--scenarios",
            "2",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "3 days from 2027-01-01 to 2027-01-03, 2 scenarios" in result.output
    # 3 x 3 grid of base x peak volumes, the optimum marked once.
    assert len(re.findall(r"\*-?[\d,]+", result.output)) == 1
    found = re.search(r"optimum: base 2027 (\d+) kW, peak 2027 (\d+) kW", result.output)
    assert found is not None
    assert {found.group(1), found.group(2)} <= {"0", "1000", "2000"}


def test_a_bad_period_is_a_user_error() -> None:
    result = CliRunner().invoke(app, ["purchase", "plan", "--period", "spring"])
    assert result.exit_code != 0
    assert "2027Q1" in result.output
