"""Group commit: writes submitted while one is in flight go to MongoDB together.

Under load many steps finish at once, each with a small write of the same kind (its
events, an outbound message marked sent). Sent one by one they cost a round trip and a
server command each; grouped, the second and later ones ride in the next command. An idle
process writes at once (after one turn of the event loop, so that what was woken together
is written together); a busy one writes what piled up while the previous command was in
flight. Each submitter gets its own result (or its own error) and returns only once its
write is durable, exactly as with a write of its own.

A busy writer also lingers a moment before a command that would carry fewer items than the
last one: the steps in flight are about to submit theirs. Commands, not documents, are what
MongoDB's CPU goes on (about a third of a millisecond each, a hundredth per document), so
on two cores shared by two workers and ``mongod`` a 3 ms linger halved the commands per bot
turn and raised the turns answered by a third (``bench/`` and ``docs/architecture.md``).
Idle, nothing lingers: a lone write goes at once, as its predecessor did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from pymongo.errors import BulkWriteError, OperationFailure

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_GROUP = 500
LINGER_SECONDS = 0.003  # a busy writer's wait for the steps in flight (see above)
IDLE_SECONDS = 0.1  # no write for this long: the writer is idle again, a lone write goes at once
DUPLICATE_KEY = 11000  # the server's code for a write refused by a unique index


def failures_by_index(error: BulkWriteError,
                      kinds: dict[int, type[OperationFailure]] | None = None
                      ) -> dict[int, BaseException]:
    """The items of a grouped write that failed, by their place in the group, each with an
    error of its own (``kinds`` maps a server error code to the class to raise, e.g. the
    duplicate key error); a write-concern failure concerns the whole group and is raised."""
    if error.details.get("writeConcernErrors"):
        raise error
    kinds = kinds or {}
    return {item["index"]: kinds.get(item["code"], OperationFailure)(
                item.get("errmsg", "write failed"), item["code"], item)
            for item in error.details["writeErrors"]}


class GroupCommit(Generic[Item, Result]):
    """``flush(items)`` writes a group in one command and returns, for each item, its result
    or the exception that concerns that item alone."""

    def __init__(
        self, flush: Callable[[list[Item]], Awaitable[list[Result | BaseException]]],
        max_group: int = MAX_GROUP, linger_seconds: float = LINGER_SECONDS,
    ):
        self._flush = flush
        self._max_group = max_group
        self._linger_seconds = linger_seconds
        self._last_group = 0  # the items of the last command, and when it was sent
        self._last_at = float("-inf")
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        while self._waiting:
            # one turn of the event loop first: the steps whose replies just came in (from
            # MongoDB, from a provider, a webhook's body) submit theirs into this group
            # rather than the next (two workers on the peer turn: 5-10 % fewer commands)
            await asyncio.sleep(0)
            if self._busy():
                await asyncio.sleep(self._linger_seconds)
            group = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
            self._last_group, self._last_at = len(group), asyncio.get_running_loop().time()
            try:
                results = await self._flush([item for item, _ in group])
            except BaseException as error:  # the whole command failed: every item with it
                results = [error] * len(group)
                if not isinstance(error, Exception):
                    _settle(group, results)
                    raise
            _settle(group, results)

    def _busy(self) -> bool:
        """Whether more items are on their way: the last command carried several, it was
        sent a moment ago, and fewer than that are waiting now."""
        return (self._linger_seconds > 0 and self._last_group > 1
                and len(self._waiting) < self._last_group
                and asyncio.get_running_loop().time() - self._last_at < IDLE_SECONDS)


def _settle(group: list[tuple[Item, asyncio.Future[Result]]],
            results: list[Result | BaseException]) -> None:
    for (_, future), result in zip(group, results, strict=True):
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
