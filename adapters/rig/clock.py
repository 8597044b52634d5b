"""The rig's simulated clock and the demo history that drives its plant.

The clock runs ``speed`` simulated seconds per real second from a chosen
start. The history (weather, loads, available PV, WtE output, biogas inflow,
traffic) comes from :func:`adapters.demo_history.generate_wide`, generated a
day at a time as the clock reaches it (it is a pure function of the instant,
so pieces agree) and interpolated linearly between its quarter-hours.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from adapters.demo_history import DEMO_SEED, generate_wide
from adapters.rig.errors import RigError
from cluster.config import ClusterConfig

#: How much history is generated at once.
CHUNK = timedelta(days=1)


class SimClock:
    """Simulated time running ``speed`` times faster than real time from ``start``.

    Parameters
    ----------
    start
        The simulated instant at which the clock starts (timezone-aware).
    speed
        Simulated seconds per real second.
    monotonic
        The real clock, s (``time.monotonic`` unless a test gives its own).
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise RigError(
                f"the rig's start {start.isoformat()} has no time zone",
                fix="give the start with a zone, e.g. 2027-01-15T08:00+01:00",
            )
        if not speed > 0:
            raise RigError(
                f"speed {speed} is not positive", fix="give simulated seconds per real second > 0"
            )
        self.speed = speed
        self._monotonic = monotonic
        self._now = start.astimezone(UTC)
        self._last_real = monotonic()

    @property
    def now(self) -> datetime:
        """The simulated time of the last step (UTC)."""
        return self._now

    def elapsed_s(self) -> float:
        """Simulated seconds since the last call (or since the clock started)."""
        real = self._monotonic()
        elapsed = (real - self._last_real) * self.speed
        self._last_real = real
        return elapsed

    def advance(self, sim_seconds: float) -> datetime:
        """Move simulated time on by ``sim_seconds`` and return it."""
        self._now += timedelta(seconds=sim_seconds)
        return self._now


class HistoryFeed:
    """Values of the demo history at any instant, linearly interpolated.

    Parameters
    ----------
    config
        The cluster whose series are generated.
    seed
        Which history.
    """

    def __init__(self, config: ClusterConfig, seed: int = DEMO_SEED) -> None:
        self.config = config
        self.seed = seed
        self._times = np.zeros(0)
        self._values = np.zeros((0, 0))
        self._columns: dict[str, int] = {}
        self._start: datetime | None = None
        self._end: datetime | None = None

    def _load(self, instant: datetime) -> None:
        step = timedelta(minutes=self.config.cluster.step_minutes)
        day = instant.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start, end = day - step, day + CHUNK + 2 * step
        frame = generate_wide(
            self.config, pd.Timestamp(start), pd.Timestamp(end), self.seed, meters=False
        )
        index = pd.DatetimeIndex(frame.index)
        self._times = (index - pd.Timestamp(0, tz="UTC")).total_seconds().to_numpy()
        self._values = frame.to_numpy(dtype=float)
        self._columns = {str(name): i for i, name in enumerate(frame.columns)}
        self._start, self._end = index[0].to_pydatetime(), index[-1].to_pydatetime()

    def sample(self, instant: datetime) -> dict[str, float]:
        """Every series at ``instant`` (timezone-aware): series id → value."""
        if self._start is None or self._end is None or not self._start <= instant <= self._end:
            self._load(instant)
        seconds = instant.timestamp()
        position = int(np.searchsorted(self._times, seconds, side="right")) - 1
        position = min(max(position, 0), len(self._times) - 2)
        t0, t1 = self._times[position], self._times[position + 1]
        weight = min(max((seconds - t0) / (t1 - t0), 0.0), 1.0)
        row = self._values[position] * (1.0 - weight) + self._values[position + 1] * weight
        return {name: float(row[i]) for name, i in self._columns.items()}
