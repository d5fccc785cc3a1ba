"""A reply waiting in a live process keeps its lease: it is sent once, however long the
provider takes; only a process that stopped renewing has its replies sent again. A reply
goes out once stored, while its step's commit is in flight, and a step that lost its
lease meanwhile still sends it only once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from quart import Quart

from config import Settings
from routing_core.engine import runtime as runtime_module
from routing_core.engine.held_messages import HeldMessages
from routing_core.engine.outbox import OutboxSender
from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, DeliveryStatus, Event
from routing_core.services import Services
from tests.integration.test_telegram import PUBLIC_URL, bot_entry_point, deliver, text_update
from tests.support.apps import app_of_its_own
from tests.support.fake_telegram import FakeTelegram

LEASE_SECONDS = 0.6


@pytest_asyncio.fixture(scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module")
async def app(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Quart]:
    async with app_of_its_own(settings, "leases", telegram_api_base=fake.url,
                              public_url=PUBLIC_URL, sweep_seconds=0.05,
                              lease_seconds=LEASE_SECONDS, inbox_limit=1) as application:
        yield application


@pytest.fixture(scope="module")
def services(app: Quart) -> Services:
    return app.extensions["services"]  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def fresh_fake(fake: FakeTelegram) -> None:
    fake.reset()


def another_process(services: Services) -> OutboxSender:
    """The outbox of a second, live process on the same database: its own owner, its own
    held messages, the same channel client."""
    other = OutboxSender(services.store, services.entry_points,
                         held=HeldMessages(services.store, "another-process", LEASE_SECONDS))
    for channel, client in services.outbox.clients.items():
        other.register(channel, client)
    return other


async def test_a_reply_queued_past_its_lease_is_sent_once(app, api, services, fake) -> None:
    """The provider answers after four leases; meanwhile this process's sweeper and another
    process's sweeper run all the time. Without renewal both would send it again."""
    entry_point = await bot_entry_point(api, services)
    other = another_process(services)
    fake.stall("sendMessage", LEASE_SECONDS * 4)
    response = await deliver(app, fake, entry_point["id"], text_update(700, "hi"))
    assert response.status_code == 200
    await fake.wait_for("sendMessage")
    for _ in range(int(LEASE_SECONDS * 5 / 0.05)):  # past the stall, sweeping throughout
        assert await other.sweep() == 0
        await asyncio.sleep(0.05)
    await services.runtime.idle()
    assert len(fake.calls_to("sendMessage")) == 1
    [event] = await services.store.events.all({"type": "outbound"})
    assert event.status is DeliveryStatus.sent
    assert not event.possible_duplicate
    assert event.lease_owner is None and event.lease_until is None
    assert len(services.runtime.held) == 0, sorted(services.runtime.held._held)


async def test_a_reply_of_a_process_that_stopped_renewing_is_sent_once_more(
    app, api, services, fake
) -> None:
    """A process died holding a reply: its lease runs out, one sweeper takes it and sends
    it, marked as a possible duplicate (the dead process may have sent it)."""
    entry_point = await bot_entry_point(api, services)
    response = await deliver(app, fake, entry_point["id"], text_update(701, "hi"))
    assert response.status_code == 200
    await fake.wait_for("sendMessage")
    await services.runtime.idle()
    [sent] = await services.store.events.all({"type": "outbound"})
    now = utcnow()
    orphan = Event(
        id=f"{sent.id}:orphan", interaction_id=sent.interaction_id, type="outbound",
        data=sent.data, channel=Channel.telegram, entry_point_id=sent.entry_point_id,
        contact=sent.contact, status=DeliveryStatus.pending, next_attempt_at=now,
        lease_owner="a-process-that-died", lease_until=now + timedelta(seconds=0.3),
    )
    await services.store.events.append([orphan])
    other = another_process(services)
    calls = await fake.wait_for("sendMessage", 2, timeout=5)
    for _ in range(10):
        await other.sweep()
        await asyncio.sleep(0.05)
    assert len(fake.calls_to("sendMessage")) == len(calls) == 2
    resent = await services.store.events.get(orphan.id)
    assert resent.status is DeliveryStatus.sent
    assert resent.possible_duplicate


async def test_a_reply_goes_out_while_its_step_s_commit_is_in_flight(
    app, api, services, fake, monkeypatch
) -> None:
    """The customer's answer waits for its events to be durable, not for the state's
    commit: the reply reaches the provider while the commit is held back."""
    entry_point = await bot_entry_point(api, services)
    interactions = services.store.interactions
    commit, go_on = interactions.commit, asyncio.Event()
    committed: list[Any] = []

    async def held_back(*args: Any, **kwargs: Any) -> Any:
        await go_on.wait()
        committed.append(await commit(*args, **kwargs))
        return committed[-1]

    monkeypatch.setattr(interactions, "commit", held_back)
    response = await deliver(app, fake, entry_point["id"], text_update(702, "hi"))
    assert response.status_code == 200
    await fake.wait_for("sendMessage")
    assert committed == []  # sent, and the commit still waits
    go_on.set()
    await services.runtime.idle()
    assert len(committed) == 1 and committed[0] is not None
    assert len(fake.calls_to("sendMessage")) == 1
    [event] = await services.store.events.all({"type": "outbound"})
    assert event.status is DeliveryStatus.sent and event.lease_owner is None
    assert len(services.runtime.held) == 0


async def test_a_step_that_lost_its_lease_mid_commit_sends_its_reply_once(
    app, api, services, fake, monkeypatch
) -> None:
    """Another process took the lease while the step committed (it will replay the step
    and write the same reply's id): the reply this step stored is sent once — by this
    process, which held it — and neither the other's replay nor any sweeper sends it
    again."""
    entry_point = await bot_entry_point(api, services)
    interactions = services.store.interactions
    commit = interactions.commit

    async def taken_meanwhile(interaction: Any, *args: Any, **kwargs: Any) -> Any:
        await interactions.collection.update_one(
            {"_id": interaction.id},
            {"$set": {"lease_owner": "another-process"}, "$inc": {"lease_epoch": 1}})
        return await commit(interaction, *args, **kwargs)

    monkeypatch.setattr(interactions, "commit", taken_meanwhile)
    response = await deliver(app, fake, entry_point["id"], text_update(703, "hi"))
    assert response.status_code == 200
    await fake.wait_for("sendMessage")
    await services.runtime.idle()
    [event] = await services.store.events.all({"type": "outbound"})
    assert event.status is DeliveryStatus.sent
    stored = await interactions.find(event.interaction_id)
    assert stored is not None and stored.lease_owner == "another-process"  # not committed
    # what the other process's replay does with the reply it finds under the same id
    now = utcnow()
    assert not await services.store.events.take_over_lease(
        event.id, "another-process", now, now + timedelta(seconds=LEASE_SECONDS))
    other = another_process(services)
    for _ in range(int(LEASE_SECONDS * 2 / 0.05)):
        assert await other.sweep() == 0
        await asyncio.sleep(0.05)
    assert len(fake.calls_to("sendMessage")) == 1
    assert len(services.runtime.held) == 0


async def test_the_renewal_pushes_only_this_process_s_pending_messages(services) -> None:
    now = utcnow()
    held = HeldMessages(services.store, "me", LEASE_SECONDS)
    soon = now + timedelta(seconds=0.1)
    events = [
        Event(id="mine", interaction_id="i", type="outbound", status=DeliveryStatus.pending,
              lease_owner="me", lease_until=soon),
        Event(id="taken", interaction_id="i", type="outbound", status=DeliveryStatus.pending,
              lease_owner="someone-else", lease_until=soon),
        Event(id="done", interaction_id="i", type="outbound", status=DeliveryStatus.sent,
              lease_owner="me", lease_until=soon),
    ]
    await services.store.events.append(events)
    held.hold(["mine", "taken", "done"])
    assert await held.renew() == 1
    mine = await services.store.events.get("mine")
    assert mine.lease_until is not None and mine.lease_until > soon
    held.release(["mine"])
    assert await held.renew() == 0


async def test_a_full_inbox_answers_503_then_accepts_the_redelivery(
    app, api, services, fake
) -> None:
    """Past the inbox limit a webhook refuses with 503 and Retry-After, storing nothing; the
    provider's redelivery is accepted once the backlog drained, and answered once."""
    entry_point = await bot_entry_point(api, services)
    fake.stall("sendMessage", 0.5)  # keeps the first conversation in the backlog
    assert services.settings.inbox_limit == 1
    assert (await deliver(app, fake, entry_point["id"], text_update(710, "hi"))
            ).status_code == 200
    other_chat = text_update(711, "hi")
    other_chat["message"]["chat"] = {**other_chat["message"]["chat"], "id": 42}
    refused = await deliver(app, fake, entry_point["id"], other_chat)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert "deliver again" in (await refused.get_json())["error"]["message"]
    assert await services.store.interactions.collection.count_documents({}) == 1
    await services.runtime.idle()
    assert (await deliver(app, fake, entry_point["id"], other_chat)).status_code == 200
    await services.runtime.idle()
    await fake.wait_for("sendMessage", 2)
    await asyncio.sleep(0.2)
    assert sorted(call.params["chat_id"] for call in fake.calls_to("sendMessage")) == [
        "111222333", "42"]


async def test_a_starved_process_neither_steps_nor_sends_twice(
    app, api, services, fake, monkeypatch
) -> None:
    """An event loop so loaded that the heartbeats run late: the interaction's lease and
    the reply's lease both run out while this very process still steps and sends. Its own
    sweeper must not take them for a dead worker's."""
    entry_point = await bot_entry_point(api, services)

    async def starved_heartbeat(runtime: Any, interaction_id: str, epoch: int) -> None:
        await asyncio.sleep(3600)

    async def starved_renewal() -> int:
        return 0

    monkeypatch.setattr(runtime_module, "keep_lease", starved_heartbeat)
    monkeypatch.setattr(services.runtime.held, "renew", starved_renewal)
    fake.stall("sendMessage", LEASE_SECONDS * 4)
    response = await deliver(app, fake, entry_point["id"], text_update(720, "hi"))
    assert response.status_code == 200
    await fake.wait_for("sendMessage")
    await asyncio.sleep(LEASE_SECONDS * 5)  # the sweeper runs every 50 ms meanwhile
    await services.runtime.idle()
    assert len(fake.calls_to("sendMessage")) == 1
    [event] = await services.store.events.all({"type": "outbound"})
    assert event.status is DeliveryStatus.sent and not event.possible_duplicate
