"""The runtime: from an accepted inbound message to committed state and sent replies.

``receive`` persists the message first (in the contact's active interaction, or a new
one) and returns; processing runs under the interaction's lease, in arrival order, in a
task. A sweeper wakes interactions whose timer is due or whose worker died (its lease
expired), so a crash at any point loses nothing: the step is replayed and its events,
having deterministic ids, are not written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from routing_core.actions.context import Journal, OutboundLimits
from routing_core.engine.admission import Admission
from routing_core.engine.consent import consent_answer
from routing_core.engine.delivery import Delivery
from routing_core.engine.held_messages import HeldMessages
from routing_core.engine.interpreter import Activation, Interpreter
from routing_core.engine.known_contacts import KnownContacts
from routing_core.engine.local_work import LocalWork
from routing_core.engine.opening import Opening, first_of_a_new_contact, open_interaction
from routing_core.engine.step_writer import StepWriter
from routing_core.engine.sweeper import Sweeper
from routing_core.engine.versions import StartVersions, TreeCache
from routing_core.infra import logctx
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, NotFound, Words
from routing_core.infra.ids import new_id
from routing_core.infra.metrics import NO_METRICS, Metrics, is_takeover
from routing_core.model.entry_point import EntryPoint, EntryPointMode
from routing_core.model.interaction import (
    SILENT_END_REASONS,
    Event,
    Inbound,
    Interaction,
    InteractionStatus,
    Waiting,
)
from routing_core.ports.world import Ports
from routing_core.store import Store

log = logging.getLogger(__name__)

Operation = Callable[[Interaction, Journal, datetime], Awaitable[Activation]]
Listener = Callable[[Interaction, list[Event]], Awaitable[None]]


@dataclass
class RuntimeSettings:
    lease_seconds: float = 30.0
    inactivity_seconds: float = 24 * 3600
    step_budget: int = 200
    sweep_seconds: float = 0.5
    concurrent_steps: int = 32
    messages_per_step: int = 20
    messages_per_hour: int = 120
    wakes_without_reply: int = 50
    inbox_pace: int = 64  # conversations in progress past which webhooks wait (admission)


@dataclass
class Receipt:
    """What ``receive`` did: accepted (new) or a duplicate, and in which interaction."""

    duplicate: bool
    interaction_id: str | None


def no_version(entry_point: EntryPoint, journal: Journal) -> Activation:
    """No version to run: record why, send the fallback text if there is one."""
    if entry_point.mode is EntryPointMode.test:
        journal.add("error", None, message="this test entry point runs the version in test "
                    "of its smart routing, and none is in test: put a version in test")
    else:
        journal.add("error", None, message="the smart routing has no version in production")
    if entry_point.fallback_text:
        journal.outbound(None, entry_point.fallback_text)
    return Activation(ended=True, reason="no version")


async def keep_lease(runtime: Runtime, interaction_id: str, epoch: int) -> None:
    """A long step (a slow web service) keeps its lease: no one takes over a live worker.
    Renewed under the acquisition it runs under (``epoch``), never a later one."""
    while True:
        await asyncio.sleep(runtime.settings.lease_seconds / 3)
        until = runtime._lease_until(runtime.clock())
        await runtime.store.interactions.renew(interaction_id, runtime.owner, until, epoch)


TYPING_AFTER_SECONDS = 1.0


def typing_if_slow(runtime: Runtime, document: dict[str, Any]) -> asyncio.TimerHandle | None:
    """A step answering the customer that takes longer than a second (a slow web service)
    shows "typing…" on channels that can; a quick one costs a timer set and cancelled."""
    if not document.get("pending") or document.get("channel") == "webchat":
        return None  # the web chat widget shows it from the moment a message is accepted

    def show() -> None:
        runtime._spawn(runtime.delivery.typing(
            document["channel"], document["entry_point_id"], document["contact"]))

    return asyncio.get_running_loop().call_later(TYPING_AFTER_SECONDS, show)


async def on_timers(
    runtime: Runtime, interaction: Interaction, journal: Journal, now: datetime
) -> Activation:
    """What a step does when no message of the customer is left: a due timer, or expiry."""
    if not interaction.path and interaction.kind != "start":  # no message to start it
        return await runtime.interpreter.activate(interaction, "run", journal, now)
    waiting = interaction.waiting
    if waiting is not None and waiting.until is not None and waiting.until <= now:
        # timers count toward expiry: a loop through a pause ends when nobody answers
        interaction.wakes_without_reply += 1
        if interaction.wakes_without_reply > runtime.settings.wakes_without_reply:
            return Activation(ended=True, reason="inactivity")
        interaction.timed_out = True
        return await runtime.interpreter.activate(interaction, "timeout", journal, now)
    if interaction.expires_at is not None and interaction.expires_at <= now:
        return Activation(ended=True, reason="inactivity")
    return Activation()


class Runtime:
    """One per process: receives, processes, wakes and hands messages to delivery."""

    def __init__(
        self,
        store: Store,
        ports: Ports,
        delivery: Delivery,
        settings: RuntimeSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.delivery = delivery
        self.settings = settings or RuntimeSettings()
        self.clock = clock
        self.owner = new_id()
        self.metrics: Metrics = NO_METRICS
        self.trees = TreeCache(store)
        self.start_versions = StartVersions(store)
        self.known_contacts = KnownContacts()
        self.sweeper = Sweeper(self.settings.sweep_seconds, [self.wake_due])
        self.local = LocalWork()
        self._slots = asyncio.Semaphore(self.settings.concurrent_steps)
        self.held = HeldMessages(store, self.owner, self.settings.lease_seconds, clock)
        self.writer = StepWriter(store, self.owner, self.held, delivery, self._lease_until, clock)
        self.interpreter = Interpreter(
            ports, self.trees, self.settings.step_budget,
            OutboundLimits(self.settings.messages_per_step, self.settings.messages_per_hour))
        self._tasks: set[asyncio.Task[Any]] = set()
        self.admission = Admission(self.settings.inbox_pace, lambda: len(self._tasks))
        self._listeners: list[Listener] = []

    # -- lifecycle of the runtime ----------------------------------------------------------

    def start(self) -> None:
        self.sweeper.start()
        self.held.start()

    async def stop(self) -> None:
        await self.sweeper.stop()
        await self.held.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self.admission.finished()

    @property
    def backlog(self) -> int:
        """Conversations accepted and being processed, or waiting to be, in this process."""
        return len(self._tasks)

    async def idle(self) -> None:
        """Wait until every processing task started so far is done (tests, shut-down)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    # -- receiving -------------------------------------------------------------------------

    def _lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.lease_seconds)

    def _expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.inactivity_seconds)

    async def receive(self, inbound: Inbound, wait: bool = False) -> Receipt:
        """Persist the message (nothing accepted is lost), then process it in a task.

        ``wait`` processes before returning (tests, and callers that want the reply first).
        """
        now = self.clock()
        inbound = inbound.model_copy(update={"received_at": now})
        if (created := await first_of_a_new_contact(self, inbound, now)) is not None:
            return await self._after_ingest(created, wait)
        for _ in range(5):
            document = await self.store.interactions.ingest(
                inbound, self.owner, now, self._lease_until(now), self._expiry(now)
            )
            if document is not None:
                return await self._after_ingest(document, wait)
            contact, new_contact = await self.store.contacts.upsert(inbound, now)
            seen: list[str] = []
            if not new_contact:  # a new contact has no earlier conversation to look into
                latest = await self.store.interactions.latest(
                    inbound.entry_point_id, inbound.contact
                ) or {}
                seen = latest.get("seen", [])
                if inbound.provider_id in seen:
                    return Receipt(duplicate=True, interaction_id=latest["_id"])
                if latest.get("active"):
                    continue  # it appeared meanwhile: ingest into it
            try:
                document = await open_interaction(self, inbound, now, seen=seen, contact=contact)
            except DuplicateKeyError:
                continue  # another worker created it: ingest into that one
            return await self._after_ingest(document, wait)
        raise RuntimeError("could not ingest the message after 5 attempts")

    async def process_opened(self, document: dict[str, Any], wait: bool = False) -> None:
        """Process a conversation ``open_interaction`` opened (and leased) outside a
        message's arrival, as ``receive`` does."""
        await self._after_ingest(document, wait)

    async def _after_ingest(self, document: dict[str, Any], wait: bool) -> Receipt:
        receipt = Receipt(duplicate=False, interaction_id=document["_id"])
        if document.get("lease_owner") == self.owner:
            work = self._process(document)
            if wait:
                await work
            else:
                self._spawn(work)
        return receipt

    # -- processing ------------------------------------------------------------------------

    async def _process(self, document: dict[str, Any]) -> None:
        """Process under the lease until no message waits; commit after each batch. At most
        ``concurrent_steps`` interactions step at once: the others wait their turn without
        crowding the event loop, so webhooks and sockets are still answered at once."""
        async with self._slots, self.local.exclusive(document["_id"]) as waited:
            if waited:  # a step of it ran here meanwhile: go on from what it committed
                fresh = await self.store.interactions.collection.find_one(
                    {"_id": document["_id"], "lease_owner": self.owner, "active": True})
                if fresh is None:
                    return
                document = fresh
            heartbeat = asyncio.create_task(
                keep_lease(self, document["_id"], document.get("lease_epoch", 0)))
            current: dict[str, Any] | None = document
            try:
                while current is not None:
                    typing = typing_if_slow(self, current)
                    try:
                        current = await self._step(current)
                    except Exception as error:
                        log.exception("interaction %s: step failed; the lease will expire "
                                      "and another attempt will be made", document.get("_id"))
                        with contextlib.suppress(Exception):  # the database may be why
                            await self.store.interactions.note_step_failure(
                                document["_id"], self.owner, f"{type(error).__name__}: {error}")
                        return
                    finally:
                        if typing is not None:
                            typing.cancel()
            finally:
                heartbeat.cancel()

    async def apply(
        self, interaction_id: str, operation: Operation, patience_seconds: float = 10.0,
        expected_seq: int | None = None,
    ) -> None:
        """Run ``operation`` on an active interaction under its lease, then commit it like a
        step (agents, queues, operators' repairs). ``expected_seq``: refuse (Conflict) unless
        the conversation is still where the caller saw it — no event written since."""
        deadline = asyncio.get_running_loop().time() + patience_seconds
        async with self.local.exclusive(interaction_id, patience_seconds):
            while True:
                now = self.clock()
                document = await self.store.interactions.claim(
                    interaction_id, self.owner, now, self._lease_until(now)
                )
                if document is not None:
                    break
                current = await self.store.interactions.find(interaction_id)
                if current is None:
                    raise NotFound(Words(
                        "no interaction with id %(interaction_id)r",
                        interaction_id=interaction_id))
                if not current.active:
                    raise Conflict("the interaction has ended", code="ended")
                if asyncio.get_running_loop().time() > deadline:
                    raise Conflict("the interaction is busy; try again", code="busy")
                await asyncio.sleep(0.02)
            if expected_seq is not None and document.get("event_seq", 0) != expected_seq:
                await self.store.interactions.release(interaction_id, self.owner, self.clock())
                raise Conflict("the conversation moved on since you looked at it; look again "
                               "before repairing it", code="moved")
            heartbeat = asyncio.create_task(
                keep_lease(self, interaction_id, document.get("lease_epoch", 0)))
            try:
                following = await self._step(document, operation)
            finally:
                heartbeat.cancel()
        if following is not None:
            self._spawn(self._process(following))

    def on_committed(self, listener: Listener) -> None:
        """``listener(interaction, events)`` after every commit (e.g. the agent console)."""
        self._listeners.append(listener)

    async def _step(
        self, document: dict[str, Any], operation: Operation | None = None
    ) -> dict[str, Any] | None:
        interaction = Interaction.from_document(document)
        logctx.bind(interaction.id, interaction.entry_point_id)
        started = time.perf_counter()
        now = interaction.step_at or self.clock()
        journal = Journal(interaction, now)
        processed: list[str] = []
        arrived = [message for message in interaction.pending if message.received_at <= now]
        journal.prompted = bool(arrived) or operation is not None
        outcome = Activation()
        if operation is not None:
            outcome = await operation(interaction, journal, now)
        elif not interaction.version_id:
            entry_point = await self.store.entry_points.current(interaction.entry_point_id)
            outcome = no_version(entry_point, journal)
            processed = [message.provider_id for message in arrived]
        for message in arrived if not outcome.ended else []:
            processed.append(message.provider_id)
            outcome = await self._on_message(interaction, journal, message, now)
            if outcome.ended:
                break
        if not outcome.ended:
            outcome = await on_timers(self, interaction, journal, now)
        if outcome.ended and outcome.reason == "end of tree" and interaction.agent_id:
            # the bot part is over; the conversation stays with its agent until ended
            interaction.waiting = Waiting(action=interaction.cursor or "", kind="agent")
            outcome = Activation()
        if outcome.ended:
            self._end(interaction, journal, outcome.reason or "ended", now)
        else:
            interaction.wake_at = min(
                moment for moment in (
                    interaction.waiting.until if interaction.waiting else None,
                    interaction.expires_at,
                ) if moment is not None
            )
        interaction.updated_at = now
        written = await self.writer.write(interaction, journal, processed)
        self.metrics.step_seconds(time.perf_counter() - started)
        await written.sent()  # the next step only after them, as when they followed the commit
        if (committed := written.committed) is None:
            log.warning("interaction %s: lease lost; another worker takes over", interaction.id)
            return None
        await self.delivery.dispatch(
            written.to_deliver + [e for e in journal.events if e.type == "end"])
        for listener in self._listeners:
            try:
                await listener(interaction, journal.events)
            except Exception:
                log.exception("a commit listener failed for interaction %s", interaction.id)
        if interaction.contact_variables != document.get("contact_variables", {}):
            await self.store.contacts.save_variables(
                interaction.person_id or interaction.contact_id, interaction.contact_variables
            )
        if outcome.ended:
            await self._after_end(interaction, committed, now)
            return None
        if committed.get("lease_owner") != self.owner:
            return None
        return {**interaction.to_document(), **committed}  # more messages came: go on

    async def _on_message(
        self, interaction: Interaction, journal: Journal, message: Inbound, now: datetime
    ) -> Activation:
        journal.new_prompt()
        data: dict[str, Any] = {"text": message.text, "provider_id": message.provider_id}
        if message.payload is not None:
            data["payload"] = message.payload
        if message.media:
            data["media"] = [item.model_dump(exclude_none=True, mode="json")
                             for item in message.media]
        journal.add("inbound", None, **data)
        interaction.last_text = message.text
        interaction.wakes_without_reply = 0
        entry_point = await self.store.entry_points.current(interaction.entry_point_id)
        if (ended := await consent_answer(
                self.store, entry_point, interaction, journal, message, now)) is not None:
            return ended
        if not interaction.path:  # the first message starts the tree
            return await self.interpreter.activate(interaction, "run", journal, now, message)
        if interaction.waiting is None:
            return Activation(ended=True, reason="end of tree")
        return await self.interpreter.activate(interaction, "reply", journal, now, message)

    async def signal(self, interaction_id: str, name: str, **data: Any) -> None:
        """Resume the interaction's wait with a signal (the waiting action decides)."""

        async def resume(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            if interaction.waiting is None:
                return Activation()
            return await self.interpreter.activate(
                interaction, "signal", journal, now, signal={"name": name, **data}
            )

        await self.apply(interaction_id, resume)

    async def end_interaction(self, interaction_id: str, reason: str) -> None:
        """End now (an agent, the customer closing the chat); the end routing follows."""

        async def finish(interaction: Interaction, journal: Journal, now: datetime) -> Activation:
            return Activation(ended=True, reason=reason)
        await self.apply(interaction_id, finish)

    def _end(self, interaction: Interaction, journal: Journal, reason: str, now: datetime) -> None:
        interaction.status = InteractionStatus.ended
        interaction.active = False
        interaction.waiting = None
        interaction.wake_at = None
        interaction.ended_at = now
        interaction.end_reason = reason
        # on the conversation's channel: a web chat widget shows that it ended
        journal.add("end", None, reason=reason).channel = interaction.channel

    async def _after_end(
        self, interaction: Interaction, committed: dict[str, Any], now: datetime
    ) -> None:
        """Run the entry point's end routing; re-ingest messages that came after the end."""
        entry_point = await self.store.entry_points.current(interaction.entry_point_id)
        if (interaction.kind != "end" and entry_point.end_routing
                and interaction.end_reason not in SILENT_END_REASONS):
            trigger = Inbound(
                channel=interaction.channel, entry_point_id=interaction.entry_point_id,
                contact=interaction.contact, provider_id=f"end:{interaction.id}",
            )
            try:
                seen = committed.get("seen", interaction.seen)  # without those given back
                document = await open_interaction(
                    self, trigger, now, seen=seen, opening=Opening(
                        "end", entry_point.end_routing, interaction.variables,
                        previous=interaction.id))
            except DuplicateKeyError:
                document = None  # the contact wrote again first: that conversation wins
            if document is not None:
                self._spawn(self._process(document))
        for message in committed.get("pending", []):
            self._spawn(self.receive(Inbound.model_validate(message)))

    # -- waking ----------------------------------------------------------------------------

    async def wake_due(self) -> int:
        """Process every interaction whose timer is due or whose worker died."""
        now = self.clock()
        woken = 0
        for interaction_id in await self.store.interactions.due(now):
            if self.local.busy(interaction_id):
                continue  # being stepped here: a late heartbeat, not a dead worker
            document = await self.store.interactions.claim(
                interaction_id, self.owner, now, self._lease_until(now)
            )
            if document is not None:
                woken += 1
                if is_takeover(document, now):
                    self.metrics.lease_takeover()
                self._spawn(self._process(document))
        return woken

    def add_sweep(self, sweep: Callable[[], Awaitable[int]]) -> None:
        """Another periodic duty of the sweeper (e.g. the outbox's retries)."""
        self.sweeper.add(sweep)

    # -- reading ---------------------------------------------------------------------------

    async def history(self, interaction_id: str) -> tuple[Interaction, list[Event]]:
        interaction = await self.store.interactions.find(interaction_id)
        if interaction is None:
            raise NotFound(Words(
                "no interaction with id %(interaction_id)r",
                interaction_id=interaction_id))
        return interaction, await self.store.events.of_interaction(interaction_id)
