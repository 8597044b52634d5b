"""Run every benchmark in turn: ``python -m bench [name ...]``."""

from __future__ import annotations

import importlib
import os
import sys

BENCHMARKS = (
    "schedule_bench", "store_bench", "poll_bench", "forecast_bench", "milp_bench", "settle_bench",
)  # fmt: skip


def main(names: list[str]) -> None:
    # Wide tables stay readable when the output goes to a file or a pipe.
    os.environ.setdefault("COLUMNS", "200")
    for name in names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        module.run()


if __name__ == "__main__":
    main(sys.argv[1:])
