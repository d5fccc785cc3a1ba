"""Campaigns and their targets, the ``CampaignsPort`` of the campaign actions, and the
campaign runner that sends SMS and WhatsApp campaigns.

Targets are the campaigns' outbox. Whoever sends a target first claims it: a conditional
update moves it to ``sending`` under a lease (a sender that dies lets the lease expire and
another takes it over), then takes a slot of the campaign's per-minute rate (a conditional
update on the campaign, so every process shares one rate). The runner sends through the
``SmsPort`` (Twilio's Messages API) or the WhatsApp channel client the outbox uses, records
the provider's id, and retries retryable errors with backoff up to the campaign's
``max_attempts``. Voice targets are claimed the same way by an external dialer through the
API, which then reports the call's result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument, UpdateMany
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from routing_core.business.records import Kept, duplicate_of, json_fields
from routing_core.engine.outbox import OutboxSender
from routing_core.expressions.templates import TemplateFailure, render
from routing_core.expressions.values import normalise_phone
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.model.audit import Actor
from routing_core.model.campaigns import (
    TRANSITIONS,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignTarget,
    TargetStatus,
)
from routing_core.model.interaction import Channel, DeliveryStatus, Event, Interaction
from routing_core.model.reference import WEEKDAYS, Schedule, minutes
from routing_core.ports.channels import (
    BadCredentials,
    ProviderUnavailable,
    Rejected,
    SendContext,
    SendError,
)
from routing_core.ports.world import SmsPort
from routing_core.reference.coercion import build
from routing_core.reference.schedules import schedule_state
from routing_core.routing.entry_points import EntryPoints
from routing_core.store import Store
from routing_core.store.group_commit import GroupCommit, failures_by_index
from routing_core.store.repository import DEFAULT_PAGE

log = logging.getLogger(__name__)
RATE_WINDOW = timedelta(minutes=1)
# No message from the contact ever: WhatsApp then takes only an approved template.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
CALL_LEASE_SECONDS = 600
MAX_BULK = 1_000


def phone_number(text: str) -> str:
    """E.164 from what was given; no country code starts with 0."""
    number = normalise_phone(text)
    if number is None or number.startswith("+0"):
        raise Invalid(Words("not a phone number in international form: %(text)r", text=text[:40]),
                      field="phone", code="invalid_phone")
    return number


def aware(moment: datetime | None, field: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise Invalid(Words("%(field_)s: the date-time must carry a UTC offset", field_=field),
                      field=field)
    return moment.astimezone(UTC) if moment else None


def schedule_open(schedule: Schedule, moment: datetime) -> bool:
    """Open in the weekly hours, or inside the hours of a dated exception."""
    state = schedule_state(schedule, moment)
    if state != "exception":
        return state == "open"
    exception = schedule.exception_on(moment.astimezone(schedule.zone).date().isoformat())
    return exception is not None and not exception.closed


def message_scope(campaign: Campaign, target: CampaignTarget) -> dict[str, Any]:
    """What a campaign's message reads: ``target.phone``, ``target.<field>`` (also under
    ``target.fields``) and ``campaign.name``."""
    return {
        "target": {**target.fields, "phone": target.phone, "fields": target.fields},
        "campaign": {"name": campaign.name, "kind": campaign.kind.value},
    }


@dataclass
class Claim:
    """What a dialer gets: a target to call, or why there is none now."""

    target: CampaignTarget | None
    reason: str | None = None


class Campaigns(Kept[Campaign]):
    kind = "campaign"

    def __init__(
        self, store: Store, clock: Callable[[], datetime] = utcnow,
        lease_seconds: float = 60.0,
    ):
        super().__init__(store, store.campaigns, clock)
        self.targets = store.campaign_targets
        self.lease = timedelta(seconds=lease_seconds)

    # -- campaigns -------------------------------------------------------------------------

    async def create(self, actor: Actor, **data: Any) -> Campaign:
        campaign = build(Campaign, data)
        if campaign.status is CampaignStatus.running:
            await self._check_ready(campaign)
        try:
            return await self._create(actor, campaign, name=campaign.name)
        except DuplicateKeyError:
            raise self._name_taken(campaign.name) from None

    @staticmethod
    def _name_taken(name: str) -> Conflict:
        return Conflict(Words("a campaign named %(name)r exists", name=name),
                        field="name", code="name_taken")

    async def update(
        self, actor: Actor, campaign_id: str, changes: Mapping[str, Any]
    ) -> Campaign:
        """Only the given fields are written (the rate counters are left alone); the kind is
        fixed; a status moves along ``TRANSITIONS``; a campaign starts only ready."""
        current = await self.repository.get(campaign_id)
        if "kind" in changes and changes["kind"] != current.kind:
            raise Invalid("the kind of a campaign cannot change", field="kind")
        updated = self._merged(current, changes)
        moving = updated.status is not current.status
        if moving and updated.status not in TRANSITIONS[current.status]:
            raise Conflict(
                Words(
                    "a %(value)s campaign cannot become %(value2)s",
                    value=current.status.value, value2=updated.status.value),
                field="status", code="status_change_refused",
            )
        if updated.status is CampaignStatus.running:
            await self._check_ready(updated)
        stamp = {"revision": current.revision + 1, "updated_at": self.clock()}
        written = updated.model_dump(include=set(changes)) | stamp
        try:
            result = await self.repository.collection.update_one(
                {"_id": campaign_id, "revision": current.revision}, {"$set": written}
            )
        except DuplicateKeyError:
            raise self._name_taken(updated.name) from None
        if result.matched_count != 1:
            raise Conflict("the campaign was changed meanwhile; reload it and try again",
                           code="concurrent_change")
        await self._audit(actor, "update", campaign_id, fields=sorted(changes))
        return updated.model_copy(update=stamp)

    async def _check_ready(self, campaign: Campaign) -> None:
        """What sending needs: a message (SMS, WhatsApp) and a WhatsApp entry point."""
        if campaign.kind is not CampaignKind.voice and not campaign.message.strip():
            raise Conflict("give the campaign a message before starting it", field="message",
                           code="campaign_not_ready")
        if campaign.kind is CampaignKind.whatsapp:
            entry_point = await self.store.entry_points.find(campaign.entry_point_id or "")
            if entry_point is None or entry_point.channel is not Channel.whatsapp:
                raise Conflict("a WhatsApp campaign sends from a WhatsApp entry point: set "
                               "entry_point_id", field="entry_point_id",
                               code="campaign_not_ready")
        sample = CampaignTarget(campaign_id=campaign.id, phone="+10000000000", due_at=NEVER)
        try:
            render(campaign.message, message_scope(campaign, sample))
        except TemplateFailure as error:
            raise Invalid(Words("message: %(error)s", error=error), field="message") from None

    async def delete(self, actor: Actor, item_id: str) -> None:
        """The campaign and its targets; refused while it runs (pause or close it first)."""
        campaign = await self.repository.get(item_id)
        if campaign.status is CampaignStatus.running:
            raise Conflict("the campaign is running: pause or close it first",
                           code="campaign_running")

        async def work(session: AsyncClientSession) -> None:
            await self.targets.collection.delete_many({"campaign_id": item_id}, session=session)
            await self.repository.delete(item_id, session=session)
            await self.store.audit.record_change(actor, "campaign.delete", self.kind, item_id,
                                                 session=session, name=campaign.name)

        await self.store.in_transaction(work)

    async def window_open(self, campaign: Campaign, moment: datetime) -> bool:
        window = campaign.window
        if window.schedule:
            schedule = await self.store.schedules.find_one({"name": window.schedule})
            if schedule is None:
                log.warning("campaign %s: no schedule named %r; nothing is sent",
                            campaign.name, window.schedule)
                return False
            return schedule_open(schedule, moment)
        local = moment.astimezone(ZoneInfo(window.timezone))
        minute = local.hour * 60 + local.minute
        return (WEEKDAYS[local.weekday()] in window.days
                and minutes(window.start) <= minute < minutes(window.end))

    # -- targets ---------------------------------------------------------------------------

    async def add(
        self, actor: Actor, campaign_id: str, *, phone: str,
        fields: Mapping[str, Any] | None = None, call_after: datetime | None = None,
    ) -> CampaignTarget:
        campaign = await self.repository.get(campaign_id)
        target = await self._insert_target(campaign, phone, fields or {}, call_after, None)
        await self._audit(actor, "target.create", campaign_id, target=target.id)
        return target

    async def add_many(
        self, actor: Actor, campaign_id: str, targets: list[Mapping[str, Any]]
    ) -> tuple[int, list[dict[str, Any]]]:
        """Each target added or refused on its own: (added, refusals with their index)."""
        campaign = await self.repository.get(campaign_id)
        if len(targets) > MAX_BULK:
            raise Invalid(Words("at most %(max_bulk)s targets at once", max_bulk=MAX_BULK),
                          field="targets")
        added, refused = 0, []
        for index, target in enumerate(targets):
            try:
                await self._insert_target(campaign, str(target.get("phone", "")),
                                          target.get("fields") or {},
                                          target.get("call_after"), None)
            except (Conflict, Invalid) as refusal:
                refused.append({"index": index, "code": refusal.code,
                                "message": refusal.message})
            else:
                added += 1
        await self._audit(actor, "target.import", campaign_id, added=added,
                          refused=len(refused))
        return added, refused

    async def _insert_target(
        self, campaign: Campaign, phone: str, fields: Mapping[str, Any],
        call_after: datetime | None, origin: str | None,
    ) -> CampaignTarget:
        if campaign.status is CampaignStatus.closed:
            raise Conflict(Words("the campaign %(name)r is closed", name=campaign.name),
                           code="campaign_closed")
        call_after = aware(call_after, "call_after")
        now = self.clock()
        target = CampaignTarget(
            campaign_id=campaign.id, phone=phone_number(phone), fields=json_fields(fields),
            call_after=call_after, due_at=call_after or now, origin=origin,
            created_at=now, updated_at=now,
        )
        try:
            if origin is None:
                return await self.targets.insert(target)
            return await self._insert_target_once(target, origin)
        except DuplicateKeyError:
            raise Conflict(Words("%(phone)s is already a target of %(name)r", phone=target.phone,
                                 name=campaign.name),
                           field="phone", code="duplicate_target") from None

    async def _insert_target_once(self, target: CampaignTarget, origin: str) -> CampaignTarget:
        try:
            return await self.targets.insert(target)
        except DuplicateKeyError as error:
            if duplicate_of(error, "origin"):
                existing = await self.targets.find_one({"origin": origin})
                if existing is not None:
                    return existing
            raise

    async def list_targets(
        self, campaign_id: str, filters: Mapping[str, str | None], *,
        cursor: str | None = None, limit: int = DEFAULT_PAGE,
    ) -> tuple[list[CampaignTarget], str | None]:
        await self.repository.get(campaign_id)
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if filters.get("status"):
            query["status"] = filters["status"]
        if filters.get("phone"):
            query["phone"] = normalise_phone(filters["phone"]) or filters["phone"]
        return await self.targets.list(query, cursor=cursor, limit=limit)

    async def get_target(self, campaign_id: str, target_id: str) -> CampaignTarget:
        target = await self.targets.find_one({"_id": target_id, "campaign_id": campaign_id})
        if target is None:
            await self.repository.get(campaign_id)
            raise NotFound(Words("no target with id %(target_id)r in this campaign",
                                 target_id=target_id))
        return target

    async def update_target(
        self, actor: Actor, campaign_id: str, target_id: str, changes: Mapping[str, Any],
        revision: int | None = None,
    ) -> CampaignTarget:
        """Fields and ``call_after`` change; ``status: pending`` queues a target again
        (attempts reset), e.g. after a failure. ``revision``: the one the editor read."""
        target = await self.get_target(campaign_id, target_id)
        if revision is not None and revision != target.revision:
            raise Conflict("the target was changed meanwhile (by someone else, or its "
                           "dialer); reload it", code="concurrent_change")
        written: dict[str, Any] = {"updated_at": self.clock()}
        if "fields" in changes:
            written["fields"] = json_fields(changes["fields"] or {})
        if "call_after" in changes:
            written["call_after"] = aware(changes["call_after"], "call_after")
        status = changes.get("status")
        if status is not None:
            if status != TargetStatus.pending.value:
                raise Invalid("a target's status can only be set back to pending",
                              field="status")
            written |= {"status": status, "attempts": 0, "last_error": None,
                        "lease_until": None}
        if "call_after" in written or status is not None:
            written["due_at"] = written.get("call_after", target.call_after) or self.clock()
        found = await self.targets.collection.find_one_and_update(
            {"_id": target_id, "revision": target.revision},
            {"$set": written, "$inc": {"revision": 1}}, return_document=ReturnDocument.AFTER,
        )
        if found is None:
            raise Conflict("the target was changed meanwhile; reload it and try again",
                           code="concurrent_change")
        await self._audit(actor, "target.update", campaign_id, target=target_id,
                          fields=sorted(changes))
        return CampaignTarget.from_document(found)

    async def delete_target(self, actor: Actor, campaign_id: str, target_id: str) -> None:
        """Only a pending target no runner or dialer holds: the others are the campaign's
        record of who was contacted (and one being sent cannot be taken back)."""
        await self.get_target(campaign_id, target_id)
        deleted = await self.targets.collection.delete_one({
            "_id": target_id, "status": TargetStatus.pending.value,
            "lease_until": {"$not": {"$gt": self.clock()}}})
        if deleted.deleted_count == 0:
            status = (await self.get_target(campaign_id, target_id)).status
            held = status in (TargetStatus.pending, TargetStatus.sending)
            raise Conflict("only a pending target can be deleted; this one is "
                           + ("being sent" if held else status.value), code="target_not_pending")
        await self._audit(actor, "target.delete", campaign_id, target=target_id)

    # -- claiming (the runner and the dialers) ---------------------------------------------

    async def claim(
        self, campaign: Campaign, now: datetime, lease: timedelta | None = None
    ) -> CampaignTarget | None:
        """The next due target, leased to the caller, with a slot of the rate; None when no
        target is due or the minute's rate is used up."""
        document = await self.targets.collection.find_one_and_update(
            {"campaign_id": campaign.id,
             "status": {"$in": [TargetStatus.pending.value, TargetStatus.sending.value]},
             "due_at": {"$lte": now}, "lease_until": {"$not": {"$gt": now}}},
            {"$set": {"status": TargetStatus.sending.value,
                      "lease_until": now + (lease or self.lease), "updated_at": now},
             "$inc": {"attempts": 1, "revision": 1}},
            sort=[("due_at", 1)], return_document=ReturnDocument.AFTER,
        )
        if document is None:
            return None
        if not await self._take_rate_slot(campaign.id, now):
            await self.targets.collection.update_one(
                {"_id": document["_id"]},
                {"$set": {"status": TargetStatus.pending.value, "lease_until": None},
                 "$inc": {"attempts": -1, "revision": 1}},
            )
            return None
        return CampaignTarget.from_document(document)

    async def _take_rate_slot(self, campaign_id: str, now: datetime) -> bool:
        """One send of the current minute's window (a new window when the last is over)."""
        expired = {"$lt": ["$rate_window_start", now - RATE_WINDOW]}
        result = await self.repository.collection.update_one(
            {"_id": campaign_id, "status": CampaignStatus.running.value,
             "$expr": {"$or": [expired, {"$lt": ["$rate_window_count", "$rate_per_minute"]}]}},
            [{"$set": {
                "rate_window_count": {"$cond": [expired, 1, {"$add": ["$rate_window_count", 1]}]},
                "rate_window_start": {"$cond": [expired, {"$literal": now},
                                                "$rate_window_start"]},
            }}],
        )
        return result.modified_count == 1

    async def claim_call(self, campaign_id: str) -> Claim:
        """For a voice dialer: the next target to call, leased for ten minutes."""
        campaign = await self.repository.get(campaign_id)
        if campaign.kind is not CampaignKind.voice:
            raise Conflict("only the targets of a voice campaign are claimed by a dialer",
                           code="not_voice")
        if campaign.status is not CampaignStatus.running:
            raise Conflict(Words("the campaign is %(value)s, not running",
                                 value=campaign.status.value), code="campaign_not_running")
        now = self.clock()
        if not await self.window_open(campaign, now):
            return Claim(None, "outside the campaign's window")
        target = await self.claim(campaign, now, timedelta(seconds=CALL_LEASE_SECONDS))
        return Claim(target, None if target else "no target is due, or the rate is used up")

    async def report_call(
        self, actor: Actor, campaign_id: str, target_id: str, *, result: str, note: str = "",
        retry_in_minutes: int | None = None,
    ) -> CampaignTarget:
        """``called`` or ``failed``; a failure with ``retry_in_minutes`` is tried again
        while attempts remain."""
        campaign = await self.repository.get(campaign_id)
        target = await self.get_target(campaign_id, target_id)
        if target.status is not TargetStatus.sending:
            raise Conflict("the target is not being called: claim it first",
                           code="not_claimed")
        now = self.clock()
        written: dict[str, Any] = {"note": note, "lease_until": None, "updated_at": now}
        if result == TargetStatus.called.value:
            written |= {"status": TargetStatus.called.value, "sent_at": now}
        elif retry_in_minutes and target.attempts < campaign.max_attempts:
            written |= {"status": TargetStatus.pending.value, "last_error": note or "failed",
                        "due_at": now + timedelta(minutes=retry_in_minutes)}
        else:
            written |= {"status": TargetStatus.failed.value, "last_error": note or "failed"}
        found = await self.targets.collection.find_one_and_update(
            {"_id": target_id, "status": TargetStatus.sending.value},
            {"$set": written, "$inc": {"revision": 1}}, return_document=ReturnDocument.AFTER,
        )
        if found is None:
            raise Conflict("the target changed meanwhile", code="concurrent_change")
        await self._audit(actor, "target.result", campaign_id, target=target_id, result=result)
        return CampaignTarget.from_document(found)

    # -- for the engine (CampaignsPort) ----------------------------------------------------

    async def add_target(
        self, *, campaign: str, kind: str, phone: str, fields: dict[str, Any],
        call_after: datetime | None, origin: str,
    ) -> dict[str, Any]:
        found = await self.repository.find_one({"name": campaign})
        if found is None:
            raise NotFound(Words("no campaign named %(campaign)r", campaign=campaign),
                           code="unknown_campaign")
        if found.kind.value != kind:
            raise Conflict(Words("%(campaign)r is a %(value)s campaign, not %(kind)s",
                                 campaign=campaign, value=found.kind.value, kind=kind),
                           code="wrong_kind")
        target = await self._insert_target(found, phone, fields, call_after, origin)
        return target.view()


class CampaignRunner:
    """Sends the due targets of running SMS and WhatsApp campaigns: a sweep of the runtime."""

    def __init__(
        self, campaigns: Campaigns, outbox: OutboxSender, entry_points: EntryPoints,
        sms: SmsPort | None, *, batch: int = 20, concurrency: int = 5,
        base_delay_seconds: float = 30.0,
    ):
        self.campaigns = campaigns
        self.store = campaigns.store
        self.outbox = outbox
        self.entry_points = entry_points
        self.sms = sms
        self.batch = batch
        self.concurrency = asyncio.Semaphore(concurrency)
        self.base_delay = base_delay_seconds
        # every WhatsApp message looks for a campaign target it answers: grouped, so that
        # under load it costs a fraction of a command per message
        self._answers: GroupCommit[UpdateMany, None] = GroupCommit(self._mark_answered)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.campaigns.clock

    async def sweep(self) -> int:
        """Claim and send what is due now; the number of targets tried."""
        now = self.clock()
        running = await self.campaigns.repository.all({
            "status": CampaignStatus.running.value,
            "kind": {"$in": [CampaignKind.sms.value, CampaignKind.whatsapp.value]},
        })
        tried = 0
        for campaign in running:
            if await self.campaigns.window_open(campaign, now):
                tried += await self._run(campaign, now)
        return tried

    async def _run(self, campaign: Campaign, now: datetime) -> int:
        claimed: list[CampaignTarget] = []
        while len(claimed) < self.batch:
            target = await self.campaigns.claim(campaign, now)
            if target is None:
                break
            claimed.append(target)
        await asyncio.gather(*(self._deliver(campaign, target) for target in claimed))
        return len(claimed)

    async def _deliver(self, campaign: Campaign, target: CampaignTarget) -> None:
        async with self.concurrency:
            if await self.store.contacts.opted_out(phone=target.phone,
                                                   entry_point_id=campaign.entry_point_id):
                await self._record(target, {
                    "status": TargetStatus.opted_out.value,
                    "last_error": "not sent: the contact opted out of messages (STOP)"})
                return
            try:
                text = render(campaign.message, message_scope(campaign, target))
                if not text.strip():
                    raise Rejected("the campaign's message rendered empty")
                provider_id, entry_point_id = await self._send(campaign, target, text)
            except TemplateFailure as error:
                await self._failed(campaign, target, Rejected(str(error)))
            except SendError as error:
                await self._failed(campaign, target, error)
            except Exception as error:  # a connector bug: retried like an outage, and logged
                log.exception("campaign %s: sending target %s failed", campaign.name, target.id)
                await self._failed(campaign, target, ProviderUnavailable(repr(error)))
            else:
                await self._record(target, {
                    "status": TargetStatus.sent.value, "provider_id": provider_id,
                    "sent_at": self.clock(), "last_error": None,
                    "entry_point_id": entry_point_id,
                })

    async def _send(
        self, campaign: Campaign, target: CampaignTarget, text: str
    ) -> tuple[str, str | None]:
        if campaign.kind is CampaignKind.sms:
            if self.sms is None:
                raise BadCredentials("SMS sending is not configured (SR_TWILIO_ACCOUNT_SID, "
                                     "SR_TWILIO_AUTH_TOKEN)")
            return await self.sms.send(to=target.phone, text=text, sender=campaign.sender), None
        client = self.outbox.clients.get(Channel.whatsapp)
        if client is None:
            raise ProviderUnavailable("no WhatsApp sender in this process")
        entry_point = await self.store.entry_points.find(campaign.entry_point_id or "")
        if entry_point is None:
            raise Rejected("the campaign's entry point was deleted")
        latest = await self.store.interactions.collection.find_one(
            {"entry_point_id": entry_point.id, "contact": target.phone},
            projection={"last_inbound_at": 1}, sort=[("_id", -1)],
        )
        message = Event(
            id=f"campaign:{target.id}:{target.attempts}", interaction_id=f"campaign:{campaign.id}",
            type="outbound", data={"text": text}, channel=Channel.whatsapp,
            entry_point_id=entry_point.id, contact=target.phone, status=DeliveryStatus.pending,
        )
        context = SendContext(
            entry_point=entry_point, credentials=self.entry_points.credentials(entry_point),
            last_inbound_at=(latest or {}).get("last_inbound_at") or NEVER,
        )
        return await client.send(message, context), entry_point.id

    async def _failed(self, campaign: Campaign, target: CampaignTarget, error: SendError) -> None:
        text = f"{error.code}: {error.message}"
        if error.retryable and target.attempts < campaign.max_attempts:
            delay = error.retry_after or self.base_delay * 2 ** (target.attempts - 1)
            retry_at = self.clock() + timedelta(seconds=min(delay, 3_600))
            await self._record(target, {"status": TargetStatus.pending.value,
                                        "last_error": text, "due_at": retry_at})
            return
        log.warning("campaign %s: target %s failed after %d attempt(s): %s",
                    campaign.name, target.id, target.attempts, text)
        await self._record(target, {"status": TargetStatus.failed.value, "last_error": text})

    async def _record(self, target: CampaignTarget, fields: dict[str, Any]) -> None:
        await self.store.campaign_targets.collection.update_one(
            {"_id": target.id, "status": TargetStatus.sending.value},
            {"$set": {**fields, "lease_until": None, "updated_at": self.clock()},
             "$inc": {"revision": 1}},
        )

    async def on_committed(self, interaction: Interaction, events: list[Event]) -> None:
        """A WhatsApp message from a number a campaign wrote to from this entry point marks
        its target ``answered`` (the entry point's routing is already talking with it)."""
        if interaction.channel is not Channel.whatsapp:
            return
        if not any(event.type == "inbound" for event in events) or (
               interaction.entry_point_id not in await self.store.campaigns.sending_entry_points()):
            return
        now = self.clock()
        await self._answers.submit(UpdateMany(
            {"entry_point_id": interaction.entry_point_id, "phone": interaction.contact,
             "status": TargetStatus.sent.value},
            {"$set": {"status": TargetStatus.answered.value, "answered_at": now,
                      "reply_interaction_id": interaction.id, "updated_at": now},
             "$inc": {"revision": 1}},
        ))

    async def _mark_answered(self, updates: list[UpdateMany]) -> list[None | BaseException]:
        failed: dict[int, BaseException] = {}
        try:
            await self.store.campaign_targets.collection.bulk_write(updates, ordered=False)
        except BulkWriteError as error:
            failed = failures_by_index(error)
        return [failed.get(index) for index in range(len(updates))]
