"""Login throttling: guessing passwords costs the guesser, never the account's owner.

Failures are counted in MongoDB (one document per key, in a window that opens at the first
failure) so every process sees the same counts; a TTL index removes windows once over.
Three keys per attempt:

- the e-mail *from this address*: past ``failures_per_email`` the pair waits (429). The
  owner, who logs in from another address, is never refused for an attacker's failures;
- the address: past ``failures_per_address`` it waits (429), whatever e-mails it tries;
- the e-mail from anywhere: past the same limit, every attempt on it is slowed by a
  progressive delay (never refused), so guessing from many addresses stays slow.

An attempt is counted *before* its password is checked (one atomic update per key), so
concurrent guesses cannot slip past a limit; a success gives back what it counted and
clears the pair. E-mails are stored as hashes: a password typed in the e-mail field is not
kept in clear.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from config import Settings
from routing_core.infra.clock import as_utc, utcnow
from routing_core.infra.errors import DomainError, Unauthenticated

T = TypeVar("T")
MAX_DELAY_SECONDS = 8.0


class TooManyAttempts(DomainError):
    """Refused before checking the password; ``retry_after`` in seconds (HTTP Retry-After)."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottleLimits:
    failures_per_email: int = 5
    failures_per_address: int = 20
    window_seconds: int = 900


class LoginFailureRepository:
    """The ``login_failures`` collection: ``{_id: key, count, expires_at}``."""

    collection_name: ClassVar[str] = "login_failures"
    INDEXES: ClassVar[list[IndexModel]] = [
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ]

    def __init__(self, database: AsyncDatabase):
        self.collection = database[self.collection_name]

    async def ensure_indexes(self) -> None:
        await self.collection.create_indexes(self.INDEXES)

    async def open_windows(
        self, keys: list[str], now: datetime
    ) -> dict[str, tuple[int, datetime]]:
        """Key → (failures, end of its window), for the keys whose window is still open."""
        found = self.collection.find({"_id": {"$in": keys}, "expires_at": {"$gt": now}})
        return {document["_id"]: (document["count"], as_utc(document["expires_at"]))
                for document in await found.to_list()}

    async def count_failure(self, key: str, now: datetime, window: timedelta) -> int:
        """One more failure in the key's open window, or the first of a new window; one
        atomic update, so concurrent failures in several processes are all counted."""
        open_window = {"$gt": ["$expires_at", now]}
        document = await self.collection.find_one_and_update(
            {"_id": key},
            [{"$set": {
                "count": {"$cond": [open_window, {"$add": ["$count", 1]}, 1]},
                "expires_at": {"$cond": [open_window, "$expires_at", now + window]},
            }}],
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert document is not None  # an upsert returning the document after it
        return int(document["count"])

    async def clear(self, key: str) -> None:
        await self.collection.delete_one({"_id": key})

    async def give_back(self, key: str) -> None:
        await self.collection.update_one({"_id": key, "count": {"$gt": 0}},
                                         {"$inc": {"count": -1}})


class LoginThrottle:
    """Wraps a login attempt: refused while a limit is reached, failures counted."""

    def __init__(
        self,
        database: AsyncDatabase,
        limits: ThrottleLimits | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.failures = LoginFailureRepository(database)
        self.limits = limits or ThrottleLimits()
        self.clock = clock

    @classmethod
    def from_settings(cls, database: AsyncDatabase, settings: Settings) -> LoginThrottle:
        return cls(database, ThrottleLimits(
            failures_per_email=settings.login_failures_per_email,
            failures_per_address=settings.login_failures_per_address,
            window_seconds=settings.login_throttle_seconds,
        ))

    async def ensure_indexes(self) -> None:
        await self.failures.ensure_indexes()

    @staticmethod
    def email_key(email: str) -> str:
        return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()

    @staticmethod
    def address_key(address: str | None) -> str:
        return f"address:{address or 'unknown'}"

    @classmethod
    def pair_key(cls, email: str, address: str | None) -> str:
        return f"{cls.email_key(email)}|{cls.address_key(address)}"

    async def attempt(
        self, email: str, address: str | None, authenticate: Callable[[], Awaitable[T]]
    ) -> T:
        """``authenticate()`` unless this address, or this e-mail from this address, is
        past its limit (TooManyAttempts, before any password check); slowed while the
        e-mail is past its limit from anywhere."""
        pair, address_key = self.pair_key(email, address), self.address_key(address)
        email_key = self.email_key(email)
        window = timedelta(seconds=self.limits.window_seconds)
        now = self.clock()
        counted = {pair: self.limits.failures_per_email,
                   address_key: self.limits.failures_per_address}
        over = []
        for key, limit in counted.items():
            if await self.failures.count_failure(key, now, window) > limit:
                over.append(key)
        if over:
            windows = await self.failures.open_windows(over, now)
            waits = [(ends - now).total_seconds() for _, ends in windows.values()]
            raise TooManyAttempts(max(1, math.ceil(max(waits, default=1))))
        await self._slow_down(email_key, now)
        try:
            result = await authenticate()
        except Unauthenticated:
            await self.failures.count_failure(email_key, now, window)
            raise
        await self.failures.clear(pair)
        await self.failures.give_back(address_key)  # a success is no guess
        return result

    async def _slow_down(self, email_key: str, now: datetime) -> None:
        """Past the limit for this e-mail from anywhere: 0.5 s, doubling with each further
        failure, up to ``MAX_DELAY_SECONDS`` — the owner still gets in."""
        windows = await self.failures.open_windows([email_key], now)
        failures = windows.get(email_key, (0, now))[0]
        excess = failures - self.limits.failures_per_email
        if excess >= 0:
            await asyncio.sleep(min(0.5 * 2 ** min(excess, 16), MAX_DELAY_SECONDS))
