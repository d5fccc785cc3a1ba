"""Simulators do not outlive their use: closed by the admin, or removed once idle.

A simulator is a hidden web chat entry point of one version. Left behind, each is one
more address that runs a development tree; so closing the panel removes it, and a sweep
removes those nobody talked to for an hour (the admin closed the tab instead). Its
conversations still running are ended first (their timers would otherwise wake for an
entry point that no longer exists); the conversations themselves stay, as the version's
test executions.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from routing_core.engine.runtime import Runtime
from routing_core.infra.errors import DomainError
from routing_core.model.audit import SYSTEM, Actor
from routing_core.model.entry_point import EntryPoint
from routing_core.routing.entry_points import EntryPoints

log = logging.getLogger(__name__)
IDLE = timedelta(hours=1)


class Simulators:
    def __init__(self, runtime: Runtime, entry_points: EntryPoints):
        self.runtime = runtime
        self.entry_points = entry_points
        self.store = runtime.store

    async def close(self, actor: Actor, version_id: str) -> bool:
        """Remove the version's simulator; False when it had none."""
        simulator = await self.store.entry_points.find_one({"simulated_version": version_id})
        if simulator is None:
            return False
        await self._remove(actor, simulator)
        return True

    async def remove_idle(self, now: datetime, idle: timedelta = IDLE) -> int:
        """Remove the simulators whose last conversation (or opening) is older than
        ``idle``; the number removed."""
        removed = 0
        for simulator in await self.store.entry_points.all(
                {"simulated_version": {"$type": "string"}}):
            latest = await self.store.interactions.collection.find_one(
                {"entry_point_id": simulator.id}, projection={"updated_at": 1},
                sort=[("_id", -1)])
            used_at = latest.get("updated_at") if latest else None
            if max(filter(None, [used_at, simulator.created_at])) > now - idle:
                continue
            await self._remove(SYSTEM, simulator)
            removed += 1
        if removed:
            log.info("removed %d idle simulator(s)", removed)
        return removed

    async def _remove(self, actor: Actor, simulator: EntryPoint) -> None:
        async for document in self.store.interactions.collection.find(
                {"entry_point_id": simulator.id, "active": True}, projection={"_id": 1}):
            with contextlib.suppress(DomainError):  # ended meanwhile
                await self.runtime.end_interaction(document["_id"], "simulator closed")
        with contextlib.suppress(DomainError):  # removed meanwhile by another process
            await self.entry_points.delete(actor, simulator.id)
