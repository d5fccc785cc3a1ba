"""What one web chat visitor, or one address, may cost: messages per socket, sockets open
at once and sockets opened per minute per address — each refused with a sentence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from quart.testing.connections import WebsocketDisconnectError

from bots.webchat_limits import TokenBucket
from config import Settings
from routing_core.services import Services
from tests.support.apps import app_of_its_own
from tests.support.routings import DRINKS, production_routing, webchat_entry_point


async def frames_until(socket: Any, kind: str, count: int) -> list[dict[str, Any]]:
    """Frames up to the ``count``-th of ``kind``."""
    seen: list[dict[str, Any]] = []
    while sum(frame["type"] == kind for frame in seen) < count:
        seen.append(await asyncio.wait_for(socket.receive_json(), 5))
    return seen


def test_a_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=1.0, burst=2.0, updated=0.0)
    assert [bucket.take(0.0), bucket.take(0.0), bucket.take(0.0)] == [True, True, False]
    assert bucket.take(0.5) is False and bucket.take(1.1) is True


async def test_a_visitor_flooding_a_socket_is_slowed_then_closed(settings: Settings) -> None:
    async with app_of_its_own(settings, "flood", webchat_messages_per_minute=8) as app:
        services: Services = app.extensions["services"]
        routing_id = await production_routing(services, "drinks", DRINKS)
        await webchat_entry_point(services, routing_id)
        async with app.test_client().websocket("/chat/web/ws?visitor=visitor-flood") as socket:
            for number in range(4):
                await socket.send_json({"type": "message", "text": f"m{number}",
                                        "id": f"m{number}"})
            frames = await frames_until(socket, "error", 2)
            acks = [frame["id"] for frame in frames if frame["type"] == "ack"]
            assert acks == ["m0", "m1"]  # the burst: a quarter of a minute's messages
            errors = [frame["message"] for frame in frames if frame["type"] == "error"]
            assert errors == ["slow down: this message was not sent, you are writing too "
                              "fast"] * 2
            with pytest.raises(WebsocketDisconnectError) as closed:
                for number in range(4, 40):
                    await socket.send_json({"type": "message", "text": f"m{number}"})
                    await asyncio.sleep(0)
                while True:
                    await asyncio.wait_for(socket.receive_json(), 5)
            assert closed.value.args == (4429,)
        await services.runtime.idle()
        inbound = await services.store.events.collection.count_documents({"type": "inbound"})
        assert inbound == 2


async def test_one_address_cannot_hold_or_open_sockets_without_end(settings: Settings) -> None:
    async with app_of_its_own(settings, "sockets", webchat_sockets_per_address=2,
                              webchat_opens_per_minute=12) as app:
        services: Services = app.extensions["services"]
        routing_id = await production_routing(services, "drinks", DRINKS)
        await webchat_entry_point(services, routing_id)
        client = app.test_client()
        async with client.websocket("/chat/web/ws?visitor=visitor-one1") as first, \
                client.websocket("/chat/web/ws?visitor=visitor-two2") as second:
            assert (await first.receive_json())["type"] == "history"
            assert (await second.receive_json())["type"] == "history"
            async with client.websocket("/chat/web/ws?visitor=visitor-three") as third:
                with pytest.raises(WebsocketDisconnectError) as refused:
                    await third.receive_json()
            assert refused.value.args == (4429,)
        # both closed: the address may open again, until its openings per minute run out
        opened = 0
        for number in range(6):
            async with client.websocket(f"/chat/web/ws?visitor=visitor-again{number}") as again:
                try:
                    await again.receive_json()
                    opened += 1
                except WebsocketDisconnectError as error:
                    assert error.args == (4429,)
        assert opened == 1  # a burst of 3 (a quarter of 12), two spent above
