"""Twilio for tests, both ways: a fake Messages API on 127.0.0.1, and webhooks as Twilio
sends them (form bodies in Twilio's field order, signed for real).

The fake answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form-encoded, HTTP
Basic auth with the account SID and auth token) with 201 and the JSON of a queued
message, as Twilio does; tests script failures (429, 5xx, 400 with a Twilio error code)
and read back every request it received, failed ones included.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from twilio.request_validator import RequestValidator

from routing_core.infra.clock import utcnow

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    63016: "Failed to send freeform message because you are outside the allowed window.",
}


@dataclass
class Received:
    """One request the fake received, whatever it answered."""

    account_sid: str
    form: dict[str, list[str]]
    answered: int

    def get(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class Failure:
    status: int
    code: int
    remaining: int | None  # None: every request until cleared


class FakeTwilio:
    """The Messages endpoint of one or more accounts (``{sid: auth token}``)."""

    def __init__(self, accounts: Mapping[str, str] | None = None):
        self.accounts = dict(accounts or {ACCOUNT_SID: AUTH_TOKEN})
        self.received: list[Received] = []
        self.listeners: list[Callable[[Received], None]] = []  # told of each request answered
        self.failures: list[Failure] = []
        self._runner: web.AppRunner | None = None
        self.url = ""
        # media a customer sent: path under the API → (bytes, type); fetches counted
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_fetches: list[str] = []

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}",
                           self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what tests set and read -----------------------------------------------------------

    def fail(self, status: int, code: int | None = None, times: int | None = 1) -> None:
        """The next ``times`` requests (None: all, until ``reset``) answer this error."""
        default_code = {429: 20429, 401: 20003}.get(status, 20500 if status >= 500 else 21211)
        self.failures.append(Failure(status, code or default_code, times))

    def reset(self) -> None:
        self.received.clear()
        self.failures.clear()

    def sent(self) -> list[Received]:
        """The requests answered 201: the messages Twilio would deliver."""
        return [request for request in self.received if request.answered == 201]

    def media_url(self, message_sid: str, media_sid: str, data: bytes,
                  content_type: str) -> str:
        """A media's URL as a webhook gives it; fetching it needs the account's auth."""
        path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}/Media/{media_sid}"
        self.media[path] = (data, content_type)
        return self.url + path

    async def _media(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        expected = base64.b64encode(f"{sid}:{self.accounts.get(sid, '')}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        found = self.media.get(request.path)
        if found is None:
            return web.json_response({"code": 20404, "message": "not found"}, status=404)
        self.media_fetches.append(request.path)
        return web.Response(body=found[0], content_type=found[1])

    # -- the endpoint ----------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        form: dict[str, list[str]] = {}
        for name, value in (await request.post()).items():
            form.setdefault(name, []).append(str(value))
        answer = self._answer(request, sid, form)
        received = Received(sid, form, answer.status)
        self.received.append(received)
        for listener in self.listeners:
            listener(received)
        return answer

    def _answer(self, request: web.Request, sid: str, form: dict[str, list[str]]) -> web.Response:
        if not self._authenticated(request, sid):
            return error_response(401, 20003, request.path)
        if request.content_type != "application/x-www-form-urlencoded":
            return error_response(400, 21602, request.path)
        if self.failures:
            failure = self.failures[0]
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self.failures.pop(0)
            return error_response(failure.status, failure.code, request.path)
        if not form.get("To"):
            return error_response(400, 21604, request.path)
        if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
            return error_response(400, 21602, request.path)
        return web.json_response(message_resource(sid, form), status=201)

    def _authenticated(self, request: web.Request, sid: str) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = self.accounts.get(user)
        return user == sid and expected is not None and secrets.compare_digest(password, expected)


def error_response(status: int, code: int, path: str) -> web.Response:
    """Twilio's (legacy) error body: what the SDK turns into ``TwilioRestException``."""
    return web.json_response({
        "code": code,
        "message": ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }, status=status)


def message_resource(sid: str, form: dict[str, list[str]]) -> dict[str, Any]:
    now = format_datetime(utcnow())
    message_sid = "SM" + uuid.uuid4().hex
    first = {name: values[0] for name, values in form.items()}
    resource = f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}"
    return {
        "account_sid": sid, "api_version": "2010-04-01", "body": first.get("Body", ""),
        "date_created": now, "date_sent": None, "date_updated": now,
        "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": first.get("From"), "messaging_service_sid": first.get("MessagingServiceSid"),
        "num_media": str(len(form.get("MediaUrl", []))), "num_segments": "1", "price": None,
        "price_unit": "USD", "sid": message_sid, "status": "queued",
        "subresource_uris": {"media": f"{resource}/Media.json"},
        "to": first.get("To"), "uri": f"{resource}.json",
    }


# -- webhooks as Twilio sends them ---------------------------------------------------------

def whatsapp_message(
    *,
    sid: str,
    sender: str,
    to: str,
    body: str = "",
    profile_name: str = "Ada",
    media: list[tuple[str, str]] | None = None,
    button: tuple[str, str] | None = None,
    account_sid: str = ACCOUNT_SID,
) -> dict[str, str]:
    """The fields of an incoming WhatsApp message, in the order Twilio posts them.

    ``sender`` and ``to`` are E.164 numbers; ``media`` (url, content type) pairs;
    ``button`` a quick-reply tap (text, payload).
    """
    media = media or []
    fields = {"SmsMessageSid": sid, "NumMedia": str(len(media)), "ProfileName": profile_name}
    for index, (_, content_type) in enumerate(media):
        fields[f"MediaContentType{index}"] = content_type
    fields["MessageType"] = "button" if button else ("image" if media else "text")
    fields |= {"SmsSid": sid, "WaId": sender.lstrip("+"), "SmsStatus": "received"}
    if button:
        fields |= {"ButtonText": button[0], "ButtonPayload": button[1],
                   "OriginalRepliedMessageSender": f"whatsapp:{to}",
                   "OriginalRepliedMessageSid": "SM" + "f" * 32}
        body = body or button[0]
    fields |= {"Body": body, "To": f"whatsapp:{to}", "NumSegments": "1",
               "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": account_sid,
               "From": f"whatsapp:{sender}"}
    for index, (url, _) in enumerate(media):
        fields[f"MediaUrl{index}"] = url
    fields["ApiVersion"] = "2010-04-01"
    return fields


def status_callback(
    *, sid: str, status: str, sender: str, to: str, error_code: str | None = None,
    account_sid: str = ACCOUNT_SID,
) -> dict[str, str]:
    """A delivery report for an outbound WhatsApp message (``sender``: our number)."""
    fields = {"ChannelPrefix": "whatsapp", "ApiVersion": "2010-04-01", "MessageStatus": status,
              "SmsSid": sid, "SmsStatus": status, "ChannelInstallSid": "XE" + "0" * 32,
              "To": f"whatsapp:{to}", "From": f"whatsapp:{sender}", "MessageSid": sid,
              "AccountSid": account_sid, "ChannelToAddress": to[:-4] + "XXXX"}
    if error_code:
        fields |= {"ErrorCode": error_code, "ErrorMessage": "Twilio reported an error"}
    return fields


def signature(url: str, fields: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    """``X-Twilio-Signature``: over the URL configured at Twilio and every field."""
    return str(RequestValidator(token).compute_signature(url, dict(fields)))


def signed(
    url: str, fields: Mapping[str, str], token: str = AUTH_TOKEN
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Twilio's POST of ``fields`` to ``url`` (the public URL)."""
    return urlencode(list(fields.items())).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(url, fields, token),
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        "X-Home-Region": "us1",
    }
