"""The boundary to the bacpypes3 stack: applications, time budgets and folded errors.

bacpypes3 reports a BACnet Error, Reject or Abort by raising the PDU itself,
and those classes derive from ``BaseException`` (``ErrorRejectAbortNack``),
so ``except Exception`` does not see them. Every request klaster sends goes
through :func:`call`, which bounds it with ``asyncio.wait_for`` and turns
whatever comes back into klaster's own errors.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from bacpypes3.apdu import AbortPDU, ErrorPDU, ErrorRejectAbortNack
from bacpypes3.app import Application
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.pdu import Address, IPv4Address

from adapters.bacnet.maps import MAX_INSTANCE
from adapters.errors import AdapterError, DeviceUnreachable

T = TypeVar("T")

#: The vendor identifier klaster's own BACnet applications announce (999: "test/private").
KLASTER_VENDOR_ID = 999


class ServiceRefused(AdapterError):
    """The device answered a request with a BACnet Error, Reject or Abort.

    ``kind`` is ``error``, ``reject``, ``abort`` or ``failure`` (the stack
    could not send or decode); ``code`` is the BACnet name of the reason,
    e.g. ``unknown-object`` or ``unrecognized-service``.
    """

    def __init__(self, service: str, kind: str, code: str, detail: str) -> None:
        super().__init__(f"{service}: {kind} {detail}")
        self.service = service
        self.kind = kind
        self.code = code
        self.detail = detail


def parse_ipv4_address(address: str, *, role: str) -> Any:
    """A bacpypes3 IPv4 address from ``host:port`` (or ``host/prefix:port``).

    Raises
    ------
    AdapterError
        If ``address`` is not a BACnet/IP address.
    """
    try:
        parsed = Address(address)
    except (ValueError, TypeError, RuntimeError) as exc:
        # bacpypes3 raises RuntimeError for a host name it cannot resolve.
        raise AdapterError(
            f"{role} address {address!r} is not a BACnet/IP address: {exc}",
            fix="write it as host:port, e.g. 192.168.10.20:47808",
        ) from None
    if not isinstance(parsed, IPv4Address):
        raise AdapterError(
            f"{role} address {address!r} is not an IPv4 BACnet/IP address",
            fix="write it as host:port, e.g. 192.168.10.20:47808",
        )
    return parsed


def has_broadcast(address: Any) -> bool:
    """True when a local address names a subnet, so a local broadcast can be sent."""
    return bool(address.addrBroadcastTuple != address.addrTuple)


def make_application(
    local_address: str,
    device_instance: int,
    objects: Sequence[Any] = (),
    *,
    device_name: str,
    apdu_timeout_s: float = 3.0,
    apdu_retries: int = 0,
    application_class: type[Application] = Application,
) -> Any:
    """Build a bacpypes3 application with its device and network-port objects.

    Must be called inside a running event loop (bacpypes3 opens the UDP
    endpoint and schedules object set-up on it).

    Parameters
    ----------
    local_address
        The UDP address to bind, ``host:port``.
    device_instance
        The device object instance (0 to 4194302).
    objects
        Further local objects the application serves.
    device_name
        The device object's name.
    apdu_timeout_s
        How long, in s, the stack waits for an answer before it retries or aborts.
    apdu_retries
        How many times the stack repeats an unanswered request.
    application_class
        The Application class to instantiate.
    """
    _check_bindable(parse_ipv4_address(local_address, role="local"), local_address)
    if not 0 <= device_instance <= MAX_INSTANCE:
        raise AdapterError(
            f"device instance {device_instance} is outside 0-{MAX_INSTANCE}",
            fix="choose a device instance in that range, unique on the BACnet network",
        )
    device = DeviceObject(
        objectIdentifier=("device", device_instance),
        objectName=device_name,
        vendorIdentifier=KLASTER_VENDOR_ID,
        apduTimeout=max(1, round(apdu_timeout_s * 1000)),
        numberOfApduRetries=apdu_retries,
    )
    port = NetworkPortObject(
        local_address,
        objectIdentifier=("network-port", 1),
        objectName="NetworkPort-1",
        networkNumberQuality="unknown",
    )
    return application_class.from_object_list([device, port, *objects])


def _check_bindable(address: Any, local_address: str) -> None:
    """Fail fast when the local UDP port is taken or the host is not ours.

    bacpypes3 binds with SO_REUSEPORT, so a second application on the same port
    would share it silently, and a failed bind is retried forever in the
    background. A probe bind without SO_REUSEPORT catches both.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(address.addrTuple)
        except OSError as exc:
            raise AdapterError(
                f"cannot bind UDP {local_address}: {exc.strerror}",
                fix="choose a free local port and an address of this machine",
            ) from None


#: How long opening a UDP socket may take, s. A taken port is refused at once
#: (:func:`_check_bindable`); this only covers a busy event loop.
BIND_TIMEOUT_S = 10.0


async def wait_until_bound(
    application: Any, local_address: str, timeout_s: float = BIND_TIMEOUT_S
) -> None:
    """Wait until the application's UDP socket is open.

    bacpypes3 retries a failed bind forever in the background, so a port
    that is taken would otherwise go unnoticed.

    Raises
    ------
    AdapterError
        If the socket is not open within ``timeout_s`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    link_layers = list(application.link_layers.values())
    while not all(layer.server.local_transport is not None for layer in link_layers):
        if loop.time() > deadline:
            for layer in link_layers:
                # Stop bacpypes3's endless bind retries (its pending endpoint tasks).
                for task in getattr(layer.server, "_transport_tasks", []):
                    task.cancel()
            application.close()
            raise AdapterError(
                f"cannot bind UDP {local_address} within {timeout_s:g} s",
                fix="choose a free local port (another process may hold it)",
            )
        await asyncio.sleep(0.005)


async def close_application(application: Any) -> None:
    """Close the application's sockets and let the loop release them."""
    application.close()
    # asyncio closes a transport's socket in a callback on the next loop pass.
    for _ in range(3):
        await asyncio.sleep(0)


def local_transports(application: Any) -> list[Any]:
    """The open UDP transports of an application (asyncio selector datagram transports)."""
    transports = []
    for layer in application.link_layers.values():
        transport = layer.server.local_transport
        if transport is not None:
            transports.append(transport)
    return transports


async def call(request: Awaitable[T], *, service: str, device_label: str, timeout_s: float) -> T:
    """Await one BACnet request within a time budget, folding its failures.

    Parameters
    ----------
    request
        The bacpypes3 coroutine (read, write, subscribe ...).
    service
        What is asked, for messages, e.g. ``read-property analog-input,3 present-value``.
    device_label
        The device, for messages, e.g. ``bldg-city-hall (10.1.2.3:47808)``.
    timeout_s
        The budget in s; past it the request is abandoned.

    Raises
    ------
    DeviceUnreachable
        If nothing came back within the budget (or the stack gave up: ``no-response``).
    ServiceRefused
        If the device answered with an Error, Reject or Abort, or the stack failed.
    """
    try:
        return await asyncio.wait_for(request, timeout_s)
    except TimeoutError:
        raise _unreachable(service, device_label, timeout_s) from None
    except ErrorRejectAbortNack as exc:
        raise _refusal(service, device_label, timeout_s, exc) from None
    except AdapterError:
        raise
    except Exception as exc:
        # The stack raises plain exceptions for what it cannot encode or decode;
        # they concern this request only.
        raise ServiceRefused(service, "failure", type(exc).__name__, f"{exc!r}") from None


def _unreachable(service: str, device_label: str, timeout_s: float) -> DeviceUnreachable:
    return DeviceUnreachable(
        f"{device_label} did not answer {service} within {timeout_s:g} s",
        fix="check that the controller is powered, reachable at that address and that "
        "its device instance matches the configuration",
    )


def _refusal(
    service: str, device_label: str, timeout_s: float, exc: ErrorRejectAbortNack
) -> AdapterError:
    if isinstance(exc, ErrorPDU):
        code = str(getattr(exc, "errorCode", "") or "error")
        error_class = str(getattr(exc, "errorClass", "") or "")
        return ServiceRefused(service, "error", code, f"{error_class}: {code}")
    code = str(exc)
    if isinstance(exc, AbortPDU):
        if code == "no-response":
            return _unreachable(service, device_label, timeout_s)
        return ServiceRefused(service, "abort", code, code)
    return ServiceRefused(service, "reject", code, code)
