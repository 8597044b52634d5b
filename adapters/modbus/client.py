"""The Modbus device client: polls a mapped device and writes its setpoints.

Failure handling, per read block:

* exception 1/2/3 (the request does not fit the device): a merged block is
  split into one read per point, and the points the device refuses alone are
  disabled for the life of the client, with the reason logged once; the
  other points are read again, merged only where contiguous;
* exception 4/5/6/10/11 (device failure or busy): retried within the poll with
  a doubling back-off, a bounded number of times; then the block's points are
  MISSING for this poll;
* a reply of the wrong length: the block's points are MISSING with a detail;
* no connection or no answer in time: :class:`DeviceUnreachable` leaves
  :meth:`ModbusDeviceClient.read_points` (the poller marks the device's
  points stale); the next call reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from adapters.device import PointReading, WriteResult
from adapters.errors import DeviceMapError, PointReadError, PointWriteRejected
from adapters.modbus.blocks import BlockDecoder, ReadBlock, plan_blocks
from adapters.modbus.connection import (
    DeviceExceptionReply,
    MalformedReply,
    ModbusConnection,
    ModbusLink,
    RetryPolicy,
    read_with_retry,
)
from adapters.modbus.decode import (
    FLOAT_TYPES,
    Bounds,
    RegisterType,
    decode_point,
    decode_registers,
    effective_bounds,
    encode_value,
    scale_multiplier,
)
from adapters.modbus.maps import DeviceMap, RegisterPoint
from adapters.reading_batches import ReadingColumns
from cluster.points import Point
from cluster.timeseries import Quality

log = logging.getLogger(__name__)


class ModbusDeviceClient:
    """A mapped Modbus device: reads every point, writes writable ones with read-back.

    Parameters
    ----------
    device_id
        klaster's id of the device (for messages and readings).
    device_map
        Which registers hold which points.
    connection
        How to reach the device.
    points
        The configured points of the asset, if any: their ranges tighten the
        map's (for reads and writes) and their units must match the map's.
    retry
        Retry policy for busy/failed answers.
    """

    def __init__(
        self,
        device_id: str,
        device_map: DeviceMap,
        connection: ModbusConnection,
        *,
        points: Sequence[Point] = (),
        retry: RetryPolicy | None = None,
    ) -> None:
        self.device_id = device_id
        self.device_map = device_map
        self.link = ModbusLink(connection)
        self.retry = retry or RetryPolicy()
        configured = {p.id: p for p in points}
        self._bounds: dict[str, Bounds] = {}
        for register in device_map.points:
            point = configured.get(register.point_id)
            if point is not None and point.unit != register.unit:
                raise DeviceMapError(
                    f"{device_map.source}: point {register.point_id!r} is in {register.unit!r} "
                    f"in the map but in {point.unit!r} in the configuration",
                    fix="convert the map entry with scale so the units agree",
                )
            self._bounds[register.point_id] = effective_bounds(register, point)
        numeric = [p for p in device_map.points if not p.is_text]
        self._numeric_ids = [p.point_id for p in numeric]
        self._disabled: dict[str, str] = {}
        self._decoders: dict[int, BlockDecoder] = {}
        self._blocks: list[ReadBlock] = []
        self._in_map_order = False
        self._set_blocks(plan_blocks(numeric, max_gap=device_map.max_gap))

    def _set_blocks(self, blocks: list[ReadBlock]) -> None:
        """Read these blocks from the next poll on."""
        self._blocks = blocks
        live = {id(block) for block in blocks}
        self._decoders = {key: d for key, d in self._decoders.items() if key in live}
        # When the blocks hold every numeric point in map order, a poll's readings are
        # the blocks' readings one after the other, with no reordering.
        self._in_map_order = [
            p.point_id for block in blocks for p in block.points
        ] == self._numeric_ids

    @property
    def blocks(self) -> tuple[ReadBlock, ...]:
        """The read requests one poll sends (changes when the device refuses a merged read)."""
        return tuple(self._blocks)

    @property
    def disabled_points(self) -> Mapping[str, str]:
        """Points the device refused, with the reason."""
        return dict(self._disabled)

    async def connect(self) -> None:
        """Open the connection; raises DeviceUnreachable when the device does not answer."""
        await self.link.connect()

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        await self.link.close()

    async def _read_block(self, block: ReadBlock) -> list[int]:
        return await read_with_retry(self.link, block.table, block.address, block.count, self.retry)

    def _decoder(self, block: ReadBlock) -> BlockDecoder:
        """The decoder of a block, made on its first reply."""
        decoder = self._decoders.get(id(block))
        # A decoder keeps its block alive, so the id of a block it holds is never reused;
        # the identity check is for the ids of blocks read once and dropped.
        if decoder is None or decoder.block is not block:
            decoder = BlockDecoder(block, self.device_map.word_order, self._bounds)
            self._decoders[id(block)] = decoder
        return decoder

    def _decode_block(
        self, block: ReadBlock, registers: Sequence[int], ts: datetime
    ) -> ReadingColumns:
        decoder = self._decoder(block)
        values, qualities, details = decoder.decode(registers)
        return ReadingColumns(
            decoder.point_ids, values, decoder.units, qualities, details, [ts] * len(values)
        )

    @staticmethod
    def _missing(points: Sequence[RegisterPoint], detail: str) -> ReadingColumns:
        return ReadingColumns.without_value(
            [p.point_id for p in points],
            [p.unit for p in points],
            Quality.MISSING,
            datetime.now(UTC),
            detail,
        )

    async def _poll_block(self, block: ReadBlock) -> tuple[ReadingColumns, list[ReadBlock]]:
        """Readings of one block and the blocks that replace it from the next poll on."""
        try:
            registers = await self._read_block(block)
        except DeviceExceptionReply as exc:
            if not exc.permanent:
                return self._missing(block.points, str(exc)), [block]
            if len(block.points) == 1:
                point = block.points[0]
                reason = f"disabled: {exc}; fix the map entry {point.key}"
                self._disabled[point.point_id] = reason
                log.warning("%s: point %r %s", self.device_id, point.point_id, reason)
                return self._missing(block.points, reason), []
            return await self._split_block(block, exc)
        except MalformedReply as exc:
            return self._missing(block.points, str(exc)), [block]
        return self._decode_block(block, registers, datetime.now(UTC)), [block]

    async def _split_block(
        self, block: ReadBlock, cause: DeviceExceptionReply
    ) -> tuple[ReadingColumns, list[ReadBlock]]:
        log.warning(
            "%s: merged read %s refused (%s); reading its points one by one",
            self.device_id,
            block.label,
            cause,
        )
        parts: list[ReadingColumns] = []
        singles: list[ReadBlock] = []
        for point in block.points:
            start, end = point.footprint
            one = ReadBlock(point.table, start, end - start, (point,), fallback=True)
            point_readings, replacement = await self._poll_block(one)
            parts.append(point_readings)
            singles += replacement
        readings = ReadingColumns.join(parts)
        if block.fallback:
            # A fallback block refused again: stay with one read per point.
            return readings, singles
        kept = [p for single in singles for p in single.points]
        return readings, plan_blocks(kept, max_gap=0, fallback=True)

    async def read_columns(self) -> ReadingColumns:
        """Read every mapped numeric point once, as columns (see :meth:`read_points`).

        Raises
        ------
        DeviceUnreachable
            When the device does not answer at all (the next call reconnects).
        """
        in_map_order = self._in_map_order
        parts: list[ReadingColumns] = []
        next_blocks: list[ReadBlock] = []
        for block in self._blocks:
            block_readings, replacement = await self._poll_block(block)
            parts.append(block_readings)
            next_blocks += replacement
        if next_blocks != self._blocks:
            self._set_blocks(next_blocks)
        polled = ReadingColumns.join(parts)
        if in_map_order:
            return polled
        # A later reading of a point replaces an earlier one, as the map has each point once.
        rows = {point_id: row for row, point_id in enumerate(polled.point_ids)}
        disabled = [
            self._missing([self.device_map.point(point_id)], reason)
            for point_id, reason in self._disabled.items()
            if point_id not in rows
        ]
        if disabled:
            polled = ReadingColumns.join([polled, *disabled])
            rows = {point_id: row for row, point_id in enumerate(polled.point_ids)}
        return polled.pick([rows[p] for p in self._numeric_ids if p in rows])

    async def read_points(self) -> list[PointReading]:
        """Read every mapped numeric point once.

        Returns
        -------
        list[PointReading]
            One reading per numeric point, in map order; a value is None
            whenever its quality is not GOOD.

        Raises
        ------
        DeviceUnreachable
            When the device does not answer at all (the next call reconnects).
        """
        return (await self.read_columns()).readings()

    async def read_text(self) -> dict[str, str | None]:
        """Read the map's string points (identification: model, serial number).

        A text the device refuses or that is not UTF-8 reads as None.
        """
        texts: dict[str, str | None] = {}
        for register in self.device_map.points:
            if not register.is_text:
                continue
            block = ReadBlock(register.table, register.address, register.count, (register,))
            try:
                text = decode_registers(await self._read_block(block), RegisterType.STRING)
            except (DeviceExceptionReply, MalformedReply, PointReadError):
                text = None
            texts[register.point_id] = text if isinstance(text, str) else None
        return texts

    async def _read_single(self, register: RegisterPoint) -> tuple[float | None, int | None, str]:
        """The current value of one point, its scale factor, and a detail."""
        start, end = register.footprint
        block = ReadBlock(register.table, start, end - start, (register,))
        registers = await self._read_block(block)
        sf_word = None
        scale_factor = None
        if register.scale_factor_address is not None:
            sf_word = block.words(registers, register.scale_factor_address, 1)[0]
            sf = decode_registers([sf_word], RegisterType.SUNSSF)
            scale_factor = sf if isinstance(sf, int) else None
        value, _quality, detail = decode_point(
            register,
            block.words(registers, register.address, register.count),
            sf_word,
            self.device_map.word_order,
            Bounds(None, None),
        )
        return value, scale_factor, detail

    async def write_point(self, point_id: str, value: float) -> WriteResult:
        """Write a setpoint, then read it back and compare.

        Parameters
        ----------
        point_id
            A writable point of the map.
        value
            The new value in the point's unit.

        Returns
        -------
        WriteResult
            ``ok`` when the read-back value equals the request within half a
            register step (the register's resolution); a device that refuses the write or reads back
            something else gives ``ok=False`` (no retry).

        Raises
        ------
        PointWriteRejected
            Before anything is sent: unknown or read-only point, NaN/inf, a
            value outside the point's range, or a value the register cannot hold.
        DeviceUnreachable
            When the device does not answer.
        """
        try:
            register = self.device_map.point(point_id)
        except KeyError as exc:
            raise PointWriteRejected(
                f"{self.device_id}: no point {point_id!r} in {self.device_map.source}",
                fix=f"use one of {list(self.device_map.point_ids)}",
            ) from exc
        if not register.writable:
            raise PointWriteRejected(
                f"{self.device_id}: point {point_id!r} is read-only",
                fix="only points marked writable in the device map can be commanded",
            )
        bounds = self._bounds[point_id]
        if not isinstance(value, int | float) or not bounds.contains(float(value)):
            raise PointWriteRejected(
                f"{self.device_id}: refusing to write {value!r} {register.unit} to {point_id!r}: "
                f"outside {bounds.text()} or not a finite number",
                fix="command a finite value within the point's range",
            )
        if point_id in self._disabled:
            raise PointWriteRejected(
                f"{self.device_id}: point {point_id!r} is {self._disabled[point_id]}"
            )
        try:
            old_value, scale_factor, _ = await self._read_single(register)
        except (DeviceExceptionReply, MalformedReply) as exc:
            raise PointWriteRejected(
                f"{self.device_id}: could not read {point_id!r} before writing: {exc}"
            ) from exc
        if register.scale_factor_address is not None and scale_factor is None:
            raise PointWriteRejected(
                f"{self.device_id}: the scale factor of {point_id!r} is not implemented",
                fix="check scale_factor_address in the device map",
            )
        step = scale_multiplier(register.scale, scale_factor)
        raw = value / step
        if register.data_type not in FLOAT_TYPES:
            raw = round(raw)
        words = encode_value(raw, register.data_type, self.device_map.word_order)
        try:
            await self.link.write(register.address, words)
        except DeviceExceptionReply as exc:
            return WriteResult(point_id, value, old_value, None, False, f"device refused: {exc}")
        try:
            read_back, _, detail = await self._read_single(register)
        except (DeviceExceptionReply, MalformedReply) as exc:
            return WriteResult(point_id, value, old_value, None, False, f"read-back failed: {exc}")
        tolerance = (
            abs(value) * 1e-6 if register.data_type in FLOAT_TYPES else abs(step) / 2
        ) + 1e-9
        ok = read_back is not None and abs(read_back - value) <= tolerance
        detail = "" if ok else f"read back {read_back!r} ({detail or 'differs'})"
        return WriteResult(point_id, value, old_value, read_back, ok, detail)
