"""The engine reaches the world only through these small interfaces.

The runtime injects implementations backed by MongoDB and the connectors; tests inject
in-memory ones. ``routing_core`` never imports an HTTP client or a provider SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class HttpRefused(Exception):
    """The address is not allowed (private, loopback, link-local) or the URL is bad."""


class HttpFailure(Exception):
    """The call did not complete: timeout, connection error, too large a response."""


class HttpPort(Protocol):
    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        timeout_seconds: float,
    ) -> HttpResponse: ...


class MailPort(Protocol):
    async def send(
        self, *, to: list[str], subject: str, body: str, reply_to: str | None
    ) -> None: ...


class SmsPort(Protocol):
    async def send(self, *, to: str, text: str, sender: str | None) -> str: ...


class ReferencePort(Protocol):
    """Read and write the admin-managed data the actions use, by name."""

    async def value_table_row(self, table: str, key: str) -> dict[str, Any] | None: ...

    async def global_variables(self) -> dict[str, Any]: ...

    async def database_read(
        self, database: str, match: dict[str, Any]
    ) -> dict[str, Any] | None: ...

    async def database_insert(self, database: str, values: dict[str, Any]) -> dict[str, Any]: ...

    async def database_modify(
        self, database: str, match: dict[str, Any], values: dict[str, Any]
    ) -> int: ...

    async def schedule_state(self, schedule: str, moment: datetime) -> str | None: ...

    async def count_interactions(
        self, contact_id: str, since: datetime | None, routing_id: str | None,
        entry_point_id: str | None,
    ) -> int: ...


@dataclass
class Ports:
    """Everything an action may call; a missing port makes its action fail cleanly."""

    reference: ReferencePort | None = None
    http: HttpPort | None = None
    mail: MailPort | None = None
    sms: SmsPort | None = None
    extra: dict[str, Any] = field(default_factory=dict)
