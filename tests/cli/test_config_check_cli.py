"""``klaster config check``: sizing warnings printed, exit code unchanged."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.cluster.test_sizing import SCHOOL, Z1_KEY

runner = CliRunner()


def test_undersized_heating_is_a_warning_and_the_configuration_stays_valid(
    tmp_path: Path,
) -> None:
    path = tmp_path / "school.toml"
    path.write_text(SCHOOL)  # z1 54 kW < 66.7 kW, z2 24 kW < 33.3 kW
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("warning: ") == 2
    assert f"warning: {Z1_KEY}: " in result.output
    assert "needs 66.7 kW" in result.output and "fix: raise heating_max_kw" in result.output
    assert "configuration is valid, with 2 warnings" in result.output


def test_demo_cluster_prints_no_sizing_warning() -> None:
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert "configuration is valid" in result.output


def test_contracted_capacity_below_electric_heating_is_printed_as_a_warning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "school.toml"
    # z1's heat pump: 54 kW heat / COP 3.2 = 16.9 kW electric, above 15 kW
    path.write_text(
        SCHOOL.replace("contracted_capacity_kw = 120.0", "contracted_capacity_kw = 15.0")
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: connection_points[0](id=cp-school).contracted_capacity_kw: " in result.output
    assert "up to 16.9 kW" in result.output
    assert "fix: raise contracted_capacity_kw to at least 17 kW" in result.output
    assert "configuration is valid, with 3 warnings" in result.output
