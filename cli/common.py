"""What every sub-command shares: consoles, option types and the error boundary."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cluster.errors import KlasterError

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # paths in messages stay whole

P = ParamSpec("P")
R = TypeVar("R")

CONFIG_HELP = "Cluster TOML file; the built-in demo cluster if left out."
ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help=CONFIG_HELP)]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="KLASTER_DATA_DIR",
        help="Folder of the store (SQLite); default ~/.local/share/klaster.",
    ),
]


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn klaster's own errors into a message and an exit code, never a traceback."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except KlasterError as exc:
            errors.print(f"error: {exc}", style="red", highlight=False, markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            errors.print("interrupted", style="red")
            raise typer.Exit(130) from None

    return wrapper


def show_adapter_log(level: int = logging.WARNING) -> None:
    """Show the adapters' log (device failures, refused points, rig faults) on stderr.

    The adapters fold the protocol libraries' errors into their own and report
    them; the libraries' own logs (frame dumps, tracebacks of bad frames) would
    only repeat them, so those are silenced.
    """
    for library in ("pymodbus", "bacpypes3"):
        logging.getLogger(library).setLevel(logging.CRITICAL)
    logger = logging.getLogger("adapters")
    logger.setLevel(level)
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        logger.addHandler(RichHandler(console=errors, show_path=False, markup=False))


def parse_day(text: str | None, option: str = "--day") -> date | None:
    """A ``YYYY-MM-DD`` day given on the command line; None when the option was left out."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a day; write it as YYYY-MM-DD", param_hint=option
        ) from None


@contextmanager
def progress_bar(label: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, shown from the first ``update(done, total)`` call on."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} " + unit),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        progress.stop()
