"""The operators' list of conversations: filters that each run on an index, newest first.

Every filter an operator picks alone (routing, version, entry point, channel, state,
contact) has an index that ends with ``_id`` descending, so a page is an index walk of
``limit`` keys whatever the collection's size, and "started between" is a range on that
same ``_id`` (ids are ObjectIds: their first bytes are the creation second). Counts stop at
``COUNT_CAP``: the exact number of a million ended conversations is not worth a scan of a
million keys on every page view; the page says "more than 10,000".
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson.regex import Regex

from routing_core.infra.ids import id_at
from routing_core.model.interaction import Interaction, InteractionState
from routing_core.store.interactions import InteractionRepository
from routing_core.store.repository import MAX_PAGE

COUNT_CAP = 10_000
# each way of naming a contact, and the index that answers it
CONTACT_INDEXES = {"contact": "by_contact", "contact_phone": "list_by_phone",
                   "contact_name": "list_by_name"}
TIME_INDEX = "list_all"  # test, _id: the list newest first
LIVE_STATES = (InteractionState.running, InteractionState.waiting, InteractionState.with_agent)
OVER_STATES = (InteractionState.ended, InteractionState.failed)


@dataclass(frozen=True)
class InteractionFilter:
    routing_id: str | None = None
    version_id: str | None = None
    entry_point_id: str | None = None
    channel: str | None = None
    states: tuple[InteractionState, ...] = ()  # any of them
    started_from: datetime | None = None  # included
    started_to: datetime | None = None  # excluded
    contact: str | None = None  # an address, a phone number, or the start of a name

    def __post_init__(self) -> None:
        if self.contact is not None:  # blank (or only what no name holds): no filter
            object.__setattr__(self, "contact",
                               self.contact.replace("\x00", "").strip() or None)
    test: bool = False  # the simulator's and test entry points' conversations, or the real

    def query(self, before_id: str | None = None) -> dict[str, Any]:
        """The MongoDB filter; ``before_id``: only ids below it (the next page)."""
        query: dict[str, Any] = {"test": self.test}
        for field, key in (("routing_id", "routing_id"), ("version_id", "version_id"),
                           ("entry_point_id", "entry_point_id"), ("channel", "channel")):
            value = getattr(self, field)
            if value:
                query[key] = value
        if len(self.states) == 1:
            query["state"] = self.states[0].value
        elif self.states:
            query["state"] = {"$in": [state.value for state in self.states]}
        bounds: dict[str, str] = {}
        if self.started_from is not None:
            bounds["$gte"] = id_at(self.started_from)
        if self.started_to is not None:
            bounds["$lt"] = id_at(self.started_to)
        if before_id is not None:
            bounds["$lt"] = min(before_id, bounds.get("$lt", before_id))
        if bounds:
            query["_id"] = bounds
        return query


def prefix_regex(prefix: str) -> Regex[str]:
    """An anchored regex MongoDB reads as a range of an index. Not ``re.compile``: Python's
    regexes carry the unicode flag, and with a flag MongoDB walks the whole index."""
    return Regex("^" + re.escape(prefix))


def contact_clauses(text: str) -> list[dict[str, Any]]:
    """The channel address or phone number as typed, or a name that starts with it (as
    typed, or capitalised: people type "ali" for "Alice"). Each clause has its index."""
    text = text.replace("\x00", "").strip()  # a NUL cannot be in a regex, nor in a name
    prefixes = {text, text[:1].upper() + text[1:]}
    # a clause per prefix: one anchored regex is a tight range of the name index ($in of
    # regexes is not, and walks the whole index)
    return [
        {"contact": text},
        {"contact_phone": text},
        *({"contact_name": prefix_regex(prefix)} for prefix in sorted(prefixes)),
    ]


@dataclass
class InteractionPage:
    items: list[Interaction]
    next_cursor: str | None
    count: int  # at most COUNT_CAP + 1
    count_capped: bool


async def search(
    repository: InteractionRepository, filters: InteractionFilter, *,
    cursor: str | None = None, limit: int = 50,
) -> InteractionPage:
    """A page of the conversations that match, newest first, and how many match."""
    limit = max(1, min(limit, MAX_PAGE))
    if filters.contact:
        return await _contact_search(repository, filters, cursor, limit)
    count = await repository.collection.count_documents(filters.query(), limit=COUNT_CAP + 1)
    query = filters.query(before_id=cursor or None)
    found = repository.collection.find(query).sort("_id", -1).limit(limit + 1)
    return _page(await found.to_list(), limit, count)


def _page(documents: list[dict[str, Any]], limit: int, count: int) -> InteractionPage:
    items = [Interaction.from_document(document) for document in documents[:limit]]
    next_cursor = items[-1].id if len(documents) > limit else None
    return InteractionPage(items, next_cursor, min(count, COUNT_CAP + 1), count > COUNT_CAP)


async def _contact_search(repository: InteractionRepository, filters: InteractionFilter,
                          cursor: str | None, limit: int) -> InteractionPage:
    """One query per way of naming the contact, each told its index (as one ``$or`` the
    planner walks the list's time index instead, a million keys), merged newest first:
    first the ids that match, up to the count's cap, from the indexes alone; then the
    page's ids, newest first; then the page's documents, by id."""
    collection = repository.collection
    clauses = contact_clauses(filters.contact or "")

    async def ids(base: dict[str, Any], clause: dict[str, Any], cap: int,
                  newest: bool) -> list[str]:
        index = CONTACT_INDEXES[next(iter(clause))]
        if newest and dense.get(id(clause)):
            index = TIME_INDEX
        found = collection.find({**base, **clause}, projection={"_id": 1}).hint(index)
        if newest:
            found = found.sort("_id", -1)
        return [document["_id"] for document in await found.limit(cap).to_list()]

    dense: dict[int, bool] = {}
    counted = await asyncio.gather(*(ids(filters.query(), clause, COUNT_CAP + 1, newest=False)
                                     for clause in clauses))
    # A clause with more matches than the count shows (a name start shared by thousands) is
    # dense: walking the time index finds a page after a few thousand documents, where its
    # own index would sort every match. A sparse one sorts its few matches' keys.
    dense.update({id(clause): len(found) > COUNT_CAP for clause, found in zip(
        clauses, counted, strict=True)})
    count = len(set().union(*counted))
    paged = await asyncio.gather(*(ids(filters.query(before_id=cursor or None), clause,
                                       limit + 1, newest=True) for clause in clauses))
    page_ids = sorted(set().union(*paged), reverse=True)[:limit + 1]
    documents = await collection.find({"_id": {"$in": page_ids}}).sort("_id", -1).to_list()
    return _page(documents, limit, count)
