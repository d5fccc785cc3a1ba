"""WhatsApp end to end: Twilio's signed webhooks in, replies to a fake Twilio on 127.0.0.1.

The app runs with its own database (so the session app's sweeper never sees these
messages), ``SR_TWILIO_API_BASE`` pointing at the fake and ``SR_PUBLIC_URL`` as Twilio
would call it, which is what the signatures are computed over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest_asyncio
from quart import Quart

from config import Settings
from routing_core.infra.clock import utcnow
from routing_core.model.audit import SYSTEM
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, DeliveryStatus, Event
from routing_core.services import Services
from tests.support.apps import app_of_its_own
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    signed,
    status_callback,
    whatsapp_message,
)
from tests.support.routings import DRINKS, action, production_routing, tree

PUBLIC_URL = "https://sr.example.test"
OURS = "+14155238886"
ADA = "+447700900123"
GREETING = tree(action("hello", "message", {"text": "Hello {{ contact.name }}!"}))


@pytest_asyncio.fixture(scope="module")
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture(scope="module")
async def whatsapp_app(settings: Settings, twilio: FakeTwilio) -> AsyncIterator[Quart]:
    async with app_of_its_own(
        settings, "whatsapp", twilio_api_base=twilio.url, public_url=PUBLIC_URL,
        sweep_seconds=60.0,  # the tests sweep the outbox themselves
    ) as app:
        yield app


@dataclass
class WhatsApp:
    app: Quart
    services: Services
    twilio: FakeTwilio

    async def entry_point(self, definition: dict[str, Any], **credentials: str) -> EntryPoint:
        routing_id = await production_routing(self.services, "whatsapp-routing", definition)
        return await self.services.entry_points.create(
            SYSTEM,
            {"channel": Channel.whatsapp, "name": "WhatsApp", "address": f"whatsapp:{OURS}",
             "start_routing": routing_id},
            {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, **credentials},
        )

    async def post(self, path: str, fields: dict[str, str], token: str = AUTH_TOKEN,
                   headers: dict[str, str] | None = None) -> Any:
        body, signed_headers = signed(PUBLIC_URL + path, fields, token)
        response = await self.app.test_client().post(
            path, data=body, headers={**signed_headers, **(headers or {})}
        )
        await self.services.runtime.idle()
        return response

    async def message(self, entry_point: EntryPoint, sid: str, body: str = "Hi",
                      sender: str = ADA, **extra: Any) -> Any:
        fields = whatsapp_message(sid=sid, sender=sender, to=OURS, body=body, **extra)
        return await self.post(f"/webhooks/whatsapp/{entry_point.id}", fields)

    async def status(self, entry_point: EntryPoint, sid: str, status: str,
                     token: str = AUTH_TOKEN) -> Any:
        fields = status_callback(sid=sid, status=status, sender=OURS, to=ADA)
        return await self.post(f"/webhooks/whatsapp/{entry_point.id}/status", fields, token)

    async def outbound(self) -> list[Event]:
        return await self.services.store.events.all({"type": "outbound"})

    async def stored(self) -> dict[str, int]:
        database = self.services.store.database
        return {name: await database[name].count_documents({})
                for name in ("interactions", "events", "contacts")}

    async def sweep_until(self, done: Callable[[], Awaitable[bool]], tries: int = 50) -> None:
        for _ in range(tries):
            if await done():
                return
            await self.services.outbox.sweep()
            await asyncio.sleep(0.01)
        raise AssertionError("the outbox did not get there")


@pytest_asyncio.fixture
async def whatsapp(whatsapp_app: Quart, twilio: FakeTwilio) -> AsyncIterator[WhatsApp]:
    built: Services = whatsapp_app.extensions["services"]
    for name in await built.store.database.list_collection_names():
        await built.store.database[name].delete_many({})
    twilio.reset()
    outbox = built.outbox
    saved = (outbox.base_delay, outbox.max_attempts)
    yield WhatsApp(whatsapp_app, built, twilio)
    outbox.base_delay, outbox.max_attempts = saved


async def test_a_message_gets_the_reply_through_twilio_exactly_once(whatsapp: WhatsApp):
    entry_point = await whatsapp.entry_point(GREETING)
    response = await whatsapp.message(entry_point, "SM" + "1" * 32, "Hello")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    assert "<Response/>" in await response.get_data(as_text=True)
    [reply] = whatsapp.twilio.sent()
    assert reply.account_sid == ACCOUNT_SID
    assert reply.get("To") == f"whatsapp:{ADA}"
    assert reply.get("From") == f"whatsapp:{OURS}"
    assert reply.get("Body") == "Hello Ada!"
    assert reply.get("StatusCallback") == (
        f"{PUBLIC_URL}/webhooks/whatsapp/{entry_point.id}/status"
    )
    [event] = await whatsapp.outbound()
    assert event.status is DeliveryStatus.sent and event.provider_id
    # Twilio (or a proxy) posts the same message again: stored once, answered once
    again = await whatsapp.message(entry_point, "SM" + "1" * 32, "Hello")
    assert again.status_code == 200
    assert len(whatsapp.twilio.received) == 1
    interactions = await whatsapp.services.store.interactions.all({})
    assert [(i.contact, i.contact_name, i.contact_phone) for i in interactions] == [
        (ADA, "Ada", ADA)
    ]
    inbound = await whatsapp.services.store.events.all({"type": "inbound"})
    assert [event.data["provider_id"] for event in inbound] == ["SM" + "1" * 32]


async def test_choices_go_as_a_numbered_list_and_a_number_selects(whatsapp: WhatsApp):
    entry_point = await whatsapp.entry_point(DRINKS)
    await whatsapp.message(entry_point, "SM" + "1" * 32, "Hi")
    await whatsapp.message(entry_point, "SM" + "2" * 32, "2")
    assert [request.get("Body") for request in whatsapp.twilio.sent()] == [
        "Tea or coffee?\n\n1. Tea\n2. Coffee", "Coffee it is."
    ]


async def test_choices_go_as_buttons_with_a_content_template_and_a_tap_selects(
    whatsapp: WhatsApp,
):
    entry_point = await whatsapp.entry_point(
        DRINKS, quick_reply_content_sid="HX" + "1" * 32
    )
    await whatsapp.message(entry_point, "SM" + "1" * 32, "Hi")
    await whatsapp.message(entry_point, "SM" + "2" * 32, button=("Tea", "tea"))
    question, answer = whatsapp.twilio.sent()
    assert question.get("ContentSid") == "HX" + "1" * 32
    assert question.get("ContentVariables") == (
        '{"1": "Tea or coffee?", "2": "Tea", "3": "tea", "4": "Coffee", "5": "coffee"}'
    )
    assert question.get("Body") is None
    assert answer.get("Body") == "Tea it is."
    [tap] = [event for event in await whatsapp.services.store.events.all({"type": "inbound"})
             if event.data.get("payload")]
    assert tap.data["payload"] == "tea"


async def test_a_bad_signature_is_refused_and_nothing_stored(whatsapp: WhatsApp):
    entry_point = await whatsapp.entry_point(GREETING)
    path = f"/webhooks/whatsapp/{entry_point.id}"
    fields = whatsapp_message(sid="SM" + "1" * 32, sender=ADA, to=OURS, body="Hello")
    forged = await whatsapp.post(path, fields, token="not-the-auth-token")
    assert forged.status_code == 403
    body, headers = signed(PUBLIC_URL + path, fields)
    del headers["X-Twilio-Signature"]
    unsigned = await whatsapp.app.test_client().post(path, data=body, headers=headers)
    assert unsigned.status_code == 401
    assert await whatsapp.stored() == {"interactions": 0, "events": 0, "contacts": 0}
    assert whatsapp.twilio.received == []


async def test_a_malformed_payload_is_refused_and_nothing_stored(whatsapp: WhatsApp):
    entry_point = await whatsapp.entry_point(GREETING)
    fields = whatsapp_message(sid="SM" + "1" * 32, sender=ADA, to=OURS, body="Hello")
    del fields["From"]
    response = await whatsapp.post(f"/webhooks/whatsapp/{entry_point.id}", fields)
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "malformed"
    assert await whatsapp.stored() == {"interactions": 0, "events": 0, "contacts": 0}
    assert whatsapp.twilio.received == []


async def test_status_callbacks_update_the_message_and_never_move_it_back(whatsapp: WhatsApp):
    entry_point = await whatsapp.entry_point(GREETING)
    await whatsapp.message(entry_point, "SM" + "1" * 32)
    [event] = await whatsapp.outbound()
    sid = event.provider_id or ""
    assert (await whatsapp.status(entry_point, sid, "delivered")).status_code == 200
    assert (await whatsapp.outbound())[0].status is DeliveryStatus.delivered
    await whatsapp.status(entry_point, sid, "sent")  # older, arriving late
    assert (await whatsapp.outbound())[0].status is DeliveryStatus.delivered
    forged = await whatsapp.status(entry_point, sid, "failed", token="not-the-auth-token")
    assert forged.status_code == 403
    await whatsapp.status(entry_point, sid, "read")
    [event] = await whatsapp.outbound()
    assert event.status is DeliveryStatus.read
    assert set(event.reports) == {"delivered", "read"}
    unknown = await whatsapp.status(entry_point, "SM" + "9" * 32, "delivered")
    assert unknown.status_code == 200  # not ours (any more): acknowledged, ignored


async def test_outside_the_24_hour_window_without_a_template_is_a_dead_letter(
    whatsapp: WhatsApp,
):
    entry_point = await whatsapp.entry_point(GREETING)
    connector = whatsapp.app.extensions["connectors"]["whatsapp"]
    connector.clock = lambda: utcnow() + timedelta(hours=25)  # the reply leaves a day late
    try:
        await whatsapp.message(entry_point, "SM" + "1" * 32)
    finally:
        connector.clock = utcnow
    [event] = await whatsapp.outbound()
    assert event.status is DeliveryStatus.failed
    assert (event.error or "").startswith("window_closed: ")
    [dead] = await whatsapp.services.store.events.all({"type": "delivery_failed"})
    assert dead.data["dead_letter"] is True and dead.data["message"] == event.id
    assert whatsapp.twilio.received == []


async def test_outside_the_window_a_template_is_sent(whatsapp: WhatsApp):
    entry_point = await whatsapp.entry_point(GREETING, template_content_sid="HX" + "2" * 32)
    connector = whatsapp.app.extensions["connectors"]["whatsapp"]
    connector.clock = lambda: utcnow() + timedelta(hours=25)
    try:
        await whatsapp.message(entry_point, "SM" + "1" * 32)
    finally:
        connector.clock = utcnow
    [template] = whatsapp.twilio.sent()
    assert template.get("ContentSid") == "HX" + "2" * 32
    assert template.get("ContentVariables") == '{"1": "Hello Ada!"}'


async def test_an_outage_is_retried_then_dead_lettered_then_replayed(whatsapp: WhatsApp):
    outbox = whatsapp.services.outbox
    outbox.base_delay, outbox.max_attempts = 0.0, 3
    whatsapp.twilio.fail(500, times=None)
    entry_point = await whatsapp.entry_point(GREETING)
    await whatsapp.message(entry_point, "SM" + "1" * 32)

    async def dead() -> bool:
        return (await whatsapp.outbound())[0].status is DeliveryStatus.failed

    await whatsapp.sweep_until(dead)
    [event] = await whatsapp.outbound()
    assert [request.answered for request in whatsapp.twilio.received] == [500, 500, 500]
    assert event.attempts == 3 and (event.error or "").startswith("provider_unavailable: ")
    [dead_letter] = await whatsapp.services.store.events.all({"type": "delivery_failed"})
    assert dead_letter.data["attempts"] == 3
    whatsapp.twilio.reset()  # Twilio is back
    await outbox.replay(event.id)

    async def sent() -> bool:
        return (await whatsapp.outbound())[0].status is DeliveryStatus.sent

    await whatsapp.sweep_until(sent)
    assert [request.get("Body") for request in whatsapp.twilio.sent()] == ["Hello Ada!"]


async def test_a_rate_limit_is_retried_and_the_message_goes_once(whatsapp: WhatsApp):
    whatsapp.services.outbox.base_delay = 0.0
    whatsapp.twilio.fail(429)
    entry_point = await whatsapp.entry_point(GREETING)
    await whatsapp.message(entry_point, "SM" + "1" * 32)

    async def sent() -> bool:
        return (await whatsapp.outbound())[0].status is DeliveryStatus.sent

    await whatsapp.sweep_until(sent)
    assert [request.answered for request in whatsapp.twilio.received] == [429, 201]
    [event] = await whatsapp.outbound()
    assert event.attempts == 2 and event.provider_id


async def test_an_invalid_number_is_a_dead_letter_at_once(whatsapp: WhatsApp):
    whatsapp.twilio.fail(400, code=21211)
    entry_point = await whatsapp.entry_point(GREETING)
    await whatsapp.message(entry_point, "SM" + "1" * 32)
    [event] = await whatsapp.outbound()
    assert event.status is DeliveryStatus.failed and event.attempts == 1
    assert (event.error or "").startswith("recipient_unreachable: ")
    assert len(whatsapp.twilio.received) == 1
