"""Find a contact by the start of a name or an address, see everything about them, merge
two addresses of one person, export what we hold about them.

A contact is one address on one entry point. The same person writing on Telegram and on
WhatsApp is two contacts until an operator merges them: the absorbed one points to the
one kept (``merged_into``), whose page shows both addresses and every conversation, and
whose variables the conversations of either address read and write from then on
(``Runtime``). Consent stays per address: a STOP on WhatsApp is about that number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from routing_core.contacts.footprint import records_of
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid
from routing_core.model.audit import Actor
from routing_core.model.interaction import Channel, Contact, Interaction, search_key
from routing_core.store import Store

CONVERSATIONS_SHOWN = 50


@dataclass
class ContactProfile:
    """A contact, the addresses merged into it, and their latest conversations."""

    contact: Contact
    addresses: list[Contact]
    conversations: list[Interaction]
    entry_points: dict[str, str] = field(default_factory=dict)  # id → name

    @property
    def contact_ids(self) -> list[str]:
        return [self.contact.id, *(address.id for address in self.addresses)]


def search_query(text: str, channel: Channel | None = None) -> dict[str, Any]:
    """Contacts whose name, address or phone starts with ``text``, each on its index;
    the addresses merged into another are found through the one kept."""
    query: dict[str, Any] = {"merged_into": None}
    typed = " ".join(text.split())
    if typed:
        start = re.escape(typed)
        name = re.escape(search_key(typed) or "")
        query["$or"] = [{"name_key": {"$regex": f"^{name}"}},
                        {"external_id": {"$regex": f"^{start}"}},
                        {"phone": {"$regex": f"^{start}"}}]
    if channel is not None:
        query["channel"] = channel.value
    return query


class ContactDirectory:
    def __init__(self, store: Store):
        self.store = store

    async def search(
        self, text: str = "", channel: Channel | None = None, cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[Contact], str | None]:
        if len(text) > 200:
            raise Invalid("a search is at most 200 characters", field="q")
        return await self.store.contacts.list(search_query(text, channel), cursor=cursor,
                                              limit=limit, newest_first=True)

    async def get(self, contact_id: str) -> Contact:
        return await self.store.contacts.get(contact_id)

    async def profile(self, contact_id: str) -> ContactProfile:
        contact = await self.store.contacts.get(contact_id)
        if contact.merged_into:  # its page is the one it was merged into
            contact = await self.store.contacts.get(contact.merged_into)
        addresses = await self.store.contacts.all({"merged_into": contact.id})
        ids = [contact.id, *(address.id for address in addresses)]
        conversations, _ = await self.store.interactions.list(
            {"contact_id": {"$in": ids}}, limit=CONVERSATIONS_SHOWN, newest_first=True)
        entry_points = {entry_point.id: entry_point.name for entry_point in
                        await self.store.entry_points.all({"_id": {"$in": list(
                            {c.entry_point_id for c in [contact, *addresses]})}})}
        return ContactProfile(contact, addresses, conversations, entry_points)

    async def merge(self, actor: Actor, kept_id: str, absorbed_id: str) -> Contact:
        """``absorbed_id`` (and whatever was merged into it) becomes an address of
        ``kept_id``; their variables are combined, the kept contact's winning a conflict.
        Refused for the same contact, an erased one, or one already merged."""
        if kept_id == absorbed_id:
            raise Invalid("a contact cannot be merged into itself", field="other")
        kept = await self.store.contacts.get(kept_id)
        absorbed = await self.store.contacts.get(absorbed_id)
        for contact in (kept, absorbed):
            if contact.erased_at is not None:
                raise Conflict("an erased contact cannot be merged", code="erased")
            if contact.merged_into:
                raise Conflict("this contact was already merged into another: merge into "
                               "that one", code="merged", field="other")
        now = utcnow()
        moved = await self.store.contacts.collection.update_one(
            {"_id": absorbed.id, "merged_into": None, "erased_at": None},
            {"$set": {"merged_into": kept.id, "updated_at": now}})
        if moved.modified_count != 1:
            raise Conflict("the contact changed meanwhile: look again", code="changed")
        await self.store.contacts.collection.update_many(
            {"merged_into": absorbed.id}, {"$set": {"merged_into": kept.id, "updated_at": now}})
        variables = {**absorbed.variables, **kept.variables}
        await self.store.contacts.collection.update_one(
            {"_id": kept.id}, {"$set": {"variables": variables, "updated_at": now}})
        await self.store.audit.record_change(actor, "contact.merge", "contact", kept.id,
                                             absorbed=absorbed.id)
        return await self.store.contacts.get(kept.id)

    async def export(self, actor: Actor, contact_id: str) -> dict[str, Any]:
        """Everything held about the person (their addresses, conversations with every
        event, and the records their conversations created) as JSON: what a data subject
        asks for. Audited: who exported whose data is itself worth knowing."""
        profile = await self.profile(contact_id)
        interaction_ids = [interaction.id for interaction in
                           await self.store.interactions.all(
                               {"contact_id": {"$in": profile.contact_ids}})]
        events = await self.store.events.of_interactions(interaction_ids)
        records = {name: await getattr(self.store, name).all(query) for name, query
                   in records_of(profile.contact_ids, interaction_ids).items()}
        await self.store.audit.record_change(actor, "contact.export", "contact",
                                             profile.contact.id)
        return json_ready({
            "exported_at": utcnow(),
            "contact": profile.contact.model_dump(),
            "addresses": [address.model_dump() for address in profile.addresses],
            "conversations": [
                {**interaction.model_dump(exclude={"pending", "seen", "lease_owner",
                                                   "lease_until", "lease_epoch", "step_at"}),
                 "events": [event.model_dump(include={"id", "at", "type", "action", "data",
                                                      "status", "agent_id"})
                            for event in events.get(interaction.id, [])]}
                for interaction in await self.store.interactions.all(
                    {"_id": {"$in": interaction_ids}})],
            **{name: [item.model_dump() for item in items] for name, items in records.items()},
        })


def json_ready(value: Any) -> Any:
    """Dates as ISO texts, the rest as it is: the export is read by people and programs."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value
