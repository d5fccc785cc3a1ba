"""One MongoDB change stream per process, carrying every change something here follows.

Each open change stream makes ``mongod`` read every entry of the oplog for it. A process
follows several things — which entry points and versions changed (its caches), events and
signals written by other processes (web chat sockets, agents' consoles) — and one stream
for each cost ``mongod`` a third of its CPU under a message load (measured: 10 streams for
two workers, 3.9 ms of mongod CPU per bot turn; none, 2.7 ms). So the process opens one
stream on the database whose filter is the union of its subscribers', and hands each
change to the subscribers it concerns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from pymongo.errors import OperationFailure, PyMongoError

log = logging.getLogger(__name__)
NOT_A_REPLICA_SET = 40573  # change streams need a replica set
RETRY_SECONDS = 1.0

# the resume token is no longer in the oplog, or the stream cannot go on from it
HISTORY_LOST = frozenset({280, 286})


class Subscriber(Protocol):
    """Something that follows changes: what it wants (as a filter the server applies, and
    as a test on each change, since a shared stream carries others' changes too)."""

    name: str

    def stream_match(self) -> dict[str, Any]: ...

    def concerns(self, change: dict[str, Any]) -> bool: ...

    async def deliver(self, change: dict[str, Any]) -> None: ...

    def opened(self) -> None: ...

    def closed(self) -> None: ...


class ChangeFeed:
    """Runs one change stream on ``database`` for ``subscribers`` until cancelled,
    reopened after a failure where it left off (when the oplog still has it)."""

    def __init__(self, database: Any, subscribers: Sequence[Subscriber]):
        self.database = database
        self.subscribers = list(subscribers)

    @property
    def name(self) -> str:
        return ", ".join(subscriber.name for subscriber in self.subscribers)

    @staticmethod
    async def _hand(subscriber: Subscriber, change: dict[str, Any]) -> None:
        """One subscriber's failure (a malformed document, a bug) is its own: the others,
        sharing the stream, go on receiving theirs."""
        try:
            if subscriber.concerns(change):
                await subscriber.deliver(change)
        except Exception:  # noqa: BLE001 — logged; the stream and its other subscribers go on
            log.exception("%s could not take a change of %s", subscriber.name,
                          (change.get("ns") or {}).get("coll"))

    async def run(self) -> None:
        if not self.subscribers:
            return
        pipeline = [{"$match": {"$or": [each.stream_match() for each in self.subscribers]}}]
        token: Any = None

        async def follow() -> None:
            nonlocal token
            async with await self.database.watch(pipeline, resume_after=token) as stream:
                for subscriber in self.subscribers:
                    subscriber.opened()
                try:
                    async for change in stream:
                        for subscriber in self.subscribers:
                            await self._hand(subscriber, change)
                        token = stream.resume_token
                    token = None  # invalidated (the database dropped): start afresh
                finally:
                    for subscriber in self.subscribers:
                        subscriber.closed()

        def failed(error: PyMongoError) -> None:
            nonlocal token
            if isinstance(error, OperationFailure) and error.code in HISTORY_LOST:
                token = None  # the oplog moved past it: start from now

        await keep_watching(
            f"changes ({self.name})", follow,
            "caches expire after a second instead of on change, and what other processes "
            "write reaches sockets only when they reconnect", failed)


async def keep_watching(name: str, watch_once: Callable[[], Awaitable[None]],
                        without_streams: str,
                        failed: Callable[[PyMongoError], None] = lambda error: None) -> None:
    """Run ``watch_once`` (which opens a change stream and follows it) again a second
    after each failure — a failover, a lost member — until cancelled; give up, saying
    ``without_streams`` (what that costs), when MongoDB is not a replica set. ``failed``
    sees each failure first (to decide where to resume)."""
    while True:
        try:
            await watch_once()
        except OperationFailure as error:
            if error.code == NOT_A_REPLICA_SET:
                log.warning("MongoDB is not a replica set: %s", without_streams)
                return
            failed(error)
            log.exception("watching %s failed; retrying", name)
        except PyMongoError as error:
            failed(error)
            log.exception("watching %s failed; retrying", name)
        await asyncio.sleep(RETRY_SECONDS)
