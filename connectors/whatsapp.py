"""WhatsApp through Twilio: signed form webhooks in, the Messages API out.

Every webhook (messages and delivery reports) is checked with the SDK's
``RequestValidator`` over the URL configured at Twilio (SR_PUBLIC_URL + path) and the
whole form, since Twilio adds fields without notice. Twilio gets an empty TwiML answer;
replies go through the REST API, from the outbox. Twilio does not redeliver a webhook
that failed: the README's operators' notes say how to set a fallback URL and retries.

Outbound: free text within 24 hours of the customer's last message; outside that window
WhatsApp takes only an approved template (the entry point's ``template_content_sid``
credential, the text in its variable 1), else the message fails with ``WindowClosed``.
Choices become quick-reply buttons when a ``quick_reply_content_sid`` credential is set
and they fit, a numbered list otherwise (a number typed back selects, see message_choice).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from twilio.request_validator import RequestValidator

from config import Settings
from connectors.base import (
    Connector,
    MalformedPayload,
    StatusReport,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
)
from connectors.media_fetch import download
from connectors.sms import TwilioMessages
from routing_core.expressions.values import normalise_phone
from routing_core.infra.clock import utcnow
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Event, Inbound
from routing_core.model.media import Media, MediaFile, MediaKind, kind_of
from routing_core.ports.channels import WHATSAPP_WINDOW, Rejected, SendContext, WindowClosed

SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
TWIML_TYPE = "text/xml"
MAX_BODY_CHARS = 1_600  # Twilio's limit for one message body
MAX_MEDIA = 10  # Twilio sends at most 10 media per message
# WhatsApp shows at most 3 reply buttons: more choices go as a numbered list.
MAX_BUTTONS = 3
# Delivery-report error codes worth a word in the events list.
ERROR_MEANINGS = {
    "63016": "outside the 24-hour window: only a template may be sent",
    "63003": "the channel could not find the recipient",
    "30003": "unreachable destination handset",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
}


class WhatsAppConnector(Connector):
    """One connector for every WhatsApp entry point; each holds its own Twilio account."""

    channel = Channel.whatsapp

    def __init__(
        self,
        *,
        public_url: str,
        messages: TwilioMessages,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.public_url = public_url.rstrip("/")
        self.messages = messages
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> WhatsAppConnector:
        return cls(public_url=settings.public_url,
                   messages=TwilioMessages(settings.twilio_api_base))

    # -- inbound ---------------------------------------------------------------------------

    async def verify(
        self, request: WebhookRequest, entry_point: EntryPoint, credentials: Mapping[str, Any]
    ) -> None:
        signature = _header(request.headers, SIGNATURE_HEADER)
        if not signature:
            raise WebhookRefused(f"no {SIGNATURE_HEADER} header", status=401)
        token = credentials.get("auth_token")
        if not token:
            raise WebhookRefused("the entry point has no Twilio auth token to check with")
        if not RequestValidator(token).validate(request.public_url, dict(request.form),
                                                signature):
            raise WebhookRefused(
                f"the {SIGNATURE_HEADER} does not match {request.public_url} and the form"
            )

    def parse(self, request: WebhookRequest, entry_point: EntryPoint) -> WebhookResult:
        if request.kind == "status":
            return WebhookResult(reports=[status_report(request.form)], body=EMPTY_TWIML,
                                 content_type=TWIML_TYPE)
        return WebhookResult(inbound=[inbound_message(request.form, entry_point)],
                             body=EMPTY_TWIML, content_type=TWIML_TYPE)

    # -- outbound --------------------------------------------------------------------------

    async def send(self, event: Event, context: SendContext) -> str:
        entry_point, credentials = context.entry_point, context.credentials
        fields = self.render(event.data, credentials, context.last_inbound_at)
        return await self.messages.create(
            credentials.get("account_sid", ""), credentials.get("auth_token", ""),
            to=whatsapp_address(event.contact or ""),
            from_=whatsapp_address(entry_point.address),
            status_callback=f"{self.public_url}/webhooks/whatsapp/{entry_point.id}/status",
            **fields,
        )

    def render(
        self, data: Mapping[str, Any], credentials: Mapping[str, Any],
        last_inbound_at: datetime | None,
    ) -> dict[str, Any]:
        """The Messages API fields saying what to send (not to whom)."""
        text = str(data.get("text") or "")
        choices = [(str(choice["label"]), str(choice["value"]))
                   for choice in data.get("choices") or []]
        if not self.window_open(last_inbound_at):
            template = credentials.get("template_content_sid")
            if not template:
                raise WindowClosed(
                    "more than 24 hours since the customer's last message: WhatsApp takes "
                    "only a template, and the entry point has no template_content_sid"
                )
            # WhatsApp refuses line breaks in template variables.
            one_line = " ".join(numbered(text, choices).split())
            return {"content_sid": template, "content_variables": json.dumps({"1": one_line})}
        quick_reply = credentials.get("quick_reply_content_sid")
        if choices and quick_reply and len(choices) <= MAX_BUTTONS:
            return {"content_sid": quick_reply,
                    "content_variables": json.dumps(button_variables(text, choices))}
        fields: dict[str, Any] = {}
        body = numbered(text, choices)
        if len(body) > MAX_BODY_CHARS:
            raise Rejected(f"the text has {len(body)} characters; Twilio takes at most "
                           f"{MAX_BODY_CHARS}")
        if body:
            fields["body"] = body
        if data.get("media_url"):
            fields["media_url"] = [str(data["media_url"])]
        if not fields:
            raise Rejected("nothing to send: no text and no media")
        return fields

    async def fetch_media(self, media: Media, context: SendContext) -> MediaFile:
        """A ``MediaUrl`` of Twilio's API, fetched with the account's credentials (Twilio
        then redirects to its file store)."""
        credentials = context.credentials
        return await download(
            media.source or "", [self.messages.api_base],
            headers={"Authorization": basic_auth(credentials.get("account_sid", ""),
                                                 credentials.get("auth_token", ""))},
            content_type=media.content_type)

    def window_open(self, last_inbound_at: datetime | None) -> bool:
        """Unknown (an end routing's interaction): try, and let Twilio judge (63016)."""
        if last_inbound_at is None:
            return True
        if last_inbound_at.tzinfo is None:
            last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
        return self.clock() - last_inbound_at <= WHATSAPP_WINDOW

    async def close(self) -> None:
        await self.messages.close()


def inbound_message(form: Mapping[str, str], entry_point: EntryPoint) -> Inbound:
    sid = form.get("MessageSid", "").strip()
    sender = form.get("From", "").strip()
    if not sid or not sender:
        raise MalformedPayload("a Twilio message webhook has MessageSid and From")
    phone = normalise_phone(sender)
    if phone is None:
        raise MalformedPayload(f"From is not a WhatsApp number: {sender[:40]!r}")
    return Inbound(
        channel=Channel.whatsapp,
        entry_point_id=entry_point.id,
        contact=phone,
        provider_id=sid,
        text=form.get("Body") or form.get("ButtonText") or "",
        payload=form.get("ButtonPayload") or None,
        media=media_of(form)[:MAX_MEDIA],
        contact_name=form.get("ProfileName") or None,
        contact_phone=phone,
    )


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def media_of(form: Mapping[str, str]) -> list[Media]:
    """The message's media (``MediaUrlN``, fetched later with the account's credentials)
    and a shared location (``Latitude``, ``Longitude``)."""
    try:
        count = min(max(int(form.get("NumMedia") or 0), 0), MAX_MEDIA)
    except ValueError:
        count = MAX_MEDIA  # take the URLs that are there
    found = [Media(kind=kind_of(form.get(f"MediaContentType{index}")), source=url,
                   content_type=form.get(f"MediaContentType{index}") or None)
             for index in range(count) if (url := form.get(f"MediaUrl{index}"))]
    try:
        latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
    except (KeyError, ValueError):
        return found
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        label = form.get("Label") or form.get("Address") or None
        found.append(Media(kind=MediaKind.location, latitude=latitude, longitude=longitude,
                           name=label))
    return found


def status_report(form: Mapping[str, str]) -> StatusReport:
    sid = form.get("MessageSid", "").strip()
    status = form.get("MessageStatus", "").strip()
    if not sid or not status:
        raise MalformedPayload("a Twilio status callback has MessageSid and MessageStatus")
    code = form.get("ErrorCode", "").strip()
    error = None
    if code and code != "0":
        meaning = ERROR_MEANINGS.get(code)
        error = f"Twilio error {code}" + (f": {meaning}" if meaning else "")
    return StatusReport(provider_id=sid, status=status, error=error)


def numbered(text: str, choices: list[tuple[str, str]]) -> str:
    """The text, then one numbered line per choice: "1. Tea", "2. Coffee"."""
    if not choices:
        return text
    lines = "\n".join(f"{number}. {label}" for number, (label, _) in enumerate(choices, 1))
    return f"{text}\n\n{lines}" if text else lines


def button_variables(text: str, choices: list[tuple[str, str]]) -> dict[str, str]:
    """A ``twilio/quick-reply`` template's variables: 1 the text, then for the n-th choice
    (from 1) ``2n`` its label and ``2n + 1`` its value (the button id, sent back as
    ``ButtonPayload``)."""
    variables = {"1": text}
    for number, (label, value) in enumerate(choices, 1):
        variables[str(2 * number)] = label
        variables[str(2 * number + 1)] = value
    return variables


def whatsapp_address(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
