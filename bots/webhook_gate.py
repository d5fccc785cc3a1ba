"""Provider webhooks served straight off the ASGI connection, ahead of the app's routing.

A webhook is the hot path of every bot turn, and it needs nothing of what the app does for
people — sessions, routing among a hundred rules, the schema extension's conversions,
error pages in their language. Going through Quart cost about a tenth of the service's
CPU per message (sampled with py-spy under a Telegram load), so ``WebhookGate`` reads the
request itself — path, headers, query, body within ``max_body_bytes``, form fields —
hands it to ``bots.webhooks.answer`` and writes the answer with the app's security
headers. Every other request goes on to the app unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from pymongo.errors import PyMongoError

from bots.webhooks import BUSY, UNAVAILABLE, Answer, WebhookAddress, answer, over_limit, refusal
from connectors.base import WebhookRequest

log = logging.getLogger(__name__)
PREFIX = "/webhooks/"
BODY_SECONDS = 60  # as Quart's own body timeout: a client that stalls mid-body is let go
FORM_TYPE = "application/x-www-form-urlencoded"
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
STARTING = refusal(503, "unavailable", "the service is starting; deliver again shortly",
                   headers=(("Retry-After", "1"),))
TOO_LARGE = refusal(413, "too_large", "the request body is too large")
SLOW = refusal(408, "timeout", "the request body took too long to arrive")


class WebhookGate:
    """Serves ``/webhooks/...`` for ``extensions`` (the app's: ``services`` and
    ``connectors`` once it serves); passes everything else to ``app``."""

    def __init__(self, app: ASGIApp, extensions: Mapping[str, Any], *,
                 public_url: str, max_body_bytes: int, headers: Mapping[str, str]):
        self.app, self.extensions = app, extensions
        self.public_url, self.max_body_bytes = public_url, max_body_bytes
        self.headers = [(name.lower().encode(), value.encode())
                        for name, value in headers.items()]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        try:
            reply = await self._answer(scope, receive)
        except ClientGone:
            return
        except Exception:  # noqa: BLE001 — logged; the provider gets the API's error shape
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            reply = refusal(500, "internal", "an unexpected error occurred; it has been logged")
        await self._write(scope, send, reply)

    async def _answer(self, scope: dict[str, Any], receive: Any) -> Answer:
        address = WebhookAddress.of(scope["path"])
        if address is None:
            return refusal(404, "not_found", "no webhook at this address")
        method = scope["method"]
        if method not in address.methods:
            return refusal(405, "method_not_allowed", f"this address takes "
                           f"{' or '.join(address.methods)} requests",
                           headers=(("Allow", ", ".join(address.methods)),))
        built, connectors = self.extensions.get("services"), self.extensions.get("connectors")
        if built is None or connectors is None:
            return STARTING
        if over_limit(built, address, method):
            return BUSY
        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in scope["headers"]}
        body = await read_body(headers, receive, self.max_body_bytes)
        if isinstance(body, Answer):
            return body
        query = scope["query_string"].decode("latin-1")
        form: dict[str, str] = {}
        if headers.get("content-type", "").split(";")[0].strip().lower() == FORM_TYPE:
            form = _first_values(body.decode("utf-8", "replace"))
        incoming = WebhookRequest(
            method=method, kind=address.kind, headers=headers, query=_first_values(query),
            body=body, form=form,
            public_url=self.public_url + scope["path"] + (f"?{query}" if query else ""),
        )
        try:
            return await answer(built, connectors, address, incoming)
        except PyMongoError as error:
            log.warning("storage unavailable on %s %s: %s", method, scope["path"], error)
            return UNAVAILABLE

    async def _write(self, scope: dict[str, Any], send: Any, reply: Answer) -> None:
        body = reply.body.encode()
        content_type = reply.content_type
        if content_type.startswith("text/") and "charset" not in content_type:
            content_type += "; charset=utf-8"
        headers = [(b"content-type", content_type.encode()),
                   (b"content-length", str(len(body)).encode()), *self.headers,
                   *((name.lower().encode(), value.encode()) for name, value in reply.headers)]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})


async def read_body(headers: Mapping[str, str], receive: Any, limit: int) -> bytes | Answer:
    """The request's body off the ASGI connection, or the refusal of one over ``limit``
    bytes (said or not) or too slow to come; ``ClientGone`` when the client went away."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return TOO_LARGE
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_SECONDS):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return TOO_LARGE
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        return SLOW


class ClientGone(Exception):
    """The client went away before its request was whole: nobody to answer."""


def _first_values(encoded: str) -> dict[str, str]:
    """Fields of a query or form, each with its first value (as the app's request reads
    them: a signature is checked on those)."""
    fields: dict[str, str] = {}
    for name, value in parse_qsl(encoded, keep_blank_values=True):
        fields.setdefault(name, value)
    return fields
