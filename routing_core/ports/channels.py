"""The closed set of errors a channel may report when it sends, and how each is retried.

Connectors raise these; the outbox decides from ``retryable`` alone whether to try again
(with exponential backoff, or the provider's ``retry_after``), so a new connector cannot
invent a failure mode the outbox does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Event
from routing_core.model.media import Media, MediaFile

# How long after the customer's last message a provider takes free-form messages:
# WhatsApp's customer-care window (later: an approved template only), Messenger's standard
# window and its HUMAN_AGENT tag's (later: nothing at all).
WHATSAPP_WINDOW = timedelta(hours=24)
MESSENGER_WINDOW = timedelta(hours=24)
MESSENGER_AGENT_WINDOW = timedelta(days=7)


class SendError(Exception):
    retryable: ClassVar[bool] = False
    code: ClassVar[str] = "send_failed"

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class RateLimited(SendError):
    """429: wait ``retry_after`` seconds."""

    retryable = True
    code = "rate_limited"


class ProviderUnavailable(SendError):
    """5xx or a timeout: the provider may or may not have sent it (a possible duplicate)."""

    retryable = True
    code = "provider_unavailable"


class NetworkFailure(SendError):
    """The request never reached the provider."""

    retryable = True
    code = "network"


class Rejected(SendError):
    """The provider refused the message as malformed (400)."""

    code = "rejected"


class RecipientUnreachable(SendError):
    """Blocked bot, invalid number, unknown user: trying again changes nothing."""

    code = "recipient_unreachable"


class WindowClosed(SendError):
    """Outside the provider's customer-care window (WhatsApp 24 h) without a template."""

    code = "window_closed"


class OptedOut(SendError):
    """The contact opted out of messages (STOP): nothing is sent until they opt back in."""

    code = "opted_out"


class BadCredentials(SendError):
    """401/403 for the account itself: fix the entry point's credentials, then replay."""

    code = "bad_credentials"


SEND_ERRORS = (RateLimited, ProviderUnavailable, NetworkFailure, Rejected,
               RecipientUnreachable, WindowClosed, OptedOut, BadCredentials)


@dataclass
class SendContext:
    """What a connector needs beside the message: the entry point and its credentials."""

    entry_point: EntryPoint
    credentials: dict[str, Any]
    last_inbound_at: datetime | None = None


class MediaUnavailable(Exception):
    """A customer's media could not be fetched from the provider (expired, refused)."""


class MediaSource(Protocol):
    """A channel whose customers send files the provider keeps: fetched on first view."""

    async def fetch_media(self, media: Media, context: SendContext) -> MediaFile:
        """The file's bytes and type; MediaUnavailable when the provider will not give it."""
        ...


class ChannelClient(Protocol):
    """Sends one outbound event; returns the provider's message id or raises a SendError."""

    async def send(self, event: Event, context: SendContext) -> str: ...
