"""Cached copies of rarely changed documents, forgotten in every process when they change.

Every message needs its entry point (credentials, routings, mode) and the version its
routing runs; reading them for each message would double the commands of the hot path.
So each process keeps them, and watches the collection they come from (a MongoDB change
stream carrying only which document changed): a change made by any process, the admin
API, the CLI or a script makes every process forget its copy, so the next message reads
the new one. While the stream is not open (starting, after a failover, or a MongoDB that
is not a replica set), ``live`` is false and the caches fall back to a short expiry.

A read that was in flight when a change arrived must not put the old document back in the
cache: ``generation`` counts the forgets, and a cache stores what it read only when no
forget happened meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import OperationFailure, PyMongoError

log = logging.getLogger(__name__)
NOT_A_REPLICA_SET = 40573  # change streams need a replica set
RETRY_SECONDS = 1.0

# what a change says: its kind and which document (never the document itself)
ONLY_WHICH = [{"$project": {"operationType": 1, "documentKey": 1}}]


class ChangeWatch:
    """Calls ``forget(document_id)`` for each change to ``collection``, and
    ``forget(None)`` (forget everything) whenever the stream (re)opens or the collection is
    dropped, since changes made while it was closed were not seen."""

    def __init__(self, name: str, collection: Any, forget: Callable[[Any], None]):
        self.name = name
        self.collection = collection
        self._forget = forget
        self.live = False  # the stream is open: what is cached is current
        self.generation = 0  # how many forgets so far (see the module's docstring)

    def forget(self, document_id: Any = None) -> None:
        self.generation += 1
        self._forget(document_id)

    async def run(self) -> None:
        """Until cancelled; a failed stream is reopened after a second."""
        await keep_watching(
            self.name, self._watch_once,
            f"cached {self.name} expire after a second instead of on change")

    async def _watch_once(self) -> None:
        try:
            async with await self.collection.watch(ONLY_WHICH) as stream:
                # changes from here on arrive on the stream; earlier ones may be missed
                self.forget(None)
                self.live = True
                async for change in stream:
                    key = change.get("documentKey") or {}
                    self.forget(key.get("_id"))  # None: dropped, renamed, invalidated
        finally:
            self.live = False
            self.forget(None)


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
