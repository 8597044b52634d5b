"""Errors of the hardware-in-the-loop rig."""

from __future__ import annotations

from adapters.errors import AdapterError


class RigError(AdapterError):
    """The rig cannot do what was asked: a bad option, device or fault."""


class RigNotRunning(RigError):
    """No rig answers on the control port recorded in the data folder."""
