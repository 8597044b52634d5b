"""The register layouts of the rig's Modbus devices, and how they meet the plant.

Each device model owns a :class:`~adapters.rig.registers.RegisterImage` laid
out as its map says (a built-in register map, or SunSpec models for an
inverter), copies the commands clients wrote into the plant
(:meth:`read_commands`) and the plant's state into its registers
(:meth:`publish`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Protocol

from sunspec2 import device as sunspec_device

from adapters.modbus.decode import RegisterType
from adapters.modbus.maps import DeviceMap, RegisterPoint, load_builtin_map
from adapters.modbus.sunspec import BASE_ADDRESSES, SUNSPEC_MARKER, build_sunspec_image
from adapters.rig import physics
from adapters.rig.plan import DeviceKind, PlannedDevice
from adapters.rig.plant import Plant
from adapters.rig.registers import DataField, RegisterImage, encode_measurement, scale_exponent
from cluster.config import Battery, ClusterConfig, PVPlant

#: Mains frequency the meters show, Hz.
FREQUENCY_HZ = 50.0


class DeviceModel(Protocol):
    """What the rig needs of every Modbus device model."""

    image: RegisterImage
    data_fields: tuple[DataField, ...]

    def read_commands(self, plant: Plant) -> None:
        """Copy the commands clients wrote into the plant."""
        ...

    def publish(self, plant: Plant) -> None:
        """Copy the plant's state into the registers."""
        ...


# --- devices described by a register map ------------------------------------------


class MappedImage:
    """The registers of a device described by a :class:`DeviceMap`.

    Every point's registers and scale-factor registers exist; gaps of at most
    the map's ``max_gap`` between them read 0 (reserved registers a client
    may read across); writable points accept writes.

    Parameters
    ----------
    device_map
        The register map.
    scale_factors
        Exponent stored in each scale-factor register, by address (0 if not given).
    """

    def __init__(self, device_map: DeviceMap, scale_factors: dict[int, int] | None = None) -> None:
        self.device_map = device_map
        defined: dict[int, int] = {}
        writable: set[int] = set()
        for point in device_map.points:
            addresses = range(point.address, point.end)
            defined.update(dict.fromkeys(addresses, 0))
            if point.writable:
                writable.update(addresses)
            if point.scale_factor_address is not None:
                defined[point.scale_factor_address] = 0
        ordered = sorted(defined)
        for before, after in itertools.pairwise(ordered):
            if after - before - 1 <= device_map.max_gap:
                defined.update(dict.fromkeys(range(before + 1, after), 0))
        self.image = RegisterImage(defined, writable)
        for address, exponent in (scale_factors or {}).items():
            self.image.encode(address, exponent, RegisterType.SUNSSF)
        self.data_fields = tuple(
            DataField(p.address, p.data_type, device_map.word_order)
            for p in device_map.points
            if not p.writable and not p.is_text
        )

    def _register(self, point_id: str) -> RegisterPoint:
        return self.device_map.point(point_id)

    def _step(self, register: RegisterPoint) -> float:
        exponent = 0
        if register.scale_factor_address is not None:
            stored = self.image.decode(register.scale_factor_address, RegisterType.SUNSSF)
            exponent = int(stored) if isinstance(stored, int) else 0
        return register.scale * 10.0**exponent

    def set(self, point_id: str, value: float) -> None:
        """Store a point's value in its unit (kW, %, ...)."""
        register = self._register(point_id)
        raw = value / self._step(register)
        self.image.write(
            register.address,
            encode_measurement(raw, register.data_type, self.device_map.word_order),
        )

    def set_text(self, point_id: str, text: str) -> None:
        """Store a string point, cut to its registers."""
        register = self._register(point_id)
        raw = text.encode("utf-8")[: 2 * register.count].ljust(2 * register.count, b"\x00")
        words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
        self.image.write(register.address, words)

    def get(self, point_id: str) -> float | None:
        """A point's value in its unit; None when it holds "not implemented"."""
        register = self._register(point_id)
        raw = self.image.decode(register.address, register.data_type, self.device_map.word_order)
        return None if raw is None else float(raw) * self._step(register)


class MeterModel(MappedImage):
    """A connection point's energy meter (``energy_meter`` map)."""

    def __init__(self, connection_point_id: str) -> None:
        super().__init__(load_builtin_map("energy_meter"))
        self.connection_point_id = connection_point_id

    def read_commands(self, plant: Plant) -> None:
        """A meter takes no commands."""

    def publish(self, plant: Plant) -> None:
        meter = plant.meters[self.connection_point_id]
        self.set("voltage_l1", meter.voltage_v)
        self.set("meter_power", meter.power_kw)
        self.set("frequency", FREQUENCY_HZ)
        self.set("meter_energy", meter.import_kwh)
        self.set("meter_energy_export", meter.export_kwh)


class WtePlcModel(MappedImage):
    """The waste-to-energy plant's PLC gateway (``wte_plc`` map)."""

    RUNNING = 2

    def __init__(self, wte_id: str, plant: Plant) -> None:
        super().__init__(load_builtin_map("wte_plc"))
        self.wte_id = wte_id
        self.set("output_setpoint", plant.wte[wte_id].setpoint_kw)

    def read_commands(self, plant: Plant) -> None:
        setpoint = self.get("output_setpoint")
        if setpoint is not None:
            plant.wte[self.wte_id].setpoint_kw = setpoint

    def publish(self, plant: Plant) -> None:
        chp = plant.wte[self.wte_id]
        self.set("electric_power", chp.output_kw)
        self.set("heat_power", chp.heat_kw)
        self.set("waste_feed", chp.waste_feed_kg_per_h)
        self.set("status", self.RUNNING)
        self.set("alarms", 0)


class BiogasPlcModel(MappedImage):
    """The biogas engine's controller (``biogas_chp`` map)."""

    STOPPED, RUNNING = 0, 2

    def __init__(self, chp_id: str, plant: Plant) -> None:
        super().__init__(load_builtin_map("biogas_chp"))
        self.chp_id = chp_id
        self.set("output_setpoint", plant.biogas[chp_id].setpoint_kw)

    def read_commands(self, plant: Plant) -> None:
        setpoint = self.get("output_setpoint")
        if setpoint is not None:
            plant.biogas[self.chp_id].setpoint_kw = setpoint

    def publish(self, plant: Plant) -> None:
        engine = plant.biogas[self.chp_id]
        self.set("electric_power", engine.output_kw)
        self.set("gas_holder_level", engine.level_pct)
        self.set("status", self.RUNNING if engine.output_kw > 0 else self.STOPPED)


class BatteryModel(MappedImage):
    """A battery controller (``battery`` map); powers carry a scale factor fit for its size."""

    STANDBY, CHARGING, DISCHARGING = 0, 1, 2

    def __init__(self, battery: Battery) -> None:
        device_map = load_builtin_map("battery")
        exponent = scale_exponent(battery.power_kw * 1000.0 * 1.1)
        factors = {
            p.scale_factor_address: exponent
            for p in device_map.points
            if p.scale_factor_address is not None
        }
        super().__init__(device_map, factors)
        self.battery_id = battery.id

    def read_commands(self, plant: Plant) -> None:
        setpoint = self.get("power_setpoint")
        if setpoint is not None:
            plant.batteries[self.battery_id].setpoint_kw = setpoint

    def publish(self, plant: Plant) -> None:
        store = plant.batteries[self.battery_id]
        self.set("power", store.power_kw)
        self.set("soc", store.soc_pct)
        if store.power_kw > 1e-6:
            status = self.DISCHARGING
        elif store.power_kw < -1e-6:
            status = self.CHARGING
        else:
            status = self.STANDBY
        self.set("status", status)


class CabinetModel(MappedImage):
    """A street-lighting cabinet (``lighting_cabinet`` map); circuit n is block n."""

    def __init__(self, cabinet_id: str, circuit_ids: Sequence[str], plant: Plant) -> None:
        super().__init__(load_builtin_map("lighting_cabinet"))
        self.circuit_ids = tuple(circuit_ids)
        self.set_text("controller_name", cabinet_id)
        for index, circuit_id in enumerate(self.circuit_ids, start=1):
            state = plant.circuits[circuit_id]
            self.set(self._point(index, "on_off"), 1.0 if state.on else 0.0)
            self.set(self._point(index, "dim_level"), state.dim_pct)

    @staticmethod
    def _point(index: int, point: str) -> str:
        return f"circuit{index:02d}.{point}"

    def read_commands(self, plant: Plant) -> None:
        for index, circuit_id in enumerate(self.circuit_ids, start=1):
            state = plant.circuits[circuit_id]
            on = self.get(self._point(index, "on_off"))
            dim = self.get(self._point(index, "dim_level"))
            if on is not None:
                state.on = on >= 1
            if dim is not None:
                state.dim_pct = physics.clip(dim, 0.0, 100.0)

    def publish(self, plant: Plant) -> None:
        self.set("cabinet_alarms", 0)
        for index, circuit_id in enumerate(self.circuit_ids, start=1):
            state = plant.circuits[circuit_id]
            self.set(self._point(index, "power"), state.power_kw)
            self.set(self._point(index, "failed_lamps"), state.failed_lamps)
            self.set(self._point(index, "traffic_count"), int(state.traffic_count))


# --- SunSpec inverters ---------------------------------------------------------------


#: pysunspec2 point types → klaster's register types (strings and pads are never set).
_SUNSPEC_TYPES = {
    "int16": RegisterType.INT16,
    "uint16": RegisterType.UINT16,
    "count": RegisterType.UINT16,
    "acc32": RegisterType.ACC32,
    "uint32": RegisterType.UINT32,
    "enum16": RegisterType.ENUM16,
    "bitfield32": RegisterType.BITFIELD32,
    "sunssf": RegisterType.SUNSSF,
}
#: Inverter states (model 103 ``St``).
SLEEPING, MPPT, THROTTLED = 2, 4, 5
WMAXLIM_ENABLED = 1
MPPT_INPUTS = 2
#: Phase voltage the inverters report, V.
PHASE_VOLTAGE_V = 230.0
#: DC/AC conversion efficiency of the simulated inverters.
INVERTER_EFFICIENCY = 0.97


class InverterModel:
    """A SunSpec PV inverter: models 1, 103, 120, 123 and 160 (two MPPT inputs) at 40000.

    Clients write model 123 (``WMaxLimPct``, ``WMaxLim_Ena``); scale factors
    are chosen so the plant's rating fits its registers.
    """

    def __init__(self, pv: PVPlant) -> None:
        self.plant_id = pv.id
        rating_w = pv.inverter_limit_kw * 1000.0
        self.power_sf = scale_exponent(rating_w * 1.2)
        self.dc_sf = scale_exponent(rating_w / MPPT_INPUTS * 1.3, limit=65_535)
        models: dict[int, dict[str, Any]] = {
            1: {"Mn": "klaster", "Md": "rig PV inverter", "SN": pv.id[:32], "Vr": "1.0", "DA": 1},
            103: {"W_SF": self.power_sf, "VA_SF": self.power_sf, "DCW_SF": self.power_sf,
                  "WH_SF": 1, "Hz": 5000, "Hz_SF": -2, "PhVphA": round(PHASE_VOLTAGE_V * 10),
                  "V_SF": -1, "A_SF": 0, "Tmp_SF": -1},
            120: {"DERTyp": 4, "WRtg": round(rating_w / 10**self.power_sf),
                  "WRtg_SF": self.power_sf},
            123: {"WMaxLimPct": 1000, "WMaxLimPct_SF": -1, "WMaxLim_Ena": 0, "Conn": 1},
            160: {"DCW_SF": self.dc_sf, "DCA_SF": -1, "DCV_SF": -1, "DCWH_SF": 0,
                  "N": MPPT_INPUTS,
                  "module": [{"ID": i + 1, "IDStr": f"MPPT {i + 1}"} for i in range(MPPT_INPUTS)]},
        }  # fmt: skip
        base = BASE_ADDRESSES[0]
        words = build_sunspec_image(models)
        self._points: dict[str, tuple[int, RegisterType]] = {}
        writable: set[int] = set()
        address = base + len(SUNSPEC_MARKER)
        data_fields: list[DataField] = []
        for model_id, values in models.items():
            model = sunspec_device.Model(model_id, data=dict(values))
            for key, point in _walk(model):
                data_type = _SUNSPEC_TYPES.get(point.pdef["type"])
                if data_type is None:
                    continue
                where = address + point.offset
                self._points[f"{model_id}.{key}"] = (where, data_type)
                if model_id == 123 and point.pdef.get("access") == "RW":
                    writable.update(range(where, where + point.len))
                if model_id == 103 and key not in ("ID", "L"):
                    data_fields.append(DataField(where, data_type))
            address += model.len
        self.image = RegisterImage.contiguous(base, words, writable)
        self.data_fields = tuple(data_fields)

    def _set(self, key: str, raw: float) -> None:
        address, data_type = self._points[key]
        self.image.encode(address, raw, data_type)

    def _get(self, key: str) -> float | None:
        address, data_type = self._points[key]
        value = self.image.decode(address, data_type)
        return None if value is None else float(value)

    def limit_pct(self) -> float:
        """The active-power limit in force, % of rating (100 when not enabled)."""
        if self._get("123.WMaxLim_Ena") != WMAXLIM_ENABLED:
            return 100.0
        pct, exponent = self._get("123.WMaxLimPct"), self._get("123.WMaxLimPct_SF")
        if pct is None or exponent is None:
            return 100.0
        return physics.clip(pct * 10.0**exponent, 0.0, 100.0)

    def read_commands(self, plant: Plant) -> None:
        plant.pv[self.plant_id].limit_pct = self.limit_pct()

    def publish(self, plant: Plant) -> None:
        state = plant.pv[self.plant_id]
        power_w = state.output_kw * 1000.0
        self._set("103.W", power_w / 10**self.power_sf)
        self._set("103.VA", power_w / 10**self.power_sf)
        self._set("103.A", power_w / PHASE_VOLTAGE_V)  # the three phases' currents together
        self._set("103.WH", state.energy_kwh * 1000.0 / 10)
        if state.output_kw <= 0:
            status = SLEEPING
        elif state.output_kw < state.available_kw - 1e-6:
            status = THROTTLED
        else:
            status = MPPT
        self._set("103.St", status)
        dc_w = power_w / INVERTER_EFFICIENCY
        self._set("103.DCW", dc_w / 10**self.power_sf)
        self._set("103.TmpCab", (25.0 + 15.0 * state.output_kw / state.rating_kw) * 10)
        for index in range(MPPT_INPUTS):
            self._set(f"160.module[{index}].DCW", dc_w / MPPT_INPUTS / 10**self.dc_sf)


def _walk(model: Any) -> list[tuple[str, Any]]:
    """Every point of a pysunspec2 model with a key: ``W``, ``module[0].DCW``, ..."""
    found = [(name, point) for name, point in model.points.items()]
    for group_name, members in model.groups.items():
        for index, member in enumerate(members if isinstance(members, list) else [members]):
            found += [(f"{group_name}[{index}].{n}", p) for n, p in member.points.items()]
    return found


def device_model(planned: PlannedDevice, config: ClusterConfig, plant: Plant) -> DeviceModel:
    """The register model of a planned Modbus or SunSpec device."""
    assets = config.assets
    asset_id = planned.assets[0]
    if planned.kind is DeviceKind.INVERTER:
        return InverterModel(next(p for p in assets.pv_plants if p.id == asset_id))
    if planned.kind is DeviceKind.METER:
        return MeterModel(asset_id)
    if planned.kind is DeviceKind.WTE_PLC:
        return WtePlcModel(asset_id, plant)
    if planned.kind is DeviceKind.BIOGAS_PLC:
        return BiogasPlcModel(asset_id, plant)
    if planned.kind is DeviceKind.BATTERY:
        return BatteryModel(next(b for b in assets.batteries if b.id == asset_id))
    if planned.kind is DeviceKind.LIGHTING_CABINET:
        return CabinetModel(planned.device_id, planned.assets, plant)
    raise ValueError(f"{planned.device_id} is not a Modbus device")
