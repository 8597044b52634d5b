"""How long the tests wait for devices on 127.0.0.1, and a wait for a condition.

Two kinds of wait, never one for both:

* a device that is expected to answer gets :data:`ANSWER_TIMEOUT_S`. A simulated
  device on loopback answers in milliseconds, but on a loaded machine (CI with
  both cores busy) the event loops of client and device may each lose the CPU
  for a good fraction of a second. A healthy answer costs no more time under a
  long budget, so the budget is generous: a test fails only when an answer does
  not come at all.
* a device that is expected to stay silent (dead peer, ``slow`` or
  ``no-response`` fault, offline) is waited for :data:`SILENCE_TIMEOUT_S`. Every
  such wait costs its whole budget, so it is short; load only makes silence
  more certain, never less. It is not shorter still because a BACnet client
  also waits this long for its own UDP socket to open.

A client whose one budget must cover both, because the test is that the same
client (or poller) answers again after it timed out and the client has no budget
per request, uses :data:`SHARED_TIMEOUT_S`: more than twice the slowest healthy
BACnet read seen with both cores fully loaded (0.8 s), at the cost of waiting that
long for the silence once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: Budget of a request to a device that is expected to answer, s.
ANSWER_TIMEOUT_S = 5.0
#: Budget of a request to a device that is expected to stay silent, s.
SILENCE_TIMEOUT_S = 0.5
#: Budget of one client that must both time out and answer (no per-request budget), s.
SHARED_TIMEOUT_S = 2.0


async def wait_until(
    condition: Callable[[], bool], what: str, within_s: float = ANSWER_TIMEOUT_S
) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` after ``within_s`` seconds.

    Parameters
    ----------
    condition
        Checked every 10 ms on the running event loop.
    what
        The awaited state, for the failure message.
    within_s
        How long the state may take to come about, s.
    """
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {within_s:g} s"
        await asyncio.sleep(0.01)
