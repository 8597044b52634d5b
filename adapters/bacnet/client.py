"""The BACnet/IP client: discovery, polling and commanding of building controllers.

One :class:`BacnetClient` owns one bacpypes3 application on one local UDP
address and talks to many devices. Every request has a time budget, so a dead
controller costs one budget, not the stack's 12 s. Reads use
ReadPropertyMultiple in chunks and fall back to single reads when a device
refuses it; a failure of one object fails that point only.

Commands go through the priority array under klaster's safety rules (see
:mod:`adapters.bacnet.commands`): never priorities 1-7, never NaN, infinity or
a value outside the point's range, a read-back after every write, no
escalation, and every slot written is remembered so :meth:`relinquish_all`
can release it on the way out.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bacpypes3.apdu import ErrorRejectAbortNack
from bacpypes3.basetypes import PropertyIdentifier
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import Null, ObjectIdentifier, Real

from adapters.bacnet import stack
from adapters.bacnet.commands import DEFAULT_WRITE_PRIORITY, CommandState, PriorityCommander
from adapters.bacnet.cov import CovCallback, CovSubscription
from adapters.bacnet.maps import MAX_INSTANCE, BacnetDevice, BacnetPointBinding
from adapters.bacnet.stack import ServiceRefused
from adapters.bacnet.values import assess, decode_present_value, decode_status_flags
from adapters.device import PointReading, WriteResult
from adapters.errors import AdapterError, DeviceUnreachable, PointReadError
from cluster.timeseries import Quality

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 3.0
DEFAULT_RPM_CHUNK = 24
#: How much later than the budget, s, the stack itself gives up on a request.
STACK_TIMEOUT_MARGIN_S = 0.5
PRESENT_VALUE = "present-value"
STATUS_FLAGS = "status-flags"


@dataclass(frozen=True)
class DiscoveredDevice:
    """A device that answered Who-Is with I-Am."""

    device_instance: int
    address: str
    vendor_id: int
    max_apdu_length: int
    segmentation: str


class BacnetClient:
    """A BACnet/IP client on one local UDP address, for any number of devices.

    Parameters
    ----------
    local_address
        The local UDP address, ``host:port``; ``host/prefix:port`` also allows broadcasts.
    device_instance
        The instance of klaster's own device object (unique on the network).
    timeout_s
        Budget of each request, s; a device silent for this long is unreachable.
    rpm_chunk_size
        Objects per ReadPropertyMultiple request.
    min_write_priority
        The numerically lowest (most important) priority klaster may write, 8-16.
    """

    def __init__(
        self,
        local_address: str,
        *,
        device_instance: int = MAX_INSTANCE,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        rpm_chunk_size: int = DEFAULT_RPM_CHUNK,
        min_write_priority: int = DEFAULT_WRITE_PRIORITY,
    ) -> None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise AdapterError(f"timeout_s must be a positive number of seconds, not {timeout_s}")
        if rpm_chunk_size < 1:
            raise AdapterError(f"rpm_chunk_size must be at least 1, not {rpm_chunk_size}")
        self._commander = PriorityCommander(
            self._read_property, self._write_present_value, min_write_priority
        )
        self._local = stack.parse_ipv4_address(local_address, role="local")
        self.local_address = local_address
        self.device_instance = device_instance
        self.timeout_s = timeout_s
        self.rpm_chunk_size = rpm_chunk_size
        self.min_write_priority = min_write_priority
        self._app: Any = None
        self._no_rpm: set[str] = set()
        self._subscriptions: set[CovSubscription] = set()

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Open the local UDP socket; raises AdapterError when it cannot be bound."""
        if self._app is not None:
            return
        # The stack's own timeout lies beyond our budget: the budget cancels the request
        # first, and the stack's later 'no-response' finds nothing left to complete.
        app = stack.make_application(
            self.local_address,
            self.device_instance,
            device_name=f"klaster-{self.device_instance}",
            apdu_timeout_s=self.timeout_s + STACK_TIMEOUT_MARGIN_S,
            apdu_retries=0,
        )
        await stack.wait_until_bound(app, self.local_address)
        self._app = app

    async def close(self) -> None:
        """Stop subscriptions and close the socket; safe to call twice.

        Does not relinquish: call :meth:`relinquish_all` first (``async with`` does).
        """
        for subscription in list(self._subscriptions):
            await subscription.cancel()
        if self._app is not None:
            app, self._app = self._app, None
            await stack.close_application(app)

    async def __aenter__(self) -> BacnetClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.relinquish_all()
        finally:
            await self.close()

    # --- discovery -----------------------------------------------------------

    async def who_is(
        self, low: int | None = None, high: int | None = None, address: str | None = None
    ) -> list[DiscoveredDevice]:
        """Send Who-Is (to ``address``, or broadcast when it is None) and collect I-Am answers.

        A directed Who-Is for one instance returns as soon as it is answered;
        otherwise answers are collected for ``timeout_s``. Broadcast needs a
        local address with a prefix (``host/24:port``).
        """
        app = self._require_app()
        destination = None
        if address is not None:
            destination = stack.parse_ipv4_address(address, role="device")
        elif not stack.has_broadcast(self._local):
            raise AdapterError(
                f"local address {self.local_address} has no subnet, so Who-Is cannot be broadcast",
                fix="give each device's address (directed Who-Is), or a local address with a "
                "prefix such as 192.168.10.5/24:47808",
            )
        label = address or "broadcast"
        try:
            found = await asyncio.wait_for(
                app.who_is(low, high, destination, timeout=self.timeout_s), self.timeout_s + 0.5
            )
        except TimeoutError:
            found = []
        except ErrorRejectAbortNack as exc:
            raise AdapterError(f"Who-Is to {label} failed: {exc}") from None
        return [
            DiscoveredDevice(
                device_instance=int(i_am.iAmDeviceIdentifier[1]),
                address=str(i_am.pduSource),
                vendor_id=int(i_am.vendorID),
                max_apdu_length=int(i_am.maxAPDULengthAccepted),
                segmentation=str(i_am.segmentationSupported),
            )
            for i_am in found
        ]

    async def discover(self, device: BacnetDevice) -> DiscoveredDevice:
        """Find a configured device with a directed Who-Is to its address.

        Raises
        ------
        DeviceUnreachable
            If no I-Am for its instance comes from its address within ``timeout_s``.
        """
        found = await self.who_is(device.device_instance, device.device_instance, device.address)
        if not found:
            raise DeviceUnreachable(
                f"{_label(device)}: no I-Am for device {device.device_instance} within "
                f"{self.timeout_s:g} s",
                fix="check the address, that the controller is on, and its device instance",
            )
        return found[0]

    # --- reading -------------------------------------------------------------

    async def read_points(self, device: BacnetDevice) -> list[PointReading]:
        """Read present value and status flags of every point of ``device``.

        A point whose object the device lacks, or that it refuses, comes back
        MISSING with a detail naming the object; the others are unaffected.

        Raises
        ------
        DeviceUnreachable
            If the device answers nothing at all within the budget.
        """
        self._require_app()
        raw: dict[str, tuple[Any, Any, str]] = {}
        answered = False
        silent_detail = ""
        for start in range(0, len(device.bindings), self.rpm_chunk_size):
            chunk = device.bindings[start : start + self.rpm_chunk_size]
            if silent_detail:
                raw.update({b.point_id: (None, None, silent_detail) for b in chunk})
                continue
            try:
                raw.update(await self._read_chunk(device, chunk))
                answered = True
            except DeviceUnreachable as exc:
                if not answered:
                    raise
                # The device answered earlier in this poll: lose the rest, not the poll.
                silent_detail = f"no answer: {exc.message}"
                raw.update({b.point_id: (None, None, silent_detail) for b in chunk})
        now = datetime.now(UTC)
        readings = []
        for binding in device.bindings:
            value_raw, flags_raw, error = raw[binding.point_id]
            if error:
                readings.append(
                    PointReading(
                        binding.point_id, None, binding.point.unit, Quality.MISSING, now, error
                    )
                )
                continue
            flags = decode_status_flags(flags_raw) if flags_raw is not None else None
            value = decode_present_value(binding, value_raw)
            passed, quality, detail = assess(binding, value, flags)
            readings.append(
                PointReading(binding.point_id, passed, binding.point.unit, quality, now, detail)
            )
        return readings

    async def _read_chunk(
        self, device: BacnetDevice, chunk: tuple[BacnetPointBinding, ...]
    ) -> dict[str, tuple[Any, Any, str]]:
        """Raw (present value, status flags, error) per point id of one chunk."""
        if device.address not in self._no_rpm:
            try:
                return await self._read_chunk_multiple(device, chunk)
            except ServiceRefused as exc:
                if exc.code == "unrecognized-service":
                    self._no_rpm.add(device.address)
        return {b.point_id: await self._read_single(device, b) for b in chunk}

    async def _read_chunk_multiple(
        self, device: BacnetDevice, chunk: tuple[BacnetPointBinding, ...]
    ) -> dict[str, tuple[Any, Any, str]]:
        parameters: list[Any] = []
        for binding in chunk:
            parameters += [
                ObjectIdentifier(binding.object_identifier),
                [PRESENT_VALUE, STATUS_FLAGS],
            ]
        address = Address(device.address)
        results = await self._call(
            device,
            f"read-property-multiple of {len(chunk)} objects",
            self._app.read_property_multiple(address, parameters),
        )
        if not isinstance(results, list):
            raise ServiceRefused("read-property-multiple", "failure", "no-result", "no result")
        by_object: dict[tuple[str, str], Any] = {}
        for object_id, property_id, _index, value in results:
            by_object[(str(object_id), str(property_id))] = value
        out: dict[str, tuple[Any, Any, str]] = {}
        for binding in chunk:
            name = binding.object_identifier
            value = by_object.get((name, "present-value"))
            flags = by_object.get((name, "status-flags"))
            if value is None or _is_access_error(value):
                why = _access_error_text(value) if value is not None else "not in the answer"
                out[binding.point_id] = (None, None, f"{name} present-value: {why}")
                continue
            out[binding.point_id] = (value, None if _is_access_error(flags) else flags, "")
        return out

    async def _read_single(
        self, device: BacnetDevice, binding: BacnetPointBinding
    ) -> tuple[Any, Any, str]:
        name = binding.object_identifier
        try:
            value = await self._read_property(device, binding, PRESENT_VALUE)
        except ServiceRefused as exc:
            return None, None, f"{name} present-value: {exc.detail}"
        try:
            flags = await self._read_property(device, binding, STATUS_FLAGS)
        except ServiceRefused:
            flags = None  # a device without status-flags still gives a value
        return value, flags, ""

    async def _read_property(
        self, device: BacnetDevice, binding: BacnetPointBinding, prop: str
    ) -> Any:
        return await self._call(
            device,
            f"read-property {binding.object_identifier} {prop}",
            self._app.read_property(
                Address(device.address),
                ObjectIdentifier(binding.object_identifier),
                PropertyIdentifier(prop),
            ),
        )

    # --- commanding ----------------------------------------------------------

    @property
    def commanded_slots(self) -> list[tuple[str, str, int]]:
        """(device id, point id, priority) of every slot this client wrote and holds."""
        return self._commander.held_slots

    async def write_setpoint(
        self,
        device: BacnetDevice,
        point_id: str,
        value: float,
        priority: int = DEFAULT_WRITE_PRIORITY,
    ) -> WriteResult:
        """Command a point's present value at ``priority`` and verify it by read-back.

        Parameters
        ----------
        device
            The device serving the point.
        point_id
            The point's id within the device, e.g. ``z1.setpoint``.
        value
            The value in the point's unit (°C for a temperature setpoint).
        priority
            The BACnet priority, from ``min_write_priority`` to 16.

        Returns
        -------
        WriteResult
            ``ok`` only when our slot holds the value and drives the present
            value; ``detail`` says ``overridden by priority N`` when a higher
            priority holds the point (klaster never escalates), or describes
            a read-back mismatch (never retried).

        Raises
        ------
        PointWriteRejected
            Before sending, for a point that is not writable, a reserved
            priority (1-7), NaN/infinity or a value outside the point's range
            (never clamped); after sending, when the device refuses the write.
        DeviceUnreachable
            If the device does not answer.
        """
        self._require_app()
        return await self._commander.write_setpoint(device, point_id, value, priority)

    async def relinquish(
        self, device: BacnetDevice, point_id: str, priority: int = DEFAULT_WRITE_PRIORITY
    ) -> WriteResult:
        """Release a command: write Null at ``priority`` and read the array back.

        ``ok`` when the slot is empty afterwards; ``read_back`` is the present
        value then in force (a lower priority's, or the relinquish default).
        """
        self._require_app()
        return await self._commander.relinquish(device, point_id, priority)

    async def relinquish_all(self, device: BacnetDevice | None = None) -> list[WriteResult]:
        """Release every slot this client wrote (on ``device`` only, if given).

        Safe in a ``finally``: never raises for a failed release (that result
        says ``ok=False``), and completes even while the calling task is
        being cancelled.
        """
        if self._app is None:
            return []
        return await self._commander.relinquish_all(device)

    async def command_state(self, device: BacnetDevice, point_id: str) -> CommandState:
        """Who holds a commandable point: see :meth:`PriorityCommander.command_state`."""
        self._require_app()
        return await self._commander.command_state(device, point_id)

    async def _write_present_value(
        self, device: BacnetDevice, binding: BacnetPointBinding, value: float | None, priority: int
    ) -> None:
        encoded = Null(()) if value is None else Real(value)
        await self._call(
            device,
            f"write-property {binding.object_identifier} present-value @{priority}",
            self._app.write_property(
                Address(device.address),
                ObjectIdentifier(binding.object_identifier),
                PRESENT_VALUE,
                encoded,
                None,
                priority,
            ),
        )

    # --- change of value -----------------------------------------------------

    async def subscribe_cov(
        self,
        device: BacnetDevice,
        point_id: str,
        lifetime_s: int,
        callback: CovCallback,
        *,
        renew_margin_s: float = 3.0,
    ) -> CovSubscription:
        """Subscribe to a point's changes of value; renewed before ``lifetime_s`` runs out.

        ``callback`` gets a :class:`PointReading` per notification. Cancel the
        returned subscription (or close the client) to unsubscribe.

        Raises
        ------
        PointReadError
            If the device refuses the subscription.
        DeviceUnreachable
            If the device does not answer.
        """
        app = self._require_app()
        binding = device.binding(point_id)
        if lifetime_s < 1:
            raise AdapterError(
                f"COV lifetime {lifetime_s} s is too short",
                fix="use a lifetime of at least 1 s (typically 60-300 s)",
            )
        context = app.change_of_value(
            Address(device.address),
            ObjectIdentifier(binding.object_identifier),
            None,
            False,
            int(lifetime_s),
        )
        try:
            await self._call(
                device, f"subscribe-cov {binding.object_identifier}", context.__aenter__()
            )
        except ServiceRefused as exc:
            raise PointReadError(
                f"{_label(device)} {point_id}: COV subscription refused: {exc.detail}",
                fix="poll the point instead",
            ) from None
        subscription = CovSubscription(
            context,
            binding,
            callback,
            lifetime_s=lifetime_s,
            renew_margin_s=renew_margin_s,
            renew=lambda: self._call(
                device, f"renew COV {binding.object_identifier}", context.refresh_subscription()
            ),
            on_end=self._subscriptions.discard,
            timeout_s=self.timeout_s,
        )
        self._subscriptions.add(subscription)
        return subscription

    # --- plumbing ------------------------------------------------------------

    def _require_app(self) -> Any:
        if self._app is None:
            raise AdapterError(
                "the BACnet client is not started",
                fix="call start() or use 'async with BacnetClient(...)'",
            )
        return self._app

    async def _call(self, device: BacnetDevice, service: str, request: Awaitable[T]) -> T:
        self._require_app()
        return await stack.call(
            request, service=service, device_label=_label(device), timeout_s=self.timeout_s
        )


def _label(device: BacnetDevice) -> str:
    return f"{device.device_id} ({device.address})"


def _is_access_error(value: Any) -> bool:
    return value is not None and hasattr(value, "errorCode") and hasattr(value, "errorClass")


def _access_error_text(value: Any) -> str:
    return f"{value.errorClass}: {value.errorCode}"
