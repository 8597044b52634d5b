"""Modbus devices: register maps as data, an async client, and SunSpec inverters.

* :mod:`adapters.modbus.maps` — device maps (TOML) validated into frozen objects;
* :mod:`adapters.modbus.decode` — every register decode and encode;
* :mod:`adapters.modbus.blocks` — grouping points into read requests of ≤ 125 registers;
* :mod:`adapters.modbus.connection` — one pymodbus connection, errors folded into klaster's;
* :mod:`adapters.modbus.client` — :class:`ModbusDeviceClient` for mapped devices;
* :mod:`adapters.modbus.sunspec` — SunSpec discovery and decoding via pysunspec2 models;
* :mod:`adapters.modbus.inverter` — :class:`SunSpecInverterClient` for PV inverters.
"""

from adapters.modbus.client import ModbusDeviceClient
from adapters.modbus.connection import ModbusConnection, RetryPolicy
from adapters.modbus.inverter import SunSpecInverterClient
from adapters.modbus.maps import DeviceMap, load_builtin_map, load_device_map

__all__ = [
    "DeviceMap",
    "ModbusConnection",
    "ModbusDeviceClient",
    "RetryPolicy",
    "SunSpecInverterClient",
    "load_builtin_map",
    "load_device_map",
]
