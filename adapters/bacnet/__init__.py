"""BACnet/IP: building controller maps, the client, and a simulated controller.

The simulated controller lives in :mod:`adapters.bacnet.device_sim` and is
imported from there (it is a test and rig double, not production equipment).
"""

from adapters.bacnet.client import BacnetClient, DiscoveredDevice
from adapters.bacnet.commands import DEFAULT_WRITE_PRIORITY
from adapters.bacnet.connection import BacnetConnection
from adapters.bacnet.cov import CovCallback, CovSubscription
from adapters.bacnet.maps import (
    BacnetDevice,
    BacnetObjectType,
    BacnetPointBinding,
    BuildingControllerMap,
    building_device,
    building_object_map,
    load_building_map,
    zone_point_id,
)

__all__ = [
    "DEFAULT_WRITE_PRIORITY",
    "BacnetClient",
    "BacnetConnection",
    "BacnetDevice",
    "BacnetObjectType",
    "BacnetPointBinding",
    "BuildingControllerMap",
    "CovCallback",
    "CovSubscription",
    "DiscoveredDevice",
    "building_device",
    "building_object_map",
    "load_building_map",
    "zone_point_id",
]
