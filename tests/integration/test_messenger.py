"""Messenger end to end: the real app and a real mongod, a fake Graph API on 127.0.0.1.

Events are posted to the webhook as Meta posts them (JSON signed with the app secret in
``X-Hub-Signature-256``); replies are checked on the fake Send API.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from quart import Quart

from config import Settings
from connectors.messenger import signature
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import NotFound
from routing_core.services import Services
from tests.support.apps import app_of_its_own
from tests.support.fake_graph import FakeGraph
from tests.support.routings import DRINKS, production_routing

PUBLIC_URL = "https://bots.example.com"
PAGE, PSID = "105432178923456", "6789012345678901"
CREDENTIALS = {"page_access_token": "EAAGpageTokenForTests", "app_secret": "app-secret-0123",
               "verify_token": "verify-me-please"}



@pytest_asyncio.fixture(scope="module")
async def fake() -> AsyncIterator[FakeGraph]:
    server = FakeGraph(tokens={CREDENTIALS["page_access_token"]})
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module")
async def app(settings: Settings, fake: FakeGraph) -> AsyncIterator[Quart]:
    """The service with the Graph API base at the fake, in a database of its own."""
    async with app_of_its_own(
        settings, "messenger", graph_api_base=fake.url, graph_api_version="v21.0",
        public_url=PUBLIC_URL, sweep_seconds=0.05,
    ) as application:
        yield application


@pytest.fixture(scope="module")
def services(app: Quart) -> Services:
    return app.extensions["services"]  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def fresh_fake(fake: FakeGraph, services: Services) -> None:
    fake.reset()
    services.outbox.base_delay = 0.05


async def page_entry_point(api: Any, services: Services) -> dict[str, Any]:
    await production_routing(services, "drinks", DRINKS)
    response = await api.post("/api/entry-points", json={
        "channel": "messenger", "name": "Drinks page", "address": PAGE,
        "start_routing": "drinks", "credentials": CREDENTIALS,
    })
    assert response.status_code == 201, response.json_body
    return response.json_body  # type: ignore[no-any-return]


def page_event(*items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE, "time": 1717171718000,
                                         "messaging": list(items)}]}


def message(mid: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1717171717000,
            "message": {"mid": mid, "text": text, **extra}}


def postback(title: str, payload: str, mid: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "payload": payload}
    if mid:
        body["mid"] = mid
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1717171719000,
            "postback": body}


async def deliver(app: Quart, entry_point_id: str, event: Any, *,
                  secret: str = CREDENTIALS["app_secret"], signed: bool = True) -> Any:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Hub-Signature-256"] = signature(secret, body)
    return await app.test_client().post(f"/webhooks/messenger/{entry_point_id}", data=body,
                                        headers=headers)


def texts(fake: FakeGraph) -> list[str]:
    return [send.body["message"].get("text", "") for send in fake.sends]


async def test_the_subscription_challenge(app, api, services):
    entry_point = await page_entry_point(api, services)
    client = app.test_client()
    path = f"/webhooks/messenger/{entry_point['id']}"
    accepted = await client.get(path, query_string={
        "hub.mode": "subscribe", "hub.verify_token": CREDENTIALS["verify_token"],
        "hub.challenge": "1158201444"})
    assert accepted.status_code == 200
    assert await accepted.get_data(as_text=True) == "1158201444"
    refused = await client.get(path, query_string={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    assert refused.status_code == 403
    assert "1158201444" not in await refused.get_data(as_text=True)


async def test_the_credentials_are_never_shown(app, api, services):
    created = await page_entry_point(api, services)
    shown = [json.dumps(created), json.dumps((await api.get("/api/entry-points")).json_body),
             json.dumps(await services.store.entry_points.collection.find_one(
                 {"_id": created["id"]}), default=str)]
    for text in shown:
        assert not any(secret in text for secret in CREDENTIALS.values())


async def test_a_text_gets_a_response_with_quick_replies_once(app, api, services, fake):
    entry_point = await page_entry_point(api, services)
    event = page_event(message("m_hello", "hi"))
    for _ in range(2):  # Meta redelivers until it gets a 200: one reply
        response = await deliver(app, entry_point["id"], event)
        assert response.status_code == 200
        assert await response.get_data(as_text=True) == "EVENT_RECEIVED"
        await services.runtime.idle()
    await asyncio.sleep(0.2)
    [send] = fake.sends
    assert send.access_token == CREDENTIALS["page_access_token"]
    assert send.body == {
        "recipient": {"id": PSID}, "messaging_type": "RESPONSE",
        "message": {"text": "Tea or coffee?", "quick_replies": [
            {"content_type": "text", "title": "Tea", "payload": "tea"},
            {"content_type": "text", "title": "Coffee", "payload": "coffee"}]}}
    [outbound] = await services.store.events.all({"type": "outbound"})
    assert (outbound.status.value, outbound.provider_id) == ("sent", "m_1")
    earlier = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 2,
               "read": {"watermark": 1}}  # read before the answer was sent: not this one
    await deliver(app, entry_point["id"], page_event(earlier))
    assert (await services.store.events.get(outbound.id)).status.value == "sent"
    now = int(time.time() * 1000) + 1000
    read = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": now,
            "read": {"watermark": now}}
    await deliver(app, entry_point["id"], page_event(read))
    seen = await services.store.events.get(outbound.id)
    assert seen.status.value == "read" and "read" in seen.reports  # the agent sees it


async def test_a_quick_reply_routes_its_choice(app, api, services, fake):
    entry_point = await page_entry_point(api, services)
    await deliver(app, entry_point["id"], page_event(message("m_1", "hi")))
    await services.runtime.idle()
    tap = message("m_2", "Coffee", quick_reply={"payload": "coffee"})
    await deliver(app, entry_point["id"], page_event(tap))
    await services.runtime.idle()
    assert texts(fake) == ["Tea or coffee?", "Coffee it is."]
    [interaction] = await services.store.interactions.all({})
    choices = [event.data["value"] for event in
               await services.store.events.of_interaction(interaction.id)
               if event.type == "choice"]
    assert choices == ["coffee"]


async def test_a_postback_starts_and_answers(app, api, services, fake):
    entry_point = await page_entry_point(api, services)
    await deliver(app, entry_point["id"], page_event(postback("Get Started", "GET_STARTED")))
    await services.runtime.idle()
    await deliver(app, entry_point["id"], page_event(postback("Tea", "tea", mid="m_pb")))
    await services.runtime.idle()
    assert texts(fake) == ["Tea or coffee?", "Tea it is."]
    assert {send.body["messaging_type"] for send in fake.sends} == {"RESPONSE"}


async def test_echoes_and_receipts_start_nothing(app, api, services, fake):
    entry_point = await page_entry_point(api, services)
    echo = {"sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": 1,
            "message": {"is_echo": True, "mid": "m_echo", "text": "Tea or coffee?"}}
    read = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 2,
            "read": {"watermark": 1}}
    response = await deliver(app, entry_point["id"], page_event(echo, read))
    assert response.status_code == 200
    await services.runtime.idle()
    assert await services.store.interactions.collection.count_documents({}) == 0
    assert fake.sends == []


@pytest.mark.parametrize(("secret", "signed", "status"), [
    ("not-the-app-secret", True, 403),
    (CREDENTIALS["app_secret"], False, 401),
])
async def test_a_bad_signature_is_refused_and_nothing_stored(
    app, api, services, fake, secret, signed, status
):
    entry_point = await page_entry_point(api, services)
    response = await deliver(app, entry_point["id"], page_event(message("m_x", "hi")),
                             secret=secret, signed=signed)
    assert response.status_code == status
    await services.runtime.idle()
    assert await services.store.interactions.collection.count_documents({}) == 0
    assert await services.store.events.collection.count_documents({}) == 0
    assert fake.sends == []


async def test_a_malformed_event_is_a_400_and_nothing_stored(app, api, services, fake):
    entry_point = await page_entry_point(api, services)
    response = await deliver(app, entry_point["id"], {"object": "page", "entry": "nope"})
    assert response.status_code == 400
    assert await services.store.interactions.collection.count_documents({}) == 0


async def test_a_replay_after_a_day_uses_the_human_agent_tag(app, api, services, fake):
    entry_point = await page_entry_point(api, services)
    fake.fail(400, 551, "This person isn't available right now.")
    await deliver(app, entry_point["id"], page_event(message("m_1", "hi")))
    await services.runtime.idle()
    [dead] = (await api.get("/api/outbox?status=failed&channel=messenger")).json_body["items"]
    assert dead["error"].startswith("recipient_unreachable")
    await services.store.interactions.collection.update_many(
        {}, {"$set": {"last_inbound_at": utcnow() - timedelta(days=2)}})
    assert (await api.post(f"/api/outbox/{dead['id']}/replay")).status_code == 200
    deadline = asyncio.get_running_loop().time() + 5
    while len(fake.sends) < 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    retried = fake.sends[1].body
    assert (retried["messaging_type"], retried["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_a_rate_limit_is_retried(app, api, services, fake):
    entry_point = await page_entry_point(api, services)
    fake.fail(400, 613, "Calls to this api have exceeded the rate limit.")
    await deliver(app, entry_point["id"], page_event(message("m_1", "hi")))
    await services.runtime.idle()
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        [event] = await services.store.events.all({"type": "outbound"})
        if event.status.value == "sent":
            break
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    assert event.attempts == 2 and len(fake.sends) == 2


async def test_an_image_and_a_place_are_kept_and_the_image_fetched_from_metas_host(
    app, api, services, fake
):
    entry_point = await page_entry_point(api, services)
    url = fake.attachment_url("receipt.png", b"\x89PNG receipt", "image/png")
    event = page_event(message("m_pics", "", attachments=[
        {"type": "image", "payload": {"url": url}},
        {"type": "location", "title": "Home",
         "payload": {"coordinates": {"lat": 48.85, "long": 2.35}}}]))
    assert (await deliver(app, entry_point["id"], event)).status_code == 200
    await services.runtime.idle()
    [inbound] = await services.store.events.all({"type": "inbound"})
    assert [item["kind"] for item in inbound.data["media"]] == ["image", "location"]
    image = (await services.media.item(inbound.id, 0))[1]
    content = await services.media.content(inbound, 0, image)
    assert (content.data, content.content_type) == (b"\x89PNG receipt", "image/png")
    forged = image.model_copy(
        update={"source": "http://169.254.169.254/latest/meta-data", "stored": None})
    with pytest.raises(NotFound, match="not the provider's host"):  # never an internal URL
        await services.media.content(inbound, 1, forged)
