"""Errors of the adapters: protocol failures folded into klaster's own terms.

Library exceptions (pymodbus' ``ModbusException``, bacpypes3's
``ErrorRejectAbortNack`` which derives from ``BaseException``) never leave an
adapter; they become one of these.
"""

from __future__ import annotations

from cluster.errors import KlasterError


class AdapterError(KlasterError):
    """Base of every adapter error."""

    exit_code = 5


class DeviceUnreachable(AdapterError):
    """The device did not answer at all: refused, timed out, or gone."""


class PointReadError(AdapterError):
    """One point could not be read; the device itself answered."""


class PointWriteRejected(AdapterError):
    """A write was refused, by klaster's safety rules or by the device."""


class DeviceMapError(AdapterError):
    """A device map (register or object list) is invalid or does not fit the device."""
