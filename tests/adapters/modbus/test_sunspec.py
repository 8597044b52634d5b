"""SunSpec discovery, decoding and the power limit, against a served register image."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
import sunspec2.modbus.client as sunspec_client
from sunspec2 import device as sunspec_device

from adapters.device import DeviceClient
from adapters.errors import DeviceMapError, PointWriteRejected
from adapters.modbus.connection import RetryPolicy
from adapters.modbus.inverter import SunSpecInverterClient, mppt_point_id
from adapters.modbus.sunspec import (
    ModelLocation,
    build_sunspec_image,
    discover,
    model_requests,
)
from cluster.timeseries import Quality
from tests.adapters.modbus.sim import Request, SimServer, registers
from tests.timeouts import ANSWER_TIMEOUT_S

FAST_RETRY = RetryPolicy(attempts=1, backoff_s=0.01)


def inverter_models(*, modules: int = 2, limit_enabled: bool = True) -> dict[int, dict[str, Any]]:
    return {
        1: {"Mn": "KlasterSim", "Md": "PV-50", "SN": "SN0001"},
        103: {"W": 4500, "W_SF": 1, "WH": 123456, "WH_SF": 0, "Hz": 4998, "Hz_SF": -2, "St": 4},
        120: {"DERTyp": 4, "WRtg": 5000, "WRtg_SF": 1},
        123: {"WMaxLimPct": 800, "WMaxLimPct_SF": -1, "WMaxLim_Ena": int(limit_enabled)},
        160: {
            "DCW_SF": 0,
            "N": modules,
            "module": [{"ID": i + 1, "DCW": 2000 + 500 * i} for i in range(modules)],
        },
    }


def served(image: list[int], base: int = 40000) -> SimServer:
    return SimServer([registers(base, image)])


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def by_id(readings: list[Any]) -> dict[str, Any]:
    return {r.point_id: r for r in readings}


def offset(model_id: int, name: str) -> int:
    """A point's offset in its model, from pysunspec2's definition."""
    return int(sunspec_device.Model(model_id).points[name].offset)


def inverter(server: SimServer) -> SunSpecInverterClient:
    return SunSpecInverterClient("pv", server.connection(), retry=FAST_RETRY)


def test_discovery_walks_the_chain_and_pysunspec2_agrees() -> None:
    image = build_sunspec_image(inverter_models())

    async def body() -> None:
        async with served(image) as server:
            client = inverter(server)
            as_device: DeviceClient = client  # what the poller sees
            await as_device.connect()
            layout = client.layout

            def scan() -> list[int]:
                device = sunspec_client.SunSpecModbusClientDeviceTCP(
                    slave_id=1, ipaddr="127.0.0.1", ipport=server.port, timeout=ANSWER_TIMEOUT_S
                )
                try:
                    device.scan()
                    return [m for m in device.models if isinstance(m, int)]
                finally:
                    device.disconnect()

            independent = await asyncio.to_thread(scan)
            await client.close()
        assert layout is not None
        assert layout.base_address == 40000
        assert layout.model_ids == (1, 103, 120, 123, 160)
        assert independent == [1, 103, 120, 123, 160]
        assert layout.models[0].address == 40002
        for previous, current in zip(layout.models, layout.models[1:], strict=False):
            assert current.address == previous.address + previous.total_registers
        assert client.rated_power_kw == pytest.approx(50.0)

    run(body())


def test_points_decode_with_their_scale_factors_in_one_request_per_model() -> None:
    async def body() -> None:
        async with served(build_sunspec_image(inverter_models())) as server:
            client = inverter(server)
            await client.connect()
            discovery_reads = len(server.reads)
            readings = by_id(await client.read_points())
            assert client.layout is not None
            location = client.layout.find(103)
            await client.close()
        assert readings["ac_power"].value == pytest.approx(45.0)  # 4500 W × 10^1
        assert readings["energy_total"].value == pytest.approx(123.456)
        assert readings["power_limit"].value == pytest.approx(80.0)
        assert (readings["status"].value, readings["status"].detail) == (4, "MPPT")
        assert readings[mppt_point_id(1)].value == pytest.approx(2.0)
        assert readings[mppt_point_id(2)].value == pytest.approx(2.5)
        assert all(r.quality is Quality.GOOD for r in readings.values())
        assert location is not None
        poll = server.reads[discovery_reads:]
        # One request per model: 103 (52), 123 (26), 160 (10 + 2 × 20).
        assert [(r.address, r.count) for r in poll if r.address == location.address] == [
            (location.address, 52)
        ]
        assert len(poll) == 3

    run(body())


def test_scale_factor_change_between_polls_and_unimplemented_scale_factor() -> None:
    async def body() -> None:
        async with served(build_sunspec_image(inverter_models())) as server:
            client = inverter(server)
            first = by_id(await client.read_points())
            assert client.layout is not None
            location = client.layout.find(103)
            assert location is not None
            server.poke(location.address + offset(103, "W_SF"), [0])
            second = by_id(await client.read_points())
            server.poke(location.address + offset(103, "W_SF"), [0x8000])
            third = by_id(await client.read_points())
            server.poke(location.address + offset(103, "W"), [0x8000])
            server.poke(location.address + offset(103, "W_SF"), [0])
            fourth = by_id(await client.read_points())
            await client.close()
        assert first["ac_power"].value == pytest.approx(45.0)
        assert second["ac_power"].value == pytest.approx(4.5)
        assert third["ac_power"].value is None
        assert third["ac_power"].quality is Quality.NOT_IMPLEMENTED
        assert "W_SF" in third["ac_power"].detail
        assert fourth["ac_power"].value is None
        assert fourth["ac_power"].quality is Quality.NOT_IMPLEMENTED

    run(body())


def test_long_model_is_read_in_chunks_with_a_scale_factor_check() -> None:
    models = inverter_models(modules=8)  # model 160: 10 + 8 × 20 = 170 registers

    async def body() -> None:
        async with served(build_sunspec_image(models)) as server:
            client = inverter(server)
            await client.connect()
            assert client.layout is not None
            location = client.layout.find(160)
            assert location is not None
            steady = by_id(await client.read_points())
            sf_address = location.address + offset(160, "DCW_SF")

            def change_scale_mid_read(request: Request) -> None:
                if request.address > location.address and request.address != sf_address:
                    server.poke(sf_address, [1])  # lands before the scale-factor re-read

            server.hook = change_scale_mid_read
            torn = by_id(await client.read_points())
            server.hook = None
            settled = by_id(await client.read_points())
            await client.close()
        requests = model_requests(location)
        assert len(requests) == 2 and all(count <= 125 for _, count in requests)
        assert [steady[mppt_point_id(i)].value for i in (1, 8)] == [2.0, 5.5]
        assert torn[mppt_point_id(1)].quality is Quality.MISSING
        assert "scale factors changed" in torn[mppt_point_id(1)].detail
        assert torn["ac_power"].quality is Quality.GOOD
        assert settled[mppt_point_id(8)].value == pytest.approx(55.0)
        assert max(r.count for r in server.reads) <= 125

    run(body())


def test_der_measurement_model_701_is_supported() -> None:
    models: dict[int, dict[str, Any]] = {
        1: {"Mn": "KlasterSim"},
        701: {"W": 1234, "W_SF": 0, "TotWhInj": 5_000_000, "TotWh_SF": 0, "InvSt": 3},
    }

    async def body() -> None:
        async with served(build_sunspec_image(models)) as server:
            client = inverter(server)
            readings = by_id(await client.read_points())
            await client.close()
        assert readings["ac_power"].value == pytest.approx(1.234)
        assert readings["energy_total"].value == pytest.approx(5000.0)
        assert readings["status"].detail == "RUNNING"
        assert "power_limit" not in readings

    run(body())


@pytest.mark.parametrize("base", [0, 50000])
def test_marker_found_at_the_other_base_addresses(base: int) -> None:
    async def body() -> None:
        async with served(build_sunspec_image(inverter_models()), base=base) as server:
            client = inverter(server)
            await client.connect()
            await client.close()
        assert client.layout is not None and client.layout.base_address == base

    run(body())


def broken_length(image: list[int]) -> list[int]:
    # Model 1 (68 registers with ID and L) follows "SunS"; model 103's L is next.
    image = list(image)
    assert image[2 + 68] == 103
    image[2 + 68 + 1] = 48
    return image


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (build_sunspec_image(inverter_models(), end=False), "before its end marker"),
        ([0x5375, 0x6E54, *build_sunspec_image(inverter_models())[2:]], "no SunSpec marker"),
        (broken_length(build_sunspec_image(inverter_models())), "does not fit its definition"),
        (build_sunspec_image({1: {"Mn": "meter only"}}), "no inverter model"),
    ],
)
def test_devices_with_a_broken_layout_are_refused(image: list[int], message: str) -> None:
    async def body() -> None:
        async with served(image) as server:
            client = inverter(server)
            with pytest.raises(DeviceMapError, match=message):
                await client.connect()
            await client.close()

    run(body())


def test_end_marker_in_the_last_register() -> None:
    image = [*build_sunspec_image({1: {"Mn": "x"}, 103: {"W": 1}}, end=False), 0xFFFF]

    async def body() -> None:
        async with served(image) as server:
            client = inverter(server)
            await client.connect()
            layout = client.layout
            await client.close()
        assert layout is not None and layout.model_ids == (1, 103)

    run(body())


def test_power_limit_write_enables_and_reads_back() -> None:
    async def body() -> None:
        models = inverter_models(limit_enabled=False)
        async with served(build_sunspec_image(models)) as server:
            client = inverter(server)
            before = by_id(await client.read_points())
            result = await client.set_power_limit_pct(60)
            controls = await client.read_model(123)
            after = by_id(await client.read_points())
            await client.close()
        assert before["power_limit"].value == 100.0
        assert before["power_limit"].detail == "limit not enabled"
        assert result.ok, result
        assert (result.old_value, result.read_back) == (100.0, pytest.approx(60.0))
        assert controls.model.points["WMaxLimPct"].value == 600  # SF -1
        assert controls.model.points["WMaxLim_Ena"].value == 1
        assert len(server.writes) == 2
        assert after["power_limit"].value == pytest.approx(60.0)

    run(body())


@pytest.mark.parametrize("pct", [math.nan, math.inf, -1.0, 100.5])
def test_power_limit_refused_before_sending(pct: float) -> None:
    async def body() -> None:
        async with served(build_sunspec_image(inverter_models())) as server:
            client = inverter(server)
            with pytest.raises(PointWriteRejected):
                await client.set_power_limit_pct(pct)
            with pytest.raises(PointWriteRejected):
                await client.write_point("ac_power", 10.0)
            await client.close()
        assert server.writes == []

    run(body())


def test_discover_on_a_link_directly() -> None:
    async def body() -> None:
        async with served(build_sunspec_image({1: {}, 103: {}})) as server:
            client = inverter(server)
            await client.link.connect()
            layout = await discover(client.link)
            await client.close()
        assert layout.models == (
            ModelLocation(1, 40002, 66),
            ModelLocation(103, 40002 + 68, 50),
        )

    run(body())


def test_image_builder_refuses_unknown_models_and_points() -> None:
    with pytest.raises(ValueError, match="no definition"):
        build_sunspec_image({999: {}})
    with pytest.raises(ValueError, match="no point"):
        build_sunspec_image({103: {"Watts": 1}})
