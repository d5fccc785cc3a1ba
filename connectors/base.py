"""What every channel connector implements, with no web framework inside.

A connector verifies and parses the provider's webhooks into ``Inbound`` records, renders
and sends outbound events through the provider API (raising the typed errors of
``routing_core.ports.channels``), and may act when an entry point of its channel is saved
(Telegram's ``setWebhook``). ``bots/webhooks.py`` mounts them all on one blueprint.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Event, Inbound
from routing_core.ports.channels import SendContext

MAX_JSON_DEPTH = 64  # no provider nests deeper; deeper input only costs stack


def load_json(body: bytes) -> Any:
    """A webhook's JSON body, or MalformedPayload (400): not JSON, or nested deeper than
    ``MAX_JSON_DEPTH`` (which could exhaust the parser's or a validator's recursion)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedPayload("the body is not JSON, or is nested too deeply") from None
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        level = [child for item in level
                 for child in (item.values() if isinstance(item, dict)
                               else item if isinstance(item, list) else ())]
        if not level:
            return value
    raise MalformedPayload(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header whatever the case its name arrived in."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def text_chunks(text: str, limit: int) -> list[str]:
    """Text cut into messages a provider accepts, at a line break when there is one."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        cut = cut if cut > 0 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        chunks.append(text)
    return chunks


class WebhookRefused(Exception):
    """The request is not from the provider (bad signature or secret): 401 or 403."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


class MalformedPayload(Exception):
    """The request is authentic but not a payload we understand: 400, nothing stored."""


@dataclass
class WebhookRequest:
    method: str
    public_url: str  # the URL as configured at the provider (SR_PUBLIC_URL + path + query)
    kind: str  # "event", or "status" for delivery reports
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    form: Mapping[str, str] = field(default_factory=dict)


@dataclass
class StatusReport:
    provider_id: str
    status: str
    error: str | None = None


@dataclass
class ReadUpTo:
    """The contact read every message sent to them until ``until`` (Messenger's
    ``read.watermark``): a report about many messages at once."""

    contact: str
    until: datetime


@dataclass
class WebhookResult:
    """What the webhook brought, and how to answer it once it is persisted."""

    inbound: list[Inbound] = field(default_factory=list)
    reports: list[StatusReport] = field(default_factory=list)
    reads: list[ReadUpTo] = field(default_factory=list)
    body: str = ""
    content_type: str = "text/plain"
    # provider calls owed once the messages are stored (e.g. answerCallbackQuery)
    after_persist: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class Connector:
    channel: ClassVar[Channel]

    async def verify(
        self, request: WebhookRequest, entry_point: EntryPoint, credentials: Mapping[str, Any]
    ) -> None:
        raise NotImplementedError

    def parse(self, request: WebhookRequest, entry_point: EntryPoint) -> WebhookResult:
        raise NotImplementedError

    async def challenge(
        self, request: WebhookRequest, entry_point: EntryPoint, credentials: Mapping[str, Any]
    ) -> tuple[int, str]:
        """Answer a GET on the webhook (Meta's subscription check); 405 by default."""
        return 405, "this webhook takes POST requests"

    async def send(self, event: Event, context: SendContext) -> str:
        raise NotImplementedError

    async def on_saved(
        self, entry_point: EntryPoint, credentials: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Called when an entry point of this channel is created or changed."""
        return None

    async def close(self) -> None:
        return None
