"""A Graph API Send endpoint on 127.0.0.1 that answers like graph.facebook.com.

``POST /{version}/me/messages?access_token=…`` with a JSON body is checked the way the
Send API checks it (recipient, messaging_type and tag, text or attachment, at most 13
quick replies with titles of at most 20 characters, text of at most 2000 characters),
recorded, and answered ``{"recipient_id", "message_id"}`` — or with the error a test
scripted (HTTP status, Graph ``code`` / ``error_subcode``, optional ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})


@dataclass
class Send:
    version: str
    access_token: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int
    code: int
    message: str
    subcode: int | None = None
    retry_after: int | None = None


class FakeGraph:
    def __init__(self, tokens: set[str] | None = None):
        self.tokens = tokens  # None: any non-empty token is a page's
        self.sends: list[Send] = []  # every request, accepted or not
        self.listeners: list[Callable[[Send], None]] = []  # told of each send as it arrives
        self.failures: deque[Failure] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.attachments: dict[str, tuple[bytes, str]] = {}  # what customers sent

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{version}/me/messages", self._messages)
        app.router.add_get("/attachments/{name}", self._attachment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def attachment_url(self, name: str, data: bytes, content_type: str) -> str:
        """An attachment's URL as a webhook gives it (Meta's CDN, here the fake's host)."""
        self.attachments[name] = (data, content_type)
        return f"{self.url}/attachments/{name}"

    async def _attachment(self, request: web.Request) -> web.Response:
        found = self.attachments.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    def reset(self) -> None:
        self.sends.clear()
        self.failures.clear()
        self._ids = itertools.count(1)

    def fail(self, status: int, code: int, message: str, subcode: int | None = None,
             retry_after: int | None = None, times: int = 1) -> None:
        for _ in range(times):
            self.failures.append(Failure(status, code, message, subcode, retry_after))

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Send]:
        deadline = time.monotonic() + timeout
        while len(self.sends) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.sends)} send(s), expected {count}")
            await asyncio.sleep(0.02)
        return self.sends

    async def _messages(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        try:
            body = await request.json()
        except ValueError:
            body = None
        send = Send(request.match_info["version"], token, body if isinstance(body, dict) else {})
        self.sends.append(send)
        for listener in self.listeners:
            listener(send)
        if not token or (self.tokens is not None and token not in self.tokens):
            return self._error(400, 190, "Invalid OAuth access token - Cannot parse access "
                                         "token", "OAuthException")
        if self.failures:
            failure = self.failures.popleft()
            headers = ({"Retry-After": str(failure.retry_after)}
                       if failure.retry_after is not None else None)
            return self._error(failure.status, failure.code, failure.message,
                               subcode=failure.subcode, headers=headers)
        if not isinstance(body, dict):
            return self._error(400, 100, "(#100) The request body must be JSON")
        problem = self._problem(body)
        if problem:
            return self._error(400, 100, f"(#100) {problem}")
        return web.json_response({"recipient_id": body["recipient"]["id"],
                                  "message_id": f"m_{next(self._ids)}"})

    @staticmethod
    def _problem(body: dict[str, Any]) -> str | None:
        recipient = body.get("recipient")
        if not isinstance(recipient, dict) or not recipient.get("id"):
            return "param recipient must be non-empty"
        kind = body.get("messaging_type")
        if kind not in MESSAGING_TYPES:
            return "param messaging_type must be one of RESPONSE, UPDATE, MESSAGE_TAG"
        if kind == "MESSAGE_TAG" and not body.get("tag"):
            return "param tag is required for messaging_type MESSAGE_TAG"
        message = body.get("message")
        if not isinstance(message, dict):
            return "param message must be non-empty"
        if ("text" in message) == ("attachment" in message):
            return "param message must have exactly one of text or attachment"
        if "text" in message and not 0 < len(message["text"]) <= 2000:
            return "param message[text] must be 1 to 2000 characters"
        replies = message.get("quick_replies", [])
        if len(replies) > 13:
            return "param message[quick_replies] must have at most 13 elements"
        for reply in replies:
            if reply.get("content_type") == "text" and not (
                0 < len(reply.get("title", "")) <= 20 and reply.get("payload")
            ):
                return "param message[quick_replies][title] must be 1 to 20 characters"
        return None

    @staticmethod
    def _error(status: int, code: int, message: str, error_type: str = "OAuthException",
               subcode: int | None = None, headers: dict[str, str] | None = None
               ) -> web.Response:
        error: dict[str, Any] = {"message": message, "type": error_type, "code": code,
                                 "fbtrace_id": "AbCdEf"}
        if subcode is not None:
            error["error_subcode"] = subcode
        return web.json_response({"error": error}, status=status, headers=headers)
