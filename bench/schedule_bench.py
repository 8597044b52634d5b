"""The demo schedule: time per stage and peak memory, cold (empty store) and warm.

Each run happens in a fresh process so that its peak resident memory is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

DAYS = ("2027-01-13", "2027-03-28", "2027-07-07")

_CHILD = """
import json, resource, sys, time
from datetime import date
from pathlib import Path
from cli.pipeline import run_schedule
from optimisation.solve import SolveOptions
started = time.perf_counter()
run = run_schedule(config_path=None, day=date.fromisoformat(sys.argv[1]),
                   out_dir=Path(sys.argv[3]), data_dir=Path(sys.argv[2]),
                   synthetic_history=False, options=SolveOptions())
print(json.dumps({"stages": run.stage_seconds, "total": time.perf_counter() - started,
                  "history_rows": run.history_rows_written,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "status": str(run.solve.status), "gap": run.solve.mip_gap,
                  "highs_s": run.solve.highs_time_s, "cost": run.schedule.total_cost_pln}))
"""


def _run_child(day: str, data_dir: Path, out_dir: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, day, str(data_dir), str(out_dir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run() -> list[dict[str, object]]:
    """Plan three demo days on a fresh store and print the time per stage."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, day in enumerate(DAYS):
            result = _run_child(day, Path(tmp) / "store", Path(tmp) / f"out-{day}")
            result["day"] = day
            result["store"] = "cold" if i == 0 else "warm"
            rows.append(result)
    stage_names: list[str] = []
    for row in rows:
        for name in row["stages"]:  # type: ignore[attr-defined]
            if name not in stage_names:
                stage_names.append(name)
    table = Table(title="Demo schedule: seconds per stage, peak memory")
    for column in ["day", "store", *stage_names, "total s", "HiGHS s", "gap", "peak RSS MB",
                   "history rows"]:  # fmt: skip
        table.add_column(column, justify="right")
    for row in rows:
        stages: dict[str, float] = row["stages"]  # type: ignore[assignment]
        table.add_row(
            str(row["day"]), str(row["store"]),
            *[f"{stages.get(name, 0.0):.2f}" for name in stage_names],
            f"{row['total']:.2f}", f"{row['highs_s']:.2f}", f"{row['gap']:.1e}",
            f"{row['peak_rss_mb']:.0f}", f"{row['history_rows']:,}",
        )  # fmt: skip
    Console().print(table)
    return rows


if __name__ == "__main__":
    run()
