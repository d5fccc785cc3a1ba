"""The service killed and restarted: a pause still resumes, a step cut mid-way is replayed
by the next process and its reply is sent once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.support.routings import action, tree
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.slow


def install(service: ServiceProcess, reference: str, definition: dict[str, Any]) -> None:
    routing = service.api("POST", "/api/smart-routings/import", {
        "routing": {"name": reference, "reference": reference, "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": definition}],
    })
    service.api("POST", "/api/entry-points", {
        "channel": "webchat", "name": reference, "address": reference,
        "start_routing": routing["id"]})


VISITOR_KEYS: dict[str, str] = {}  # what each visitor's widget would keep


async def say(service: ServiceProcess, address: str, visitor: str, text: str,
              replies: int) -> list[dict[str, Any]]:
    key = VISITOR_KEYS.get(visitor, "")
    async with aiohttp.ClientSession() as session, session.ws_connect(
        f"{service.url.replace('http', 'ws', 1)}/chat/{address}/ws?visitor={visitor}&key={key}"
    ) as socket:
        history = await socket.receive_json(timeout=10)
        VISITOR_KEYS.setdefault(visitor, history.get("key", ""))
        await socket.send_str(json.dumps({"type": "message", "text": text, "id": "m-" + text}))
        frames = []
        while len(frames) < replies:
            frame = await socket.receive_json(timeout=10)
            if frame["type"] == "message":
                frames.append(frame)
        return frames


async def bot_texts(service: ServiceProcess, visitor: str, expected: int,
                    timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        items = service.api("GET", f"/api/interactions?contact={visitor}")["items"]
        texts: list[str] = []
        for item in reversed(items):
            detail = service.api("GET", f"/api/interactions/{item['id']}")
            texts += [e["data"]["text"] for e in detail["events"] if e["type"] == "outbound"]
        if len(texts) >= expected or time.monotonic() > deadline:
            return texts
        await asyncio.sleep(0.2)


async def test_a_pause_survives_a_killed_service(mongodb_uri, tmp_path):
    service = ServiceProcess(mongodb_uri, tmp_path).start()
    try:
        install(service, "nap", tree(
            action("before", "message", {"text": "See you in 2 seconds."}, next="nap"),
            action("nap", "pause", {"seconds": 2}, next="after"),
            action("after", "message", {"text": "I am back."})))
        first = await say(service, "nap", "visitor-nap-1", "hi", 1)
        assert first[0]["text"] == "See you in 2 seconds."
        service.kill()
        service.start()
        assert await bot_texts(service, "visitor-nap-1", 2) == [
            "See you in 2 seconds.", "I am back."]
    finally:
        service.stop()


async def test_a_step_cut_by_a_kill_is_replayed_and_replies_once(mongodb_uri, tmp_path):
    calls: list[float] = []

    async def slow(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        await asyncio.sleep(1.5)
        return web.json_response({"answer": 42})

    upstream = web.Application()
    upstream.router.add_get("/slow", slow)
    runner = web.AppRunner(upstream)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    service = ServiceProcess(mongodb_uri, tmp_path, SR_LEASE_SECONDS="2",
                             SR_ALLOW_PRIVATE_WEB_SERVICES="1").start()
    try:
        install(service, "slowcall", tree(
            action("call", "web_service", {
                "method": "GET", "url": f"http://127.0.0.1:{port}/slow",
                "timeout_seconds": 10, "into": {"answer": "$.answer"}},
                success="done", failure="broken"),
            action("done", "message", {"text": "The answer is {{ vars.answer }}."}),
            action("broken", "message", {"text": "It broke."})))
        async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{service.url.replace('http', 'ws', 1)}/chat/slowcall/ws?visitor=visitor-kill-1"
        ) as socket:
            await socket.receive_json(timeout=10)
            await socket.send_str(json.dumps({"type": "message", "text": "go", "id": "g1"}))
            assert (await socket.receive_json(timeout=10))["type"] == "ack"
        while not calls:
            await asyncio.sleep(0.05)
        service.kill()  # mid-step: the web service has been called, nothing committed
        service.start()
        texts = await bot_texts(service, "visitor-kill-1", 1)
        await asyncio.sleep(1)  # would a second reply come? it must not
        assert await bot_texts(service, "visitor-kill-1", 1) == texts == ["The answer is 42."]
        assert len(calls) == 2  # the step ran again in the new process
    finally:
        service.stop()
        await runner.cleanup()
