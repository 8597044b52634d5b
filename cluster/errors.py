"""The root of klaster's error hierarchy.

Every error a user can cause derives from :class:`KlasterError` and carries a
message that says what is wrong and how to fix it. The CLI prints the message
and exits with :attr:`KlasterError.exit_code`; it never shows a traceback for one.
"""

from __future__ import annotations


class KlasterError(Exception):
    """Base class of every error klaster raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class ConfigError(KlasterError):
    """A cluster configuration that cannot be used as written.

    Each problem names the file, the key path inside it and the fix.
    """

    exit_code = 2

    def __init__(self, path: str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
        lines = [f"{path}: {count} in the cluster configuration"]
        lines += [f"  {p.key}: {p.message}\n    fix: {p.fix}" for p in problems]
        super().__init__("\n".join(lines))

    def __str__(self) -> str:
        return self.message


class ConfigProblem:
    """One problem found in a configuration file: where, what, and how to fix it."""

    __slots__ = ("fix", "key", "message")

    def __init__(self, key: str, message: str, fix: str) -> None:
        self.key = key
        self.message = message
        self.fix = fix

    def __repr__(self) -> str:
        return f"ConfigProblem({self.key!r}, {self.message!r}, {self.fix!r})"


class ConfigValueError(ValueError):
    """A value the configuration model rejects, raised inside its validators.

    Users never see it as such: the loader turns it into a :class:`ConfigProblem`.
    ``field`` names the key the problem is about, relative to the object being
    validated (dots for nested keys, e.g. ``"road.design_speed"``), so that the
    key path points at that key rather than at the whole entry; ``fix`` says how
    to put it right.
    """

    def __init__(self, message: str, *, fix: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.field = field


class DataError(KlasterError):
    """Input data (history, forecasts, prices) missing or unusable for a run."""

    exit_code = 3


class StoreError(KlasterError):
    """The time-series store cannot be opened, read or written."""

    exit_code = 4
