"""Running a rig as a service: its files, its control channel, and the client the CLI uses.

A running rig writes, under ``<data dir>/rig/``:

* ``devices.json`` — the site's device list with the bound ports (what
  ``klaster poll`` and ``klaster dispatch`` read);
* ``rig.json`` — its process id and control port, written last (its
  presence means the rig is ready) and removed last on a clean stop.

The control channel listens on 127.0.0.1 only, whatever address the devices
bind. It speaks JSON lines: one request object per line, one answer per line.
Every request carries the token from ``rig.json`` (readable only by its
owner). Commands: ``status``; ``fault`` (``device``, ``kind``, and
``delay_s``, ``point``, ``value``); ``clear`` (``device``); ``down``.
An answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": ..., "fix": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.rig.errors import RigError, RigNotRunning
from adapters.rig.faults import DEFAULT_DELAY_S
from adapters.site import save_site_devices
from cluster.errors import KlasterError

if TYPE_CHECKING:
    from adapters.rig.rig import Rig

log = logging.getLogger(__name__)

CONTROL_HOST = "127.0.0.1"
#: Longest request line the control channel accepts, bytes.
MAX_LINE = 64 * 1024
START_HINT = "start one with: klaster rig up (with the same --data-dir)"


def rig_folder(data_dir: Path) -> Path:
    """The folder a rig keeps its files in."""
    return data_dir / "rig"


def devices_file(data_dir: Path) -> Path:
    """The device list a running rig writes."""
    return rig_folder(data_dir) / "devices.json"


def info_file(data_dir: Path) -> Path:
    """The file that says a rig runs and where its control port is."""
    return rig_folder(data_dir) / "rig.json"


@dataclass(frozen=True)
class RigInfo:
    """What ``rig.json`` holds."""

    pid: int
    control_port: int
    token: str
    started_at: str
    config: str

    def save(self, path: Path) -> None:
        """Write the file atomically, readable only by its owner (it holds the token)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> RigInfo:
        """Read ``rig.json``.

        Raises
        ------
        RigNotRunning
            When it is missing or unreadable.
        """
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{name: raw[name] for name in cls.__dataclass_fields__})
        except FileNotFoundError:
            raise RigNotRunning(
                f"no rig is running ({path} does not exist)", fix=START_HINT
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RigNotRunning(
                f"{path} cannot be read ({exc}); no rig can be reached",
                fix=f"remove {path} and {START_HINT}",
            ) from None


# --- the server side ------------------------------------------------------------------


class ControlServer:
    """The control channel of a running rig.

    Parameters
    ----------
    rig
        The rig it controls.
    token
        The secret every request must carry.
    on_down
        Called when a ``down`` request arrives.
    """

    def __init__(self, rig: Rig, token: str, on_down: Callable[[], None]) -> None:
        self.rig = rig
        self.token = token
        self.on_down = on_down
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, CONTROL_HOST, 0, limit=MAX_LINE)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and end open connections; safe to call twice."""
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()
        for writer in self._connections.values():
            writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while line := await reader.readline():
                answer = await self.answer(line)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def answer(self, line: bytes) -> dict[str, Any]:
        """The answer to one request line."""
        try:
            request = json.loads(line)
        except ValueError:
            return _refusal("the request is not JSON", "send one JSON object per line")
        if not isinstance(request, dict):
            return _refusal("the request is not a JSON object", "send one JSON object per line")
        if not secrets.compare_digest(str(request.get("token", "")), self.token):
            return _refusal("wrong or missing token", "use the token from rig.json")
        command = request.get("command")
        try:
            if command == "status":
                return {"ok": True, "status": self.rig.status()}
            if command == "fault":
                fault = await self.rig.inject_fault(
                    str(request.get("device")),
                    str(request.get("kind")),
                    delay_s=_number(request.get("delay_s"), DEFAULT_DELAY_S),
                    point=_text(request.get("point")),
                    value=_number(request.get("value"), None),
                )
                return {"ok": True, "fault": fault.as_json()}
            if command == "clear":
                await self.rig.clear_fault(str(request.get("device")))
                return {"ok": True}
            if command == "down":
                self.on_down()
                return {"ok": True}
        except KlasterError as exc:
            return _refusal(exc.message, exc.fix)
        except Exception as exc:
            # A bug must not take the control channel down with it; the rig's log has the trace.
            log.exception("rig control command %r failed", command)
            return _refusal(f"the rig failed on {command!r}: {exc}", "see the rig's terminal")
        return _refusal(f"unknown command {command!r}", "use status, fault, clear or down")


def _number(value: Any, default: float | None) -> Any:
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise RigError(f"{value!r} is not a number", fix="give a plain number")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise RigError(f"{value!r} is not text", fix="give the point id as text, e.g. z1.setpoint")


def _refusal(message: str, fix: str | None) -> dict[str, Any]:
    return {"ok": False, "error": message, "fix": fix}


async def serve_rig(
    rig: Rig,
    data_dir: Path,
    *,
    config_source: str,
    on_ready: Callable[[Rig, RigInfo], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run ``rig`` until SIGINT, SIGTERM, a ``down`` request or ``stop`` is set.

    Starts the rig, opens the control channel, writes ``devices.json`` and
    then ``rig.json``, and on the way out closes every socket before it
    removes both files.

    Raises
    ------
    RigError
        If another rig already runs with this data folder, or the rig cannot start.
    """
    info_path = info_file(data_dir)
    _refuse_second_rig(info_path)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    token = secrets.token_hex(16)
    control = ControlServer(rig, token, stop.set)
    written: list[Path] = []
    try:
        await rig.start()
        await control.start()
        written.append(save_site_devices(devices_file(data_dir), rig.site_devices()))
        started = (rig.started_at or datetime.now(UTC)).isoformat()
        info = RigInfo(os.getpid(), control.port, token, started, config_source)
        info.save(info_path)
        written.append(info_path)
        if on_ready is not None:
            on_ready(rig, info)
        await stop.wait()
    finally:
        await control.stop()
        await rig.stop()
        for path in reversed(written):
            path.unlink(missing_ok=True)
        for signum in handled:
            loop.remove_signal_handler(signum)


def _refuse_second_rig(info_path: Path) -> None:
    if not info_path.exists():
        return
    try:
        info = RigInfo.load(info_path)
    except RigNotRunning:
        return
    if _port_open(info.control_port):
        raise RigError(
            f"a rig already runs with this data folder (pid {info.pid}, control port "
            f"{info.control_port})",
            fix="stop it with klaster rig down, or give another --data-dir",
        )


# --- the client side -------------------------------------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((CONTROL_HOST, port)) == 0


def send(data_dir: Path, command: str, timeout_s: float = 10.0, **fields: Any) -> dict[str, Any]:
    """Send one command to the rig running with ``data_dir`` and return its answer.

    Raises
    ------
    RigNotRunning
        When no rig runs there (stale files of a rig that died are removed).
    RigError
        When the rig refuses the command (unknown device or fault kind, ...),
        with its message and fix.
    """
    info_path = info_file(data_dir)
    info = RigInfo.load(info_path)
    request = json.dumps({"token": info.token, "command": command, **fields}).encode() + b"\n"
    try:
        with socket.create_connection((CONTROL_HOST, info.control_port), timeout=timeout_s) as conn:
            conn.sendall(request)
            reply = conn.makefile("rb").readline(MAX_LINE)
    except ConnectionRefusedError:
        _remove_stale(data_dir)
        raise RigNotRunning(
            f"no rig is running: the rig recorded in {info_path} (pid {info.pid}) does not "
            "answer; its stale files were removed",
            fix=START_HINT,
        ) from None
    except OSError as exc:
        raise RigError(
            f"the rig on control port {info.control_port} did not answer: {exc}",
            fix="check that it still runs (its terminal shows errors), or stop it with Ctrl-C",
        ) from None
    try:
        answer = json.loads(reply)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise RigError(
            f"the rig on control port {info.control_port} sent no answer",
            fix="check the rig's terminal for errors",
        )
    if not answer.get("ok"):
        raise RigError(str(answer.get("error")), fix=answer.get("fix"))
    return answer


def _remove_stale(data_dir: Path) -> None:
    info_file(data_dir).unlink(missing_ok=True)
    devices_file(data_dir).unlink(missing_ok=True)


def stop_rig(data_dir: Path, timeout_s: float = 30.0) -> RigInfo:
    """Ask the rig to stop and wait until its sockets are closed and its files are gone.

    Raises
    ------
    RigNotRunning
        When no rig runs with ``data_dir``.
    RigError
        When it has not stopped within ``timeout_s``.
    """
    info = RigInfo.load(info_file(data_dir))
    send(data_dir, "down")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not info_file(data_dir).exists() and not _port_open(info.control_port):
            return info
        time.sleep(0.05)
    raise RigError(
        f"the rig (pid {info.pid}) was asked to stop but still runs after {timeout_s:g} s",
        fix=f"stop it with: kill {info.pid}",
    )
