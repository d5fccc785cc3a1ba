"""The webhook gate on its own: what it answers before any entry point is looked up.

Driven through its ASGI interface as Hypercorn drives it; what happens once a webhook is
verified and stored is tested per channel (``tests/integration/test_telegram.py`` …).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bots import webhook_gate
from bots.webhook_gate import WebhookGate
from bots.webhooks import WebhookAddress

HEADERS = {"X-Frame-Options": "DENY"}


async def downstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"the app"})


def gate(extensions: dict[str, Any] | None = None, limit: int = 1024) -> WebhookGate:
    return WebhookGate(downstream, extensions if extensions is not None else {},
                       public_url="https://bots.example.com", max_body_bytes=limit,
                       headers=HEADERS)


async def call(app: WebhookGate, path: str, method: str = "POST",
               chunks: list[bytes] | None = None, headers: list[tuple[bytes, bytes]] | None = None,
               receive: Any = None) -> tuple[int, dict[str, str], bytes]:
    chunks = chunks or [b""]
    pending = [{"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
               for index, chunk in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def from_client() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def to_client(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": headers or []}
    await app(scope, receive or from_client, to_client)
    if not sent:
        return 0, {}, b""
    start, body = sent
    return (start["status"], {name.decode(): value.decode() for name, value in start["headers"]},
            body["body"])


def error_code(body: bytes) -> str:
    return json.loads(body)["error"]["code"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("path", "expected"), [
    ("/webhooks/telegram/ep1", WebhookAddress("telegram", "ep1", "event")),
    ("/webhooks/whatsapp/ep1/status", WebhookAddress("whatsapp", "ep1", "status")),
    ("/webhooks/telegram", None), ("/webhooks/telegram/", None), ("/webhooks//ep1", None),
    ("/webhooks/telegram/ep1/", None), ("/webhooks/telegram/ep1/other", None),
    ("/webhooks/a/b/status/x", None),
])
def test_an_address_names_a_channel_an_entry_point_and_a_kind(path, expected):
    assert WebhookAddress.of(path) == expected


async def test_other_paths_go_on_to_the_app():
    assert await call(gate(), "/api/entry-points", "GET") == (299, {}, b"the app")
    assert (await call(gate(), "/webhook/telegram/x"))[0] == 299


async def test_an_address_that_is_no_webhook_is_a_404_in_the_api_shape():
    status, headers, body = await call(gate(), "/webhooks/telegram/ep1/extra")
    assert (status, error_code(body)) == (404, "not_found")
    assert headers["content-type"] == "application/json"
    assert headers["x-frame-options"] == "DENY"


async def test_a_method_the_address_does_not_take_is_a_405_saying_which_it_takes():
    status, headers, body = await call(gate(), "/webhooks/whatsapp/ep1/status", "GET")
    assert (status, error_code(body), headers["allow"]) == (405, "method_not_allowed", "POST")
    status, headers, _ = await call(gate(), "/webhooks/telegram/ep1", "PUT")
    assert (status, headers["allow"]) == (405, "GET, HEAD, POST")


async def test_a_service_still_starting_asks_for_a_redelivery():
    status, headers, body = await call(gate(), "/webhooks/telegram/ep1", chunks=[b"{}"])
    assert (status, error_code(body), headers["retry-after"]) == (503, "unavailable", "1")


class Idle:
    """Services whose inbox has room; the test ends before any entry point is read."""

    class runtime:  # noqa: N801 — stands where the attribute is
        backlog = 0

    class settings:  # noqa: N801
        inbox_limit = 10


async def never() -> dict[str, Any]:
    raise AssertionError("the body was read")


async def test_a_body_over_the_limit_is_a_413_whether_declared_or_not():
    served = gate({"services": Idle(), "connectors": {}}, limit=10)
    declared = [(b"content-length", b"11")]
    status, _, body = await call(served, "/webhooks/telegram/ep1", headers=declared,
                                 receive=never)  # refused unread
    assert (status, error_code(body)) == (413, "too_large")
    status, _, body = await call(served, "/webhooks/telegram/ep1", chunks=[b"x" * 6, b"y" * 6])
    assert (status, error_code(body)) == (413, "too_large")


async def test_a_client_stalling_mid_body_is_let_go(monkeypatch):
    monkeypatch.setattr(webhook_gate, "BODY_SECONDS", 0.05)

    async def stalls() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    served = gate({"services": Idle(), "connectors": {}})
    status, _, body = await call(served, "/webhooks/telegram/ep1", receive=stalls)
    assert (status, error_code(body)) == (408, "timeout")


async def test_a_client_gone_before_its_body_came_is_not_answered():
    served = gate({"services": Idle(), "connectors": {}})

    async def gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    assert await call(served, "/webhooks/telegram/ep1", receive=gone) == (0, {}, b"")


async def test_a_full_inbox_refuses_before_reading_anything():
    class Busy(Idle):
        class runtime:  # noqa: N801
            backlog = 10

    served = gate({"services": Busy(), "connectors": {}})
    status, headers, body = await call(served, "/webhooks/telegram/ep1", receive=never)
    assert (status, error_code(body), headers["retry-after"]) == (503, "busy", "1")
