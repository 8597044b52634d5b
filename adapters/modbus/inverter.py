"""A SunSpec PV inverter as a klaster device: its points and its power limit.

Points (klaster units):

* ``ac_power`` (kW) — model 101/102/103 ``W`` or 701 ``W``, × 10^W_SF / 1000;
* ``energy_total`` (kWh) — 10x ``WH`` or 701 ``TotWhInj``, / 1000;
* ``status`` (code) — 10x ``St`` or 701 ``InvSt``, with the symbol as detail;
* ``power_limit`` (%) — model 123 ``WMaxLimPct`` when ``WMaxLim_Ena`` is
  enabled, else 100 (the inverter is not limited);
* ``mpptNN.dc_power`` (kW) — model 160 ``DCW`` of each input module.

The inverter models 101–103 are preferred to 701 when a device offers both:
they fit in one request. Every model read re-reads its scale factors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.device import PointReading, WriteResult
from adapters.errors import DeviceMapError, PointReadError, PointWriteRejected
from adapters.modbus.client import Bounds
from adapters.modbus.connection import (
    DeviceExceptionReply,
    ModbusConnection,
    ModbusLink,
    RetryPolicy,
)
from adapters.modbus.decode import RegisterType, encode_value
from adapters.modbus.sunspec import (
    ModelRead,
    SunSpecLayout,
    discover,
    read_model,
    scaled_value,
    symbol_name,
    symbol_value,
)
from cluster.points import Point
from cluster.timeseries import Quality

#: Inverter models in order of preference, with their power, energy and state points.
INVERTER_MODELS: dict[int, tuple[str, str, str]] = {
    103: ("W", "WH", "St"),
    102: ("W", "WH", "St"),
    101: ("W", "WH", "St"),
    701: ("W", "TotWhInj", "InvSt"),
}
POINT_UNITS = {"ac_power": "kW", "energy_total": "kWh", "status": "code", "power_limit": "%"}
CONTROLS_MODEL = 123
NAMEPLATE_MODEL = 120
MPPT_MODEL = 160


def mppt_point_id(index: int) -> str:
    """The point id of MPPT input ``index`` (from 1), e.g. ``mppt01.dc_power``."""
    return f"mppt{index:02d}.dc_power"


class SunSpecInverterClient:
    """A PV inverter reached over Modbus and described by its SunSpec models.

    Parameters
    ----------
    device_id
        klaster's id of the device.
    connection
        How to reach the inverter.
    points
        The configured points of the PV plant: their ranges are the plausible
        (read) and permitted (write) ranges, and their units must match.
    retry
        Retry policy for busy/failed answers.
    """

    def __init__(
        self,
        device_id: str,
        connection: ModbusConnection,
        *,
        points: Sequence[Point] = (),
        retry: RetryPolicy | None = None,
    ) -> None:
        self.device_id = device_id
        self.link = ModbusLink(connection)
        self.retry = retry or RetryPolicy()
        self._configured = {p.id: p for p in points}
        for point in points:
            unit = POINT_UNITS.get(point.id)
            if unit is not None and point.unit != unit:
                raise DeviceMapError(
                    f"{device_id}: point {point.id!r} is {unit} from SunSpec but {point.unit} "
                    "in the configuration",
                    fix=f"configure {point.id!r} with a kind whose unit is {unit}",
                )
        self._layout: SunSpecLayout | None = None
        self._rated_kw: float | None = None

    @property
    def layout(self) -> SunSpecLayout | None:
        """The discovered model chain, once connected."""
        return self._layout

    @property
    def rated_power_kw(self) -> float | None:
        """The nameplate continuous power (model 120 ``WRtg``), kW, if the device has it."""
        return self._rated_kw

    async def connect(self) -> None:
        """Connect and, the first time, discover the models.

        Raises
        ------
        DeviceUnreachable
            When the device does not answer.
        DeviceMapError
            When the device is not a usable SunSpec inverter.
        """
        await self.link.connect()
        if self._layout is not None:
            return
        layout = await discover(self.link)
        if not any(layout.find(m) for m in INVERTER_MODELS):
            raise DeviceMapError(
                f"{self.device_id}: SunSpec models {list(layout.model_ids)} include no inverter "
                f"model ({', '.join(map(str, INVERTER_MODELS))})",
                fix="check the device is an inverter; other SunSpec devices need their own client",
            )
        self._layout = layout
        nameplate = layout.find(NAMEPLATE_MODEL)
        if nameplate is not None:
            rated, quality, _ = scaled_value(
                (await read_model(self.link, nameplate, self.retry)).model, "WRtg"
            )
            self._rated_kw = rated / 1000 if quality is Quality.GOOD and rated else None

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        await self.link.close()

    def _bounds(self, point_id: str, default: Bounds) -> Bounds:
        point = self._configured.get(point_id)
        if point is None:
            return default
        return Bounds(point.min_value, point.max_value)

    def _power_bounds(self) -> Bounds:
        if self._rated_kw is None:
            return Bounds(None, None)
        # Inverters draw a little at night; more than rated × 1.2 is a garbled register.
        return Bounds(-0.05 * self._rated_kw, 1.2 * self._rated_kw)

    async def read_model(self, model_id: int) -> ModelRead:
        """Read one model of the device (the first with ``model_id``)."""
        await self.connect()
        assert self._layout is not None
        location = self._layout.find(model_id)
        if location is None:
            raise DeviceMapError(
                f"{self.device_id}: no SunSpec model {model_id} on the device",
                fix=f"the device offers {list(self._layout.model_ids)}",
            )
        return await read_model(self.link, location, self.retry)

    async def read_points(self) -> list[PointReading]:
        """Read every point once; failures become per-point quality flags.

        Raises
        ------
        DeviceUnreachable
            When the device does not answer.
        """
        await self.connect()
        assert self._layout is not None
        readings: list[PointReading] = []
        inverter_id = next(m for m in INVERTER_MODELS if self._layout.find(m))
        power, energy, state = INVERTER_MODELS[inverter_id]
        specs = [
            ("ac_power", power, 1e-3, self._bounds("ac_power", self._power_bounds())),
            ("energy_total", energy, 1e-3, self._bounds("energy_total", Bounds(0, None))),
        ]
        read, failure = await self._try_read(inverter_id)
        for point_id, name, factor, bounds in specs:
            readings.append(self._reading(point_id, read, name, factor, bounds, failure))
        readings.append(self._status(read, state, failure))
        if self._layout.find(CONTROLS_MODEL):
            readings.append(await self._power_limit_reading())
        if self._layout.find(MPPT_MODEL):
            readings += await self._mppt_readings()
        return readings

    async def _try_read(self, model_id: int) -> tuple[ModelRead | None, str]:
        try:
            read = await self.read_model(model_id)
        except PointReadError as exc:
            return None, str(exc)
        if not read.consistent:
            return None, f"model {model_id}: scale factors changed while it was read"
        return read, ""

    def _reading(
        self,
        point_id: str,
        read: ModelRead | None,
        name: str,
        factor: float,
        bounds: Bounds,
        failure: str,
        group: Any = None,
    ) -> PointReading:
        unit = POINT_UNITS.get(point_id, "kW")
        ts = datetime.now(UTC)
        if read is None:
            return PointReading(point_id, None, unit, Quality.MISSING, ts, failure)
        value, quality, detail = scaled_value(group if group is not None else read.model, name)
        if value is None:
            return PointReading(point_id, None, unit, quality, ts, detail)
        value *= factor
        if not bounds.contains(value):
            return PointReading(
                point_id,
                None,
                unit,
                Quality.OUT_OF_RANGE,
                ts,
                f"{value:g} {unit} outside [{bounds.min_value}, {bounds.max_value}]",
            )
        return PointReading(point_id, value, unit, Quality.GOOD, ts, detail)

    def _status(self, read: ModelRead | None, name: str, failure: str) -> PointReading:
        ts = datetime.now(UTC)
        if read is None:
            return PointReading("status", None, "code", Quality.MISSING, ts, failure)
        point = read.model.points[name]
        if point.value is None:
            return PointReading("status", None, "code", Quality.NOT_IMPLEMENTED, ts, "")
        label = symbol_name(point, int(point.value))
        if label is None:
            return PointReading(
                "status",
                None,
                "code",
                Quality.OUT_OF_RANGE,
                ts,
                f"unknown state code {point.value}",
            )
        return PointReading("status", float(point.value), "code", Quality.GOOD, ts, label)

    @staticmethod
    def _effective_limit(read: ModelRead) -> tuple[float | None, Quality, str]:
        """The active-power limit in force, %: WMaxLimPct if enabled, else 100."""
        points = read.model.points
        enabled = points["WMaxLim_Ena"].value
        if enabled == symbol_value(points["WMaxLim_Ena"], "DISABLED"):
            return 100.0, Quality.GOOD, "limit not enabled"
        return scaled_value(read.model, "WMaxLimPct")

    async def _power_limit_reading(self) -> PointReading:
        read, failure = await self._try_read(CONTROLS_MODEL)
        ts = datetime.now(UTC)
        if read is None:
            return PointReading("power_limit", None, "%", Quality.MISSING, ts, failure)
        value, quality, detail = self._effective_limit(read)
        bounds = self._bounds("power_limit", Bounds(0, 100))
        if value is not None and not bounds.contains(value):
            value, quality, detail = (
                None,
                Quality.OUT_OF_RANGE,
                f"{value:g} % outside [{bounds.min_value}, {bounds.max_value}]",
            )
        return PointReading("power_limit", value, "%", quality, ts, detail)

    async def _mppt_readings(self) -> list[PointReading]:
        read, failure = await self._try_read(MPPT_MODEL)
        if read is None:
            return [
                PointReading(
                    mppt_point_id(1), None, "kW", Quality.MISSING, datetime.now(UTC), failure
                )
            ]
        bounds = self._power_bounds()
        return [
            self._reading(
                mppt_point_id(i),
                read,
                "DCW",
                1e-3,
                self._bounds(mppt_point_id(i), Bounds(0, bounds.max_value)),
                "",
                module,
            )
            for i, module in enumerate(read.model.groups.get("module", []), start=1)
        ]

    async def write_point(self, point_id: str, value: float) -> WriteResult:
        """Write a point; only ``power_limit`` (%) is writable."""
        if point_id != "power_limit":
            raise PointWriteRejected(
                f"{self.device_id}: point {point_id!r} is not writable",
                fix="only 'power_limit' can be commanded on a SunSpec inverter",
            )
        return await self.set_power_limit_pct(value)

    async def set_power_limit_pct(self, pct: float) -> WriteResult:
        """Limit active power to ``pct`` % of WMax (model 123), enable the limit, read back.

        Parameters
        ----------
        pct
            The limit, % of the inverter's maximum active power, 0..100.

        Raises
        ------
        PointWriteRejected
            Before anything is sent: NaN/inf or outside the permitted range,
            no model 123, or its scale factor not implemented.
        DeviceUnreachable
            When the device does not answer.
        """
        configured = self._bounds("power_limit", Bounds(0, 100))
        low, high = configured.min_value, configured.max_value
        bounds = Bounds(0 if low is None else max(low, 0), 100 if high is None else min(high, 100))
        if not isinstance(pct, int | float) or not bounds.contains(float(pct)):
            raise PointWriteRejected(
                f"{self.device_id}: refusing power limit {pct!r} %: outside "
                f"[{bounds.min_value:g}, {bounds.max_value:g}] or not a finite number",
                fix="command a finite percentage within the point's range",
            )
        await self.connect()
        assert self._layout is not None
        if self._layout.find(CONTROLS_MODEL) is None:
            raise PointWriteRejected(
                f"{self.device_id}: the inverter has no SunSpec model 123 (immediate controls)",
                fix="its power cannot be limited over SunSpec",
            )
        try:
            before = await self.read_model(CONTROLS_MODEL)
        except PointReadError as exc:
            raise PointWriteRejected(f"{self.device_id}: could not read model 123: {exc}") from exc
        old_value, _, _ = self._effective_limit(before)
        points = before.model.points
        scale_factor = points["WMaxLimPct_SF"].value
        if scale_factor is None:
            raise PointWriteRejected(
                f"{self.device_id}: WMaxLimPct_SF is not implemented; the limit cannot be scaled"
            )
        step = 10.0 ** int(scale_factor)
        words = encode_value(round(pct / step), RegisterType.UINT16)
        base = before.location.address
        enable = symbol_value(points["WMaxLim_Ena"], "ENABLED")
        try:
            await self.link.write(base + points["WMaxLimPct"].offset, words)
            await self.link.write(base + points["WMaxLim_Ena"].offset, [enable])
        except DeviceExceptionReply as exc:
            return WriteResult("power_limit", pct, old_value, None, False, f"device refused: {exc}")
        try:
            after = await self.read_model(CONTROLS_MODEL)
        except PointReadError as exc:
            return WriteResult(
                "power_limit", pct, old_value, None, False, f"read-back failed: {exc}"
            )
        read_back, _, detail = self._effective_limit(after)
        ok = (
            after.model.points["WMaxLim_Ena"].value == enable
            and read_back is not None
            and math.isclose(read_back, pct, abs_tol=step / 2 + 1e-9)
        )
        return WriteResult(
            "power_limit",
            pct,
            old_value,
            read_back,
            ok,
            "" if ok else f"read back {read_back!r} {detail}".strip(),
        )
