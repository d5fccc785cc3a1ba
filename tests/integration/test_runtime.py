"""The runtime against a real mongod: pinning, test mode, de-duplication, loops, timers,
expiry, the end routing, and crash recovery through expired leases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from connectors.http import GuardedHttpPort
from routing_core.engine.delivery import Delivery, LocalHub
from routing_core.engine.opening import open_interaction
from routing_core.engine.runtime import Runtime, RuntimeSettings
from routing_core.model.audit import SYSTEM
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Inbound
from routing_core.ports.world import Ports
from tests.support.routings import action, production_routing, tree, webchat_entry_point


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_runtime(services: Any, clock: Clock, http: Any = None, **settings: Any) -> Runtime:
    """A runtime of its own (another process, as far as leases go) on the services' store."""
    runtime = Runtime(
        services.store, Ports(reference=services.runtime.interpreter.ports.reference,
                              http=http),
        Delivery(LocalHub()), RuntimeSettings(**{"sweep_seconds": 3600, **settings}),
        clock=clock,
    )
    services.lifecycle.change_listeners.append(runtime.start_versions.forget)
    return runtime


def inbound(entry_point_id: str, text: str, provider_id: str, contact: str = "alice",
            payload: str | None = None) -> Inbound:
    return Inbound(channel=Channel.webchat, entry_point_id=entry_point_id, contact=contact,
                   provider_id=provider_id, text=text, payload=payload)


async def sent_texts(services: Any, contact: str = "alice") -> list[str]:
    events = await services.store.events.all({"contact": contact, "type": "outbound"})
    return [event.data["text"] for event in events]


async def web_service(path: str, handler: Any) -> tuple[web.AppRunner, int]:
    """A web service on 127.0.0.1 answering GET ``path``: its runner and port."""
    server = web.Application()
    server.router.add_get(path, handler)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


QUESTION = tree(
    action("ask", "message_wait", {"text": "Your name?", "into": "name"},
           answered="thanks"),
    action("thanks", "message", {"text": "Thanks {{ vars.name }} (v1)"}),
)


async def test_a_conversation_keeps_its_version_when_another_goes_to_production(
    services, clock
):
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "pinned", QUESTION)
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    v1 = await services.store.versions.find_one({"routing_id": routing_id})
    v2 = await services.lifecycle.duplicate_version(SYSTEM, v1.id, "v2")
    thanks = next(a for a in v2.tree.actions if a.id == "thanks")
    await services.trees.update(SYSTEM, v2.id, thanks.id, {"params": {"text": "Thanks (v2)"}})
    await services.lifecycle.put_in_production(SYSTEM, v2.id)
    await runtime.receive(inbound(entry_point.id, "Alice", "2"), wait=True)
    assert await sent_texts(services) == ["Your name?", "Thanks Alice (v1)"]
    await runtime.receive(inbound(entry_point.id, "hi again", "3"), wait=True)
    await runtime.receive(inbound(entry_point.id, "Bob", "4"), wait=True)
    assert (await sent_texts(services))[2:] == ["Your name?", "Thanks (v2)"]


async def test_a_test_entry_point_runs_the_version_in_test(services, clock, api):
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "tested", tree(
        action("hello", "message", {"text": "production"})))
    production = await services.store.versions.find_one({"routing_id": routing_id})
    candidate = await services.lifecycle.duplicate_version(SYSTEM, production.id, "candidate")
    hello = next(a for a in candidate.tree.actions if a.type == "message")
    await services.trees.update(SYSTEM, candidate.id, hello.id, {"params": {"text": "in test"}})
    await services.lifecycle.put_in_test(SYSTEM, candidate.id)
    test_point = await services.store.entry_points.insert(EntryPoint(  # no provider here
        channel=Channel.telegram, name="test bot", address="test_bot", mode="test",
        start_routing=routing_id))
    live_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(test_point.id, "hi", "t1", contact="tester"), wait=True)
    await runtime.receive(inbound(live_point.id, "hi", "p1", contact="customer"), wait=True)
    assert await sent_texts(services, "tester") == ["in test"]
    assert await sent_texts(services, "customer") == ["production"]
    tested = await services.store.interactions.find_one({"contact": "tester"})
    assert tested.test and tested.version_id == candidate.id
    executions = (await api.get(f"/api/versions/{candidate.id}/executions")).json_body
    assert [item["id"] for item in executions["items"]] == [tested.id]
    assert [event["type"] for event in executions["items"][0]["events"]] == [
        "inbound", "outbound", "end"]

    shown = (await api.get(f"/api/versions/{candidate.id}")).json_body
    assert shown["test_entry_points"] == [test_point.id]

    # nothing in test any more: the test entry point refuses, with the reason, and never
    # runs production instead
    await services.lifecycle.remove_from_test(SYSTEM, candidate.id)
    await runtime.receive(inbound(test_point.id, "hi", "t2", contact="tester2"), wait=True)
    assert await sent_texts(services, "tester2") == []
    refused = await services.store.interactions.find_one({"contact": "tester2"})
    assert refused is not None and refused.end_reason == "no version"
    [error] = await services.store.events.all({"interaction_id": refused.id, "type": "error"})
    assert "none is in test: put a version in test" in error.data["message"]


async def test_a_redelivered_message_is_processed_once(services, clock):
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "dedup", QUESTION)
    entry_point = await webchat_entry_point(services, routing_id)
    first = await runtime.receive(inbound(entry_point.id, "hi", "same"), wait=True)
    again = await runtime.receive(inbound(entry_point.id, "hi", "same"), wait=True)
    assert not first.duplicate and again.duplicate
    assert await sent_texts(services) == ["Your name?"]


async def test_a_redelivery_after_the_end_starts_nothing(services, clock):
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "short", tree(
        action("hello", "message", {"text": "hello"})))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "m1"), wait=True)
    receipt = await runtime.receive(inbound(entry_point.id, "hi", "m1"), wait=True)
    assert receipt.duplicate
    assert await services.store.interactions.collection.count_documents({}) == 1


async def test_a_runaway_loop_is_stopped_by_the_step_budget(services, clock):
    runtime = make_runtime(services, clock, step_budget=20)
    routing_id = await production_routing(services, "loop", tree(
        action("a", "node", next="b"), action("b", "checkpoint", {"label": "x"}, next="a")))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    interaction = await services.store.interactions.find_one({"contact": "alice"})
    assert interaction.status == "ended" and interaction.end_reason == "step budget"
    errors = await services.store.events.all({"interaction_id": interaction.id, "type": "error"})
    assert "step budget" in errors[0].data["message"]


async def test_no_version_records_an_error_and_sends_the_fallback(services, clock):
    runtime = make_runtime(services, clock)
    routing = await services.lifecycle.create_routing(
        SYSTEM, name="empty", reference="empty", description="", type="start")
    entry_point = await webchat_entry_point(services, routing.id,
                                            fallback_text="We are not open yet.")
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    assert await sent_texts(services) == ["We are not open yet."]
    interaction = await services.store.interactions.find_one({"contact": "alice"})
    kinds = [e.type for e in await services.store.events.of_interaction(interaction.id)]
    assert kinds == ["error", "outbound", "end"]


async def test_a_pause_resumes_when_its_timer_is_due(services, clock):
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "pause", tree(
        action("first", "message", {"text": "one"}, next="wait"),
        action("wait", "pause", {"seconds": 60}, next="second"),
        action("second", "message", {"text": "two"})))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    assert await runtime.wake_due() == 0
    clock.advance(61)
    assert await runtime.wake_due() == 1
    await runtime.idle()
    assert await sent_texts(services) == ["one", "two"]


async def test_a_reply_timeout_takes_the_timeout_branch(services, clock):
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "timeout", tree(
        action("ask", "message_wait", {"text": "Name?", "into": "n", "timeout_seconds": 30},
               timeout="late"),
        action("late", "message", {"text": "Too late."})))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    clock.advance(31)
    await runtime.wake_due()
    await runtime.idle()
    assert await sent_texts(services) == ["Name?", "Too late."]
    # the customer did not answer in time: statistics count it as abandoned
    interaction = await services.store.interactions.find_one({"contact": "alice"})
    assert interaction is not None and interaction.timed_out and not interaction.active
    from routing_core.store.statistics import Period

    period = Period(since=clock.now - timedelta(hours=1), before=clock.now + timedelta(hours=1),
                    zone="UTC")
    [day] = await services.statistics.per_day(routing_id, None, period)
    assert (day.started, day.ended, day.abandoned) == (1, 1, 1)


async def test_inactivity_ends_the_interaction_and_runs_the_end_routing(services, clock):
    runtime = make_runtime(services, clock, inactivity_seconds=600)
    start_id = await production_routing(services, "start", tree(
        action("ask", "message_wait", {"text": "Name?", "into": "name",
                                       "timeout_seconds": 86400}, answered="wait"),
        action("wait", "message_wait", {"text": "Anything else?", "into": "more",
                                        "timeout_seconds": 86400})))
    end_id = await production_routing(services, "goodbye", tree(
        action("bye", "message", {"text": "Bye {{ vars.name }}, rate us?"})), type="end")
    entry_point = await webchat_entry_point(services, start_id, end_routing=end_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    await runtime.receive(inbound(entry_point.id, "Alice", "2"), wait=True)
    clock.advance(601)
    await runtime.wake_due()
    await runtime.idle()
    assert await sent_texts(services) == ["Name?", "Anything else?", "Bye Alice, rate us?"]
    ended = await services.store.interactions.find_one({"kind": "start"})
    assert ended.end_reason == "inactivity"
    follow_up = await services.store.interactions.find_one({"kind": "end"})
    assert follow_up.previous_interaction == ended.id
    assert follow_up.variables == {"name": "Alice"}


async def test_a_dead_worker_s_interaction_is_taken_over_and_replies_once(services, clock):
    """Worker A ingests (holding the lease) and dies; B takes over when the lease expires."""
    routing_id = await production_routing(services, "crash", QUESTION)
    entry_point = await webchat_entry_point(services, routing_id)
    worker_a = make_runtime(services, clock, lease_seconds=5)
    worker_b = make_runtime(services, clock, lease_seconds=5)
    receipt = await worker_a.receive(inbound(entry_point.id, "hi", "1"), wait=False)
    for task in list(worker_a._tasks):  # the worker dies before processing anything
        task.cancel()
    assert receipt.interaction_id
    assert await worker_b.wake_due() == 0  # A's lease still holds
    clock.advance(6)
    assert await worker_b.wake_due() == 1
    await worker_b.idle()
    assert await sent_texts(services) == ["Your name?"]


class DiesBeforeCommit(Runtime):
    """A worker that writes a step's events and dies before committing the new state."""

    async def _step(self, document: dict[str, Any]) -> dict[str, Any] | None:
        original = self.store.interactions.commit

        async def die(*args: Any, **kwargs: Any) -> None:
            raise SystemExit("killed between the events and the commit")

        self.store.interactions.commit = die  # type: ignore[method-assign]
        try:
            return await super()._step(document)
        finally:
            self.store.interactions.commit = original  # type: ignore[method-assign]


async def test_a_step_replayed_after_a_crash_sends_nothing_twice(services, clock):
    routing_id = await production_routing(services, "replay", QUESTION)
    entry_point = await webchat_entry_point(services, routing_id)
    dying = DiesBeforeCommit(
        services.store, Ports(reference=services.runtime.interpreter.ports.reference),
        Delivery(LocalHub()), RuntimeSettings(lease_seconds=5, sweep_seconds=3600), clock=clock)
    with pytest.raises(SystemExit):
        await dying.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    assert await sent_texts(services) == ["Your name?"]  # written, not committed
    clock.advance(6)
    survivor = make_runtime(services, clock, lease_seconds=5)
    assert await survivor.wake_due() == 1
    await survivor.idle()
    assert await sent_texts(services) == ["Your name?"]  # the replay wrote the same ids
    await survivor.receive(inbound(entry_point.id, "Zoe", "2"), wait=True)
    assert await sent_texts(services) == ["Your name?", "Thanks Zoe (v1)"]


async def test_a_replayed_step_keeps_its_inputs_when_a_message_came_meanwhile(services, clock):
    """The timer's step dies before its commit; a message arrives; the replay still takes
    the timer first (its clock is the cut step's), so nothing is written twice."""
    routing_id = await production_routing(services, "replay-timer", tree(
        action("first", "message", {"text": "one"}, next="nap"),
        action("nap", "pause", {"seconds": 60}, next="ask"),
        action("ask", "message_wait", {"text": "two", "into": "x"}, answered="done"),
        action("done", "message", {"text": "got {{ vars.x }}"})))
    entry_point = await webchat_entry_point(services, routing_id)
    settings = RuntimeSettings(lease_seconds=5, sweep_seconds=3600)
    dying = DiesBeforeCommit(
        services.store, Ports(reference=services.runtime.interpreter.ports.reference),
        Delivery(LocalHub()), settings, clock=clock)
    survivor = make_runtime(services, clock, lease_seconds=5)
    await survivor.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    clock.advance(61)
    with pytest.raises(SystemExit):
        interaction = await services.store.interactions.find_one({"contact": "alice"})
        document = await services.store.interactions.claim(
            interaction.id, dying.owner, clock(), clock() + timedelta(seconds=5))
        await dying._process(document)
    clock.advance(1)
    await survivor.receive(inbound(entry_point.id, "answer", "2"), wait=True)  # leased: kept
    clock.advance(6)
    assert await survivor.wake_due() == 1
    await survivor.idle()
    assert await sent_texts(services) == ["one", "two", "got answer"]


async def test_the_simulator_runs_the_version_being_edited(services, clock):
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "simulated", tree(
        action("hello", "message", {"text": "production"})))
    production = await services.store.versions.find_one({"routing_id": routing_id})
    draft = await services.lifecycle.duplicate_version(SYSTEM, production.id, "draft")
    hello = next(a for a in draft.tree.actions if a.type == "message")
    await services.trees.update(SYSTEM, draft.id, hello.id, {"params": {"text": "draft"}})
    simulator = await services.entry_points.simulator_for(SYSTEM, draft.id)
    assert (await services.entry_points.simulator_for(SYSTEM, draft.id)).id == simulator.id
    await runtime.receive(inbound(simulator.id, "hi", "s1", contact="maker"), wait=True)
    assert await sent_texts(services, "maker") == ["draft"]
    assert not await services.store.routing_in_use(routing_id)
    await services.lifecycle.delete_version(SYSTEM, draft.id)
    assert await services.store.entry_points.find(simulator.id) is None


async def test_one_customer_message_never_turns_into_a_flood(services, clock):
    """A loop with no wait: the step budget stops it at 200 steps, but before this cap it
    sent 100 messages for one message of the customer."""
    runtime = make_runtime(services, clock, messages_per_step=20)
    routing_id = await production_routing(services, "flood", tree(
        action("a", "message", {"text": "again"}, next="b"),
        action("b", "checkpoint", {"label": "x"}, next="a")))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    assert await sent_texts(services) == ["again"] * 20
    interaction = await services.store.interactions.find_one({"contact": "alice"})
    capped = await services.store.events.all({"interaction_id": interaction.id,
                                              "type": "outbound_capped"})
    assert [event.data["reason"] for event in capped] == [
        "more than 20 messages for one message of the customer"]


async def test_messages_taken_together_each_get_their_replies(services, clock):
    """Under load one step takes several customer messages: each has its own allowance of
    bot messages (a cap per step silenced the later ones: their replies were lost)."""
    runtime = make_runtime(services, clock, messages_per_step=2)
    routing_id = await production_routing(services, "echo", tree(
        action("ask", "message_wait", {"text": "Say?", "into": "said"}, answered="echo"),
        action("echo", "message", {"text": "echo {{ vars.said }}"}, next="ask")))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "0"), wait=True)
    now = clock()
    for number in range(1, 6):  # five messages wait while another process holds the lease
        message = inbound(entry_point.id, f"m{number}", str(number)).model_copy(
            update={"received_at": now})
        assert await services.store.interactions.ingest(
            message, "another process", now, now, now + timedelta(hours=1)) is not None
    assert await runtime.wake_due() == 1  # its lease ran out: all five in one step
    await runtime.idle()
    replies = [text for text in await sent_texts(services) if text.startswith("echo")]
    assert replies == [f"echo m{number}" for number in range(1, 6)]


async def timers(runtime: Runtime, clock: Clock, count: int) -> None:
    """``count`` one-minute timers fire, one after the other."""
    for _ in range(count):
        clock.advance(61)
        await runtime.wake_due()
        await runtime.idle()


async def test_a_timer_loop_is_capped_per_hour(services, clock):
    """message → pause → back messaged a visitor who had left 320 times in 6 minutes."""
    runtime = make_runtime(services, clock, messages_per_hour=3)
    routing_id = await production_routing(services, "ping", tree(
        action("ping", "message", {"text": "still there?"}, next="wait"),
        action("wait", "pause", {"seconds": 60}, next="ping")))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    await timers(runtime, clock, 5)  # five more timers within the hour
    # the answer to "hi", then three unprompted ones: the fourth and fifth timers send nothing
    assert len(await sent_texts(services)) == 4
    interaction = await services.store.interactions.find_one({"contact": "alice"})
    capped = await services.store.events.all({"interaction_id": interaction.id,
                                              "type": "outbound_capped"})
    assert {event.data["reason"] for event in capped} == {
        "more than 3 messages in an hour without the customer"}
    clock.advance(3600)  # a new hour
    await runtime.wake_due()
    await runtime.idle()
    assert len(await sent_texts(services)) == 5


async def test_timers_with_nobody_answering_end_the_conversation(services, clock):
    """A loop through a pause keeps nobody's chat alive for ever: past the timers allowed
    in a row without a customer message, the conversation expires; a message resets it."""
    runtime = make_runtime(services, clock, wakes_without_reply=3)
    routing_id = await production_routing(services, "nag", tree(
        action("ping", "message", {"text": "still there?"}, next="wait"),
        action("wait", "pause", {"seconds": 60}, next="ping")))
    entry_point = await webchat_entry_point(services, routing_id)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    await timers(runtime, clock, 2)
    await runtime.receive(inbound(entry_point.id, "yes", "2"), wait=True)  # resets
    await timers(runtime, clock, 3)
    interaction = await services.store.interactions.find_one({"contact": "alice"})
    assert interaction is not None and interaction.active
    assert interaction.wakes_without_reply == 3
    await timers(runtime, clock, 1)
    interaction = await services.store.interactions.find_one({"contact": "alice"})
    assert interaction is not None and not interaction.active
    assert interaction.end_reason == "inactivity"
    assert len(await sent_texts(services)) == 1 + 2 + 3  # nothing after the expiry


async def test_a_step_that_outlived_its_lease_never_commits_over_a_newer_one(services, clock):
    """A process's step is slow, its lease runs out, another process takes the lease, steps
    and lets it go, then the first process takes the lease again for a new message. The
    slow step must not commit: it runs under the lease it had, not the new one (it did, and
    wrote its stale state over the newer one: the next messages were dropped unanswered)."""
    release = asyncio.Event()
    calls = 0

    async def slow_then_quick(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()
        return web.json_response({"ok": True})

    runner, port = await web_service("/call", slow_then_quick)
    http = GuardedHttpPort(allow_private=True)
    first, second = make_runtime(services, clock, http), make_runtime(services, clock, http)
    try:
        routing_id = await production_routing(services, "slow", tree(
            action("ask", "message_wait", {"text": "Say?", "into": "said"}, answered="call"),
            action("call", "web_service", {"url": f"http://127.0.0.1:{port}/call"},
                   success="echo", failure="echo"),
            action("echo", "message", {"text": "echo {{ vars.said }}"}, next="ask")))
        entry_point = await webchat_entry_point(services, routing_id)
        await first.receive(inbound(entry_point.id, "hi", "0"), wait=True)
        await first.receive(inbound(entry_point.id, "m1", "1"))  # its step hangs on the call
        while calls < 1:
            await asyncio.sleep(0.01)
        clock.advance(31)  # the first process's lease runs out
        # the second takes over with m2: answers m1 and m2, lets the lease go
        await second.receive(inbound(entry_point.id, "m2", "2"), wait=True)
        await second.idle()
        await first.receive(inbound(entry_point.id, "m3", "3"))  # the first leases it again
        release.set()  # the stale step of m1 goes on, and must not commit
        await first.idle()
        await second.idle()
        replies = [text for text in await sent_texts(services) if text.startswith("echo")]
        assert replies == ["echo m1", "echo m2", "echo m3"]
    finally:
        release.set()
        await http.close()
        await runner.cleanup()


ECHO = tree(
    action("ask", "message_wait", {"text": "Say?", "into": "said"}, answered="echo"),
    action("echo", "message", {"text": "echo {{ vars.said }}"}, next="ask"))


async def test_a_new_contacts_first_message_needs_no_look_up(services, clock, monkeypatch):
    """A contact this process never met is asked for once (created if new, by group
    commit): a new one has no conversation, so its first message opens one without the
    ingest's look-up; its next messages, and a known contact's messages in a process
    that never met it, take the usual ingest."""
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "echo", ECHO)
    entry_point = await webchat_entry_point(services, routing_id)
    ingests: list[str] = []
    ingest = services.store.interactions.ingest

    async def counted(message: Inbound, *args: Any) -> Any:
        ingests.append(message.provider_id)
        return await ingest(message, *args)

    monkeypatch.setattr(services.store.interactions, "ingest", counted)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    assert ingests == []
    await runtime.receive(inbound(entry_point.id, "one", "2"), wait=True)
    assert ingests == ["2"]
    other = make_runtime(services, clock)  # another process: it never met alice
    await other.receive(inbound(entry_point.id, "two", "3"), wait=True)
    assert ingests == ["2", "3"]
    assert await services.store.contacts.collection.count_documents({}) == 1
    assert await services.store.interactions.collection.count_documents({}) == 1
    assert await sent_texts(services) == ["Say?", "echo one", "Say?", "echo two", "Say?"]


async def test_a_new_contacts_messages_at_once_share_one_conversation(services, clock):
    """Several first messages of one new contact arrive together, in two processes: one
    conversation, each message answered once."""
    runtime, other = make_runtime(services, clock), make_runtime(services, clock)
    routing_id = await production_routing(services, "echo", ECHO)
    entry_point = await webchat_entry_point(services, routing_id)
    receipts = await asyncio.gather(*(
        (runtime if number % 2 else other).receive(
            inbound(entry_point.id, f"m{number}", str(number)))
        for number in range(8)))
    assert not any(receipt.duplicate for receipt in receipts)
    await runtime.idle()
    await other.idle()
    while await runtime.wake_due() or await other.wake_due():  # leftovers of a lost race
        await runtime.idle()
        await other.idle()
    assert len({receipt.interaction_id for receipt in receipts}) == 1
    assert await services.store.contacts.collection.count_documents({}) == 1
    echoes = [text for text in await sent_texts(services) if text.startswith("echo")]
    # one of them started the conversation ("Say?"); each other one is echoed, once
    assert len(echoes) == len(set(echoes)) == 7, echoes
    assert set(echoes) <= {f"echo m{number}" for number in range(8)}


GREET = tree(action("hello", "message", {"text": "hello {{ contact.nickname or 'stranger' }}"}))


async def test_a_known_contact_new_to_this_process_is_still_known(services, clock):
    """A process that never met a contact writes its conversation and the contact at the
    same time, as for a new one: when the contact existed, the conversation takes the
    stored contact (its id, its variables) before the first step, and one contact stays."""
    routing_id = await production_routing(services, "greet", GREET)
    entry_point = await webchat_entry_point(services, routing_id)
    await make_runtime(services, clock).receive(inbound(entry_point.id, "hi", "m1"), wait=True)
    (contact,) = await services.store.contacts.all({})
    await services.store.contacts.save_variables(contact.id, {"nickname": "Al"})
    other = make_runtime(services, clock)  # another process: it never met alice
    receipt = await other.receive(inbound(entry_point.id, "hi again", "m2"), wait=True)
    assert not receipt.duplicate
    assert await sent_texts(services) == ["hello stranger", "hello Al"]
    interaction = await services.store.interactions.find(receipt.interaction_id or "")
    assert interaction is not None and interaction.contact_id == contact.id
    assert interaction.seen == ["m1", "m2"]  # what the earlier conversation saw, kept
    assert await services.store.contacts.collection.count_documents({}) == 1


async def test_a_redelivery_to_a_process_that_never_met_the_contact_starts_nothing(
        services, clock):
    """A provider delivers a message again after its conversation ended, to a process that
    never met the contact: it is found seen by that conversation (the one just opened for
    it is removed), nothing is sent twice."""
    routing_id = await production_routing(services, "greet", GREET)
    entry_point = await webchat_entry_point(services, routing_id)
    first = await make_runtime(services, clock).receive(
        inbound(entry_point.id, "hi", "m1"), wait=True)
    other = make_runtime(services, clock)
    again = await other.receive(inbound(entry_point.id, "hi", "m1"), wait=True)
    assert again.duplicate and again.interaction_id == first.interaction_id
    assert await sent_texts(services) == ["hello stranger"]
    assert await services.store.interactions.collection.count_documents({}) == 1


async def test_an_adopted_conversation_keeps_what_came_meanwhile(services, clock):
    """Adopting a conversation whose opening message was seen before, into which another
    message came meanwhile: it is not dropped; that message stays, the seen one goes, the
    ids seen before go in front, and only the process holding it may adopt it."""
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "greet", GREET)
    entry_point = await webchat_entry_point(services, routing_id)
    opened = await open_interaction(runtime, inbound(entry_point.id, "old", "old"),
                                    clock.now, seen=[])
    await services.store.interactions.ingest(
        inbound(entry_point.id, "new", "new"), "another-process", clock.now,
        clock.now + timedelta(seconds=30), clock.now + timedelta(days=1))
    store = services.store.interactions
    assert not await store.drop_unused(opened["_id"], runtime.owner)
    assert await store.adopt(opened["_id"], "another-process", seen_before=[], without=None,
                             fields={}) is None
    adopted = await store.adopt(opened["_id"], runtime.owner, seen_before=["x", "old"],
                                without="old", fields={"contact_id": "the-stored-one"})
    assert adopted is not None and adopted["contact_id"] == "the-stored-one"
    assert [message["provider_id"] for message in adopted["pending"]] == ["new"]
    assert adopted["seen"] == ["x", "old", "new"]


async def test_messages_that_came_while_a_conversation_ended_open_the_next_one(
        services, clock):
    """Messages that came into a conversation while its last step ended it were seen there,
    not answered: they are given back and each opens (or joins) the next conversation —
    never taken for duplicates and lost."""
    runtime = make_runtime(services, clock)
    routing_id = await production_routing(services, "greet", GREET)
    entry_point = await webchat_entry_point(services, routing_id)
    receipts = await asyncio.gather(*(
        runtime.receive(inbound(entry_point.id, f"m{number}", f"m{number}"))
        for number in range(4)))
    assert not any(receipt.duplicate for receipt in receipts)
    await runtime.idle()
    while await runtime.wake_due():
        await runtime.idle()
    assert await sent_texts(services) == ["hello stranger"] * 4
    answered = [event.data["text"] for event in await services.store.events.all(
        {"contact": "alice", "type": "inbound"})]
    assert sorted(answered) == ["m0", "m1", "m2", "m3"]


async def test_a_state_with_odd_keys_is_committed_whole_by_the_plain_update(services, clock):
    """A step's state is written by a plain update when no message came meanwhile (the
    pipeline, when one did, writes values as literals): a variable holding what a web
    service answered, with keys like "$id" and "a.b", is stored as it came, and the
    conversation goes on."""

    async def odd_keys(request: web.Request) -> web.Response:
        return web.json_response({"$id": 7, "a.b": "dotted", "plain": "yes"})

    runner, port = await web_service("/odd", odd_keys)
    http = GuardedHttpPort(allow_private=True)
    runtime = make_runtime(services, clock, http)
    try:
        routing_id = await production_routing(services, "odd", tree(
            action("call", "web_service", {"url": f"http://127.0.0.1:{port}/odd",
                                           "into": {"answer": "$"}},
                   success="ask", failure="ask"),
            action("ask", "message_wait", {"text": "Got {{ vars.answer.plain }}",
                                           "into": "said"}, answered="echo"),
            action("echo", "message", {"text": "echo {{ vars.said }}"})))
        entry_point = await webchat_entry_point(services, routing_id)
        await runtime.receive(inbound(entry_point.id, "hi", "0"), wait=True)
        await runtime.receive(inbound(entry_point.id, "again", "1"), wait=True)
        assert await sent_texts(services) == ["Got yes", "echo again"]
        [interaction] = await services.store.interactions.all({"contact": "alice"})
        assert interaction.variables["answer"] == {"$id": 7, "a.b": "dotted", "plain": "yes"}
        assert interaction.lease_owner is None and not interaction.active
    finally:
        await http.close()
        await runner.cleanup()
