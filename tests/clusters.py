"""TOML fragments of small test clusters, composed by the test support modules.

Each fragment ends with a newline; join fragments with ``"\\n".join`` (a blank line apart).
"""

from __future__ import annotations

#: The comfort band of every test zone, °C, as an inline TOML table.
COMFORT_INLINE = (
    "{ occupied_min_c = 20.0, occupied_max_c = 24.0, unoccupied_min_c = 16.0, "
    "unoccupied_max_c = 27.0 }"
)

#: The same comfort band, °C, as a sub-table of the zone above it.
COMFORT_TABLE = """\
[assets.buildings.zones.comfort]
occupied_min_c = 20.0
occupied_max_c = 24.0
unoccupied_min_c = 16.0
unoccupied_max_c = 27.0
"""

#: The C21 tariff: one flat energy rate all day.
FLAT_TARIFF = """\
[[tariffs]]
id = "c21"
group = "C21"
capacity_rate_pln_per_kw_month = 12.6
[[tariffs.zones]]
name = "all day"
rate_pln_per_mwh = 148.0
"""

#: The city as the one municipality member, by its Polish name.
CITY_MEMBER = """\
[[members]]
id = "city"
name = "Gmina Testowa"
kind = "municipality"
"""

#: The city and the school as members, by short English names.
CITY_AND_SCHOOL_MEMBERS = """\
[[members]]
id = "city"
name = "City"
kind = "municipality"

[[members]]
id = "school"
name = "School"
kind = "public_building"
"""

#: A WtE plant of 4–8 MW electric (without its district-heating link).
WTE_8MW = """\
[[assets.wte_chps]]
id = "wte"
connection_point = "cp-a"
electric_min_kw = 4000.0
electric_max_kw = 8000.0
ramp_kw_per_hour = 2000.0
start_cost_pln = 18000.0
heat_to_power_ratio = 2.1
electric_efficiency = 0.22
daily_min_waste_mwh = 520.0
"""

#: Lighting circuits ``light-a`` (M3) and ``light-b`` (M4) of the ``cp-light`` cabinet.
LIGHTING_CABINET_AB = """\
[[assets.lighting_circuits]]
id = "light-a"
connection_point = "cp-light"
municipality = "city"
luminaires = 120
luminaire_w = 100.0
design_class = "M3"

[[assets.lighting_circuits]]
id = "light-b"
connection_point = "cp-light"
municipality = "city"
luminaires = 80
luminaire_w = 60.0
design_class = "M4"
"""

#: The school ``bldg-school`` on ``cp-school``: zone z1 heated by a heat pump, z2 by
#: district heat, occupied 07–16 on working days.
SCHOOL_BUILDING_TWO_ZONES = (
    """\
[[assets.buildings]]
id = "bldg-school"
connection_point = "cp-school"
use = "school"
[assets.buildings.occupancy]
working_days = { start = 7, end = 16 }
[[assets.buildings.zones]]
id = "z1"
floor_area_m2 = 900.0
thermal_capacitance_kwh_per_k = 81.0
thermal_resistance_k_per_kw = 0.6
heating_max_kw = 54.0
heating = "heat_pump"
cop = 3.2
comfort = COMFORT
[[assets.buildings.zones]]
id = "z2"
floor_area_m2 = 400.0
thermal_capacitance_kwh_per_k = 36.0
thermal_resistance_k_per_kw = 1.2
heating_max_kw = 24.0
heating = "district_heat"
comfort = COMFORT
"""
).replace("COMFORT", COMFORT_INLINE)


def cluster_header(name: str, *, altitude_m: int | None = None) -> str:
    """The ``[cluster]`` table of a test cluster near Kielce, 15-minute steps.

    Parameters
    ----------
    name
        The cluster's name.
    altitude_m
        Site altitude, m above sea level; the line is left out when None.
    """
    header = f"""\
[cluster]
name = "{name}"
timezone = "Europe/Warsaw"
step_minutes = 15
latitude_deg = 50.87
longitude_deg = 20.63
"""
    if altitude_m is not None:
        header += f"altitude_m = {altitude_m}\n"
    return header


def pv_school(connection_point: str) -> str:
    """The school's PV plant ``pv-school``: 50 kWp behind a 45 kW inverter."""
    return f"""\
[[assets.pv_plants]]
id = "pv-school"
connection_point = "{connection_point}"
kwp = 50.0
inverter_limit_kw = 45.0
"""


#: The school's battery ``battery-school`` at ``cp-school``: 50 kW, 100 kWh, half full.
SCHOOL_BATTERY = """\
[[assets.batteries]]
id = "battery-school"
connection_point = "cp-school"
power_kw = 50.0
energy_kwh = 100.0
round_trip_efficiency = 0.9
soc_min_pct = 10.0
soc_max_pct = 90.0
soc_initial_pct = 50.0
"""
