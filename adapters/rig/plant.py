"""The state of every simulated asset, advanced one step at a time.

:class:`Plant` holds what the devices show (outputs, levels, temperatures,
counters) and the commands in force (setpoints, limits, dimming), which the
rig copies from the devices before each step. :meth:`Plant.step` applies the
functions of :mod:`adapters.rig.physics`; it does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from adapters.rig import physics
from cluster.calendar import public_holidays
from cluster.config import (
    BmsZone,
    ClusterConfig,
    PublicBuilding,
)
from cluster.occupancy import internal_gains_kw, is_occupied
from cluster.thermal import heating_electricity_kw, heating_power_kw, zone_temperature_c
from cluster.timeseries import SeriesId

#: Lower heating value of municipal waste, kWh per kg (about 10 MJ/kg).
WASTE_HEATING_VALUE_KWH_PER_KG = 2.8
#: Specific yield used to give a PV inverter's energy counter a year of history, kWh/kWp.
PV_YIELD_KWH_PER_KWP = 1000.0
#: Global irradiance below which a cabinet's photocell sees night, W/m².
DARK_GHI_W_M2 = 1.0


@dataclass
class PvState:
    """A PV plant behind its inverter; ``limit_pct`` is the command (100 = not limited)."""

    rating_kw: float
    energy_kwh: float
    limit_pct: float = 100.0
    available_kw: float = 0.0
    output_kw: float = 0.0


@dataclass
class WteState:
    """The WtE turbine set; ``setpoint_kw`` is the command."""

    output_kw: float
    setpoint_kw: float
    heat_kw: float = 0.0
    waste_feed_kg_per_h: float = 0.0


@dataclass
class BiogasState:
    """The biogas engine and its gas holder; ``setpoint_kw`` is the command."""

    output_kw: float
    setpoint_kw: float
    level_kwh: float
    holder_kwh: float

    @property
    def level_pct(self) -> float:
        """Gas holder level, %."""
        return self.level_kwh / self.holder_kwh * 100.0


@dataclass
class BatteryState:
    """A battery; ``setpoint_kw`` is the command (positive discharging)."""

    soc_pct: float
    setpoint_kw: float = 0.0
    power_kw: float = 0.0


@dataclass
class CircuitState:
    """A lighting circuit; ``on`` and ``dim_pct`` are the commands."""

    failed_lamps: int
    on: bool = True
    dim_pct: float = 100.0
    power_kw: float = 0.0
    traffic_count: float = 0.0


@dataclass
class ZoneState:
    """A BMS zone; ``setpoint_c`` is the active setpoint, ``valve_override_pct`` a manual valve."""

    temp_c: float
    setpoint_c: float
    schedule_setpoint_c: float
    occupied: bool = False
    heat_kw: float = 0.0
    heat_output_pct: float = 0.0
    valve_override_pct: float | None = None


@dataclass
class MeterState:
    """A connection point's meter: power (import positive) and its energy counters."""

    import_kwh: float
    export_kwh: float = 0.0
    power_kw: float = 0.0
    voltage_v: float = physics.NOMINAL_VOLTAGE_V


@dataclass
class Plant:
    """Every asset of a cluster as the rig simulates it.

    Build it with :meth:`from_config`; zones are keyed by ``(building id, zone id)``.
    """

    config: ClusterConfig
    pv: dict[str, PvState] = field(default_factory=dict)
    wte: dict[str, WteState] = field(default_factory=dict)
    biogas: dict[str, BiogasState] = field(default_factory=dict)
    batteries: dict[str, BatteryState] = field(default_factory=dict)
    circuits: dict[str, CircuitState] = field(default_factory=dict)
    zones: dict[tuple[str, str], ZoneState] = field(default_factory=dict)
    meters: dict[str, MeterState] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: ClusterConfig, start: datetime, sample: dict[str, float]) -> Plant:
        """The plant at ``start``: steady outputs from the history ``sample`` of that instant."""
        assets = config.assets
        plant = cls(config)
        for pv in assets.pv_plants:
            plant.pv[pv.id] = PvState(pv.inverter_limit_kw, PV_YIELD_KWH_PER_KWP * pv.kwp)
        for wte in assets.wte_chps:
            output = physics.clip(
                sample.get(SeriesId.wte(wte.id), 0.0), wte.electric_min_kw, wte.electric_max_kw
            )
            plant.wte[wte.id] = WteState(output, float(round(output)))
        for chp in assets.biogas_chps:
            steady = sample.get(SeriesId.biogas_inflow(chp.id), 0.0) * chp.electric_efficiency
            setpoint = float(round(physics.clip(steady, chp.engine_min_kw, chp.engine_max_kw)))
            level = chp.gas_holder_kwh * chp.gas_holder_initial_pct / 100.0
            plant.biogas[chp.id] = BiogasState(setpoint, setpoint, level, chp.gas_holder_kwh)
        for battery in assets.batteries:
            plant.batteries[battery.id] = BatteryState(battery.soc_initial_pct)
        for circuit in assets.lighting_circuits:
            plant.circuits[circuit.id] = CircuitState(physics.failed_lamps(circuit.luminaires))
        for cp in config.connection_points:
            plant.meters[cp.id] = MeterState(import_kwh=cp.annual_consumption_mwh * 1000.0)
        plant.update_schedule(start)
        for zone in plant.zones.values():
            zone.temp_c = zone.setpoint_c = zone.schedule_setpoint_c
        plant.step(0.0, sample)
        return plant

    # --- the calendar: occupancy and the controllers' own setpoints -----------

    def update_schedule(self, now: datetime) -> None:
        """Set each zone's occupancy and schedule setpoint for the instant ``now``."""
        info = self.config.cluster
        local = now.astimezone(info.zone)
        day = local.date()
        holiday_days = public_holidays([day.year], info.country)
        for building in self.config.assets.buildings:
            occupied = is_occupied(building.occupancy, local, holiday_days)
            for zone in building.zones:
                key = (building.id, zone.id)
                schedule = physics.schedule_setpoint_c(zone.comfort, occupied)
                state = self.zones.get(key)
                if state is None:
                    self.zones[key] = ZoneState(schedule, schedule, schedule, occupied)
                else:
                    state.occupied = occupied
                    state.schedule_setpoint_c = schedule

    # --- one step -------------------------------------------------------------

    def step(self, dt_s: float, sample: dict[str, float]) -> None:
        """Advance every asset by ``dt_s`` seconds under the commands in force.

        Parameters
        ----------
        dt_s
            Step length, simulated seconds (0 only refreshes the outputs).
        sample
            The history at the end of the step: series id → value.
        """
        dt_h = dt_s / 3600.0
        assets = self.config.assets
        for pv in assets.pv_plants:
            state = self.pv[pv.id]
            state.available_kw = max(0.0, sample.get(SeriesId.pv(pv.id), 0.0))
            state.output_kw = physics.pv_output_kw(
                state.available_kw, state.limit_pct, state.rating_kw
            )
            state.energy_kwh += state.output_kw * dt_h
        for wte in assets.wte_chps:
            chp = self.wte[wte.id]
            chp.output_kw = physics.wte_output_kw(
                chp.output_kw, chp.setpoint_kw, wte.electric_min_kw, wte.electric_max_kw,
                wte.ramp_kw_per_hour, dt_h,
            )  # fmt: skip
            chp.heat_kw = chp.output_kw * wte.heat_to_power_ratio
            fuel_kw = chp.output_kw / wte.electric_efficiency
            chp.waste_feed_kg_per_h = fuel_kw / WASTE_HEATING_VALUE_KWH_PER_KG
        for biogas in assets.biogas_chps:
            engine = self.biogas[biogas.id]
            if dt_h > 0:
                engine.output_kw, engine.level_kwh = physics.biogas_step(
                    engine.setpoint_kw,
                    engine.level_kwh,
                    sample.get(SeriesId.biogas_inflow(biogas.id), 0.0),
                    min_kw=biogas.engine_min_kw,
                    max_kw=biogas.engine_max_kw,
                    efficiency=biogas.electric_efficiency,
                    holder_kwh=biogas.gas_holder_kwh,
                    dt_h=dt_h,
                )
        for battery in assets.batteries:
            store = self.batteries[battery.id]
            store.power_kw, store.soc_pct = physics.battery_step(
                store.soc_pct,
                store.setpoint_kw,
                power_max_kw=battery.power_kw,
                energy_kwh=battery.energy_kwh,
                round_trip_efficiency=battery.round_trip_efficiency,
                soc_min_pct=battery.soc_min_pct,
                soc_max_pct=battery.soc_max_pct,
                dt_h=dt_h,
            )
        self._step_lighting(sample, dt_h)
        outdoor_c = sample.get(SeriesId.TEMPERATURE_C, 10.0)
        for building in assets.buildings:
            for zone in building.zones:
                self._step_zone(self.zones[(building.id, zone.id)], zone, outdoor_c, dt_h)
        for cp in self.config.connection_points:
            meter = self.meters[cp.id]
            meter.power_kw = self.connection_point_power_kw(cp.id, sample)
            imported, exported = physics.import_export_kwh(meter.power_kw, dt_h)
            meter.import_kwh += imported
            meter.export_kwh += exported
            meter.voltage_v = physics.supply_voltage_v(meter.power_kw, cp.contracted_capacity_kw)

    def _step_lighting(self, sample: dict[str, float], dt_h: float) -> None:
        ghi = sample.get(SeriesId.GHI_W_M2, 0.0)
        for circuit in self.config.assets.lighting_circuits:
            state = self.circuits[circuit.id]
            load_id = SeriesId.load(circuit.connection_point)
            dark = sample[load_id] > 0 if load_id in sample else ghi < DARK_GHI_W_M2
            state.power_kw = physics.circuit_power_kw(
                state.on, state.dim_pct, dark, circuit.luminaires, state.failed_lamps,
                circuit.luminaire_w,
            )  # fmt: skip
            state.traffic_count += max(0.0, sample.get(SeriesId.traffic(circuit.id), 0.0)) * dt_h

    @staticmethod
    def _step_zone(state: ZoneState, zone: BmsZone, outdoor_c: float, dt_h: float) -> None:
        gains = internal_gains_kw(zone, state.occupied)
        capacitance, resistance = (
            zone.thermal_capacitance_kwh_per_k,
            zone.thermal_resistance_k_per_kw,
        )
        if state.valve_override_pct is not None:
            heat = physics.clip(state.valve_override_pct, 0.0, 100.0) / 100.0 * zone.heating_max_kw
        else:
            heat = heating_power_kw(
                state.temp_c, state.setpoint_c, outdoor_c, gains, capacitance, resistance,
                zone.heating_max_kw, dt_h,
            )  # fmt: skip
        state.heat_kw = heat
        state.heat_output_pct = heat / zone.heating_max_kw * 100.0
        state.temp_c = zone_temperature_c(
            state.temp_c, outdoor_c, heat, gains, capacitance, resistance, dt_h
        )

    # --- what a meter adds up -------------------------------------------------

    def connection_point_power_kw(self, cp_id: str, sample: dict[str, float]) -> float:
        """A connection point's power, kW, import positive.

        Its demand from the history (or, where lighting circuits are behind
        it, their simulated power), plus the electricity of its heat-pump and
        electric zones, less PV, WtE and biogas output, less battery power.
        """
        assets = self.config.assets
        circuits = [c.id for c in assets.lighting_circuits if c.connection_point == cp_id]
        if circuits:
            demand = sum(self.circuits[c].power_kw for c in circuits)
        else:
            demand = sample.get(SeriesId.load(cp_id), 0.0)
        for building in assets.buildings:
            if building.connection_point == cp_id:
                demand += self.heating_electricity_kw(building)
        generation = sum(
            self.pv[p.id].output_kw for p in assets.pv_plants if p.connection_point == cp_id
        )
        generation += sum(
            self.wte[w.id].output_kw for w in assets.wte_chps if w.connection_point == cp_id
        )
        generation += sum(
            self.biogas[b.id].output_kw for b in assets.biogas_chps if b.connection_point == cp_id
        )
        discharge = sum(
            self.batteries[b.id].power_kw for b in assets.batteries if b.connection_point == cp_id
        )
        return demand - generation - discharge

    def heating_electricity_kw(self, building: PublicBuilding) -> float:
        """Electric power the heating of a building's zones draws now, kW."""
        return sum(
            heating_electricity_kw(
                self.zones[(building.id, zone.id)].heat_kw, zone.heating, zone.cop
            )
            for zone in building.zones
        )
