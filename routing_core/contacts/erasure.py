"""Erase a contact: every personal datum we hold about the person goes, for good.

What a person said and what we learnt about them lives in many collections: their
contact records (name, phone, address, variables, consent words), their conversations
(variables, last text, messages waiting), every event of those conversations (texts,
media, answers, web service bodies) and our copies of the files they sent, and the records
their conversations created (cases, tasks, survey answers, CRM cards and objects,
campaign targets, queue entries, regression replays). Erasure ends a conversation still
running (no end routing follows: nothing is sent to someone being erased), renames the
addresses first (a message arriving meanwhile starts a new contact instead of joining the
erased one), then blanks each of those records in place: counts, dates and statuses stay,
so statistics keep adding up. It is audited under the contact's id, which names nobody.
Custom databases are the company's own tables and are not searched: rows a routing wrote
there are the company's to delete.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from routing_core.contacts.footprint import records_of
from routing_core.engine.runtime import Runtime
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, NotFound
from routing_core.model.audit import Actor
from routing_core.model.interaction import ERASED_REASON
from routing_core.store import Store
from routing_core.store.queues import QueueEntryRepository

log = logging.getLogger(__name__)
ERASED_TITLE = "(erased)"


def erased_address(contact_id: str) -> str:
    return f"erased:{contact_id}"


class Erasure:
    def __init__(self, store: Store, runtime: Runtime):
        self.store = store
        self.runtime = runtime
        self.queue_entries = QueueEntryRepository(store.database)

    async def erase(self, actor: Actor, contact_id: str) -> dict[str, int]:
        """Erase the contact and the addresses merged into it; what was blanked, by
        collection. Irreversible; asking twice erases nothing more."""
        contact = await self.store.contacts.get(contact_id)
        kept_id = contact.merged_into or contact.id
        contacts = [await self.store.contacts.get(kept_id),
                    *await self.store.contacts.all({"merged_into": kept_id})]
        ids = [item.id for item in contacts]
        addresses = {item.external_id for item in contacts} | {
            item.phone for item in contacts if item.phone}
        now = utcnow()
        counts: dict[str, int] = {}
        for item in contacts:  # first: a message arriving now starts someone new
            await self.store.contacts.collection.update_one({"_id": item.id}, {"$set": {
                "external_id": erased_address(item.id), "name": None, "phone": None,
                "name_key": None, "variables": {}, "consent_history": [],
                "opted_out_at": None, "erased_at": item.erased_at or now, "updated_at": now}})
        counts["contacts"] = len(ids)
        for interaction in await self.store.interactions.all(
                {"contact_id": {"$in": ids}, "active": True}):
            await self._end(interaction.id)
        interaction_ids = [document["_id"] async for document in
                           self.store.interactions.collection.find(
                               {"contact_id": {"$in": ids}}, projection={"_id": 1})]
        counts.update(await self._blank(ids, interaction_ids, sorted(addresses)))
        counts["media_files"] += await self._delete_files(
            [(item.entry_point_id, item.external_id) for item in contacts], interaction_ids)
        removed = await self.store.signals.collection.delete_many(
            {"contact": {"$in": sorted(addresses)}})
        counts["signals"] = removed.deleted_count
        await self.store.audit.record_change(actor, "contact.erase", "contact", kept_id,
                                             **{f"erased_{name}": n for name, n in counts.items()})
        return counts

    async def _delete_files(self, addresses: list[tuple[str, str]],
                            interaction_ids: list[str]) -> int:
        """The files a visitor uploaded (sent or not) and those agents sent them."""
        files = self.store.media_files
        found = set(await files.ids_where({"interaction": {"$in": interaction_ids}}))
        for entry_point_id, address in addresses:
            found.update(await files.ids_where({"entry_point": entry_point_id,
                                                "visitor": address}))
        for file_id in found:
            await files.delete(file_id)
        return len(found)

    async def _end(self, interaction_id: str) -> None:
        with contextlib.suppress(Conflict, NotFound):  # ended meanwhile: blanked alike
            await self.runtime.end_interaction(interaction_id, ERASED_REASON)

    async def _blank(self, ids: list[str], interaction_ids: list[str],
                     addresses: list[str]) -> dict[str, int]:
        store = self.store
        by_interaction = {"interaction_id": {"$in": interaction_ids}}
        records = records_of(ids, interaction_ids)
        address_of_contact = {"$concat": ["erased:", "$contact_id"]}
        stored = [item["stored"] async for event in store.events.collection.find(
            {**by_interaction, "data.media.stored": {"$type": "string"}},
            projection={"data.media": 1}) for item in event["data"]["media"]
            if isinstance(item, dict) and item.get("stored")]
        for file_id in stored:  # our copies of their photos, files and voice notes
            await store.media_files.delete(file_id)
        counts = {
            "media_files": len(stored),
            "interactions": await _update(store.interactions.collection,
                                          {"_id": {"$in": interaction_ids}}, [{"$set": {
                "contact": address_of_contact, "contact_name": None, "contact_phone": None,
                "variables": EMPTY, "contact_variables": EMPTY, "last_text": "",
                "pending": [], "seen": [], "step_error": None}}]),
            "events": await _update(store.events.collection, by_interaction, {"$set": {
                "data": {"erased": True}, "contact": None, "error": None}}),
            **{name: await _update(getattr(store, name).collection, records[name], blank)
               for name, blank in BLANKED.items()},
            "campaign_targets": await _update(store.campaign_targets.collection, {"$or": [
                {"phone": {"$in": addresses}}, {"reply_interaction_id": {"$in": interaction_ids}}
            ]}, [{"$set": {"phone": {"$concat": ["erased:", "$_id"]}, "fields": EMPTY,
                           "note": "", "last_error": None}}]),
            "queue_entries": await _update(self.queue_entries.collection, by_interaction,
                                           {"$set": {"contact": "", "contact_name": None}}),
        }
        removed = await store.replay_results.collection.delete_many(by_interaction)
        counts["replay_results"] = removed.deleted_count
        return counts


EMPTY: dict[str, Any] = {"$literal": {}}  # an empty document, in an update pipeline
BLANKED: dict[str, dict[str, Any]] = {  # what erasure writes over, in ``records_of``
    "cases": {"$set": {"title": ERASED_TITLE, "fields": {}}},
    "tasks": {"$set": {"title": ERASED_TITLE, "description": ""}},
    "survey_answers": {"$set": {"answers": {}}},
    "crm_cards": {"$set": {"fields": {}}},
    "crm_objects": {"$set": {"values": {}, "unique_key": []}},
}


async def _update(collection: Any, query: dict[str, Any], change: Any) -> int:
    result = await collection.update_many(query, change)
    return int(result.matched_count)
