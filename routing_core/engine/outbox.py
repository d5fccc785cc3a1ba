"""Sending outbound messages of provider channels, with retries and dead letters.

Freshly committed messages are sent at once by the worker that wrote them (it holds them
under a lease from the moment they are written, renewed while they wait: see
``HeldMessages``); the sweeper picks up the rest: retries whose time has come and messages
whose process died. Retryable errors back off
exponentially (or as the provider says); after ``max_attempts`` or on a permanent error
the message is a dead letter (``failed``), visible in the events list and replayable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError

from routing_core.engine.held_messages import HeldMessages
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, NotFound, Words
from routing_core.infra.ids import new_id
from routing_core.infra.metrics import Metrics, NoMetrics
from routing_core.model.audit import SYSTEM, Actor
from routing_core.model.interaction import (
    OPTED_OUT,
    REPORTED_FAILURE,
    Channel,
    DeliveryStatus,
    Event,
)
from routing_core.ports.channels import (
    BadCredentials,
    ChannelClient,
    ProviderUnavailable,
    SendContext,
    SendError,
)
from routing_core.routing.entry_points import EntryPoints
from routing_core.store import Store
from routing_core.store.group_commit import GroupCommit, failures_by_index
from routing_core.store.interactions import shard_key
from routing_core.store.transient import transient

log = logging.getLogger(__name__)
SETTLE_RETRY_FIRST, SETTLE_RETRY_MAX = 0.05, 2.0  # seconds between tries to record a send
# a send's outcome to record: the message's id, its shard key, the fields
Settled = tuple[str, dict[str, Any], dict[str, Any]]
STATUS_ORDER = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}


class OutboxSender:
    def __init__(
        self,
        store: Store,
        entry_points: EntryPoints,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 5,
        base_delay_seconds: float = 2.0,
        lease_seconds: float = 60.0,
        held: HeldMessages | None = None,
    ):
        self.store = store
        self.entry_points = entry_points
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay_seconds
        if held is None:  # an outbox of its own (tools, tests): a lease owner of its own
            held = HeldMessages(store, new_id(), lease_seconds, clock)
        self.held = held
        self.clients: dict[Channel, ChannelClient] = {}
        self._settled: GroupCommit[Settled, None] = GroupCommit(self._write_settled)
        self.metrics: Metrics = NoMetrics()

    def register(self, channel: Channel, client: ChannelClient) -> None:
        self.clients[channel] = client

    def channels(self) -> list[Channel]:
        return list(self.clients)

    async def typing(self, channel: Channel, entry_point_id: str, contact: str) -> None:
        """Show "typing…" to the contact where the channel can (Telegram, Messenger):
        best effort, a refusal changes nothing for the conversation."""
        show = getattr(self.clients.get(channel), "typing", None)
        entry_point = await self.store.entry_points.find(entry_point_id) if show else None
        if show is None or entry_point is None:
            return
        try:
            await show(contact, SendContext(
                entry_point=entry_point, credentials=self.entry_points.credentials(entry_point)))
        except SendError as error:
            log.info("typing not shown on %s: %s", entry_point_id, error.message)

    async def dispatch(self, events: list[Event]) -> None:
        """Send messages this process just committed or claimed (held by it already)."""
        by_interaction: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            by_interaction[event.interaction_id].append(event)
        await asyncio.gather(*(self._send_in_order(batch) for batch in by_interaction.values()))

    async def sweep(self, limit: int = 100) -> int:
        """Claim due pending messages (retries, orphans) and send them."""
        now = self.clock()
        claimed: list[Event] = []
        query = {
            "status": DeliveryStatus.pending.value,
            "next_attempt_at": {"$lte": now},
            "lease_until": {"$not": {"$gt": now}},
            "channel": {"$in": [channel.value for channel in self.clients]},
        }
        for document in await self.store.events.collection.find(
            query, projection={"_id": 1}
        ).sort("_id", 1).limit(limit).to_list():
            if document["_id"] in self.held:
                continue  # this process is sending it: a late renewal, not a dead sender
            event = await self._claim(document["_id"], now)
            if event is not None:
                claimed.append(event)
        if claimed:
            await self.dispatch(claimed)
        return len(claimed)

    async def _claim(self, event_id: str, now: datetime) -> Event | None:
        """Take a due message. A live process renews the lease of every message it holds,
        so one whose lease ran out was held by a process that died (or lost MongoDB longer
        than a lease), maybe after the provider accepted it: no provider here
        de-duplicates, so it is sent again and marked as a possible duplicate (at least
        once, never lost)."""
        document = await self.store.events.collection.find_one_and_update(
            {"_id": event_id, "status": DeliveryStatus.pending.value,
             "lease_until": {"$not": {"$gt": now}}},
            [{"$set": {
                "possible_duplicate": {"$or": [
                    {"$ifNull": ["$possible_duplicate", False]},
                    {"$ne": [{"$ifNull": ["$lease_until", None]}, None]},
                ]},
                "lease_until": self.held.lease_until(now),
                "lease_owner": self.held.owner,
            }}],
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            return None
        self.held.hold([event_id])
        event = Event.from_document(document)
        event.last_inbound_at = None  # a retry or a replay: the customer may have written since
        if event.possible_duplicate:
            log.warning("message %s: its sender died mid-send; sending again (possible "
                        "duplicate)", event.id)
        return event

    async def _send_in_order(self, batch: list[Event]) -> None:
        deferred_until: datetime | None = None
        for event in sorted(batch, key=lambda item: item.id):
            if deferred_until is not None:  # an earlier message failed: keep the order
                await self._settle(event, {"next_attempt_at": deferred_until})
                continue
            deferred_until = await self._send_one(event)

    async def _send_one(self, event: Event) -> datetime | None:
        """Send; on a retryable failure return when to try again."""
        client = self.clients.get(event.channel) if event.channel else None
        attempts = event.attempts + 1
        try:
            if client is None:
                raise ProviderUnavailable(f"no sender for channel {event.channel}")
            context = await self._context(event)
            try:
                provider_id = await client.send(event, context)
            except BadCredentials:
                # changed a moment ago in another process, before the news reached this
                # one's cache? The provider refused it unsent: try the stored ones once
                fresher = await self._with_stored_credentials(event, context)
                if fresher is None:
                    raise
                provider_id = await client.send(event, fresher)
        except SendError as error:
            return await self._failed(event, attempts, error)
        except Exception as error:  # a connector bug: retry like an outage, and log it
            log.exception("sending event %s failed unexpectedly", event.id)
            return await self._failed(event, attempts, ProviderUnavailable(repr(error)))
        self.metrics.outbound(event.channel.value if event.channel else "", "sent")
        await self._settle(event, {
            "status": DeliveryStatus.sent.value, "provider_id": provider_id,
            "attempts": attempts, "error": None, "sent_at": self.clock(),
        })
        return None

    async def _context(self, event: Event) -> SendContext:
        entry_point = await self.store.entry_points.current(event.entry_point_id or "")
        last_inbound_at = event.last_inbound_at
        if last_inbound_at is None:  # a retry, a replay, or written outside a step
            interaction = await self.store.interactions.collection.find_one(
                {"_id": event.interaction_id}, projection={"last_inbound_at": 1}
            )
            last_inbound_at = (interaction or {}).get("last_inbound_at")
        return SendContext(
            entry_point=entry_point,
            credentials=self.entry_points.credentials(entry_point),
            last_inbound_at=last_inbound_at,
        )

    async def _with_stored_credentials(self, event: Event,
                                       used: SendContext) -> SendContext | None:
        """The context with the stored entry point, when its credentials differ from the
        ones just refused; None when they are the same (or were re-read a moment ago)."""
        stored = await self.store.entry_points.reread(event.entry_point_id or "")
        if stored is None or stored.credentials_sealed == used.entry_point.credentials_sealed:
            return None
        return SendContext(entry_point=stored, credentials=self.entry_points.credentials(stored),
                           last_inbound_at=used.last_inbound_at)

    async def _failed(self, event: Event, attempts: int, error: SendError) -> datetime | None:
        now = self.clock()
        text = f"{error.code}: {error.message}"
        channel = event.channel.value if event.channel else ""
        self.metrics.outbound(channel, error.code)
        if error.retryable and attempts < self.max_attempts:
            delay = error.retry_after or self.base_delay * 2 ** (attempts - 1)
            retry_at = now + timedelta(seconds=min(delay, 3600))
            await self._settle(event, {"attempts": attempts, "error": text,
                                       "error_kind": error.code,
                                       "next_attempt_at": retry_at})
            return retry_at
        self.metrics.dead_letter(channel)
        await self._settle(event, {"status": DeliveryStatus.failed.value,
                                   "attempts": attempts, "error": text,
                                   "error_kind": error.code, "failed_at": now})
        await self.store.events.append([Event(
            id=f"{event.id}:failed:{new_id()}",  # one per dead letter, replays included
            interaction_id=event.interaction_id, at=now, entry_point_id=event.entry_point_id,
            contact=event.contact, type="delivery_failed", action=event.action,
            data={"message": event.id, "error": text, "attempts": attempts,
                  "dead_letter": True},
        )])
        log.warning("message %s is a dead letter after %d attempt(s): %s",
                    event.id, attempts, text)
        return None

    async def _set(self, event: Event, fields: dict[str, Any]) -> None:
        await self.store.events.collection.update_one({"_id": event.id}, {"$set": fields})

    async def _settle(self, event: Event, fields: dict[str, Any]) -> None:
        """The attempt is over (sent, failed, deferred): the message leaves this process's
        hands, and its lease with it. While MongoDB cannot take the record (a failover),
        the message stays held — its lease renewed as soon as a primary is back — and the
        record is tried again: let go, the lease would run out and another process would
        send the message a second time."""
        delay = SETTLE_RETRY_FIRST
        try:
            while True:
                try:
                    await self._settled.submit((event.id, shard_key(event), {
                        **fields, "lease_until": None, "lease_owner": None}))
                    return
                except Exception as error:
                    if not transient(error):
                        raise
                    if delay == SETTLE_RETRY_FIRST:
                        log.warning("message %s: MongoDB cannot record its outcome yet (%s); "
                                    "holding it and trying again", event.id, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, SETTLE_RETRY_MAX)
        finally:
            self.held.release([event.id])

    async def _write_settled(self, settled: list[Settled]) -> list[None | BaseException]:
        """The outcomes of many sends in one command (group commit): under load the
        marks of concurrent sends share it."""
        failed: dict[int, BaseException] = {}
        try:
            await self.store.events.collection.bulk_write(
                [UpdateOne({**key, "_id": event_id}, {"$set": fields})
                 for event_id, key, fields in settled], ordered=False,
            )
        except BulkWriteError as error:
            failed = failures_by_index(error)
        return [failed.get(index) for index in range(len(settled))]

    async def replay(self, event_id: str, actor: Actor = SYSTEM) -> Event:
        """A dead letter goes back to pending, attempts reset (audited): 404 for an unknown
        message, 409 unless it is ``failed`` (sent meanwhile, discarded, resent by someone
        else) — the condition is the update's filter, so two operators never both resend.
        A message kept because its contact opted out is sent only once they opted back in."""
        held = await self.store.events.find(event_id)
        if held is not None and held.error_kind == OPTED_OUT and await (
            self.store.contacts.opted_out(phone=held.contact or "",
                                          entry_point_id=held.entry_point_id)):
            raise Conflict("the contact opted out of messages: it is sent again only once "
                           "they opted back in (START)", code="opted_out")
        return await self._leave_dead_letters(event_id, actor, "outbox.replay", {
            "status": DeliveryStatus.pending.value, "attempts": 0,
            "next_attempt_at": self.clock(), "lease_until": None,
        }, "only a failed message (a dead letter) can be sent again")

    async def discard(self, event_id: str, actor: Actor) -> Event:
        """A dead letter nobody will send: it leaves the list of failures (audited)."""
        return await self._leave_dead_letters(event_id, actor, "outbox.discard", {
            "status": DeliveryStatus.discarded.value, "next_attempt_at": None,
        }, "only a failed message (a dead letter) can be discarded")

    async def _leave_dead_letters(
        self, event_id: str, actor: Actor, action: str, fields: dict[str, Any], refusal: str,
    ) -> Event:
        document = await self.store.events.collection.find_one_and_update(
            {"_id": event_id, "type": "outbound", "status": DeliveryStatus.failed.value},
            {"$set": fields},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            if await self.store.events.find(event_id) is None:
                raise NotFound(Words("no outbound message %(event_id)r", event_id=event_id))
            raise Conflict(refusal, code="not_failed")
        event = Event.from_document(document)
        await self.store.audit.record_change(
            actor, action, "event", event_id, interaction=event.interaction_id,
            error=event.error, entry_point=event.entry_point_id)
        return event

    async def record_read(self, entry_point_id: str, contact: str, until: datetime) -> int:
        """Every message sent to the contact until ``until`` was read (a channel that
        reports reading up to a moment: Messenger's watermark, the web chat widget in
        front); how many changed. The agent holding the conversation sees it at once, in
        whichever process their console is open (a ``read`` signal, relayed)."""
        changed = await self.store.events.collection.update_many(
            {"entry_point_id": entry_point_id, "contact": contact, "type": "outbound",
             "status": {"$in": [DeliveryStatus.sent.value, DeliveryStatus.delivered.value]},
             "sent_at": {"$lte": until}},
            {"$set": {"status": DeliveryStatus.read.value, "reports.read": self.clock()}})
        if changed.modified_count:
            holding = await self.store.interactions.collection.find_one(
                {"entry_point_id": entry_point_id, "contact": contact, "active": True,
                 "agent_id": {"$type": "string"}}, projection={"agent_id": 1})
            if holding is not None:
                # no channel: it is the agent's news, never a frame for the customer's widget;
                # an origin no process has: the relays of every process take it, this one's too
                await self.store.signals.insert(Event(
                    id=f"read:{holding['_id']}:{new_id()}", interaction_id=holding["_id"],
                    at=self.clock(), type="read", agent_id=holding["agent_id"],
                    data={"until": until}, origin="read-receipts",
                    entry_point_id=entry_point_id, contact=contact))
        return int(changed.modified_count)

    async def record_status(self, provider_id: str, status: str, error: str | None) -> bool:
        """A provider's delivery report; statuses only move forward (reports come unordered)."""
        event = await self.store.events.find_one({"provider_id": {"$type": "string",
                                                                  "$eq": provider_id},
                                                  "type": "outbound"})
        if event is None:
            return False
        current = event.status.value if event.status else "pending"
        if status in ("failed", "undelivered"):
            fields: dict[str, Any] = {"status": DeliveryStatus.failed.value,
                                      "error": error or status,
                                      "error_kind": REPORTED_FAILURE,
                                      "failed_at": self.clock()}
        elif STATUS_ORDER.get(status, -1) > STATUS_ORDER.get(current, 99):
            fields = {"status": status}
        else:
            return True
        await self._set(event, {**fields, f"reports.{status}": self.clock()})
        return True
