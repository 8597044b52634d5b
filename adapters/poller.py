"""The poller: reads every device of a site on its own schedule and stores the readings.

Each device is polled every ``scan_interval_s`` seconds, at most
``concurrency`` devices at a time. A device that does not answer (or whose
client raises any adapter error) has **all its points stored STALE with no
value** for that poll — never its last value — and is retried with
exponential back-off (``backoff_initial_s`` doubling up to ``backoff_max_s``,
reset by the first answer), while the other devices keep their schedule. A
device's error never stops the poller; it is logged and shown in the device's
:class:`DeviceStatus`.

Storage:

* series id: a device point's klaster point id ``asset/point`` (see
  :func:`adapters.clients.klaster_point`) becomes
  ``SeriesId.point(asset, point)`` = ``point/<asset>/<point>``, e.g.
  ``point/bldg-library/z1.room_temp`` or ``point/battery-kof/soc``;
* timestamp: every reading of one device poll is stored at the poll's start
  time in UTC, truncated to the whole second (the store keys readings by
  second); a later poll in the same second replaces an earlier one;
* batching (:mod:`adapters.reading_batches`): readings are queued and
  written ``batch_size`` at a time, one store transaction per batch, with
  value NaN whenever the quality is not GOOD; whatever is queued is written
  every ``flush_interval_s`` seconds and when the poller stops or closes.

The poller lives in one event loop: build it, poll and close it in the same one.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

from bacpypes3.apdu import ErrorRejectAbortNack

from adapters.clients import DeviceClientFactory, PolledDevice, klaster_point
from adapters.device import DeviceClient, PointReading
from adapters.errors import AdapterError
from adapters.reading_batches import ColumnReader, ReadingBatcher, ReadingColumns, StoreCounts
from adapters.site import DeviceEndpoint
from cluster.timeseries import Quality, SeriesId, TimeSeriesStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollerSettings:
    """How hard and how often the poller works.

    Parameters
    ----------
    concurrency
        Devices polled at the same time, at most.
    batch_size
        Readings per store transaction.
    flush_interval_s
        Longest time a reading waits in the queue before it is written, s.
    backoff_initial_s, backoff_max_s
        Wait before the first retry of a failed device, s, doubled after each
        further failure up to the maximum, s.
    poll_timeout_s
        Longest one device poll (connect and read) may take, s.
    stop_grace_s
        On stop, how long polls in flight may take to finish, s, before they are cancelled.
    """

    concurrency: int = 64
    batch_size: int = 2000
    flush_interval_s: float = 5.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    poll_timeout_s: float = 30.0
    stop_grace_s: float = 2.0

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch_size < 1:
            raise ValueError("concurrency and batch_size must be at least 1")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("need 0 < backoff_initial_s <= backoff_max_s")

    def backoff_s(self, consecutive_failures: int) -> float:
        """The wait before the next attempt after ``consecutive_failures`` failures, s."""
        exponent = min(consecutive_failures - 1, 30)
        return min(self.backoff_max_s, self.backoff_initial_s * 2.0**exponent)


@dataclass
class DeviceStatus:
    """What the poller knows about one device, for display."""

    device_id: str
    protocol: str
    owner: str
    last_ok: datetime | None = None
    last_attempt: datetime | None = None
    consecutive_failures: int = 0
    backoff_s: float = 0.0
    next_attempt: datetime | None = None
    last_error: str = ""
    polls: int = 0
    failures: int = 0
    points_good: int = 0
    points_total: int = 0

    @property
    def ok(self) -> bool:
        """True when the device answered its last poll."""
        return self.last_attempt is not None and self.consecutive_failures == 0


@dataclass(frozen=True)
class DevicePoll:
    """One poll of one device: what it gave (or the STALE readings written in its place)."""

    device_id: str
    ts: datetime
    #: The readings, column by column.
    columns: ReadingColumns
    error: str
    duration_s: float

    @property
    def ok(self) -> bool:
        """True when the device answered."""
        return not self.error

    @cached_property
    def readings(self) -> tuple[PointReading, ...]:
        """The readings as objects, made on first use (a sweep stores them without)."""
        return tuple(self.columns.readings())


@dataclass(frozen=True)
class SweepResult:
    """One poll of every device (:meth:`Poller.poll_once`)."""

    polls: tuple[DevicePoll, ...]
    statuses: tuple[DeviceStatus, ...]
    duration_s: float

    @property
    def answered(self) -> int:
        """Devices that answered."""
        return sum(poll.ok for poll in self.polls)


@dataclass
class _Device:
    polled: PolledDevice
    status: DeviceStatus
    #: Device point id → unit of every point the device is known to have.
    points: dict[str, str]
    #: Device point id → series id, built once per point.
    series: dict[str, str]
    #: Reads every point of the device.
    read: Callable[[], Awaitable[ReadingColumns]]
    needs_connect: bool = True


class Poller:
    """Polls a site's devices into a time-series store.

    Use it as an async context manager (or call :meth:`close`) around
    :meth:`poll_once`; :meth:`run` closes it itself.

    Parameters
    ----------
    endpoints
        The devices to poll.
    store
        Where readings go.
    clients
        Builds each endpoint's client (raises at once for a device that cannot be built).
    settings
        Concurrency, batching and back-off.
    """

    def __init__(
        self,
        endpoints: Sequence[DeviceEndpoint],
        store: TimeSeriesStore,
        clients: DeviceClientFactory,
        settings: PollerSettings | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or PollerSettings()
        self._factory = clients
        self._devices = [
            _Device(
                polled,
                DeviceStatus(
                    polled.endpoint.id, str(polled.endpoint.protocol), polled.endpoint.owner
                ),
                dict(polled.points),
                {},
                _column_reader(polled.client),
            )
            for polled in clients.build_all(endpoints)
        ]
        self._batches = ReadingBatcher(store, self.settings.batch_size)
        self._limit: asyncio.Semaphore | None = None
        self._started = False
        self._closed = False

    async def __aenter__(self) -> Poller:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- what it knows ------------------------------------------------------------

    @property
    def devices(self) -> tuple[PolledDevice, ...]:
        """The devices polled, with their clients, in the order of the endpoints."""
        return tuple(device.polled for device in self._devices)

    def statuses(self) -> tuple[DeviceStatus, ...]:
        """A snapshot of every device's status, in the order of the endpoints."""
        return tuple(copy.copy(device.status) for device in self._devices)

    @property
    def counts(self) -> StoreCounts:
        """Readings queued, stored and dropped so far, and store transactions made."""
        return self._batches.counts

    @property
    def pending(self) -> int:
        """Readings queued but not yet written."""
        return len(self._batches)

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Open what the clients share; called by the first poll if not before."""
        if not self._started:
            self._limit = asyncio.Semaphore(self.settings.concurrency)
            await self._factory.start()
            self._started = True

    async def close(self) -> None:
        """Write everything queued and close every client; safe to call twice."""
        self.flush()
        if self._closed:
            return
        self._closed = True
        for device in self._devices:
            try:
                await device.polled.client.close()
            except (Exception, ErrorRejectAbortNack) as exc:
                log.warning("%s: closing the client failed: %s", device.status.device_id, exc)
        await self._factory.close()

    # --- polling ------------------------------------------------------------------

    async def poll_once(self) -> SweepResult:
        """Poll every device once, concurrently (back-off or not), and write what was read.

        Returns
        -------
        SweepResult
            Each device's readings (STALE ones for a device that did not
            answer) and every device's status afterwards.
        """
        await self.start()
        began = time.perf_counter()
        polls = await self._poll_all()
        self.flush()
        return SweepResult(polls, self.statuses(), time.perf_counter() - began)

    async def _poll_all(self) -> tuple[DevicePoll, ...]:
        """Poll every device once, in endpoint order, ``concurrency`` at a time."""
        polls: list[DevicePoll | None] = [None] * len(self._devices)
        # One task per concurrent poll rather than per device: the tasks take the
        # devices in turn, so a large site costs no task and no semaphore wait per device.
        queue = iter(enumerate(self._devices))

        async def take_turns() -> None:
            for position, device in queue:
                polls[position] = await self._poll(device)

        workers = min(self.settings.concurrency, len(self._devices))
        await asyncio.gather(*(take_turns() for _ in range(workers)))
        return tuple(poll for poll in polls if poll is not None)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every device on its schedule until ``stop`` is set, then write all and close.

        Polls in flight when ``stop`` is set get ``stop_grace_s`` to finish;
        everything read is written before this returns.
        """
        await self.start()
        tasks = [
            asyncio.create_task(self._device_loop(device, stop), name=device.status.device_id)
            for device in self._devices
        ]
        flusher = asyncio.create_task(self._flush_loop(stop), name="poller-flush")
        try:
            await stop.wait()
        finally:
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=self.settings.stop_grace_s)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await self.close()

    async def _device_loop(self, device: _Device, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        interval_s = device.polled.endpoint.scan_interval_s
        due = loop.time()
        while not stop.is_set():
            poll = await self._poll(device)
            if poll.ok:
                # Keep to the schedule; a poll that overran starts the next one at once.
                due = max(due + interval_s, loop.time())
            else:
                due = loop.time() + device.status.backoff_s
            if await _stopped_within(stop, due - loop.time()):
                return

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while not await _stopped_within(stop, self.settings.flush_interval_s):
            self.flush()

    async def _poll(self, device: _Device) -> DevicePoll:
        assert self._limit is not None
        async with self._limit:
            began = time.perf_counter()
            now = datetime.now(UTC)
            error = ""
            readings = _NO_READINGS
            try:
                async with asyncio.timeout(self.settings.poll_timeout_s):
                    if device.needs_connect:
                        await device.polled.client.connect()
                        device.needs_connect = False
                    readings = await device.read()
            except TimeoutError:
                error = f"no complete answer within {self.settings.poll_timeout_s:g} s"
            except AdapterError as exc:
                error = exc.message
            except ErrorRejectAbortNack as exc:
                # A BACnet error that escaped the client (it derives from BaseException).
                error = f"BACnet {type(exc).__name__}: {exc}"
            except Exception as exc:
                log.exception("%s: unexpected error while polling", device.status.device_id)
                error = f"unexpected {type(exc).__name__}: {exc}"
            duration_s = time.perf_counter() - began
        ts = now.replace(microsecond=0)
        if error:
            readings = self._stale(device, ts)
        good = self._batches.add(
            readings,
            int(ts.timestamp()),
            device.series,
            lambda point_id, unit: self._new_series(device, point_id, unit),
        )
        if error:
            self._failed(device, now, error)
        else:
            self._answered(device, now, len(readings), good)
        return DevicePoll(device.status.device_id, ts, readings, error, duration_s)

    @staticmethod
    def _stale(device: _Device, ts: datetime) -> ReadingColumns:
        # The error itself is in the DevicePoll and the status, once per device.
        return ReadingColumns.without_value(
            list(device.points), list(device.points.values()), Quality.STALE, ts, _NO_ANSWER
        )

    def _failed(self, device: _Device, now: datetime, error: str) -> None:
        status = device.status
        device.needs_connect = True
        status.polls += 1
        status.failures += 1
        status.consecutive_failures += 1
        status.last_attempt = now
        status.backoff_s = self.settings.backoff_s(status.consecutive_failures)
        status.next_attempt = now + timedelta(seconds=status.backoff_s)
        status.points_good = 0
        status.points_total = len(device.points)
        if error != status.last_error:
            log.warning(
                "%s: %s (points stored STALE; retry in %g s)",
                status.device_id,
                error,
                status.backoff_s,
            )
        else:
            log.debug("%s: still failing (%d times)", status.device_id, status.consecutive_failures)
        status.last_error = error

    def _answered(self, device: _Device, now: datetime, readings: int, good: int) -> None:
        status = device.status
        if status.consecutive_failures:
            log.info(
                "%s: answering again after %d failed polls",
                status.device_id,
                status.consecutive_failures,
            )
        status.polls += 1
        status.consecutive_failures = 0
        status.backoff_s = 0.0
        status.last_ok = status.last_attempt = now
        status.next_attempt = now + timedelta(seconds=device.polled.endpoint.scan_interval_s)
        status.last_error = ""
        status.points_good = good
        status.points_total = readings

    # --- storing ------------------------------------------------------------------

    def _new_series(self, device: _Device, point_id: str, unit: str) -> str:
        """The series id of a point seen for the first time; the point is known from now on."""
        series_id = SeriesId.point(*klaster_point(device.polled.endpoint, point_id))
        device.series[point_id] = series_id
        device.points.setdefault(point_id, unit)
        return series_id

    def flush(self) -> None:
        """Write everything queued now, ``batch_size`` readings per transaction."""
        self._batches.flush()


_NO_READINGS = ReadingColumns((), (), (), (), (), ())
_NO_ANSWER = "device did not answer"


def _column_reader(client: DeviceClient) -> Callable[[], Awaitable[ReadingColumns]]:
    """How to read a client's points as columns: straight, or from its readings."""
    if isinstance(client, ColumnReader):
        return client.read_columns

    async def read_as_columns() -> ReadingColumns:
        return ReadingColumns.of(await client.read_points())

    return read_as_columns


async def _stopped_within(stop: asyncio.Event, delay_s: float) -> bool:
    """Wait up to ``delay_s`` seconds for ``stop``; True when it is set."""
    if stop.is_set() or delay_s <= 0:
        return stop.is_set()
    try:
        async with asyncio.timeout(delay_s):
            await stop.wait()
    except TimeoutError:
        return False
    return True
