"""Entry points: kept in every process until any process changes one.

Every message needs its entry point (channel, credentials, routing) and every web chat
visitor's socket names one by its key; they change rarely. So each process keeps them
and drops its copy when the change feed reports a change (``ChangeWatch``), trusting a
copy only briefly while the feed is down.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo import ASCENDING, IndexModel

from routing_core.infra.errors import NotFound
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel
from routing_core.store.change_watch import ChangeWatch
from routing_core.store.repository import Repository


class EntryPointRepository(Repository[EntryPoint]):
    collection_name = "entry_points"
    record = EntryPoint
    label = "entry point"
    INDEXES = [
        IndexModel([("channel", ASCENDING), ("address", ASCENDING)], unique=True,
                   name="unique_address"),
        IndexModel([("start_routing", ASCENDING)], name="by_start_routing"),
        IndexModel([("end_routing", ASCENDING)], name="by_end_routing"),
        # one simulator per version (opened twice at once: the second finds the first)
        IndexModel([("simulated_version", ASCENDING)], unique=True,
                   partialFilterExpression={"simulated_version": {"$type": "string"}},
                   name="one_simulator_per_version"),
    ]
    CACHE_SECONDS = 1.0  # how long a copy is trusted while changes cannot be watched

    def __init__(self, database: Any):
        super().__init__(database)
        self._recent: dict[str, tuple[float, EntryPoint]] = {}
        self._ids_by_address: dict[str, str] = {}  # web chat modules' keys seen here
        self._reread_at: dict[str, float] = {}
        self.watch = ChangeWatch("entry points", self.collection, self._drop)

    async def current(self, entry_point_id: str) -> EntryPoint:
        """Entry points change rarely and every message needs its own: kept until any
        process changes it (``watch``; within ``CACHE_SECONDS`` while the change stream
        is down). NotFound when there is none."""
        cached = self._recent.get(entry_point_id)
        now = time.monotonic()
        if cached and (self.watch.live or now - cached[0] < self.CACHE_SECONDS):
            return cached[1]
        generation = self.watch.generation
        entry_point = await self.get(entry_point_id)
        if generation == self.watch.generation:  # no change arrived while reading
            self._recent[entry_point_id] = (now, entry_point)
        return entry_point

    async def by_key(self, key: str) -> EntryPoint | None:
        """By id, or by the web chat module's key (its address, which pages embed): every
        visitor's socket names one, so it is kept like ``current`` keeps an entry point."""
        entry_point_id = self._ids_by_address.get(key) or (key if key in self._recent else None)
        if entry_point_id is None:  # read once, kept as ``current`` keeps it
            generation = self.watch.generation
            found = await self.find_one(
                {"$or": [{"_id": key}, {"channel": Channel.webchat.value, "address": key}]})
            if found is None:
                return None
            if generation == self.watch.generation:
                self._recent[found.id] = (time.monotonic(), found)
            entry_point_id = found.id
        try:
            entry_point = await self.current(entry_point_id)
        except NotFound:
            entry_point = None
        if entry_point is not None and entry_point.id == key:
            return entry_point
        if entry_point is None or entry_point.channel is not Channel.webchat or (
                entry_point.address != key):  # changed since: look again
            if self._ids_by_address.pop(key, None) is not None:
                return await self.by_key(key)
            return None
        self._ids_by_address[key] = entry_point.id
        return entry_point

    async def reread(self, entry_point_id: str) -> EntryPoint | None:
        """The stored entry point, when the cached copy may be older than a change whose
        news has not arrived yet (a webhook signed with credentials changed a moment ago).
        At most once a second per entry point, so that a flood of forged requests costs
        no reads; None when refused for that reason."""
        now = time.monotonic()
        if now - self._reread_at.get(entry_point_id, -self.CACHE_SECONDS) < self.CACHE_SECONDS:
            return None
        self._reread_at[entry_point_id] = now
        self.forget(entry_point_id)
        return await self.current(entry_point_id)

    def forget(self, entry_point_id: str) -> None:
        """This process changed it: the next message reads it, without waiting for the
        change to come back on the stream."""
        self.watch.forget(entry_point_id)

    def _drop(self, entry_point_id: Any) -> None:
        if entry_point_id is None:
            self._recent.clear()
        else:
            self._recent.pop(entry_point_id, None)
