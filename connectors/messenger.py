"""Facebook Messenger through the Graph API's Send API, over aiohttp.

No maintained async SDK exists and the Send API is one endpoint, so this module speaks
it directly: the subscription challenge, the ``X-Hub-Signature-256`` HMAC over the raw
body, page events (messages, quick replies, postbacks; echoes, deliveries and reads
skipped) and ``POST /{version}/me/messages`` with the right ``messaging_type`` for the
time since the customer last wrote.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import aiohttp

from config import Settings
from connectors.base import (
    Connector,
    MalformedPayload,
    ReadUpTo,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
    header,
    load_json,
    text_chunks,
)
from connectors.media_fetch import download
from routing_core.infra.clock import as_utc, utcnow
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Event, Inbound, OutboundChoice
from routing_core.model.media import Media, MediaFile, MediaKind
from routing_core.ports.channels import (
    MESSENGER_AGENT_WINDOW,
    MESSENGER_WINDOW,
    BadCredentials,
    NetworkFailure,
    ProviderUnavailable,
    RateLimited,
    RecipientUnreachable,
    Rejected,
    SendContext,
    SendError,
    WindowClosed,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
TEXT_LIMIT = 2000  # characters of one message
QUICK_REPLIES_LIMIT = 13
QUICK_REPLY_TITLE_LIMIT = 20
REQUEST_TIMEOUT_SECONDS = 30
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
RECIPIENT_CODES = frozenset({10, 200, 551})
NO_MATCHING_USER = 2018001  # subcode of code 100
OUTSIDE_WINDOW = 2018278  # subcode of code 10



def signature(app_secret: str, body: bytes) -> str:
    """The value Meta puts in ``X-Hub-Signature-256`` for this body."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


MEDIA_HOSTS = (".fbcdn.net", ".fbsbx.com", ".facebook.com")  # where attachments are kept
ATTACHMENT_KINDS = {"image": MediaKind.image, "video": MediaKind.video,
                    "audio": MediaKind.audio, "file": MediaKind.file}


def read_up_to(item: Any) -> ReadUpTo | None:
    """A ``read`` item: the contact saw everything sent before its watermark (ms)."""
    if not isinstance(item, dict) or not isinstance(item.get("read"), dict):
        return None
    sender, watermark = item.get("sender"), item["read"].get("watermark")
    if not isinstance(sender, dict) or not sender.get("id") or not isinstance(
            watermark, int | float) or watermark <= 0:
        raise MalformedPayload("a read item needs sender.id and read.watermark")
    try:
        until = datetime.fromtimestamp(watermark / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayload("read.watermark is not a moment") from None
    return ReadUpTo(contact=str(sender["id"]), until=until)


def attachment_media(attachment: Any) -> Media | None:
    """An attachment of a Messenger message: a file at a CDN URL, or a shared place."""
    if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
        return None
    payload, kind = attachment["payload"], attachment.get("type")
    coordinates = payload.get("coordinates")
    if kind == "location" and isinstance(coordinates, dict):
        try:
            return Media(kind=MediaKind.location, latitude=float(coordinates["lat"]),
                         longitude=float(coordinates["long"]),
                         name=attachment.get("title") or None)
        except (KeyError, TypeError, ValueError):
            return None
    if isinstance(payload.get("url"), str) and isinstance(kind, str) and kind in ATTACHMENT_KINDS:
        return Media(kind=ATTACHMENT_KINDS[kind], source=payload["url"])
    return None


def messaging_type(last_inbound_at: datetime | None, now: datetime) -> dict[str, str]:
    """RESPONSE within 24 h of the customer's last message, the HUMAN_AGENT tag within
    7 days, else WindowClosed: Meta refuses free-form messages later than that."""
    if last_inbound_at is None:
        raise WindowClosed("the contact never wrote: Messenger allows no message to them")
    elapsed = now - as_utc(last_inbound_at)
    if elapsed <= MESSENGER_WINDOW:
        return {"messaging_type": "RESPONSE"}
    if elapsed <= MESSENGER_AGENT_WINDOW:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    raise WindowClosed(f"the contact last wrote {elapsed.days} days ago: outside Messenger's "
                       f"7-day human agent window")


def title(label: str) -> str:
    if len(label) <= QUICK_REPLY_TITLE_LIMIT:
        return label
    return label[:QUICK_REPLY_TITLE_LIMIT - 1].rstrip() + "…"


def numbered(text: str, choices: list[OutboundChoice]) -> str:
    lines = [f"{number}. {choice.label}" for number, choice in enumerate(choices, start=1)]
    return "\n".join([text, "", *lines] if text else lines)



def messages(event: Event) -> list[dict[str, Any]]:
    """The ``message`` objects of one outbound event: an image first (a message holds
    text or an attachment, not both), then the text; choices as quick replies on the
    last one, or a numbered list past 13 of them."""
    text = str(event.data.get("text") or "")
    choices = [OutboundChoice.model_validate(item) for item in event.data.get("choices", [])]
    quick_replies: list[dict[str, str]] = []
    if len(choices) > QUICK_REPLIES_LIMIT:
        text = numbered(text, choices)
    else:
        quick_replies = [{"content_type": "text", "title": title(choice.label),
                          "payload": choice.value} for choice in choices]
    result: list[dict[str, Any]] = []
    if media_url := event.data.get("media_url"):
        result.append({"attachment": {"type": "image",
                                      "payload": {"url": media_url, "is_reusable": True}}})
    result += [{"text": chunk} for chunk in text_chunks(text, TEXT_LIMIT)]
    if quick_replies and result:
        result[-1]["quick_replies"] = quick_replies
    return result


def graph_error(status: int, body: Any, retry_after: str | None) -> SendError:
    """A Graph API error answer mapped onto the closed set of ``routing_core.ports.channels``."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code, subcode = error.get("code"), error.get("error_subcode")
    text = f"HTTP {status}" + (f", code {code}" if code is not None else "") + (
        f"/{subcode}" if subcode is not None else "") + f": {error.get('message', 'no detail')}"
    if status == 429 or code in RATE_LIMIT_CODES:
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        return RateLimited(text, retry_after=delay)
    if status >= 500:
        return ProviderUnavailable(text)
    if code == 190 or status == 401:
        return BadCredentials(text)
    if code == 10 and subcode == OUTSIDE_WINDOW:
        return WindowClosed(text)
    if code in RECIPIENT_CODES or (code == 100 and subcode == NO_MATCHING_USER):
        return RecipientUnreachable(text)
    return Rejected(text)


class MessengerConnector(Connector):
    """Facebook pages: one entry point per page, its page access token to send."""

    channel: ClassVar[Channel] = Channel.messenger

    def __init__(self, api_base: str, api_version: str,
                 clock: Callable[[], datetime] = utcnow):
        self.messages_url = f"{api_base.rstrip('/')}/{api_version.strip('/')}/me/messages"
        self.graph_base = api_base.rstrip("/")
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MessengerConnector:
        return cls(settings.graph_api_base, settings.graph_api_version)

    async def fetch_media(self, media: Media, context: SendContext) -> MediaFile:
        """An attachment's URL: on Meta's content hosts (or the Graph API's own)."""
        return await download(media.source or "", [*MEDIA_HOSTS, self.graph_base],
                              content_type=media.content_type)

    def _client(self) -> aiohttp.ClientSession:
        """Created on first use, so inside the running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- inbound ---------------------------------------------------------------------------

    async def challenge(
        self, request: WebhookRequest, entry_point: EntryPoint, credentials: Mapping[str, Any]
    ) -> tuple[int, str]:
        """Meta's subscription check: echo ``hub.challenge`` when the verify token matches."""
        given = request.query.get("hub.verify_token", "")
        expected = str(credentials.get("verify_token") or "")
        if (request.query.get("hub.mode") == "subscribe" and expected
                and secrets.compare_digest(given.encode(), expected.encode())):
            return 200, request.query.get("hub.challenge", "")
        return 403, "verification refused: wrong hub.mode or hub.verify_token"

    async def verify(
        self, request: WebhookRequest, entry_point: EntryPoint, credentials: Mapping[str, Any]
    ) -> None:
        given = header(request.headers, SIGNATURE_HEADER)
        if not given:
            raise WebhookRefused(f"no {SIGNATURE_HEADER} header", status=401)
        app_secret = str(credentials.get("app_secret") or "")
        expected = signature(app_secret, request.body)
        if not app_secret or not secrets.compare_digest(given.strip().lower().encode(),
                                                        expected.encode()):
            raise WebhookRefused(f"wrong {SIGNATURE_HEADER}", status=403)

    def parse(self, request: WebhookRequest, entry_point: EntryPoint) -> WebhookResult:
        raw = load_json(request.body)
        entries = raw.get("entry") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise MalformedPayload("a Messenger webhook is an object with an 'entry' list")
        result = WebhookResult(body="EVENT_RECEIVED")
        if raw.get("object") != "page":
            return result  # another product's subscription: nothing for us
        for entry in entries:
            items = entry.get("messaging", []) if isinstance(entry, dict) else None
            if not isinstance(items, list):
                raise MalformedPayload("each entry's 'messaging' must be a list")
            for item in items:
                if (read := read_up_to(item)) is not None:
                    result.reads.append(read)
                    continue
                inbound = self._inbound(item, entry_point)
                if inbound is not None:
                    result.inbound.append(inbound)
        return result

    @staticmethod
    def _inbound(item: Any, entry_point: EntryPoint) -> Inbound | None:
        if not isinstance(item, dict):
            raise MalformedPayload("a messaging item must be an object")
        sender = item.get("sender")
        sender_id = sender.get("id") if isinstance(sender, dict) else None
        message, postback = item.get("message"), item.get("postback")
        if isinstance(message, dict):
            if message.get("is_echo"):  # our own page's message, sent back to us
                return None
            mid = message.get("mid")
            if not sender_id or not mid:
                raise MalformedPayload("a message needs sender.id and message.mid")
            quick_reply = message.get("quick_reply")
            payload = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
            attachments = message.get("attachments") or []
            if not isinstance(attachments, list):
                raise MalformedPayload("message.attachments must be a list")
            media = [found for attachment in attachments
                     if (found := attachment_media(attachment)) is not None]
            return Inbound(
                channel=Channel.messenger, entry_point_id=entry_point.id, contact=str(sender_id),
                provider_id=str(mid), text=str(message.get("text") or ""),
                payload=None if payload is None else str(payload), media=media[:10],
            )
        if isinstance(postback, dict):
            if not sender_id:
                raise MalformedPayload("a postback needs sender.id")
            provider_id = postback.get("mid") or f"{sender_id}:{item.get('timestamp')}"
            payload = postback.get("payload")
            return Inbound(
                channel=Channel.messenger, entry_point_id=entry_point.id, contact=str(sender_id),
                provider_id=str(provider_id), text=str(postback.get("title") or ""),
                payload=None if payload is None else str(payload),
            )
        return None  # delivery, read, reaction, referral…: nothing a tree reads

    # -- outbound --------------------------------------------------------------------------

    async def send(self, event: Event, context: SendContext) -> str:
        """Each message of the event in turn; the last message's id."""
        token = str(context.credentials.get("page_access_token") or "")
        if not token:
            raise BadCredentials("the entry point has no page_access_token")
        kind = messaging_type(context.last_inbound_at, self.clock())
        parts = messages(event)
        if not parts:
            raise Rejected("nothing to send: the message has no text and no media")
        message_id = ""
        for message in parts:
            message_id = await self._post(token, {
                "recipient": {"id": event.contact}, **kind, "message": message,
            })
        return message_id

    async def typing(self, contact: str, context: SendContext) -> None:
        """The page shows "typing…" to the contact (``sender_action``)."""
        token = str(context.credentials.get("page_access_token") or "")
        if not token:
            raise BadCredentials("the entry point has no page_access_token")
        await self._post(token, {"recipient": {"id": contact}, "sender_action": "typing_on"},
                         answer_has_id=False)

    async def _post(self, token: str, body: dict[str, Any], answer_has_id: bool = True) -> str:
        """One Send API call. Error texts never hold the URL: it carries the token."""
        try:
            async with self._client().post(
                self.messages_url, params={"access_token": token}, json=body
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
        except aiohttp.ClientConnectorError as error:
            raise NetworkFailure(f"cannot reach the Graph API: {error.strerror or 'refused'}"
                                 ) from None
        except TimeoutError:
            raise ProviderUnavailable("no answer from the Graph API in time") from None
        except aiohttp.ClientError as error:
            raise ProviderUnavailable(f"the Graph API call failed: {type(error).__name__}"
                                      ) from None
        if status >= 300:
            raise graph_error(status, answer, retry_after)
        if not answer_has_id:
            return ""
        if not isinstance(answer, dict) or not answer.get("message_id"):
            raise ProviderUnavailable(f"HTTP {status} without a message_id")
        return str(answer["message_id"])
