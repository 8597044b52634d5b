"""One BACnet device as the poller and dispatch see it: a :class:`~adapters.device.DeviceClient`."""

from __future__ import annotations

import logging

from adapters.bacnet.client import BacnetClient, DiscoveredDevice
from adapters.bacnet.maps import BacnetDevice
from adapters.device import PointReading

_log = logging.getLogger(__name__)


class BacnetConnection:
    """A device reached through a shared :class:`BacnetClient` (one socket, many devices).

    The client's owner starts and closes the client; :meth:`close` here only
    releases the priority slots the client holds on this device.

    Parameters
    ----------
    client
        The started client to talk through.
    device
        The device: address, instance and point bindings.
    """

    def __init__(self, client: BacnetClient, device: BacnetDevice) -> None:
        self.client = client
        self.device = device
        self.device_id = device.device_id
        self.discovered: DiscoveredDevice | None = None

    async def connect(self) -> None:
        """Find the device with a directed Who-Is; raises DeviceUnreachable when it is silent."""
        self.discovered = await self.client.discover(self.device)

    async def read_points(self) -> list[PointReading]:
        """Read every point; failures become per-point quality flags."""
        return await self.client.read_points(self.device)

    async def close(self) -> None:
        """Relinquish every slot the client holds on this device; safe to call twice.

        A slot that cannot be released stays in ``client.commanded_slots`` and is logged.
        """
        for result in await self.client.relinquish_all(self.device):
            if not result.ok:
                _log.warning(
                    "%s %s not released: %s", self.device_id, result.point_id, result.detail
                )
