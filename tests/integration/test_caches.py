"""What each process keeps of rarely changed documents — entry points, the version a
routing starts on — and how a change made anywhere reaches every process's copy.

The "other process" here is a second ``Store`` (its own client and caches) on the same
database, watching changes as a service process does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from config import Settings
from routing_core.engine.relay import EventRelay
from routing_core.engine.versions import VERSION_CACHE_SECONDS, StartVersions
from routing_core.model.audit import SYSTEM
from routing_core.model.interaction import Channel, Event
from routing_core.services import Services
from routing_core.store import Store
from routing_core.store.change_feed import ChangeFeed
from routing_core.store.change_watch import ChangeWatch
from tests.support.routings import action, production_routing, tree, webchat_entry_point


@pytest_asyncio.fixture
async def other(settings: Settings) -> AsyncIterator[Store]:
    """Another process's store, watching entry points."""
    store = Store.connect(settings.mongodb_uri, settings.mongodb_database)
    watching = asyncio.create_task(store.entry_points.watch.run())
    await until(lambda: store.entry_points.watch.live)
    yield store
    watching.cancel()
    await store.close()


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def counting_calls(collection: Any, method: str) -> list[Any]:
    """The first argument of each call of ``collection.method`` from here on."""
    calls: list[Any] = []
    original = getattr(collection, method)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return await original(*args, **kwargs)

    setattr(collection, method, counted)
    return calls


def counting_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    read = store.entry_points.get

    async def get(entry_point_id: str) -> Any:
        reads.append(entry_point_id)
        return await read(entry_point_id)

    monkeypatch.setattr(store.entry_points, "get", get)
    return reads


async def test_an_entry_point_is_read_once_until_another_process_changes_it(
    services: Services, other: Store, monkeypatch: pytest.MonkeyPatch
):
    routing_id = await production_routing(services, "hello", tree(
        action("hi", "message", {"text": "Hello"})))
    entry_point = await webchat_entry_point(services, routing_id)
    reads = counting_reads(other, monkeypatch)
    assert (await other.entry_points.current(entry_point.id)).name == "web"
    await asyncio.sleep(other.entry_points.CACHE_SECONDS + 0.2)  # past the fallback expiry
    assert (await other.entry_points.current(entry_point.id)).name == "web"
    assert reads == [entry_point.id], "an unchanged entry point was read again"

    await services.entry_points.update(SYSTEM, entry_point.id, {"name": "Renamed"}, None)
    await until(lambda: entry_point.id not in other.entry_points._recent)
    assert (await other.entry_points.current(entry_point.id)).name == "Renamed"
    assert reads == [entry_point.id] * 2

    # a change written by anything else (a script, the shell) is seen the same way
    await services.store.entry_points.collection.update_one(
        {"_id": entry_point.id}, {"$set": {"name": "From a script"}})
    await until(lambda: entry_point.id not in other.entry_points._recent)
    assert (await other.entry_points.current(entry_point.id)).name == "From a script"


async def test_a_web_chat_key_is_read_once_and_follows_a_change_of_address(
    services: Services, other: Store
):
    """Every visitor's socket names the module by its key (the address pages embed): kept
    like the entry point itself, and a new address makes the old key unknown everywhere."""
    routing_id = await production_routing(services, "hello", tree(
        action("hi", "message", {"text": "Hello"})))
    entry_point = await webchat_entry_point(services, routing_id, address="shop-chat")
    queries = counting_calls(other.entry_points.collection, "find_one")
    for _ in range(3):
        found = await other.entry_points.by_key("shop-chat")
        assert found is not None and found.id == entry_point.id
    assert (await other.entry_points.by_key(entry_point.id)).id == entry_point.id
    assert len(queries) == 1, "the key or the entry point was read again"
    assert await other.entry_points.by_key("no-such-chat") is None

    await services.entry_points.update(SYSTEM, entry_point.id, {"address": "new-chat"}, None)
    await until(lambda: entry_point.id not in other.entry_points._recent)
    assert await other.entry_points.by_key("shop-chat") is None
    moved = await other.entry_points.by_key("new-chat")
    assert moved is not None and moved.id == entry_point.id


async def test_a_read_overtaken_by_a_change_is_not_kept(
    services: Services, other: Store, monkeypatch: pytest.MonkeyPatch
):
    """A read in flight when the change arrives returns what it read, but the cache does
    not keep it: the next message reads the new one."""
    routing_id = await production_routing(services, "hello", tree(
        action("hi", "message", {"text": "Hello"})))
    entry_point = await webchat_entry_point(services, routing_id)
    read = other.entry_points.get

    async def slow_get(entry_point_id: str) -> Any:
        found = await read(entry_point_id)
        await services.store.entry_points.collection.update_one(
            {"_id": entry_point_id}, {"$set": {"name": "Changed meanwhile"}})
        await until(lambda: other.entry_points.watch.generation > generation)
        return found

    generation = other.entry_points.watch.generation
    monkeypatch.setattr(other.entry_points, "get", slow_get)
    assert (await other.entry_points.current(entry_point.id)).name == "web"
    monkeypatch.setattr(other.entry_points, "get", read)
    assert (await other.entry_points.current(entry_point.id)).name == "Changed meanwhile"


async def test_the_version_a_routing_starts_on_follows_production_in_every_process(
    services: Services, other: Store, monkeypatch: pytest.MonkeyPatch
):
    routing_id = await production_routing(services, "hello", tree(
        action("hi", "message", {"text": "Hello (v1)"})))
    entry_point = await webchat_entry_point(services, routing_id)
    start_versions = StartVersions(other)
    reads: list[str] = []
    read = start_versions._read

    async def counted(entry_point: Any, routing_id: str) -> Any:
        reads.append(routing_id)  # when awaited: a cached answer closes it unawaited
        return await read(entry_point, routing_id)

    monkeypatch.setattr(start_versions, "_read", counted)
    watching = asyncio.create_task(start_versions.watch.run())
    try:
        await until(lambda: start_versions.watch.live)
        v1 = await start_versions.of(entry_point, routing_id)
        assert v1 is not None
        await asyncio.sleep(VERSION_CACHE_SECONDS + 0.2)  # past the fallback expiry
        assert await start_versions.of(entry_point, routing_id) == v1
        assert len(reads) == 1, "the version was read again though nothing changed"

        v2 = await services.lifecycle.duplicate_version(SYSTEM, v1.id, "v2")
        await services.lifecycle.put_in_production(SYSTEM, v2.id)
        await until(lambda: not start_versions._versions)
        started = await start_versions.of(entry_point, routing_id)
        assert started is not None and started.id == v2.id
    finally:
        watching.cancel()


async def test_one_change_feed_gives_each_subscriber_only_its_own_changes(
    services: Services, other: Store
):
    """A process opens one change stream for all it follows (each open stream costs mongod
    a read of the whole oplog); what the stream brings for one subscriber never reaches
    another: a web chat socket never sees an agent's event of a Telegram conversation."""
    webchat: list[str] = []
    agents: list[str] = []

    async def to_webchat(event: Event) -> None:
        webchat.append(event.id)

    async def to_agents(event: Event) -> None:
        agents.append(event.id)

    relays = [
        EventRelay("web chat", other, "me", {"type": "outbound", "channel": "webchat"},
                   to_webchat),
        EventRelay("agents", other, "me", {"agent_id": {"$ne": None}}, to_agents)]
    forgotten: list[Any] = []
    watch = ChangeWatch("entry points", other.entry_points.collection, forgotten.append)
    feed = asyncio.create_task(ChangeFeed(other.database, [*relays, watch]).run())
    try:
        await until(lambda: watch.live)
        events = [
            Event(id="e-web", interaction_id="i", type="outbound", channel=Channel.webchat,
                  origin="elsewhere"),
            Event(id="e-agent", interaction_id="i", type="inbound", channel=Channel.telegram,
                  agent_id="a1", origin="elsewhere"),
            Event(id="e-both", interaction_id="i", type="outbound", channel=Channel.webchat,
                  agent_id="a1", origin="elsewhere"),
            Event(id="e-mine", interaction_id="i", type="outbound", channel=Channel.webchat,
                  origin="me"),  # written by this process: it already knows
        ]
        await services.store.events.collection.insert_many([e.to_document() for e in events])
        await services.store.entry_points.collection.insert_one({"_id": "ep-x", "name": "x"})
        await until(lambda: len(webchat) == 2 and len(agents) == 2 and "ep-x" in forgotten)
        await asyncio.sleep(0.3)  # nothing more comes
        assert sorted(webchat) == ["e-both", "e-web"]
        assert sorted(agents) == ["e-agent", "e-both"]
    finally:
        feed.cancel()


async def test_a_subscriber_that_fails_leaves_the_others_theirs(services: Services, other: Store):
    """The feed is shared: an event one relay cannot take (a bug, a malformed document) is
    logged, and the next changes still reach every subscriber."""
    taken: list[str] = []

    async def broken(event: Event) -> None:
        raise ValueError("a bug in one relay")

    async def working(event: Event) -> None:
        taken.append(event.id)

    relays = [EventRelay("broken", other, "me", {"type": "outbound"}, broken),
              EventRelay("working", other, "me", {"type": "outbound"}, working)]
    opened = ChangeWatch("entry points", other.entry_points.collection, lambda _: None)
    feed = asyncio.create_task(ChangeFeed(other.database, [*relays, opened]).run())
    try:
        await until(lambda: opened.live)  # the stream is open
        for number in range(2):
            await services.store.events.collection.insert_one(Event(
                id=f"e-{number}", interaction_id="i", type="outbound", channel=Channel.webchat,
                origin="elsewhere").to_document())
        await until(lambda: taken == ["e-0", "e-1"])
        assert not feed.done()
    finally:
        feed.cancel()


async def test_the_entry_points_campaigns_send_from_are_read_once_until_a_campaign_changes(
    services: Services, settings: Settings
):
    """Every WhatsApp message asks whether a campaign writes from its entry point (only
    then can it answer a target): read once per process and forgotten when any process
    changes a campaign; read every time while changes cannot be watched."""
    store = Store.connect(settings.mongodb_uri, settings.mongodb_database)
    distinct_calls = counting_calls(store.campaigns.collection, "distinct")
    try:
        assert await store.campaigns.sending_entry_points() == frozenset()
        assert await store.campaigns.sending_entry_points() == frozenset()
        assert len(distinct_calls) == 2, "kept while changes could not be watched"
        watching = asyncio.create_task(store.campaigns.watch.run())
        await until(lambda: store.campaigns.watch.live)
        for _ in range(3):
            assert await store.campaigns.sending_entry_points() == frozenset()
        assert len(distinct_calls) == 3

        # a campaign created anywhere (here: by the other process's repository)
        await services.store.campaigns.collection.insert_one(
            {"_id": "c1", "name": "renewals", "kind": "whatsapp", "entry_point_id": "ep-wa"})
        await until(lambda: store.campaigns._sending_from is None)
        assert await store.campaigns.sending_entry_points() == frozenset({"ep-wa"})
        assert await store.campaigns.sending_entry_points() == frozenset({"ep-wa"})
        assert len(distinct_calls) == 4
        watching.cancel()
    finally:
        await store.close()
