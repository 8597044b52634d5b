"""The rig: every device of a cluster served over real sockets, with the plant behind them.

:class:`Rig` binds one Modbus/TCP server per Modbus device and one BACnet/IP
controller per public building in the running event loop, and advances the
plant on a tick: each tick copies the commands clients wrote into the plant,
steps the plant over the simulated time since the last tick, and publishes
the new state to the devices. Faults are injected and cleared per device.

Usage::

    async with Rig(config, RigOptions(speed=60)) as rig:
        site = rig.site_devices()     # the endpoints with their bound ports
        await rig.inject_fault("meter-cp-sp-1", "slow")
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from adapters.demo_history import DEMO_SEED
from adapters.rig.bacnet_devices import BuildingDevice
from adapters.rig.clock import HistoryFeed, SimClock
from adapters.rig.errors import RigError
from adapters.rig.faults import DEFAULT_DELAY_S, Fault, FaultKind, check_delay, parse_fault_kind
from adapters.rig.modbus_devices import DeviceModel, device_model
from adapters.rig.modbus_server import ModbusSimServer
from adapters.rig.plan import PlannedDevice, plan_devices
from adapters.rig.plant import Plant
from adapters.site import DeviceEndpoint, Protocol, SiteDevices
from cluster.config import ClusterConfig

log = logging.getLogger(__name__)

#: Addresses that mean "every interface": clients reach such a rig on loopback.
WILDCARD_HOSTS = frozenset({"", "0.0.0.0"})


@dataclass(frozen=True)
class RigOptions:
    """How a rig runs.

    Parameters
    ----------
    start
        Simulated time at start (timezone-aware); now if None.
    speed
        Simulated seconds per real second.
    tick_s
        Real seconds between ticks.
    bind
        The address every device binds (127.0.0.1 unless another is asked for).
    base_port
        First port of consecutive fixed ports (Modbus devices, then BACnet
        devices); free ports if None.
    seed
        Which demo history drives the plant.
    ticking
        False leaves the plant still until :meth:`Rig.step` is called (for tests).
    """

    start: datetime | None = None
    speed: float = 1.0
    tick_s: float = 1.0
    bind: str = "127.0.0.1"
    base_port: int | None = None
    seed: int = DEMO_SEED
    ticking: bool = True


@dataclass
class _ModbusDevice:
    planned: PlannedDevice
    model: DeviceModel
    server: ModbusSimServer


@dataclass
class _BacnetDevice:
    planned: PlannedDevice
    device: BuildingDevice


class Rig:
    """A cluster's devices, simulated and served.

    Parameters
    ----------
    config
        The cluster.
    options
        How the rig runs.

    Raises
    ------
    RigError
        For options that cannot work (a non-positive speed or tick, ports past 65535).
    """

    def __init__(self, config: ClusterConfig, options: RigOptions | None = None) -> None:
        self.config = config
        self.options = options or RigOptions()
        if not self.options.tick_s > 0:
            raise RigError(f"tick {self.options.tick_s} s is not positive", fix="give --tick > 0")
        start = self.options.start or datetime.now(UTC).replace(microsecond=0)
        self.clock = SimClock(start, self.options.speed)
        self.history = HistoryFeed(config, self.options.seed)
        self.plant = Plant.from_config(config, self.clock.now, self.history.sample(self.clock.now))
        self.planned = plan_devices(config)
        self._check_ports()
        self._modbus: dict[str, _ModbusDevice] = {}
        self._bacnet: dict[str, _BacnetDevice] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._tick_done = asyncio.Condition()
        self.ticks = 0
        self.tick_cost_s: list[float] = []
        self.started_at: datetime | None = None

    def _check_ports(self) -> None:
        base = self.options.base_port
        if base is None:
            return
        last = base + len(self.planned) - 1
        if base < 1 or last > 65535:
            raise RigError(
                f"--base-port {base} gives ports up to {last} for {len(self.planned)} devices; "
                "ports end at 65535",
                fix=f"choose a base port between 1024 and {65535 - len(self.planned) + 1}",
            )

    @property
    def host(self) -> str:
        """The address clients use to reach the devices."""
        return "127.0.0.1" if self.options.bind in WILDCARD_HOSTS else self.options.bind

    @property
    def sim_time(self) -> datetime:
        """Simulated time of the last step (UTC)."""
        return self.clock.now

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Bind every device, publish the plant's state, and start ticking.

        Raises
        ------
        RigError
            If a device's address cannot be bound (everything started is stopped again).
        """
        if self._modbus or self._bacnet:
            return
        bind, base = self.options.bind, self.options.base_port
        modbus = [p for p in self.planned if p.protocol is not Protocol.BACNET]
        buildings = {b.id: b for b in self.config.assets.buildings}
        for index, planned in enumerate(modbus):
            model = device_model(planned, self.config, self.plant)
            port = 0 if base is None else base + index
            server = ModbusSimServer(planned.device_id, model.image, model.data_fields, bind, port)
            self._modbus[planned.device_id] = _ModbusDevice(planned, model, server)
        for index, planned in enumerate(p for p in self.planned if p.protocol is Protocol.BACNET):
            port = _free_udp_port(bind) if base is None else base + len(modbus) + index
            assert planned.device_instance is not None
            device = BuildingDevice(buildings[planned.owner], bind, port, planned.device_instance)
            self._bacnet[planned.device_id] = _BacnetDevice(planned, device)
        # Every start is awaited, failed or not, so that stopping finds nothing half-bound.
        outcomes = await asyncio.gather(
            *(d.server.start() for d in self._modbus.values()),
            *(d.device.start() for d in self._bacnet.values()),
            return_exceptions=True,
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            await self.stop()
            self._modbus.clear()
            self._bacnet.clear()
            raise failures[0]
        self.started_at = datetime.now(UTC)
        self.step(0.0)
        if self.options.ticking:
            self.clock.elapsed_s()
            self._ticker = asyncio.create_task(self._tick_forever(), name="rig-ticks")

    async def stop(self) -> None:
        """Stop ticking and close every device's socket; safe to call twice."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await asyncio.gather(
            *(d.server.stop() for d in self._modbus.values()),
            *(d.device.stop() for d in self._bacnet.values()),
        )

    async def __aenter__(self) -> Rig:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- the simulation ----------------------------------------------------------------

    def step(self, sim_seconds: float) -> None:
        """Advance the plant by ``sim_seconds`` of simulated time and publish it.

        Commands clients wrote since the last step apply from this step on.
        """
        began = time.perf_counter()
        now = self.clock.advance(sim_seconds)
        sample = self.history.sample(now)
        plant = self.plant
        plant.update_schedule(now)
        for building in self._bacnet.values():
            building.device.read_commands(plant)
        for device in self._modbus.values():
            device.model.read_commands(plant)
        plant.step(sim_seconds, sample)
        for device in self._modbus.values():
            device.model.publish(plant)
        for building in self._bacnet.values():
            building.device.publish(plant)
        self.ticks += 1
        self.tick_cost_s.append(time.perf_counter() - began)
        del self.tick_cost_s[:-1000]

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.tick_s)
            try:
                self.step(self.clock.elapsed_s())
            except Exception:
                # A broken step must not silence the devices; it is logged and retried.
                log.exception("rig tick failed")
            async with self._tick_done:
                self._tick_done.notify_all()

    async def wait_ticks(self, count: int = 1, timeout_s: float = 10.0) -> None:
        """Wait until ``count`` more ticks have run (a ticking rig only).

        Raises
        ------
        TimeoutError
            If they do not run within ``timeout_s``.
        """
        target = self.ticks + count
        async with asyncio.timeout(timeout_s), self._tick_done:
            await self._tick_done.wait_for(lambda: self.ticks >= target)

    # --- devices and faults --------------------------------------------------------------

    def site_devices(self) -> SiteDevices:
        """Every device as an endpoint, with the port it is bound to."""
        endpoints: list[DeviceEndpoint] = []
        for planned in self.planned:
            if planned.device_id in self._modbus:
                port = self._modbus[planned.device_id].server.port
            else:
                port = self._bacnet[planned.device_id].device.port
            endpoints.append(planned.endpoint(self.host, port))
        return SiteDevices(devices=endpoints)

    def modbus_server(self, device_id: str) -> ModbusSimServer:
        """The server of a Modbus device (for tests and status)."""
        self._planned(device_id)
        if device_id not in self._modbus:
            raise RigError(f"{device_id} is not a Modbus device")
        return self._modbus[device_id].server

    def building_device(self, device_id: str) -> BuildingDevice:
        """The controller of a BACnet device (for tests and status)."""
        self._planned(device_id)
        if device_id not in self._bacnet:
            raise RigError(f"{device_id} is not a BACnet device")
        return self._bacnet[device_id].device

    def _planned(self, device_id: str) -> PlannedDevice:
        for planned in self.planned:
            if planned.device_id == device_id:
                return planned
        ids = [p.device_id for p in self.planned]
        shown = ", ".join(ids[:15]) + (", ..." if len(ids) > 15 else "")
        raise RigError(
            f"the rig has no device {device_id!r}",
            fix=f"use one of: {shown} (klaster rig status lists them all)",
        )

    async def inject_fault(
        self,
        device_id: str,
        kind: str | FaultKind,
        *,
        delay_s: float = DEFAULT_DELAY_S,
        point: str | None = None,
        value: float | None = None,
    ) -> Fault:
        """Make a device misbehave until :meth:`clear_fault` (replaces its current fault).

        Parameters
        ----------
        device_id
            The device, e.g. ``meter-cp-sp-1``.
        kind
            One of :class:`FaultKind` (see :mod:`adapters.rig.faults`).
        delay_s
            For ``slow``: the answer delay, s.
        point, value
            For ``hold-priority``: the held point and value (defaults: the
            first zone's setpoint at its upper occupied comfort bound).

        Raises
        ------
        RigError
            For an unknown device or a kind the device does not have.
        """
        planned = self._planned(device_id)
        fault = Fault(parse_fault_kind(str(kind), device_id, planned.protocol),
                      check_delay(delay_s), point, value)  # fmt: skip
        if device_id in self._modbus:
            await self._modbus[device_id].server.inject(fault)
            return fault
        return await self._bacnet[device_id].device.inject(fault)

    async def clear_fault(self, device_id: str) -> None:
        """Remove a device's fault; an offline device listens again on its port."""
        self._planned(device_id)
        if device_id in self._modbus:
            await self._modbus[device_id].server.clear()
            return
        device = self._bacnet[device_id].device
        await device.clear()
        device.read_commands(self.plant)
        device.publish(self.plant)

    def faults(self) -> dict[str, Fault]:
        """The active fault of each device that has one."""
        found = {i: d.server.fault for i, d in self._modbus.items() if d.server.fault}
        found |= {i: d.device.fault for i, d in self._bacnet.items() if d.device.fault}
        return {i: f for i, f in found.items() if f is not None}

    def status(self) -> dict[str, Any]:
        """What the rig serves and how it runs, as plain data (for the control channel)."""
        faults = self.faults()
        costs = self.tick_cost_s or [0.0]
        return {
            "sim_time": self.sim_time.isoformat(),
            "speed": self.clock.speed,
            "tick_s": self.options.tick_s,
            "ticks": self.ticks,
            "tick_ms_mean": 1000 * sum(costs) / len(costs),
            "tick_ms_max": 1000 * max(costs),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "devices": [
                {**self._endpoint_json(endpoint), "fault": _fault_json(faults, endpoint.id)}
                for endpoint in self.site_devices().devices
            ],
        }

    @staticmethod
    def _endpoint_json(endpoint: DeviceEndpoint) -> dict[str, Any]:
        return endpoint.model_dump(mode="json", include={"id", "owner", "protocol", "host", "port"})


def _fault_json(faults: dict[str, Fault], device_id: str) -> dict[str, Any] | None:
    return faults[device_id].as_json() if device_id in faults else None


def _free_udp_port(host: str) -> int:
    """A UDP port nothing holds on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
