"""Another system opens a conversation: "remind this customer of tomorrow's appointment",
"follow up on this order". The call names an entry point, the contact's address, an
idempotency key and, if not the entry point's start routing, the routing to run; the
routing then runs as if the customer had just arrived, without a message of theirs.

A retried call must not write to the customer twice: the conversation's id is derived
from the entry point and the idempotency key, so a second call with the same key finds
the conversation the first one opened (the insert is the arbiter: two calls at once open
one). What a provider would refuse is refused up front, in words: a WhatsApp contact who
has not written for 24 hours can only get an approved template (the entry point's
``template_content_sid``), a Messenger contact only within 7 days of their last message,
a Telegram bot and a web chat only someone who wrote to them first; nobody who opted out;
nobody already in a conversation on that entry point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from routing_core.engine.opening import Opening, open_interaction
from routing_core.engine.runtime import Runtime
from routing_core.expressions.values import normalise_phone
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.model.audit import Actor
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Contact, Inbound, Interaction
from routing_core.model.routing import RoutingType
from routing_core.ports.channels import MESSENGER_AGENT_WINDOW, WHATSAPP_WINDOW
from routing_core.routing.entry_points import EntryPoints

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # "the customer never wrote", for the window


@dataclass
class OutsideStart:
    entry_point_id: str
    contact: str  # the address on the entry point's channel
    idempotency_key: str
    routing: str | None = None  # id or reference of a start routing; the entry point's
    variables: dict[str, Any] = field(default_factory=dict)
    contact_name: str | None = None


def conversation_id(entry_point_id: str, key: str) -> str:
    return hashlib.sha256(f"outside\x00{entry_point_id}\x00{key}".encode()).hexdigest()[:24]


class OutsideStarts:
    def __init__(self, runtime: Runtime, entry_points: EntryPoints):
        self.runtime = runtime
        self.store = runtime.store
        self.entry_points = entry_points

    async def start(self, actor: Actor, request: OutsideStart,
                    wait: bool = False) -> tuple[Interaction, bool]:
        """The conversation, and whether this call opened it (False: the key's first call
        did). Conflict with a sentence when the channel or the contact does not allow it."""
        entry_point = await self.store.entry_points.find(request.entry_point_id)
        if entry_point is None or entry_point.simulated_version:
            raise NotFound(Words(
                "no entry point with id %(entry_point_id)r",
                entry_point_id=request.entry_point_id))
        address = address_on(entry_point.channel, request.contact)
        interaction_id = conversation_id(entry_point.id, request.idempotency_key)
        if (earlier := await self._earlier(interaction_id, address)) is not None:
            return earlier, False
        routing_id = await self._routing_id(entry_point, request.routing)
        contact = await self.store.contacts.find_one(
            {"entry_point_id": entry_point.id, "external_id": address})
        latest = await self.store.interactions.collection.find_one(
            {"entry_point_id": entry_point.id, "contact": address},
            projection={"active": 1, "seen": 1, "last_inbound_at": 1}, sort=[("_id", -1)])
        last_inbound_at = (latest or {}).get("last_inbound_at")
        self._check_reachable(entry_point, contact, last_inbound_at)
        if latest and latest.get("active"):
            raise Conflict("the contact is in a conversation on this entry point already: "
                           "try again once it has ended", code="busy", field="contact")
        now = self.runtime.clock()
        inbound = Inbound(channel=entry_point.channel, entry_point_id=entry_point.id,
                          contact=address, provider_id=f"api:{interaction_id}",
                          contact_name=request.contact_name,
                          contact_phone=address if entry_point.channel is Channel.whatsapp
                          else None)
        opening = Opening("api", routing_id, dict(request.variables),
                          interaction_id=interaction_id,
                          last_inbound_at=last_inbound_at or NEVER)
        try:
            document = await open_interaction(self.runtime, inbound, now,
                                              seen=(latest or {}).get("seen", []),
                                              opening=opening)
        except DuplicateKeyError:  # the same key at the same moment, or a message came in
            if (earlier := await self._earlier(interaction_id, address)) is not None:
                return earlier, False
            raise Conflict("the contact began a conversation at this very moment: try "
                           "again once it has ended", code="busy", field="contact") from None
        await self.store.audit.record_change(
            actor, "interaction.start", "interaction", interaction_id,
            entry_point=entry_point.id, routing=routing_id)
        await self.runtime.process_opened(document, wait)
        return await self.store.interactions.get(interaction_id), True

    async def _earlier(self, interaction_id: str, address: str) -> Interaction | None:
        earlier = await self.store.interactions.find(interaction_id)
        if earlier is not None and earlier.contact != address:
            raise Conflict("this idempotency key was used for another contact: use a new "
                           "key for a new conversation", code="key_reused",
                           field="idempotency_key")
        return earlier

    async def _routing_id(self, entry_point: EntryPoint, wanted: str | None) -> str:
        if not wanted:
            return entry_point.start_routing
        routing = (await self.store.routings.find(wanted)
                   or await self.store.routings.find_one({"reference": wanted}))
        if routing is None:
            raise Invalid(Words("no smart routing %(wanted)r", wanted=wanted), field="routing")
        if routing.type is not RoutingType.start:
            raise Invalid(Words(
                "smart routing %(reference)r is of type %(value)s; a conversation starts with a "
                "start routing",
                reference=routing.reference, value=routing.type.value),
                          field="routing")
        return routing.id

    def _check_reachable(self, entry_point: EntryPoint, contact: Contact | None,
                         last_inbound_at: datetime | None) -> None:
        if contact is not None and contact.opted_out_at is not None:
            raise Conflict("the contact opted out of messages (STOP): nothing can be sent "
                           "until they opt back in", code="opted_out", field="contact")
        now = self.runtime.clock()
        elapsed = now - last_inbound_at if last_inbound_at else None
        channel = entry_point.channel
        if channel is Channel.whatsapp and (elapsed is None or elapsed > WHATSAPP_WINDOW):
            if not self.entry_points.credentials(entry_point).get("template_content_sid"):
                raise Conflict(
                    "the contact has not written in the last 24 hours: WhatsApp then takes "
                    "only an approved template, and this entry point has none (set its "
                    "template_content_sid)", code="window_closed", field="contact")
        elif channel is Channel.messenger and (elapsed is None
                                                or elapsed > MESSENGER_AGENT_WINDOW):
            raise Conflict("Messenger lets a page write only within 7 days of the contact's "
                           "last message", code="window_closed", field="contact")
        elif channel in (Channel.telegram, Channel.webchat) and contact is None:
            raise Conflict(Words(
                "no contact %(contact_label)s on this entry point: they must write first",
                contact_label=contact_label(channel)), code="unknown_contact", field="contact")


def contact_label(channel: Channel) -> str:
    return "with this chat id" if channel is Channel.telegram else "with this visitor id"


def address_on(channel: Channel, contact: str) -> str:
    """The address as the channel's connector records it (WhatsApp: E.164)."""
    typed = contact.strip()
    if channel is Channel.whatsapp:
        phone = normalise_phone(typed)
        if phone is None:
            raise Invalid("a WhatsApp contact is a phone number in international form, "
                          "such as +447700900123", field="contact")
        return phone
    if not typed or len(typed) > 200:
        raise Invalid("the contact's address is 1 to 200 characters", field="contact")
    return typed
