"""Importing billing-meter data from CSV: late deliveries and corrections of a month.

The file has a header and one row per connection point and quarter-hour::

    connection_point,ts,import_kwh,export_kwh,curtailed_kwh
    cp-city,2026-11-03T14:15:00+01:00,12.5,0,

``ts`` is the start of the step in ISO 8601 with its UTC offset; energies are
kWh in that step, ≥ 0; ``curtailed_kwh`` (estimated generation held back) is
optional and may be left empty. Every row is checked before anything is
written, and every problem is reported with its line; a file with any problem
writes nothing. Values already stored for the same point and step are
replaced, so a later settlement of the month gives a new version.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cluster.config import ClusterConfig
from cluster.errors import DataError
from cluster.timeseries import Quality, SeriesId, TimeSeriesStore, readings_frame

REQUIRED_COLUMNS = ("connection_point", "ts", "import_kwh", "export_kwh")
OPTIONAL_COLUMNS = ("curtailed_kwh",)
UNIT_KWH = "kWh"
# Problems listed in full in an error message; the rest are counted.
_LISTED_PROBLEMS = 20
# A time of day followed by a UTC offset, at the end of the text.
_OFFSET_AT_END = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$"


class MeterImportError(DataError):
    """A meter-data file that cannot be imported as it is."""


@dataclass(frozen=True)
class MeterImport:
    """What an import wrote.

    Attributes
    ----------
    rows : int
        Data rows read from the file.
    points : tuple of str
        The connection points the file covers, in config order.
    first, last : pandas.Timestamp
        The first and last step of the file, UTC.
    changed : int
        Readings stored or changed (0 when the store held them already).
    """

    rows: int
    points: tuple[str, ...]
    first: pd.Timestamp
    last: pd.Timestamp
    changed: int


def _fix() -> str:
    return (
        "correct those rows and import the file again: columns "
        f"{', '.join(REQUIRED_COLUMNS)}[, {', '.join(OPTIONAL_COLUMNS)}]; ts in ISO 8601 with "
        "its UTC offset at the start of a step (e.g. 2026-11-03T14:15:00+01:00); energy in kWh ≥ 0"
    )


def _read_table(path: Path) -> pd.DataFrame:
    try:
        # Everything as text: each value is checked and converted below.
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig"
        )
    except FileNotFoundError:
        raise MeterImportError(
            f"{path}: the file does not exist", fix="give the path of a meter-data CSV file"
        ) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MeterImportError(
            f"{path}: cannot be read as CSV ({exc})",
            fix="save it as UTF-8 CSV with a header line: " + ",".join(REQUIRED_COLUMNS),
        ) from None


def _check_columns(path: Path, table: pd.DataFrame) -> None:
    columns = [str(c).strip() for c in table.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise MeterImportError(
            f"{path}: {'; '.join(parts)}",
            fix="use the header "
            + ",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
            + f" ({OPTIONAL_COLUMNS[0]} may be left out)",
        )
    table.columns = pd.Index(columns)


def _energy(
    table: pd.DataFrame, column: str, problems: list[tuple[int, str]], *, optional: bool
) -> pd.Series:
    text = table[column].str.strip()
    values = pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float)
    blank = text == ""
    bad = values.isna() & ~(blank & optional) | ~np.isfinite(values.fillna(0.0))
    for row in np.flatnonzero(bad.to_numpy()):
        shown = text.iloc[row] or "(empty)"
        problems.append((int(row), f"{column} {shown!r} is not a number of kWh"))
    for row in np.flatnonzero((values < 0).to_numpy()):
        problems.append((int(row), f"{column} is negative ({text.iloc[row]} kWh)"))
    return values


def parse_meter_csv(path: Path, config: ClusterConfig) -> pd.DataFrame:
    """Read and check a meter-data CSV file into a table of steps.

    Parameters
    ----------
    path
        The CSV file.
    config
        The cluster: its connection points and step length.

    Returns
    -------
    pandas.DataFrame
        Columns ``connection_point``, ``ts`` (UTC), ``import_kwh``, ``export_kwh``
        and ``curtailed_kwh`` (NaN where not given), kWh, one row per data line.

    Raises
    ------
    MeterImportError
        Naming every problem with its line: an unknown connection point, a
        timestamp that is not ISO 8601 with an offset or is off the step grid,
        an energy that is not a number or is negative, a point and step given twice.
    """
    path = Path(path)
    table = _read_table(path)
    _check_columns(path, table)
    problems: list[tuple[int, str]] = []
    known = [cp.id for cp in config.connection_points]
    points = table["connection_point"].str.strip()
    for row in np.flatnonzero(~points.isin(known).to_numpy()):
        name = points.iloc[row]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append((int(row), f"unknown connection point {name!r}{hint}"))
    text = table["ts"].str.strip()
    with_offset = text.str.contains(_OFFSET_AT_END, regex=True)
    ts = pd.to_datetime(text.where(with_offset, None), format="ISO8601", utc=True, errors="coerce")
    step_s = config.cluster.step_minutes * 60
    naive = pd.to_datetime(text.where(~with_offset, None), format="ISO8601", errors="coerce")
    for row in np.flatnonzero(ts.isna().to_numpy()):
        why = "has no UTC offset" if pd.notna(naive.iloc[row]) else "is not an ISO 8601 time"
        problems.append((int(row), f"ts {text.iloc[row]!r} {why}"))
    # Steps divide the hour, so the grid is fixed by the time within the (UTC) hour.
    within_hour_s = ts.dt.minute * 60 + ts.dt.second
    off_grid = ts.notna() & ((within_hour_s % step_s != 0) | (ts.dt.microsecond != 0))
    for row in np.flatnonzero(off_grid.to_numpy()):
        problems.append(
            (int(row), f"ts {text.iloc[row]!r} is not the start of a "
                       f"{config.cluster.step_minutes}-minute step")
        )  # fmt: skip
    energies = {
        column: _energy(table, column, problems, optional=column in OPTIONAL_COLUMNS)
        for column in ("import_kwh", "export_kwh", *OPTIONAL_COLUMNS)
        if column in table
    }
    keys = pd.DataFrame({"point": points, "ts": ts})
    twice = keys.duplicated(keep="first") & ts.notna()
    for row in np.flatnonzero(twice.to_numpy()):
        problems.append((int(row), f"{points.iloc[row]} at {text.iloc[row]} is given twice"))
    if problems:
        problems.sort()
        # Line 1 is the header; data row i is on line i + 2.
        lines = [f"  line {row + 2}: {message}" for row, message in problems[:_LISTED_PROBLEMS]]
        if len(problems) > _LISTED_PROBLEMS:
            lines.append(f"  ... and {len(problems) - _LISTED_PROBLEMS} more")
        raise MeterImportError(
            f"{path}: {len(problems)} problem(s), nothing was imported:\n" + "\n".join(lines),
            fix=_fix(),
        )
    if table.empty:
        raise MeterImportError(f"{path}: the file has no data rows", fix=_fix())
    return pd.DataFrame(
        {
            "connection_point": points,
            "ts": ts,
            "import_kwh": energies["import_kwh"],
            "export_kwh": energies["export_kwh"],
            "curtailed_kwh": energies.get("curtailed_kwh", pd.Series(np.nan, index=table.index)),
        }
    )


def meter_readings(table: pd.DataFrame, quality: Quality = Quality.GOOD) -> pd.DataFrame:
    """The long readings frame of a checked meter table (curtailment only where given)."""
    frames = []
    for point, rows in table.groupby("connection_point", sort=False):
        index = pd.DatetimeIndex(rows["ts"])
        for column, series_of in (
            ("import_kwh", SeriesId.metered_import),
            ("export_kwh", SeriesId.metered_export),
            ("curtailed_kwh", SeriesId.curtailed),
        ):
            values = pd.Series(rows[column].to_numpy(), index=index).dropna()
            if len(values):
                frames.append(readings_frame(series_of(str(point)), values, UNIT_KWH, quality))
    return pd.concat(frames, ignore_index=True)


def import_meter_csv(
    store: TimeSeriesStore,
    config: ClusterConfig,
    path: Path,
    *,
    quality: Quality = Quality.GOOD,
) -> MeterImport:
    """Check a meter-data CSV file and write it to the store in one transaction.

    Parameters
    ----------
    store
        The time-series store.
    config
        The cluster the data belongs to.
    path
        The CSV file (see the module's description).
    quality
        The quality stored with the values: GOOD for measured data, ESTIMATED
        for the meter operator's estimates.

    Raises
    ------
    MeterImportError
        When any row is wrong (nothing is written then).
    """
    table = parse_meter_csv(path, config)
    changed = store.write_readings(meter_readings(table, quality))
    present = set(table["connection_point"])
    return MeterImport(
        rows=len(table),
        points=tuple(cp.id for cp in config.connection_points if cp.id in present),
        first=pd.Timestamp(table["ts"].min()),
        last=pd.Timestamp(table["ts"].max()),
        changed=changed,
    )
