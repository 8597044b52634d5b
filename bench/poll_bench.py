"""Poll throughput: sweeps over 100 and 1,000 simulated Modbus devices on loopback.

Run with ``python -m bench poll_bench``. Every device is its own pymodbus
``ModbusTcpServer`` on its own loopback port, holding 20 to 60 registers
(sizes drawn with a fixed seed) that its map reads as uint16 points in one
block. All servers run in a separate process, so client and servers each
have a core of a two-core machine. One sweep reads every device once (one
block read each) and writes the readings to a fresh SQLite store.

Rows, per device count:

* ``poller`` — :meth:`adapters.poller.Poller.poll_once` at several
  concurrency limits (64 is the default);
* ``sequential`` — the same poller with a concurrency of 1 (one device
  after another), the baseline;
* ``pymodbus only`` — bare ``AsyncModbusTcpClient.read_holding_registers``
  calls with no decoding or storing, the floor set by pymodbus itself.

Connections are opened by a warm-up sweep and reused (as the poller does
between its sweeps); times are medians over the timed sweeps, CPU times are
per sweep.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from adapters.clients import ClientSettings, DeviceClientFactory
from adapters.poller import Poller, PollerSettings
from adapters.site import DeviceEndpoint, Protocol
from adapters.sqlite_store import SqliteStore
from cluster.config import load_demo_config

DEVICE_COUNTS = (100, 1_000)
CONCURRENCY_LIMITS = (64, 256, 1_000)
MIN_REGISTERS, MAX_REGISTERS = 20, 60
SEED = 20_260_601
TIMED_SWEEPS = 5
#: Generous: a device waiting in the server's queue must not count as unreachable.
TIMEOUT_S = 10.0


def device_sizes(count: int, seed: int = SEED) -> list[int]:
    """Registers of each simulated device, 20–60, the same for every run."""
    rng = np.random.default_rng(seed)
    return [int(n) for n in rng.integers(MIN_REGISTERS, MAX_REGISTERS + 1, size=count)]


def raise_open_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- the server process ---------------------------------------------------------------


def _serve(sizes: list[int], pipe: Connection) -> None:
    """Serve one Modbus/TCP device per size until told to stop (runs in its own process)."""
    raise_open_file_limit()
    asyncio.run(_serve_devices(sizes, pipe))


async def _serve_devices(sizes: list[int], pipe: Connection) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    rng = np.random.default_rng(SEED + 1)
    servers: list[Any] = []
    ports: list[int] = []
    for size in sizes:
        values = [int(v) for v in rng.integers(0, 65_536, size=size)]
        device = SimDevice(id=1, simdata=[SimData(0, values=values, datatype=DataType.REGISTERS)])
        server = ModbusTcpServer(device, address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        servers.append(server)
        listening: Any = server.transport  # an asyncio.Server once serving
        ports.append(int(listening.sockets[0].getsockname()[1]))
    pipe.send(ports)
    loop = asyncio.get_running_loop()
    while (command := await loop.run_in_executor(None, pipe.recv)) != "stop":
        if command == "cpu":
            pipe.send(time.process_time())
    for server in servers:
        await server.shutdown()
    pipe.send("stopped")


class ServerProcess:
    """The simulated devices, served by another process."""

    def __init__(self, sizes: list[int]) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(sizes, child), daemon=True)
        self._process.start()
        self.ports: list[int] = self._pipe.recv()

    def cpu_s(self) -> float:
        """CPU time the server process has used so far, s."""
        self._pipe.send("cpu")
        return float(self._pipe.recv())

    def stop(self) -> None:
        self._pipe.send("stop")
        self._pipe.recv()
        self._process.join(timeout=30)


# --- the client side ------------------------------------------------------------------


@dataclass(frozen=True)
class SweepStats:
    """Medians over the timed sweeps of one configuration."""

    devices: int
    mode: str
    concurrency: int
    sweep_s: float
    client_cpu_s: float
    server_cpu_s: float
    store_s: float
    readings: int
    failed: int
    first_sweep_s: float | None = None

    @property
    def reads_per_s(self) -> float:
        """Block reads per second (one per device per sweep)."""
        return self.devices / self.sweep_s

    @property
    def reads_per_s_without_store(self) -> float:
        """Block reads per second with the store write left out of the sweep time."""
        return self.devices / (self.sweep_s - self.store_s)


class TimedStore(SqliteStore):
    """The real SQLite store, adding up the time spent in write_readings."""

    write_s = 0.0

    def write_readings(self, frame: pd.DataFrame) -> int:
        began = time.perf_counter()
        try:
            return super().write_readings(frame)
        finally:
            self.write_s += time.perf_counter() - began


def write_maps(sizes: Sequence[int], folder: Path) -> dict[int, Path]:
    """One map file per register count: ``n`` uint16 points at addresses 0..n-1."""
    paths = {}
    for size in sorted(set(sizes)):
        lines = [f'[device]\nname = "bench-{size}"\nmax_gap = 0\n']
        for address in range(size):
            lines.append(
                f'[[points]]\nid = "r{address:02d}"\naddress = {address}\n'
                'type = "uint16"\nunit = "1"\n'
            )
        paths[size] = folder / f"bench_{size}.toml"
        paths[size].write_text("\n".join(lines), encoding="utf-8")
    return paths


def endpoints(
    ports: Sequence[int], sizes: Sequence[int], maps: dict[int, Path]
) -> list[DeviceEndpoint]:
    """One endpoint per served device, its map chosen by its register count."""
    return [
        DeviceEndpoint(
            id=f"bench-{i:04d}",
            owner=f"bench-{i:04d}",
            protocol=Protocol.MODBUS,
            port=port,
            map=str(maps[size]),
        )
        for i, (port, size) in enumerate(zip(ports, sizes, strict=True))
    ]


async def _poller_sweeps(
    devices: list[DeviceEndpoint], servers: ServerProcess, folder: Path, concurrency: int, mode: str
) -> SweepStats:
    factory = DeviceClientFactory(
        load_demo_config(), ClientSettings(modbus_timeout_s=TIMEOUT_S), base_dir=folder
    )
    store = TimedStore.open(folder / f"store-{mode}-{concurrency}-{len(devices)}")
    assert isinstance(store, TimedStore)
    settings = PollerSettings(concurrency=concurrency, batch_size=100_000)
    rows: list[tuple[float, float, float, float, int, int]] = []
    with store:
        async with Poller(devices, store, factory, settings) as poller:
            began = time.perf_counter()
            await poller.poll_once()  # connects every device
            first_sweep_s = time.perf_counter() - began
            for _ in range(TIMED_SWEEPS):
                await asyncio.sleep(1.1)  # a new second: each sweep stores new rows
                server_before, store_before = servers.cpu_s(), store.write_s
                cpu_before, began = time.process_time(), time.perf_counter()
                sweep = await poller.poll_once()
                elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_before
                rows.append(
                    (
                        elapsed,
                        cpu,
                        servers.cpu_s() - server_before,
                        store.write_s - store_before,
                        sum(len(p.columns) for p in sweep.polls),
                        len(devices) - sweep.answered,
                    )
                )
    return replace(_stats(len(devices), mode, concurrency, rows), first_sweep_s=first_sweep_s)


async def _pymodbus_sweeps(
    ports: Sequence[int], sizes: Sequence[int], servers: ServerProcess, concurrency: int
) -> SweepStats:
    from pymodbus.client import AsyncModbusTcpClient

    clients = [
        AsyncModbusTcpClient("127.0.0.1", port=p, timeout=TIMEOUT_S, retries=0) for p in ports
    ]
    limit = asyncio.Semaphore(concurrency)

    async def read(client: Any, size: int) -> bool:
        async with limit:
            reply = await client.read_holding_registers(0, count=size, device_id=1)
            return not reply.isError() and len(reply.registers) == size

    await asyncio.gather(*(c.connect() for c in clients))
    rows = []
    try:
        for _ in range(TIMED_SWEEPS):
            server_before = servers.cpu_s()
            cpu_before, began = time.process_time(), time.perf_counter()
            ok = await asyncio.gather(*(read(c, n) for c, n in zip(clients, sizes, strict=True)))
            elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_before
            rows.append((elapsed, cpu, servers.cpu_s() - server_before, 0.0, 0, ok.count(False)))
    finally:
        for client in clients:
            client.close()
    return _stats(len(ports), "pymodbus only", concurrency, rows)


def _stats(
    devices: int,
    mode: str,
    concurrency: int,
    rows: list[tuple[float, float, float, float, int, int]],
) -> SweepStats:
    columns = list(zip(*rows, strict=True))
    return SweepStats(
        devices=devices,
        mode=mode,
        concurrency=concurrency,
        sweep_s=statistics.median(columns[0]),
        client_cpu_s=statistics.median(columns[1]),
        server_cpu_s=statistics.median(columns[2]),
        store_s=statistics.median(columns[3]),
        readings=int(statistics.median(columns[4])),
        failed=max(columns[5]),
    )


def measure(count: int, folder: Path) -> list[SweepStats]:
    """Every configuration for ``count`` devices, against one server process."""
    sizes = device_sizes(count)
    servers = ServerProcess(sizes)
    try:
        devices = endpoints(servers.ports, sizes, write_maps(sizes, folder))
        results = [asyncio.run(_poller_sweeps(devices, servers, folder, 1, "sequential"))]
        for concurrency in CONCURRENCY_LIMITS:
            if concurrency <= count:
                results.append(
                    asyncio.run(_poller_sweeps(devices, servers, folder, concurrency, "poller"))
                )
        results.append(asyncio.run(_pymodbus_sweeps(servers.ports, sizes, servers, count)))
    finally:
        servers.stop()
    return results


def run(device_counts: Sequence[int] = DEVICE_COUNTS) -> list[SweepStats]:
    """Measure every configuration for each device count; print and return the table."""
    limit = raise_open_file_limit()
    results: list[SweepStats] = []
    with tempfile.TemporaryDirectory(prefix="klaster-poll-bench-") as folder:
        for count in device_counts:
            results += measure(count, Path(folder))
    _print(results, limit)
    return results


def _print(results: list[SweepStats], file_limit: int) -> None:
    table = Table(
        title=f"Poll sweeps over loopback Modbus devices (median of {TIMED_SWEEPS}; "
        f"open-file limit {file_limit:,})"
    )
    for column in ("devices", "mode", "limit", "first sweep s", "sweep s", "reads/s",
                   "reads/s w/o store", "client CPU s", "server CPU s", "store write s",
                   "readings", "failed"):  # fmt: skip
        table.add_column(column, justify="left" if column == "mode" else "right")
    for r in results:
        table.add_row(
            f"{r.devices:,}",
            r.mode,
            f"{r.concurrency:,}",
            "" if r.first_sweep_s is None else f"{r.first_sweep_s:.3f}",
            f"{r.sweep_s:.3f}",
            f"{r.reads_per_s:,.0f}",
            f"{r.reads_per_s_without_store:,.0f}",
            f"{r.client_cpu_s:.3f}",
            f"{r.server_cpu_s:.3f}",
            f"{r.store_s:.3f}",
            f"{r.readings:,}",
            str(r.failed),
        )
    console = Console(width=max(Console().width, 150))
    console.print(table)
    console.print(
        "targets: ≥ 2,000 block reads/s; 1,000 devices swept in ≤ 1 s. A sweep includes writing "
        "its readings (one transaction); 'first sweep' also opens every connection, later "
        "sweeps reuse them.",
        highlight=False,
    )


if __name__ == "__main__":
    run()
