"""Counter-based randomness: the same (seed, stream, counter) always gives the same number.

No generator state is carried from one instant to the next. Each random value
is a hash (two rounds of splitmix64) of a stream key and an integer counter
(an epoch second, a day number, a knot index), so values for a quarter-hour
do not depend on which range is being generated. Smooth processes (weather
anomalies, slow drifts) are cubic B-splines through hashed values at knots
anchored to the Unix epoch.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_UNIT_53 = 2.0**-53
# The variance of a cubic B-spline through unit-variance knots is 0.46-0.50
# depending on the position between knots; this restores roughly unit variance.
_SPLINE_STD_CORRECTION = 1.0 / np.sqrt(0.48)


def stream_key(seed: int, name: str) -> int:
    """A 64-bit key for one named random stream under a seed.

    Parameters
    ----------
    seed
        The history's seed.
    name
        A stable name of the stream, e.g. ``"temp/anomaly-4d"`` or a series id
        with a suffix; different names give independent streams.
    """
    digest = hashlib.blake2b(f"{seed}\x1f{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _splitmix(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = values + _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def _hash(key: int, counters: IntArray) -> NDArray[np.uint64]:
    counter_bits = np.asarray(counters, dtype=np.int64).view(np.uint64)
    return _splitmix(_splitmix(counter_bits) ^ np.uint64(key))


def uniform(key: int, counters: IntArray) -> FloatArray:
    """Uniform values in ``[0, 1)``, one per counter.

    Parameters
    ----------
    key
        A stream key from :func:`stream_key`.
    counters
        Integers that identify the draws (epoch seconds, day numbers, ...).
    """
    return (_hash(key, counters) >> np.uint64(11)).astype(np.float64) * _UNIT_53


def standard_normal(key: int, counters: IntArray) -> FloatArray:
    """Standard normal values (Box-Muller), one per counter.

    Parameters
    ----------
    key
        A stream key from :func:`stream_key`.
    counters
        Integers that identify the draws.
    """
    first = _hash(key, counters)
    second = _splitmix(first)
    # Shifting into (0, 1] keeps the logarithm finite.
    radius_u = ((first >> np.uint64(11)).astype(np.float64) + 1.0) * _UNIT_53
    angle_u = (second >> np.uint64(11)).astype(np.float64) * _UNIT_53
    return np.sqrt(-2.0 * np.log(radius_u)) * np.cos(2.0 * np.pi * angle_u)


def smooth_noise(key: int, seconds: IntArray, knot_seconds: int) -> FloatArray:
    """A smooth, roughly unit-variance random process sampled at ``seconds``.

    A cubic B-spline through standard normal values at knots every
    ``knot_seconds`` since the Unix epoch: the knots, and so the values, do not
    depend on the range asked for.

    Parameters
    ----------
    key
        A stream key from :func:`stream_key`.
    seconds
        Instants as Unix epoch seconds, s.
    knot_seconds
        Spacing of the knots, s; sets how fast the process wanders.
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    if seconds.size == 0:
        return np.zeros(0)
    knot = seconds // knot_seconds
    fraction = (seconds - knot * knot_seconds) / float(knot_seconds)
    first = int(knot.min()) - 1
    knot_values = standard_normal(key, np.arange(first, int(knot.max()) + 3, dtype=np.int64))
    offset = knot - first
    # Products rather than powers: elementwise multiplication rounds the same
    # way wherever an element sits in the array.
    t = fraction
    t2 = t * t
    t3 = t2 * t
    u = 1.0 - t
    weights = (
        u * u * u / 6.0,
        (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0,
        (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0,
        t3 / 6.0,
    )
    total = np.zeros(seconds.shape)
    for shift, weight in enumerate(weights):
        total += weight * knot_values[offset - 1 + shift]
    return total * _SPLINE_STD_CORRECTION
