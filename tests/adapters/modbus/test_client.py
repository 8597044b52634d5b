"""ModbusDeviceClient against a real pymodbus server on 127.0.0.1: reads and writes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.simulator import DataType, SimData

from adapters.device import DeviceClient
from adapters.errors import DeviceMapError, PointWriteRejected
from adapters.modbus.client import ModbusDeviceClient
from adapters.modbus.connection import ModbusConnection, make_pymodbus_client
from adapters.modbus.decode import WordOrder
from adapters.modbus.maps import load_builtin_map, load_device_map
from cluster.points import PointKind, point
from cluster.timeseries import Quality
from tests.adapters.modbus.devices import (
    DT,
    assert_no_request_over_125,
    battery_simdata,
    by_id,
    make_client,
    meter_simdata,
    run,
    wte_simdata,
)
from tests.adapters.modbus.sim import Fault, SimServer, registers


def test_meter_reads_every_point_in_three_requests() -> None:
    async def body() -> None:
        async with SimServer(meter_simdata()) as server:
            client = make_client(server, "energy_meter")
            readings = by_id(await client.read_points())
            await client.close()
        assert readings["voltage_l1"].value == 230.5
        assert readings["meter_power"].value == pytest.approx(-1.5)
        assert readings["frequency"].value == pytest.approx(49.98, abs=1e-5)
        assert readings["meter_energy"].value == 1234.5
        assert readings["meter_energy_export"].value == 67.25
        assert all(r.quality is Quality.GOOD and r.unit for r in readings.values())
        assert [(r.function_code, r.address, r.count) for r in server.reads] == [
            (4, 0, 2),
            (4, 52, 2),
            (4, 70, 6),
        ]

    run(body())


def test_word_order_mismatch_is_caught_by_the_range() -> None:
    swapped = ModbusClientMixin.convert_to_registers(230.5, DT.FLOAT32, word_order="little")
    hz = ModbusClientMixin.convert_to_registers(50.0, DT.FLOAT32, word_order="little")

    async def body() -> None:
        simdata = [registers(0, swapped), registers(52, [0, 0]), registers(70, hz + [0] * 4)]
        async with SimServer(simdata) as server:
            client = make_client(server, "energy_meter")
            readings = by_id(await client.read_points())
            await client.close()
        for point_id in ("voltage_l1", "frequency"):
            assert readings[point_id].value is None
            assert readings[point_id].quality is Quality.OUT_OF_RANGE

    run(body())


TYPE_CASES = [
    # (map type, pymodbus type, value)
    ("int16", DT.INT16, -1234),
    ("uint16", DT.UINT16, 54321),
    ("int32", DT.INT32, -123456789),
    ("uint32", DT.UINT32, 3_000_000_000),
    ("int64", DT.INT64, -(2**40) - 7),
    ("uint64", DT.UINT64, 2**50 + 3),
    ("float32", DT.FLOAT32, 230.5),
    ("float64", DT.FLOAT64, -0.125),
    ("acc32", DT.UINT32, 987654),
    ("enum16", DT.UINT16, 2),
    ("bitfield16", DT.UINT16, 0b101),
]


@pytest.mark.parametrize("word_order", ["big", "little"])
def test_every_data_type_over_a_socket(tmp_path: Path, word_order: WordOrder) -> None:
    lines = [f'[device]\nname = "types"\nword_order = "{word_order}"\n']
    served: list[int] = []
    for i, (type_name, pymodbus_type, value) in enumerate(TYPE_CASES):
        extra = "states = {2 = 'running'}\n" if type_name == "enum16" else ""
        extra += "bits = {0 = 'a', 1 = 'b', 2 = 'c'}\n" if type_name == "bitfield16" else ""
        lines.append(
            f"[[points]]\nid = 'p{i}'\naddress = {len(served)}\ntype = '{type_name}'\n"
            f"unit = '1'\n{extra}"
        )
        served += ModbusClientMixin.convert_to_registers(
            value, pymodbus_type, word_order=word_order
        )
    path = tmp_path / "types.toml"
    path.write_text("".join(lines), encoding="utf-8")

    async def body() -> None:
        async with SimServer([registers(0, served)]) as server:
            client = ModbusDeviceClient("types", load_device_map(path), server.connection())
            readings = by_id(await client.read_points())
            await client.close()
        for i, (_, _, value) in enumerate(TYPE_CASES):
            reading = readings[f"p{i}"]
            assert reading.quality is Quality.GOOD, reading
            assert reading.value == float(value)
        assert readings["p9"].detail == "running"
        assert readings["p10"].detail == "a,c"
        assert len(server.reads) == 1

    run(body())


def test_a_map_of_300_registers_is_read_in_3_requests(tmp_path: Path) -> None:
    body_lines = ['[device]\nname = "big"\n']
    body_lines += [
        f"[[points]]\nid = 'p{i}'\naddress = {2 * i}\ntype = 'float32'\nunit = '1'\n"
        for i in range(150)
    ]
    path = tmp_path / "big.toml"
    path.write_text("".join(body_lines), encoding="utf-8")

    async def body() -> None:
        simdata = [SimData(0, values=[float(i) for i in range(150)], datatype=DataType.FLOAT32)]
        async with SimServer(simdata) as server:
            client = ModbusDeviceClient("big", load_device_map(path), server.connection())
            readings = await client.read_points()
            await client.close()
        assert [r.value for r in readings] == [float(i) for i in range(150)]
        assert len(server.reads) == 3
        assert_no_request_over_125(server)

    run(body())


def test_readings_follow_the_map_order_not_the_register_order(tmp_path: Path) -> None:
    # Listed from the highest address down, over two tables: the reads go by address.
    path = tmp_path / "shuffled.toml"
    path.write_text(
        '[device]\nname = "shuffled"\nmax_gap = 0\n'
        "[[points]]\nid = 'c'\naddress = 2\ntype = 'uint16'\nunit = '1'\n"
        "[[points]]\nid = 'in'\ntable = 'input'\naddress = 0\ntype = 'int16'\nunit = '1'\n"
        "[[points]]\nid = 'a'\naddress = 0\ntype = 'uint16'\nunit = '1'\nscale = 0.5\n"
        "[[points]]\nid = 'b'\naddress = 1\ntype = 'uint16'\nunit = '1'\n",
        encoding="utf-8",
    )

    async def body() -> None:
        async with SimServer([registers(0, [10, 20, 30])]) as server:
            client = ModbusDeviceClient("shuffled", load_device_map(path), server.connection())
            readings = await client.read_points()
            columns = await client.read_columns()
            await client.close()
        assert [(r.point_id, r.value) for r in readings] == [
            ("c", 30.0),
            ("in", 10.0),
            ("a", 5.0),
            ("b", 20.0),
        ]
        assert list(columns.point_ids) == ["c", "in", "a", "b"]
        assert list(columns.values) == [30.0, 10.0, 5.0, 20.0]
        assert [(r.point_id, r.value, r.quality) for r in columns.readings()] == [
            (r.point_id, r.value, r.quality) for r in readings
        ]

    run(body())


def test_sentinels_read_as_not_implemented() -> None:
    async def body() -> None:
        # WtE PLC: int32 0x80000000 (word-swapped), uint16, enum and bitfield 0xFFFF.
        simdata = [
            registers(0, [0x0000, 0x8000, 100, 0, 0xFFFF, 0xFFFF, 0xFFFF]),
            registers(20, [0]),
        ]
        async with SimServer(simdata) as server:
            client = make_client(server, "wte_plc")
            readings = by_id(await client.read_points())
            await client.close()
        for point_id in ("electric_power", "waste_feed", "status", "alarms"):
            assert readings[point_id].value is None, point_id
            assert readings[point_id].quality is Quality.NOT_IMPLEMENTED
        assert readings["heat_power"].value == pytest.approx(10.0)

    run(body())


def test_scale_factor_changes_between_polls_and_missing_scale_factor() -> None:
    async def body() -> None:
        async with SimServer(battery_simdata(1500, 0)) as server:
            client = make_client(server, "battery")
            first = by_id(await client.read_points())
            server.poke(3, [1])
            second = by_id(await client.read_points())
            server.poke(3, [0x8000])
            third = by_id(await client.read_points())
            await client.close()
        assert first["power"].value == pytest.approx(1.5)
        assert second["power"].value == pytest.approx(15.0)
        assert third["power"].value is None
        assert third["power"].quality is Quality.NOT_IMPLEMENTED
        assert first["soc"].value == pytest.approx(65.5)
        assert first["status"].detail == "discharging"
        # Value (0) and scale factor (3) always in the same request.
        assert all(r.address <= 0 and r.address + r.count > 3 for r in server.reads)

    run(body())


def test_wte_plc_reads_word_swapped_values_with_states_and_bits() -> None:
    async def body() -> None:
        async with SimServer(wte_simdata()) as server:
            client = make_client(server, "wte_plc")
            readings = by_id(await client.read_points())
            await client.close()
        assert readings["electric_power"].value == pytest.approx(5200.0)
        assert readings["heat_power"].value == pytest.approx(11000.0)
        assert readings["waste_feed"].value == pytest.approx(12500.0)  # 12.5 t/h in kg/h
        assert (readings["status"].value, readings["status"].detail) == (2, "running")
        assert readings["alarms"].detail == "grate_fault,turbine_trip"
        assert readings["output_setpoint"].value == 4000

    run(body())


def test_write_with_read_back() -> None:
    async def body() -> None:
        async with SimServer(wte_simdata()) as server:
            client = make_client(server, "wte_plc")
            result = await client.write_point("output_setpoint", 5000)
            await client.close()
        assert result.ok
        assert (result.old_value, result.read_back) == (4000, 5000)
        assert [(w.function_code, w.address, w.values) for w in server.writes] == [(6, 20, (5000,))]

    run(body())


def test_write_with_scale_factor_register() -> None:
    async def body() -> None:
        async with SimServer(battery_simdata(0, 0)) as server:
            client = make_client(server, "battery")
            # Setpoint SF at 11 is 1: one count is 10 W.
            result = await client.write_point("power_setpoint", -250.0)
            await client.close()
        assert result.ok, result
        assert result.read_back == pytest.approx(-250.0)
        assert server.writes[0].values == ((-25000) & 0xFFFF,)

    run(body())


@pytest.mark.parametrize(
    ("point_id", "value"),
    [
        ("output_setpoint", math.nan),
        ("output_setpoint", math.inf),
        ("output_setpoint", -1.0),
        ("output_setpoint", 8000.5),
        ("electric_power", 10.0),
        ("no_such_point", 1.0),
    ],
)
def test_write_refused_before_sending(point_id: str, value: float) -> None:
    async def body() -> None:
        async with SimServer(wte_simdata()) as server:
            client = make_client(server, "wte_plc")
            with pytest.raises(PointWriteRejected):
                await client.write_point(point_id, value)
            await client.close()
        assert server.writes == []

    run(body())


def test_read_back_mismatch_is_not_ok_and_not_retried() -> None:
    async def body() -> None:
        async with SimServer(wte_simdata()) as server:
            client = make_client(server, "wte_plc")
            server.fault = Fault("rewrite", addresses=range(20, 21), value=3000)
            result = await client.write_point("output_setpoint", 5000)
            await client.close()
        assert not result.ok
        assert result.read_back == 3000
        assert len(server.writes) == 1

    run(body())


def test_configured_points_tighten_the_range_and_must_share_units() -> None:
    async def body() -> None:
        async with SimServer(wte_simdata()) as server:
            tight = [point("electric_power", PointKind.ACTIVE_POWER, min_value=0, max_value=5000)]
            client = make_client(server, "wte_plc", points=tight)
            readings = by_id(await client.read_points())
            await client.close()
        assert readings["electric_power"].quality is Quality.OUT_OF_RANGE

    run(body())
    wrong_unit = [point("waste_feed", PointKind.ENERGY)]
    with pytest.raises(DeviceMapError, match="units agree"):
        ModbusDeviceClient(
            "wte", load_builtin_map("wte_plc"), ModbusConnection(), points=wrong_unit
        )


def test_rtu_client_is_built_on_the_same_path() -> None:
    connection = ModbusConnection(
        transport="rtu", serial_port="/dev/ttyKLASTER0", baudrate=9600, parity="E"
    )
    client: DeviceClient = ModbusDeviceClient(
        "rtu-meter", load_builtin_map("energy_meter"), connection
    )
    assert client.device_id == "rtu-meter"
    assert isinstance(client, ModbusDeviceClient) and not client.link.connected
    assert connection.describe() == "rtu:///dev/ttyKLASTER0@9600 unit 1"

    async def body() -> None:
        serial = make_pymodbus_client(connection)
        assert isinstance(serial, AsyncModbusSerialClient)
        params = serial.comm_params
        assert (params.host, params.baudrate, params.parity) == ("/dev/ttyKLASTER0", 9600, "E")
        assert not serial.connected
        tcp = make_pymodbus_client(ModbusConnection(host="127.0.0.1", port=1502))
        assert isinstance(tcp, AsyncModbusTcpClient)

    run(body())
    with pytest.raises(ValueError, match="serial_port"):
        ModbusConnection(transport="rtu")


def test_lighting_cabinet_reads_all_circuits_and_dims_one() -> None:
    circuits = []
    for k in range(12):
        circuits += [1, 70, 2000 + k, k % 3, 0, 1000 * k, 0, 0]
    name = ModbusClientMixin.convert_to_registers("SZAFA-K01", DT.STRING)

    async def body() -> None:
        simdata = [
            registers(0, [0b1]),
            registers(10, name + [0] * (8 - len(name))),
            registers(1000, circuits),
        ]
        async with SimServer(simdata) as server:
            client = make_client(server, "lighting_cabinet")
            readings = by_id(await client.read_points())
            texts = await client.read_text()
            result = await client.write_point("circuit05.dim_level", 50)
            await client.close()
        assert len(readings) == 61
        assert readings["circuit05.power"].value == pytest.approx(2.004)
        assert readings["circuit12.traffic_count"].value == 11000
        assert readings["circuit03.on_off"].detail == "on"
        assert readings["cabinet_alarms"].detail == "door_open"
        assert texts == {"controller_name": "SZAFA-K01"}
        assert result.ok and result.old_value == 70
        assert server.writes[0].address == 1000 + 4 * 8 + 1
        assert_no_request_over_125(server)

    run(body())
