"""A new contact's first message on a provider's channel: its step is computed before
anything is written, then its contact, its conversation and its events are written in one
round, and the reply goes once all three are durable. A step that reaches for the outside,
a contact that existed after all, and a message left behind by a process that died between
the writes each take a safe way: one reply, never two. Against a real mongod (its grouped
writes observed as they start and end) and the fake Bot API."""

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
from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, DeliveryStatus, Event, Inbound
from routing_core.services import Services
from tests.integration.test_telegram import PUBLIC_URL, TOKEN
from tests.support.apps import app_of_its_own
from tests.support.fake_telegram import FakeTelegram
from tests.support.routings import action, production_routing, tree


class Writes:
    """The grouped writes of a conversation's first turn, as they start and as they end:
    each group commit's command wrapped (contact upserts, conversation inserts, events
    inserts, commits)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (started|ended, what)

    def watch(self, monkeypatch: pytest.MonkeyPatch, services: Services) -> None:
        store = services.store
        for what, grouped in (("contact", store.contacts._created),
                              ("conversation", store.interactions._created),
                              ("events", store.events._grouped),
                              ("commit", store.interactions._released)):
            monkeypatch.setattr(grouped, "_flush", self._recorded(what, grouped._flush))

    def _recorded(self, what: str, flush: Any) -> Any:
        async def recorded(items: list[Any]) -> Any:
            self.seen.append(("started", what))
            try:
                return await flush(items)
            finally:
                self.seen.append(("ended", what))
        return recorded

    def first_round(self) -> tuple[set[str], set[str]]:
        """The writes started before the first one ended, and those started after."""
        first_end = next(index for index, (kind, _) in enumerate(self.seen) if kind == "ended")
        return ({what for kind, what in self.seen[:first_end] if kind == "started"},
                {what for kind, what in self.seen[first_end:] if kind == "started"})


GREET = tree(action("hello", "message",
                    {"text": "hello {{ contact.nickname or 'stranger' }}"}))
ASK_FIRST = tree(action("ask", "web_service", {"url": "http://127.0.0.1:9/price"},
                        success="ok", failure="sorry"),
                 action("ok", "message", {"text": "price found"}),
                 action("sorry", "message", {"text": "no price"}))


@pytest_asyncio.fixture(scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module")
async def app(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Quart]:
    async with app_of_its_own(settings, "first_turn", telegram_api_base=fake.url,
                              public_url=PUBLIC_URL, sweep_seconds=3600) as application:
        yield application


@pytest.fixture(scope="module")
def services(app: Quart) -> Services:
    return app.extensions["services"]  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def fresh(fake: FakeTelegram) -> None:
    fake.reset()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch, services: Services) -> Writes:
    watched = Writes()
    watched.watch(monkeypatch, services)
    return watched


async def bot(api: Any, services: Services, routing: str, routing_tree: Any) -> str:
    await production_routing(services, routing, routing_tree)
    response = await api.post("/api/entry-points", json={
        "channel": "telegram", "name": f"{routing} bot", "address": f"{routing}_bot",
        "start_routing": routing, "credentials": {"token": TOKEN}})
    assert response.status_code == 201, response.json_body
    return response.json_body["id"]  # type: ignore[no-any-return]


async def write(app: Quart, fake: FakeTelegram, entry_point_id: str, chat: int,
                text: str) -> None:
    """A new chat's message, posted as Telegram posts it, processed to the end."""
    person = {"id": chat, "is_bot": False, "first_name": "Grace"}
    update = {"update_id": chat, "message": {
        "message_id": 1, "from": person, "chat": {**person, "type": "private"},
        "date": int(time.time()), "text": text}}
    response = await app.test_client().post(
        f"/webhooks/telegram/{entry_point_id}", data=json.dumps(update).encode(),
        headers=fake.webhook_headers(TOKEN))
    assert response.status_code == 200
    await app.extensions["services"].runtime.idle()


def replies(fake: FakeTelegram, chat: int) -> list[str]:
    return [call.params["text"] for call in fake.calls_to("sendMessage")
            if str(call.params["chat_id"]) == str(chat)]


async def test_a_new_chats_reply_follows_one_round_of_writes(app, api, services, fake,
                                                             writes):
    """Contact, conversation and the step's events start together, before any of them is
    durable; the commit and the send's record come after. One reply, stored as sent."""
    entry_point_id = await bot(api, services, "greet", GREET)
    await write(app, fake, entry_point_id, 9001, "hi")
    assert replies(fake, 9001) == ["hello stranger"]
    before, after = writes.first_round()
    assert before == {"contact", "conversation", "events"}, writes.seen
    assert "commit" in after
    [outbound] = await services.store.events.all({"contact": "9001", "type": "outbound"})
    assert outbound.status is DeliveryStatus.sent
    [interaction] = await services.store.interactions.all({"contact": "9001"})
    assert not interaction.active


async def test_a_first_step_that_calls_the_outside_takes_the_usual_way(app, api, services,
                                                                      fake, writes):
    """A web service in the first step: nothing is written before the conversation is
    stored (no call is made twice, no event is written for a step that gave up)."""
    entry_point_id = await bot(api, services, "ask_first", ASK_FIRST)
    await write(app, fake, entry_point_id, 9002, "price?")
    assert replies(fake, 9002) == ["no price"]
    before, after = writes.first_round()
    assert before == {"contact", "conversation"}, writes.seen
    assert "events" in after
    calls = [event for event in await services.store.events.all({"contact": "9002"})
             if event.type == "web_service"]
    assert len(calls) == 1


async def test_a_contact_that_existed_is_answered_once_as_who_it_is(app, api, services,
                                                                   fake):
    """The contact existed (met by another process): the step computed for a new one is
    deleted with its events, and the conversation, adopted, steps again with the stored
    contact. One reply, the right one; one contact."""
    entry_point_id = await bot(api, services, "greet_known", GREET)
    contact, _ = await services.store.contacts.upsert(Inbound(
        channel=Channel.telegram, entry_point_id=entry_point_id, contact="9003",
        provider_id="earlier"), utcnow())
    await services.store.contacts.save_variables(contact.id, {"nickname": "Amazing Grace"})
    await write(app, fake, entry_point_id, 9003, "hi")
    assert replies(fake, 9003) == ["hello Amazing Grace"]
    outbound = await services.store.events.all({"contact": "9003", "type": "outbound"})
    assert [event.data["text"] for event in outbound] == ["hello Amazing Grace"]
    assert await services.store.contacts.collection.count_documents(
        {"entry_point_id": entry_point_id}) == 1


async def test_a_reply_whose_conversation_was_never_stored_is_dropped_not_sent(
        app, api, services, fake):
    """A process died between writing a first step's events and deleting them (its
    conversation refused): once their lease runs out, the outbox finds no conversation for
    the reply and deletes it instead of sending it."""
    entry_point_id = await bot(api, services, "greet_orphan", GREET)
    now = utcnow()
    await services.store.events.append([Event(
        id="never-stored:000001", interaction_id="never-stored", type="outbound",
        channel=Channel.telegram, entry_point_id=entry_point_id, contact="9004",
        data={"text": "hello stranger"}, status=DeliveryStatus.pending, at=now,
        next_attempt_at=now, lease_owner="a-process-that-died",
        lease_until=now - timedelta(seconds=1))])
    assert await services.outbox.sweep() == 0
    assert replies(fake, 9004) == []
    assert await services.store.events.collection.count_documents(
        {"_id": "never-stored:000001"}) == 0


async def test_a_new_chats_messages_at_once_are_each_answered_once(app, api, services, fake):
    """Several first messages of one new chat at once: one opens the conversation (its step
    speculated), the others race it to the conversation's unique index or come into it
    while its step ends the conversation — those are given back (no longer seen there) and
    open the next one. Each message gets its one reply; no event is left without its
    conversation."""
    entry_point_id = await bot(api, services, "greet_race", GREET)
    person = {"id": 9005, "is_bot": False, "first_name": "Grace"}
    client = app.test_client()

    async def post(number: int) -> int:
        update = {"update_id": 90050 + number, "message": {
            "message_id": number, "from": person, "chat": {**person, "type": "private"},
            "date": int(time.time()), "text": f"m{number}"}}
        response = await client.post(
            f"/webhooks/telegram/{entry_point_id}", data=json.dumps(update).encode(),
            headers=fake.webhook_headers(TOKEN))
        return response.status_code

    assert await asyncio.gather(*(post(number) for number in range(4))) == [200] * 4
    runtime = services.runtime
    await runtime.idle()
    while await runtime.wake_due():
        await runtime.idle()
    assert replies(fake, 9005) == ["hello stranger"] * 4
    events = await services.store.events.all({"contact": "9005"})
    conversations = {interaction.id for interaction in
                     await services.store.interactions.all({"contact": "9005"})}
    assert {event.interaction_id for event in events} <= conversations
    assert sorted(event.data["text"] for event in events if event.type == "inbound") == [
        "m0", "m1", "m2", "m3"]
