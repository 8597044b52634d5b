"""What every sub-command shares: consoles, option types and the error boundary."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

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
