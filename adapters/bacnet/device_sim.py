"""A simulated building controller serving real BACnet/IP, for tests and HIL rigs.

:class:`SimulatedBuildingController` serves the objects of a building's
controller map (see :mod:`adapters.bacnet.maps`) on a UDP address. Sensor
objects (room temperature, occupancy, meters) refuse client writes unless out
of service, as a field controller does; the setpoints are commandable through
their priority array. Python code sets sensor values (the plant model of a
rig) and injects faults: silence, slow answers, an operator holding a point at a
higher priority, a missing object, writes silently ignored, a fault flag.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from bacpypes3.app import Application
from bacpypes3.basetypes import BinaryPV, PriorityValue
from bacpypes3.errors import UnrecognizedService
from bacpypes3.local.analog import AnalogInputObject, AnalogOutputObject, AnalogValueObject
from bacpypes3.local.binary import BinaryInputObject, BinaryOutputObject, BinaryValueObject
from bacpypes3.local.cmd import Commandable
from bacpypes3.local.oos import OutOfService
from bacpypes3.primitivedata import Real

from adapters.bacnet import stack
from adapters.bacnet.maps import (
    BacnetDevice,
    BacnetObjectType,
    BacnetPointBinding,
    BuildingControllerMap,
    building_object_map,
    zone_point_id,
)
from adapters.bacnet.values import priority_slot_value
from adapters.errors import DeviceMapError
from cluster.config import BmsZone, PublicBuilding
from cluster.points import PointKind

#: COV increment of analog objects, in the point's unit.
COV_INCREMENT = 0.1


class _WritesCanBeIgnored:
    """Mixin: acknowledge client writes without applying them (a faulty controller)."""

    _ignore_writes = False

    async def write_property(
        self, attr: Any, value: Any, index: int | None = None, priority: int | None = None
    ) -> None:
        if self._ignore_writes:
            return
        await super().write_property(attr, value, index, priority)  # type: ignore[misc]


class SensorAnalogInput(_WritesCanBeIgnored, OutOfService, AnalogInputObject):
    """An analog input whose present value clients may write only when out of service."""


class SensorAnalogValue(_WritesCanBeIgnored, OutOfService, AnalogValueObject):
    """An analog value fed by the controller; read-only to clients while in service."""


class SensorBinaryInput(_WritesCanBeIgnored, OutOfService, BinaryInputObject):
    """A binary input; read-only to clients while in service."""


class SensorBinaryValue(_WritesCanBeIgnored, OutOfService, BinaryValueObject):
    """A binary value fed by the controller (occupancy); read-only to clients while in service."""


class CommandableAnalogValue(_WritesCanBeIgnored, Commandable, AnalogValueObject):
    """An analog value commanded through its priority array (a setpoint)."""


class CommandableAnalogOutput(_WritesCanBeIgnored, AnalogOutputObject):
    """An analog output commanded through its priority array (a valve)."""


class CommandableBinaryOutput(_WritesCanBeIgnored, BinaryOutputObject):
    """A binary output commanded through its priority array."""


def _object_class(binding: BacnetPointBinding) -> type[Any]:
    kind = binding.object_type
    if kind is BacnetObjectType.ANALOG_VALUE:
        return CommandableAnalogValue if binding.commandable else SensorAnalogValue
    # Outputs are commandable by the standard whatever the map says.
    return {
        BacnetObjectType.ANALOG_INPUT: SensorAnalogInput,
        BacnetObjectType.ANALOG_OUTPUT: CommandableAnalogOutput,
        BacnetObjectType.BINARY_INPUT: SensorBinaryInput,
        BacnetObjectType.BINARY_VALUE: SensorBinaryValue,
        BacnetObjectType.BINARY_OUTPUT: CommandableBinaryOutput,
    }[kind]


class _ControllerApplication(Application):
    """The controller's stack: counts requests and can refuse ReadPropertyMultiple."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests_received: Counter[str] = Counter()
        self.read_property_multiple_supported = True
        self.response_delay_s = 0.0

    async def indication(self, apdu: Any) -> None:
        self.requests_received[type(apdu).__name__] += 1
        if self.response_delay_s > 0:
            await asyncio.sleep(self.response_delay_s)
        await super().indication(apdu)

    async def do_ReadPropertyMultipleRequest(self, apdu: Any) -> None:
        if not self.read_property_multiple_supported:
            # What an older controller answers: reject, unrecognized service.
            raise UnrecognizedService("read-property-multiple is not supported")
        await super().do_ReadPropertyMultipleRequest(apdu)


class SimulatedBuildingController:
    """A building's BACnet controller on ``address``, serving the building's object map.

    Parameters
    ----------
    building
        The building whose zones and meter the controller serves.
    address
        The UDP address to serve on, ``host:port`` (127.0.0.1 in tests).
    device_instance
        The controller's device instance.
    building_map
        The object map; the packaged building controller map by default.
    read_property_multiple
        False makes the controller reject ReadPropertyMultiple (unrecognized service).
    """

    def __init__(
        self,
        building: PublicBuilding,
        address: str,
        device_instance: int,
        *,
        building_map: BuildingControllerMap | None = None,
        read_property_multiple: bool = True,
    ) -> None:
        self.building = building
        self.address = address
        self.device_instance = device_instance
        self.bindings = building_object_map(building, building_map)
        self.read_property_multiple = read_property_multiple
        self._by_point = {b.point_id: b for b in self.bindings}
        self._objects: dict[str, Any] = {}
        self._removed: dict[str, Any] = {}
        self._app: Any = None
        self._no_response = False

    @property
    def device(self) -> BacnetDevice:
        """How a client sees this controller."""
        return BacnetDevice(
            self.building.id, self.address, self.device_instance, tuple(self.bindings)
        )

    async def start(self) -> None:
        """Create the objects and open the UDP socket."""
        if self._app is not None:
            return
        zones = {zone.id: zone for zone in self.building.zones}
        self._objects = {b.point_id: self._make_object(b, zones) for b in self.bindings}
        app = stack.make_application(
            self.address,
            self.device_instance,
            list(self._objects.values()),
            device_name=f"{self.building.id}-controller",
            application_class=_ControllerApplication,
        )
        app.read_property_multiple_supported = self.read_property_multiple
        await stack.wait_until_bound(app, self.address)
        self._app = app

    async def stop(self) -> None:
        """Close the socket (the port is free afterwards); safe to call twice."""
        if self._app is not None:
            app, self._app = self._app, None
            await stack.close_application(app)

    async def __aenter__(self) -> SimulatedBuildingController:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def requests_received(self) -> Counter[str]:
        """Requests received by kind (``WritePropertyRequest``, ...), since start."""
        return Counter(self._application().requests_received)

    # --- the plant side: values set from Python --------------------------------

    def set_room_temp(self, zone_id: str, temp_c: float) -> None:
        """Set a zone's measured room temperature, °C."""
        self.set_value(zone_point_id(zone_id, "room_temp"), temp_c)

    def set_occupancy(self, zone_id: str, occupied: bool) -> None:
        """Set whether a zone is occupied."""
        self.set_value(zone_point_id(zone_id, "occupancy"), 1.0 if occupied else 0.0)

    def set_heat_output(self, zone_id: str, output_pct: float) -> None:
        """Set a zone's heat output (valve position), %, as the controller's own program does."""
        self.set_value(zone_point_id(zone_id, "heat_output"), output_pct)

    def set_meter(self, *, power_kw: float | None = None, energy_kwh: float | None = None) -> None:
        """Set the building meter's power, kW (import positive), and/or energy counter, kWh."""
        if power_kw is not None:
            self.set_value("meter_power", power_kw)
        if energy_kwh is not None:
            self.set_value("meter_energy", energy_kwh)

    def set_value(self, point_id: str, value: float) -> None:
        """Set a point's present value from the plant side (binary: nonzero = active).

        A commandable object gets the value at priority 16, the controller's own program.
        """
        obj = self._object(point_id)
        obj.presentValue = self._encode(point_id, value)

    def present_value(self, point_id: str) -> float:
        """The present value a client would read now (binary: active = 1)."""
        obj = self._object(point_id)
        raw = obj.presentValue
        return float(int(raw)) if self._by_point[point_id].object_type.is_binary else float(raw)

    def priority_slot(self, point_id: str, priority: int) -> float | None:
        """What priority-array slot ``priority`` (1-16) holds; None when empty."""
        return priority_slot_value(self._commandable(point_id).priorityArray[priority - 1])

    def relinquish_default(self, point_id: str) -> float:
        """The value a commandable point takes when every slot is empty."""
        return float(self._commandable(point_id).relinquishDefault)

    # --- fault injection ----------------------------------------------------

    @property
    def no_response(self) -> bool:
        """True while the controller answers nothing (it stops reading its socket)."""
        return self._no_response

    @no_response.setter
    def no_response(self, silent: bool) -> None:
        for transport in stack.local_transports(self._application()):
            if silent:
                transport.pause_reading()
            else:
                _discard_queued(transport)
                transport.resume_reading()
        self._no_response = silent

    @property
    def response_delay_s(self) -> float:
        """How long, s, the controller takes before it acts on and answers a request."""
        return float(self._application().response_delay_s)

    @response_delay_s.setter
    def response_delay_s(self, delay_s: float) -> None:
        self._application().response_delay_s = delay_s

    def hold_at_priority(self, point_id: str, priority: int, value: float) -> None:
        """An operator holds ``point_id`` at ``priority`` (e.g. 6, or 8 manual operator)."""
        obj = self._commandable(point_id)
        obj.priorityArray[priority - 1] = PriorityValue(self._encode(point_id, value))

    def release_priority(self, point_id: str, priority: int) -> None:
        """Empty a priority slot from the controller side."""
        self._commandable(point_id).priorityArray[priority - 1] = PriorityValue(null=())

    def remove_object(self, point_id: str) -> None:
        """Delete the point's object: clients get ``unknown-object`` for it."""
        obj = self._object(point_id)
        self._application().delete_object(obj)
        self._removed[point_id] = self._objects.pop(point_id)

    def restore_object(self, point_id: str) -> None:
        """Put back an object removed with :meth:`remove_object`."""
        obj = self._removed.pop(point_id)
        self._application().add_object(obj)
        self._objects[point_id] = obj

    def ignore_writes(self, point_id: str, ignore: bool = True) -> None:
        """Acknowledge writes to the point without applying them (read-back will differ)."""
        self._object(point_id)._ignore_writes = ignore

    def set_fault(self, point_id: str, fault: bool = True) -> None:
        """Raise (or clear) the point's fault status flag through its reliability."""
        reliability = "unreliable-other" if fault else "no-fault-detected"
        self._object(point_id).reliability = reliability

    def set_out_of_service(self, point_id: str, out_of_service: bool = True) -> None:
        """Take the point out of service (its value no longer follows the plant)."""
        self._object(point_id).outOfService = out_of_service

    # --- internals ------------------------------------------------------------

    def _application(self) -> Any:
        if self._app is None:
            raise RuntimeError("the simulated controller is not started; call start() first")
        return self._app

    def _object(self, point_id: str) -> Any:
        self._application()
        if point_id not in self._objects:
            raise DeviceMapError(
                f"the simulated controller has no object for {point_id!r}",
                fix=f"use one of: {', '.join(self._objects)}",
            )
        return self._objects[point_id]

    def _commandable(self, point_id: str) -> Any:
        obj = self._object(point_id)
        if not isinstance(obj, Commandable):
            raise DeviceMapError(f"{point_id!r} is not commandable on the simulated controller")
        return obj

    def _encode(self, point_id: str, value: float) -> Any:
        if self._by_point[point_id].object_type.is_binary:
            return BinaryPV("active" if value else "inactive")
        return Real(value)

    def _make_object(self, binding: BacnetPointBinding, zones: dict[str, BmsZone]) -> Any:
        kwargs: dict[str, Any] = {
            "objectIdentifier": (str(binding.object_type), binding.instance),
            "objectName": f"{self.building.id}.{binding.point_id}",
            "outOfService": False,
            "eventState": "normal",
            "reliability": "no-fault-detected",
        }
        if binding.object_type.is_binary:
            kwargs["presentValue"] = "inactive"
            if binding.object_type is not BacnetObjectType.BINARY_VALUE:
                kwargs["polarity"] = "normal"
        else:
            kwargs["presentValue"] = _initial_value(binding, zones)
            kwargs["covIncrement"] = COV_INCREMENT
            if binding.units is not None:
                kwargs["units"] = binding.units
        return _object_class(binding)(**kwargs)


def _initial_value(binding: BacnetPointBinding, zones: dict[str, BmsZone]) -> float:
    """A plausible start: mid comfort band for zone temperatures, else 0 or mid-range."""
    zone_id = binding.point_id.partition(".")[0] if "." in binding.point_id else None
    kind = binding.point.kind
    if zone_id in zones and kind in (PointKind.TEMPERATURE, PointKind.TEMPERATURE_SETPOINT):
        comfort = zones[zone_id].comfort
        return (comfort.occupied_min_c + comfort.occupied_max_c) / 2
    low, high = binding.point.min_value, binding.point.max_value
    if low is not None and high is not None and not low <= 0 <= high:
        return (low + high) / 2
    return 0.0


def _discard_queued(transport: Any) -> None:
    """Drop datagrams that arrived while silent: a real silent device never saw them."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    with sock.dup() as reader:
        reader.setblocking(False)
        while True:
            try:
                reader.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
