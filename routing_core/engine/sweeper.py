"""The sweeper: periodic duties of one process (wake due timers and dead workers' leases,
retry the outbox, run campaign and assignment passes). One failing duty is logged and
never stops the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Sweep = Callable[[], Awaitable[int]]


class Sweeper:
    """Runs every registered sweep, then sleeps ``interval`` seconds, until stopped."""

    def __init__(self, interval: float, sweeps: list[Sweep] | None = None):
        self.interval = interval
        self._sweeps: list[Sweep] = list(sweeps or [])
        self._task: asyncio.Task[None] | None = None

    def add(self, sweep: Sweep) -> None:
        self._sweeps.append(sweep)

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _forever(self) -> None:
        while True:
            for sweep in self._sweeps:
                try:
                    await sweep()
                except Exception:
                    log.exception("sweeper: %s failed", getattr(sweep, "__qualname__", sweep))
            await asyncio.sleep(self.interval)
