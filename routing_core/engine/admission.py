"""Admission: a busy process takes messages at the rate it answers them.

A webhook answers once its message is stored; the step that answers the customer runs
after. A provider with more to deliver (or a load test) then sends the next message at
once, so a process that accepts faster than it answers queues conversations: one worker
on the peer turn held ~500 of them, replies came 0.6 s late, and the inbox limit refused
the rest with 503s. So past ``pace`` conversations in progress, a webhook waits for one to
finish before it stores its message — each finished conversation lets one waiting
webhook in, first come first in — and the provider's own connections carry the wait
(Telegram opens at most 40). The wait is bounded: past ``hold_seconds`` the message is
taken all the same, unless the inbox limit refuses it (``bots/webhooks.py``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class Admission:
    """Lets webhooks in while fewer than ``pace`` conversations are in progress
    (``in_progress()``); ``finished()`` is told each time one ends."""

    def __init__(self, pace: int, in_progress: Callable[[], int]):
        self.pace = pace
        self._in_progress = in_progress
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def enter(self, hold_seconds: float) -> None:
        """Return once this message may be taken: at once while the process keeps up,
        else when a conversation finished and those that came earlier went in, or after
        ``hold_seconds``."""
        if self._in_progress() < self.pace and not self._waiting:
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(turn, hold_seconds)
        except TimeoutError:
            pass
        finally:  # let in, out of time, or cancelled (the client went away)
            if turn in self._waiting:
                self._waiting.remove(turn)

    def finished(self) -> None:
        """A conversation in progress finished: the first webhook still waiting goes in."""
        if self._waiting:
            self._waiting.popleft().set_result(None)
