"""Login throttling: too many failed logins for one e-mail, or from one address, wait.

Guessing passwords must cost the attacker time whatever process answers, so failures are
counted in MongoDB (one document per e-mail and per address, in a window that opens at the
first failure) and every process reads the same counts; a TTL index removes windows once
they are over. E-mails are stored as hashes: a typo'd password in the e-mail field is not
kept in clear. A success clears the e-mail's count, never the address's (one valid account
must not reset a guessing campaign from that address).
"""

from __future__ import annotations

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

    async def attempt(
        self, email: str, address: str | None, authenticate: Callable[[], Awaitable[T]]
    ) -> T:
        """``authenticate()`` unless a limit is reached (TooManyAttempts); an
        Unauthenticated failure is counted and re-raised."""
        email_key, address_key = self.email_key(email), self.address_key(address)
        await self._check({email_key: self.limits.failures_per_email,
                           address_key: self.limits.failures_per_address})
        try:
            result = await authenticate()
        except Unauthenticated:
            window = timedelta(seconds=self.limits.window_seconds)
            now = self.clock()
            await self.failures.count_failure(email_key, now, window)
            await self.failures.count_failure(address_key, now, window)
            raise
        await self.failures.clear(email_key)
        return result

    async def _check(self, limits: dict[str, int]) -> None:
        now = self.clock()
        windows = await self.failures.open_windows(list(limits), now)
        waits = [(ends - now).total_seconds() for key, (count, ends) in windows.items()
                 if count >= limits[key]]
        if waits:
            raise TooManyAttempts(max(1, math.ceil(max(waits))))
