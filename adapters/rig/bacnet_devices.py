"""The rig's building controllers: BACnet/IP devices over the simulated zones.

Each public building gets a :class:`~adapters.bacnet.device_sim.SimulatedBuildingController`.
Its own program writes the occupancy schedule's setpoint at priority 16, so
the active setpoint the plant follows is the present value: klaster's command
at its priority, or an operator's hold above it. A heat-output (valve)
command at any priority above 16 overrides the zone controller.
"""

from __future__ import annotations

from adapters.bacnet.device_sim import SimulatedBuildingController
from adapters.bacnet.maps import zone_point_id
from adapters.errors import DeviceMapError
from adapters.rig.errors import RigError
from adapters.rig.faults import HOLD_PRIORITY, Fault, FaultKind
from adapters.rig.plant import Plant
from cluster.config import PublicBuilding

#: How far, %, a valve's present value may lie from the program's before it counts as commanded.
VALVE_TOLERANCE_PCT = 0.01


class BuildingDevice:
    """A building's BACnet controller in the rig.

    Parameters
    ----------
    building
        The building.
    host, port
        The UDP address to serve on.
    device_instance
        The controller's device instance.
    """

    def __init__(
        self, building: PublicBuilding, host: str, port: int, device_instance: int
    ) -> None:
        self.building = building
        self.host = host
        self.port = port
        self.controller = SimulatedBuildingController(building, f"{host}:{port}", device_instance)
        self.fault: Fault | None = None
        self._written: dict[str, float] = {}

    @property
    def listening(self) -> bool:
        """True while the controller's socket is open."""
        return self.fault is None or self.fault.kind is not FaultKind.OFFLINE

    async def start(self) -> None:
        """Open the controller's UDP socket.

        Raises
        ------
        RigError
            If the address cannot be bound.
        """
        self._written.clear()
        try:
            await self.controller.start()
        except Exception as exc:
            raise RigError(
                f"bacnet-{self.building.id}: cannot serve BACnet on {self.host}:{self.port} "
                f"({exc})",
                fix="choose another --base-port, or leave it out to take free ports",
            ) from None

    async def stop(self) -> None:
        """Close the socket; safe to call twice."""
        await self.controller.stop()

    # --- the plant side -----------------------------------------------------------

    def read_commands(self, plant: Plant) -> None:
        """Run the controller's schedule and copy the active setpoints and valve commands."""
        if not self.listening:
            return
        controller = self.controller
        for zone in self.building.zones:
            state = plant.zones[(self.building.id, zone.id)]
            setpoint_id = zone_point_id(zone.id, "setpoint")
            self._program(setpoint_id, state.schedule_setpoint_c, tolerance=0.0)
            state.setpoint_c = controller.present_value(setpoint_id)
            # A valve that does not show what the program wrote is commanded above it.
            valve_id = zone_point_id(zone.id, "heat_output")
            valve = controller.present_value(valve_id)
            programmed = self._written.get(valve_id)
            overridden = programmed is not None and abs(valve - programmed) > VALVE_TOLERANCE_PCT
            state.valve_override_pct = valve if overridden else None

    def publish(self, plant: Plant) -> None:
        """Show the zones' temperatures, occupancy and heat output, and the building's meter."""
        if not self.listening:
            return
        for zone in self.building.zones:
            state = plant.zones[(self.building.id, zone.id)]
            self._program(zone_point_id(zone.id, "room_temp"), state.temp_c)
            self._program(zone_point_id(zone.id, "occupancy"), 1.0 if state.occupied else 0.0)
            if state.valve_override_pct is None:
                self._program(
                    zone_point_id(zone.id, "heat_output"),
                    state.heat_output_pct,
                    VALVE_TOLERANCE_PCT,
                )
        meter = plant.meters[self.building.connection_point]
        self._program("meter_power", meter.power_kw)
        self._program("meter_energy", meter.import_kwh)

    def _program(self, point_id: str, value: float, tolerance: float = 1e-3) -> None:
        """Write a value from the controller's side (priority 16 for commandable objects).

        Unchanged values are not written again: every write to a commandable
        object recomputes its priority array, which costs more than the plant step.
        """
        last = self._written.get(point_id)
        if last is not None and abs(last - value) <= tolerance:
            return
        self.controller.set_value(point_id, value)
        self._written[point_id] = value

    # --- faults -----------------------------------------------------------------------

    async def inject(self, fault: Fault) -> Fault:
        """Apply ``fault`` (replacing any other); returns it with its defaults filled in.

        Raises
        ------
        RigError
            For a held point the controller has not, or that is not commandable.
        """
        await self.clear()
        if fault.kind is FaultKind.HOLD_PRIORITY:
            fault = self._hold(fault)
        elif fault.kind is FaultKind.NO_RESPONSE:
            self.controller.no_response = True
        elif fault.kind is FaultKind.SLOW:
            self.controller.response_delay_s = fault.delay_s
        elif fault.kind is FaultKind.OFFLINE:
            await self.controller.stop()
        self.fault = fault
        return fault

    def _hold(self, fault: Fault) -> Fault:
        first = self.building.zones[0]
        point = fault.point or zone_point_id(first.id, "setpoint")
        zone = next((z for z in self.building.zones if point.startswith(f"{z.id}.")), first)
        value = fault.value if fault.value is not None else zone.comfort.occupied_max_c
        try:
            self.controller.hold_at_priority(point, HOLD_PRIORITY, value)
        except DeviceMapError as exc:
            setpoints = ", ".join(zone_point_id(z.id, "setpoint") for z in self.building.zones)
            raise RigError(
                f"bacnet-{self.building.id}: cannot hold {point!r}: {exc.message}",
                fix=f"give --point one of: {setpoints}",
            ) from None
        return Fault(fault.kind, fault.delay_s, point, value)

    async def clear(self) -> None:
        """Remove the fault; an offline controller serves again on its port (its priority
        arrays start empty, as after a reboot)."""
        fault, self.fault = self.fault, None
        if fault is None:
            return
        if fault.kind is FaultKind.OFFLINE:
            await self.start()
        elif fault.kind is FaultKind.NO_RESPONSE:
            self.controller.no_response = False
        elif fault.kind is FaultKind.SLOW:
            self.controller.response_delay_s = 0.0
        elif fault.kind is FaultKind.HOLD_PRIORITY and fault.point is not None:
            self.controller.release_priority(fault.point, HOLD_PRIORITY)
