"""Which interactions this process is stepping now, so that it never steps one twice at once.

Leases keep processes apart, but every worker of one process shares its owner id. Were a
step starved for longer than its lease (an overloaded event loop runs the heartbeat late),
this process's own sweeper could claim the interaction again and run a second step beside
the first, and both would send the step's replies: the customer would get them twice. So
within a process the steps of one interaction run one after another, and the sweeper
leaves alone what is being stepped here; only another process takes over an expired lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

from routing_core.infra.errors import Conflict


class LocalWork:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    def busy(self, interaction_id: str) -> bool:
        """Being stepped (or waited for) in this process."""
        return interaction_id in self._locks

    @contextlib.asynccontextmanager
    async def exclusive(
        self, interaction_id: str, patience_seconds: float | None = None
    ) -> AsyncIterator[bool]:
        """Hold the interaction for one step in this process; gives whether another step of
        it ran here first (then what was read before is stale). Conflict (busy) after
        ``patience_seconds``, when given."""
        lock = self._locks.setdefault(interaction_id, asyncio.Lock())
        self._users[interaction_id] += 1
        try:
            waited = lock.locked()
            try:
                await asyncio.wait_for(lock.acquire(), patience_seconds)
            except TimeoutError:
                raise Conflict("the interaction is busy; try again", code="busy") from None
            try:
                yield waited
            finally:
                lock.release()
        finally:
            self._users[interaction_id] -= 1
            if not self._users[interaction_id]:
                del self._users[interaction_id]
                del self._locks[interaction_id]
