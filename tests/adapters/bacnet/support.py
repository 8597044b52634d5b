"""Shared pieces of the BACnet tests: free loopback ports, demo buildings, a rig."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from adapters.bacnet.client import BacnetClient
from adapters.bacnet.device_sim import SimulatedBuildingController
from cluster.config import PublicBuilding, load_demo_config
from tests.timeouts import ANSWER_TIMEOUT_S

T = TypeVar("T")


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing holds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def loopback_address() -> str:
    """A fresh ``127.0.0.1:<port>`` BACnet/IP address."""
    return f"127.0.0.1:{free_udp_port()}"


def demo_building(building_id: str) -> PublicBuilding:
    """A building of the demo cluster (bldg-library has 3 zones, bldg-pool-foka 6)."""
    buildings = load_demo_config().assets.buildings
    return next(b for b in buildings if b.id == building_id)


def run(scenario: Coroutine[Any, Any, T], timeout_s: float = 20.0) -> T:
    """Run one async scenario in a fresh event loop; a hang fails instead of blocking."""
    return asyncio.run(asyncio.wait_for(scenario, timeout_s))


@asynccontextmanager
async def controller_and_client(
    building: PublicBuilding,
    *,
    timeout_s: float = ANSWER_TIMEOUT_S,
    rpm_chunk_size: int = 24,
    read_property_multiple: bool = True,
) -> AsyncIterator[tuple[SimulatedBuildingController, BacnetClient]]:
    """A simulated controller and a client, each on its own loopback port.

    The client's budget is for a controller that answers; a test that expects
    silence gives ``timeout_s=SILENCE_TIMEOUT_S``.
    """
    controller = SimulatedBuildingController(
        building, loopback_address(), 4001, read_property_multiple=read_property_multiple
    )
    client = BacnetClient(
        loopback_address(),
        device_instance=4002,
        timeout_s=timeout_s,
        rpm_chunk_size=rpm_chunk_size,
    )
    async with controller, client:
        yield controller, client
