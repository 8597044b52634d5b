"""Change-of-value subscriptions, renewed before their lifetime runs out.

A device forgets a subscription when its lifetime ends; a
:class:`CovSubscription` renews it ``renew_margin_s`` before that (at the
latest half-way through the lifetime) from its own task, so a failed renewal
is seen (``last_error``) and retried instead of being lost in a timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bacpypes3.apdu import ErrorRejectAbortNack

from adapters.bacnet.maps import BacnetPointBinding
from adapters.bacnet.values import StatusFlags, assess, decode_present_value, decode_status_flags
from adapters.device import PointReading
from adapters.errors import AdapterError

_log = logging.getLogger(__name__)

#: Called with one reading per present-value notification.
CovCallback = Callable[[PointReading], None]

#: How soon, in s, a failed renewal is tried again.
RENEWAL_RETRY_S = 1.0


class CovSubscription:
    """A running COV subscription to one point; :meth:`cancel` ends it.

    Built by :meth:`adapters.bacnet.client.BacnetClient.subscribe_cov`.

    Parameters
    ----------
    context
        The bacpypes3 subscription context, already subscribed.
    binding
        The point subscribed to.
    callback
        Called with a :class:`PointReading` for every present-value notification.
    lifetime_s
        The subscription lifetime asked of the device, s.
    renew_margin_s
        How long before the lifetime ends the subscription is renewed, s.
    renew
        Sends one renewal (a SubscribeCOV with the same process id), within a budget.
    on_end
        Called once when the subscription has ended.
    timeout_s
        Budget of the final unsubscribe request, s.
    """

    def __init__(
        self,
        context: Any,
        binding: BacnetPointBinding,
        callback: CovCallback,
        *,
        lifetime_s: float,
        renew_margin_s: float,
        renew: Callable[[], Awaitable[Any]],
        on_end: Callable[[CovSubscription], None],
        timeout_s: float,
    ) -> None:
        self.point_id = binding.point_id
        self.lifetime_s = lifetime_s
        self.renew_after_s = max(lifetime_s - renew_margin_s, lifetime_s / 2)
        self.renewals = 0
        self.last_error: str | None = None
        self._context = context
        self._binding = binding
        self._callback = callback
        self._renew = renew
        self._on_end = on_end
        self._timeout_s = timeout_s
        self._flags: StatusFlags | None = None
        # bacpypes3 schedules its own refresh timer; this class renews instead.
        self._cancel_stack_refresh()
        self._task = asyncio.create_task(self._run(), name=f"cov {binding.point_id}")

    @property
    def active(self) -> bool:
        """True until the subscription is cancelled."""
        return not self._task.done()

    async def cancel(self) -> None:
        """Stop renewing and unsubscribe; safe to call twice."""
        self._task.cancel()
        await asyncio.wait([self._task])

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_renewal = loop.time() + self.renew_after_s
        try:
            while True:
                wait_s = next_renewal - loop.time()
                if wait_s <= 0:
                    next_renewal = loop.time() + await self._renew_once()
                    continue
                try:
                    prop, value = await asyncio.wait_for(self._context.get_value(), wait_s)
                except TimeoutError:
                    continue
                # One notification carries present-value and status-flags together.
                notified = {str(prop): value}
                while not self._context.queue.empty():
                    prop, value = await self._context.get_value()
                    notified[str(prop)] = value
                if "status-flags" in notified:
                    self._flags = decode_status_flags(notified["status-flags"])
                if "present-value" in notified:
                    self._deliver(notified["present-value"])
        finally:
            await self._unsubscribe()
            self._on_end(self)

    async def _renew_once(self) -> float:
        """Renew; the delay until the next renewal, s."""
        try:
            await self._renew()
        except AdapterError as exc:
            self.last_error = str(exc)
            _log.warning("COV renewal of %s failed: %s", self.point_id, exc)
            return min(RENEWAL_RETRY_S, self.renew_after_s)
        self._cancel_stack_refresh()
        self.renewals += 1
        self.last_error = None
        return self.renew_after_s

    def _deliver(self, raw: Any) -> None:
        value = decode_present_value(self._binding, raw)
        passed, quality, detail = assess(self._binding, value, self._flags)
        reading = PointReading(
            self.point_id, passed, self._binding.point.unit, quality, datetime.now(UTC), detail
        )
        try:
            self._callback(reading)
        except Exception:
            # A faulty consumer must not end the subscription.
            _log.exception("COV callback for %s failed", self.point_id)

    def _cancel_stack_refresh(self) -> None:
        handle = getattr(self._context, "refresh_subscription_handle", None)
        if handle is not None:
            handle.cancel()

    async def _unsubscribe(self) -> None:
        try:
            await asyncio.wait_for(self._context.__aexit__(None, None, None), self._timeout_s)
        except (Exception, ErrorRejectAbortNack) as exc:
            # The device forgets the subscription when its lifetime ends anyway.
            _log.debug("unsubscribing COV of %s failed: %r", self.point_id, exc)
