"""Shared pieces of the BMS tests: zone frames by hand, rig scenarios over real BACnet.

A rig scenario runs the small test cluster's rig (its plant moves only when
stepped) for some simulated hours in 15-minute steps; after each step it
reads the school's controller over BACnet on 127.0.0.1 — values and priority
arrays, as ``klaster bms`` does — and stamps the read with the rig's
simulated time, so that the reads form a history the rules can judge.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd

from adapters.bacnet.device_sim import SimulatedBuildingController
from adapters.bms_live import LiveReader, live_readings
from adapters.rig.rig import Rig, RigOptions
from bms.policies import BmsPolicy, zone_context
from cluster.config import PublicBuilding
from tests.adapters.rig.support import small_cluster
from tests.timeouts import ANSWER_TIMEOUT_S

T = TypeVar("T")

CLUSTER = small_cluster()
SCHOOL = next(b for b in CLUSTER.assets.buildings if b.id == "bldg-school")
SCHOOL_DEVICE = "bacnet-bldg-school"
ZONE = CLUSTER.cluster.zone
STEP_S = 900.0

#: Changes the test makes on the controller's side: once at the start, or after every step.
Injection = Callable[[SimulatedBuildingController], None]


def zone_frame_with_context(
    values: dict[str, list[float]],
    start: str,
    *,
    freq: str = "15min",
    building: PublicBuilding = SCHOOL,
    policy: BmsPolicy | None = None,
) -> pd.DataFrame:
    """A zone frame of the given columns from ``start`` (local time), policy columns joined."""
    length = len(next(iter(values.values())))
    index = pd.date_range(pd.Timestamp(start, tz=ZONE), periods=length, freq=freq, name="ts")
    index = index.tz_convert("UTC")
    frame = pd.DataFrame({name: [float(v) for v in column] for name, column in values.items()},
                         index=index)  # fmt: skip
    context = zone_context(index, building, building.zones[0], policy or BmsPolicy(), ZONE)
    return frame.join(context)


async def record_scenario(
    start: datetime,
    hours: float,
    *,
    at_start: Injection | None = None,
    after_step: Injection | None = None,
) -> pd.DataFrame:
    """Run the rig from ``start`` for ``hours`` and return the school's reads as readings."""
    rig = Rig(CLUSTER, RigOptions(start=start, ticking=False))
    reads = []
    async with rig:
        controller = rig.building_device(SCHOOL_DEVICE).controller
        if at_start is not None:
            at_start(controller)
        async with LiveReader(rig.site_devices(), CLUSTER, timeout_s=ANSWER_TIMEOUT_S) as reader:
            for _ in range(round(hours * 3600 / STEP_S)):
                rig.step(STEP_S)
                if after_step is not None:
                    after_step(controller)
                live = await reader.read([SCHOOL.id])
                assert not live[0].error, live[0].error
                reads.append(live_readings(live, at=rig.sim_time))
    return pd.concat(reads, ignore_index=True)


def run(scenario: Coroutine[Any, Any, T], timeout_s: float = 20.0) -> T:
    """Run one async scenario in a fresh event loop; a hang fails instead of blocking."""
    return asyncio.run(asyncio.wait_for(scenario, timeout_s))


class BackgroundRig:
    """The small cluster's rig served from an event loop in another thread.

    The CLI under test runs its own event loop in the test's thread and talks
    to the rig over loopback; the test steps the plant and injects faults
    on the rig's loop with :meth:`on_loop`.
    """

    def __init__(self, start: datetime) -> None:
        self.rig = Rig(CLUSTER, RigOptions(start=start, ticking=False))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="rig", daemon=True)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        """Run a coroutine on the rig's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def on_loop(self, action: Callable[[Rig], T]) -> T:
        """``action(rig)`` run on the rig's loop, where its devices live."""

        async def call() -> T:
            return action(self.rig)

        return self.call(call())

    def controller(self) -> SimulatedBuildingController:
        """The school's simulated controller (touch it only through :meth:`on_loop`)."""
        return self.rig.building_device(SCHOOL_DEVICE).controller

    def start(self) -> None:
        self._thread.start()
        self.call(self.rig.start())

    def stop(self) -> None:
        try:
            self.call(self.rig.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


@contextmanager
def background_rig(start: datetime) -> Iterator[BackgroundRig]:
    """A started :class:`BackgroundRig`, stopped afterwards."""
    served = BackgroundRig(start)
    served.start()
    try:
        yield served
    finally:
        served.stop()
