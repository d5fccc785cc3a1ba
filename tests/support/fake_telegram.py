"""A Bot API server on 127.0.0.1 that answers like api.telegram.org, for the methods we use.

It takes what aiogram sends — form-encoded bodies whose nested objects (``reply_markup``,
``allowed_updates``) are JSON strings — as well as JSON bodies, records every call, and
answers with Telegram's envelope ``{"ok", "result" | "error_code", "description",
"parameters"}``. Tests script failures (429 with ``retry_after``, 500, 403 blocked…) per
method, and read back the webhook a bot registered so they can deliver updates exactly
as Telegram would (with the secret token header).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "entities", "caption_entities",
                         "link_preview_options", "reply_parameters"})
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BLOCKED = "Forbidden: bot was blocked by the user"


@dataclass
class Call:
    method: str
    token: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None


class FakeTelegram:
    def __init__(self, tokens: set[str] | None = None):
        self.tokens = tokens  # None: every well-formed token is a bot
        self.calls: list[Call] = []
        self.files: dict[str, tuple[bytes, str]] = {}  # file_id → what a customer sent
        self.listeners: list[Callable[[Call], None]] = []  # told of each call as it arrives
        self.webhooks: dict[str, Webhook] = {}
        self.failures: dict[str, deque[Failure]] = defaultdict(deque)
        self.stalls: dict[str, float] = {}  # method → seconds every answer waits
        self.unknown_chats: set[str] = set()
        self._message_ids = itertools.count(100)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- control ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def reset(self) -> None:
        self.calls.clear()
        self.webhooks.clear()
        self.failures.clear()
        self.stalls.clear()
        self.unknown_chats.clear()
        self._message_ids = itertools.count(100)

    def fail(self, method: str, status: int, description: str,
             retry_after: int | None = None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get this error."""
        for _ in range(times):
            self.failures[method].append(Failure(status, description, retry_after))

    def stall(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` only after ``seconds``: a slow or saturated API."""
        self.stalls[method] = seconds

    def block(self, times: int = 1) -> None:
        self.fail("sendMessage", 403, BLOCKED, times=times)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def webhook_headers(self, token: str) -> dict[str, str]:
        """The headers Telegram sends with each update to the registered webhook."""
        hook = self.webhooks[token]
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        return headers

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{method} called {len(self.calls_to(method))} time(s), expected {count}"
                )
            await asyncio.sleep(0.02)
        return self.calls_to(method)

    # -- the API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await self._params(request)
        call = Call(method, token, params)
        self.calls.append(call)
        for listener in self.listeners:
            listener(call)
        if self.tokens is not None and token not in self.tokens:
            return self._error(401, "Unauthorized")
        if method in self.stalls:
            await asyncio.sleep(self.stalls[method])
        queued = self.failures.get(method)
        if queued:
            failure = queued.popleft()
            return self._error(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        try:
            return self._ok(handler(token, params))
        except BadRequest as error:
            return self._error(400, f"Bad Request: {error}")

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        params: dict[str, Any] = {}
        for name, value in (await request.post()).items():
            text = value if isinstance(value, str) else str(value)
            params[name] = json.loads(text) if name in JSON_FIELDS else text
        return params

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    # -- methods ---------------------------------------------------------------------------

    def _sendChatAction(self, token: str, params: dict[str, Any]) -> bool:
        return True

    def _getFile(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        found = self.files.get(str(params.get("file_id")))
        if found is None:
            raise BadRequest("wrong file_id or the file is temporarily unavailable")
        return {"file_id": params["file_id"], "file_unique_id": "u" + params["file_id"],
                "file_size": len(found[0]), "file_path": f"files/{params['file_id']}"}

    async def _download(self, request: web.Request) -> web.Response:
        """``/file/bot<token>/<path>``: a file a customer sent, as ``getFile`` named it."""
        found = self.files.get(request.match_info["path"].removeprefix("files/"))
        if found is None or request.match_info["token"] not in (self.tokens or
                                                                {request.match_info["token"]}):
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    def _getMe(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": int(token.partition(":")[0]), "is_bot": True, "first_name": "Fake",
                "username": "fake_bot"}

    def _setWebhook(self, token: str, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if not url:
            raise BadRequest("bad webhook: URL must be provided")
        secret = params.get("secret_token")
        if secret is not None and not (
            1 <= len(secret) <= 256
            and all(char.isascii() and (char.isalnum() or char in "_-") for char in secret)
        ):
            raise BadRequest("secret token contains unallowed characters")
        self.webhooks[token] = Webhook(url, secret, params.get("allowed_updates"))
        return True

    def _deleteWebhook(self, token: str, params: dict[str, Any]) -> bool:
        self.webhooks.pop(token, None)
        return True

    def _answerCallbackQuery(self, token: str, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise BadRequest("query is too old and response timeout expired or query ID is "
                             "invalid")
        return True

    def _sendMessage(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text") or ""
        if not text.strip():
            raise BadRequest("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise BadRequest("message is too long")
        return {**self._message(params), "text": text}

    def _sendPhoto(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("photo"):
            raise BadRequest("there is no photo in the request")
        caption = params.get("caption")
        if caption is not None and len(caption) > CAPTION_LIMIT:
            raise BadRequest("message caption is too long")
        message = {**self._message(params), "photo": [
            {"file_id": "AgAD1", "file_unique_id": "u1", "width": 320, "height": 240}]}
        if caption:
            message["caption"] = caption
        return message

    def _sendDocument(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("document"):
            raise BadRequest("there is no document in the request")
        return {**self._message(params), "document": {"file_id": "BQAD1",
                                                      "file_unique_id": "u2"}}

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = str(params.get("chat_id") or "")
        if not chat or chat in self.unknown_chats:
            raise BadRequest("chat not found")
        self._check_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
            "from": {"id": 1, "is_bot": True, "first_name": "Fake"},
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if markup is None:
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise BadRequest("BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise BadRequest("text buttons are unallowed in the inline keyboard")


class BadRequest(Exception):
    """A 400 the fake answers, with Telegram's description."""
