"""Contacts: who writes to an entry point, what the bot keeps about them, their consent.

A contact is one address on one entry point (a Telegram chat, a WhatsApp number, a web
chat visitor). The first message of a contact unknown to a process creates it with one
insert that the unique index refuses when it exists, written together with the other
first messages of the moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from routing_core.model.interaction import (
    ConsentChange,
    Contact,
    Inbound,
    language_code,
    search_key,
)
from routing_core.store.group_commit import DUPLICATE_KEY, GroupCommit, failures_by_index
from routing_core.store.repository import Repository


class Proposal(NamedTuple):
    """A contact a message would create, and its document (dumped once)."""

    contact: Contact
    document: dict[str, Any]


class ContactRepository(Repository[Contact]):
    collection_name = "contacts"
    record = Contact
    label = "contact"
    INDEXES = [
        IndexModel(
            [("entry_point_id", ASCENDING), ("external_id", ASCENDING)],
            unique=True,
            name="unique_per_entry_point",
        ),
        IndexModel([("phone", ASCENDING)], name="by_phone"),
        # the contacts page finds a contact by the start of a name or of an address
        IndexModel([("name_key", ASCENDING)], name="by_name",
                   partialFilterExpression={"name_key": {"$type": "string"}}),
        IndexModel([("external_id", ASCENDING)], name="by_address"),
        IndexModel([("merged_into", ASCENDING)], name="by_merged_into",
                   partialFilterExpression={"merged_into": {"$type": "string"}}),
    ]

    def __init__(self, database: Any):
        super().__init__(database)
        self._created: GroupCommit[Proposal, bool] = GroupCommit(self._insert_group)

    @staticmethod
    def proposal(inbound: Inbound, now: datetime) -> Proposal:
        """The contact this message would create (its id known before it is written)."""
        proposed = Contact(
            channel=inbound.channel, entry_point_id=inbound.entry_point_id,
            external_id=inbound.contact, created_at=now, updated_at=now,
            name=inbound.contact_name, phone=inbound.contact_phone,
            name_key=search_key(inbound.contact_name),
            variables={"language": language_code(inbound.locale)} if inbound.locale else {},
        )
        return Proposal(proposed, proposed.to_document())

    async def upsert(self, inbound: Inbound, now: datetime) -> tuple[Contact, bool]:
        """The contact the message comes from, and whether this call created it (a new
        contact has no earlier conversation to look into); a known one has the name and
        phone the message brings refreshed."""
        proposed, document = self.proposal(inbound, now)
        update: dict[str, Any] = {"$setOnInsert": document}
        known = {"name": inbound.contact_name, "phone": inbound.contact_phone,
                 "name_key": proposed.name_key}
        if any(known.values()):
            update["$set"] = {key: value for key, value in known.items() if value}
            for key in update["$set"]:
                document.pop(key, None)
        found = await self.collection.find_one_and_update(
            {"entry_point_id": inbound.entry_point_id, "external_id": inbound.contact},
            update, upsert=True, return_document=ReturnDocument.AFTER,
        )
        assert found is not None  # an upsert returning the document after always finds it
        return Contact.from_document(found), found["_id"] == proposed.id

    async def create_if_new(self, proposal: Proposal) -> bool:
        """Whether this call created the proposed contact; it existed otherwise (left as it
        is: ``upsert`` refreshes it). Inserted together with the other first messages'
        contacts of this process (group commit): the first message of a new contact needs
        no look-up at all — it can have no conversation yet — and an insert refused by the
        unique index costs ``mongod`` a quarter of the upsert it replaced (``perf`` under
        the peer turn: upserts were a sixth of its CPU)."""
        return await self._created.submit(proposal)

    async def _insert_group(self, group: list[Proposal]) -> list[bool | BaseException]:
        failed: dict[int, BaseException] = {}
        try:
            await self.collection.insert_many(
                [proposal.document for proposal in group], ordered=False)
        except BulkWriteError as error:
            # known already, or twice in the group: the insert refused did not create it
            failed = failures_by_index(error, {DUPLICATE_KEY: DuplicateKeyError})
        return [False if isinstance(failed.get(index), DuplicateKeyError)
                else failed.get(index) or True
                for index in range(len(group))]

    async def save_variables(self, contact_id: str, variables: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": contact_id}, {"$set": {"variables": variables}})

    async def record_consent(self, contact_id: str, change: ConsentChange) -> bool:
        """Opt the contact out (or back in) unless it already is: a step replayed after a
        crash records the change once. True when this call changed it."""
        result = await self.collection.update_one(
            {"_id": contact_id, "opted_out_at": None if change.opted_out else {"$ne": None}},
            {"$set": {"opted_out_at": change.at if change.opted_out else None,
                      "updated_at": change.at},
             "$push": {"consent_history": {"$each": [change.model_dump()], "$slice": -100}}},
        )
        return result.modified_count == 1

    async def opted_out(self, *, phone: str, entry_point_id: str | None = None) -> bool:
        """Whether a contact with this phone number (on any entry point) or this address
        (on ``entry_point_id``) opted out: who said STOP on one channel is not written to
        on another."""
        addressed: list[dict[str, Any]] = [{"phone": phone}]
        if entry_point_id:
            addressed.append({"entry_point_id": entry_point_id, "external_id": phone})
        found = await self.collection.find_one(
            {"$or": addressed, "opted_out_at": {"$ne": None}}, projection={"_id": 1})
        return found is not None
